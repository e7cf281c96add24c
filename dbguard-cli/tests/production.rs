//! Production safety from the command line, on SQLite, PostgreSQL and MySQL: the tier banner,
//! refusals without a confirmation that names the database (nothing changed), and the
//! interactive prompt in a real pseudo-terminal (`script` allocates one).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dbguard::BackendKind;
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-dbguard");

fn run(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .arg("dbguard")
        .args(["--database", url])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DBGUARD_ENV")
        .stdin(Stdio::null())
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// 1 creates `users` (destructive down), 2 adds a column (harmless up), 3 drops a table
/// (destructive up, allowed with a reason).
fn migrations() -> MigrationDir {
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);\nCREATE TABLE legacy (id BIGINT);",
        "DROP TABLE legacy;\nDROP TABLE users;",
    );
    dir.add(
        "2",
        "add_email",
        "ALTER TABLE users ADD COLUMN email VARCHAR(120);",
        "ALTER TABLE users DROP COLUMN email;",
    );
    dir.add(
        "3",
        "drop_legacy",
        "-- dbguard:allow drop-table reason=\"nothing reads it since v2\"\nDROP TABLE legacy;",
        "CREATE TABLE legacy (id BIGINT);",
    );
    dir
}

async fn prod_needs_the_database_name(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = migrations();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let m = dir.path().to_str().unwrap();
    let name = dbguard::database_name(&t.url);
    let mut db = t.connect().await;

    // Harmless migrations run in prod without a confirmation; the banner comes first.
    let up = run(w, &t.url, &["--env", "prod", "--migrations", m, "up", "--to", "2"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(String::from_utf8_lossy(&up.stderr).starts_with("[prod] "), "{}", text(&up));

    // A destructive up is refused without --confirm, with a wrong name, and runs with the right one.
    let refused = run(w, &t.url, &["--env", "prod", "--migrations", m, "up"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let out = text(&refused);
    assert!(out.contains(&format!("refusing to up on the production database `{name}`")), "{out}");
    assert!(out.contains("up 3 drop_legacy: drop-table on legacy") && out.contains("nothing was changed"), "{out}");
    assert!(db.table_exists("legacy").await.unwrap(), "unchanged");
    let wrong = run(w, &t.url, &["--env", "prod", "--confirm", "staging_copy", "--migrations", m, "up"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong).contains("the confirmation `staging_copy` does not name"), "{}", text(&wrong));
    assert!(db.table_exists("legacy").await.unwrap(), "unchanged");
    let right = run(w, &t.url, &["--env", "prod", "--confirm", &name, "--migrations", m, "up"]);
    assert!(right.status.success(), "{}", text(&right));
    assert!(!db.table_exists("legacy").await.unwrap());

    // Every down needs it; DBGUARD_ENV works like --env.
    let down = Command::new(BIN)
        .current_dir(w)
        .args(["dbguard", "--database", &t.url, "--migrations", m, "down", "--to", "2"])
        .env("DBGUARD_ENV", "production")
        .stdin(Stdio::null())
        .output()
        .map(dbguard_tests::recorded)
        .unwrap();
    assert_eq!(down.status.code(), Some(1), "{}", text(&down));
    assert!(!db.table_exists("legacy").await.unwrap(), "unchanged");
    // Restores replace rows: production asks for the name too.
    let backup = text(&run(w, &t.url, &["--env", "prod", "backup", "--table", "users"]));
    let id: String =
        backup.split("snapshot ").nth(1).unwrap_or_default().chars().take_while(char::is_ascii_digit).collect();
    assert!(!id.is_empty(), "{backup}");
    let restore = run(w, &t.url, &["--env", "prod", "restore", &id]);
    assert_eq!(restore.status.code(), Some(1), "{}", text(&restore));
    assert!(text(&restore).contains("refusing to restore on the production database"), "{}", text(&restore));
    let restore = run(w, &t.url, &["--env", "prod", "--confirm", &name, "restore", &id]);
    assert!(restore.status.success(), "{}", text(&restore));
    // Staging and dev do not ask.
    let staging = run(w, &t.url, &["--env", "staging", "--migrations", m, "down", "--to", "2"]);
    assert!(
        staging.status.success() && String::from_utf8_lossy(&staging.stderr).starts_with("[staging]"),
        "{}",
        text(&staging)
    );
    db.close().await.unwrap();
}
on_each_engine!(prod_needs_the_database_name);

/// Runs `args` in a pseudo-terminal with `answer` typed at the prompt.
fn in_terminal(dir: &Path, args: &str, answer: &str) -> Output {
    let mut child = Command::new("script")
        .current_dir(dir)
        .args(["-qec", &format!("{BIN} dbguard {args}"), "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the command in a pseudo-terminal");
    child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_prompt_in_a_terminal_proceeds_only_on_the_right_name() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let m = w.join("migrations/1_t");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE t (id INTEGER);").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE t;").unwrap();
    assert!(run(w, "sqlite://app.db", &["up"]).status.success());
    let exists = || {
        let o = run(w, "sqlite://app.db", &["status", "--format", "json"]);
        String::from_utf8_lossy(&o.stdout).contains("\"state\": \"applied\"")
    };

    let wrong = in_terminal(w, "--database sqlite://app.db --env prod down --to 0", "app");
    let out = text(&wrong);
    assert_ne!(wrong.status.code(), Some(0), "{out}");
    assert!(out.contains("type the database name (app.db)") && out.contains("aborted"), "{out}");
    assert!(exists(), "a wrong name changes nothing");

    let right = in_terminal(w, "--database sqlite://app.db --env prod down --to 0", "app.db");
    let out = text(&right);
    assert_eq!(right.status.code(), Some(0), "{out}");
    assert!(out.contains("reverted 1 migration"), "{out}");
    assert!(!exists(), "the right name proceeds");
}

/// A run that takes over a second shows a progress bar on a terminal, and never when piped or
/// in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_run_shows_a_progress_bar_on_a_terminal_only() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "slow_backfill", "CREATE TABLE t (id INT);\nSELECT pg_sleep(1.6);", "DROP TABLE t;");
    dir.add("2", "after", "CREATE TABLE u (id INT);", "DROP TABLE u;");
    let m = dir.path().display().to_string();
    let work = tempfile::tempdir().unwrap();
    let args = format!("--database {} --migrations {m} up", t.url);
    let tty = in_terminal(work.path(), &args, "");
    let shown = String::from_utf8_lossy(&tty.stdout).into_owned();
    assert!(tty.status.success(), "{shown}");
    assert!(shown.contains("0/2 up 1 slow_backfill"), "no progress bar on the terminal: {shown}");
    assert!(shown.contains("applied 2 migrations"), "{shown}");

    let piped = run(work.path(), &t.url, &["--migrations", &m, "down", "--to", "0"]);
    assert!(piped.status.success(), "{}", text(&piped));
    let again = run(work.path(), &t.url, &["--migrations", &m, "up"]);
    assert!(!text(&again).contains("slow_backfill\u{1b}") && !text(&again).contains("0/2"), "{}", text(&again));
    let json =
        in_terminal(work.path(), &format!("--database {} --migrations {m} down --to 0 --format json", t.url), "");
    let json = String::from_utf8_lossy(&json.stdout).into_owned();
    assert!(json.contains("\"reverted\"") && !json.contains("/2 down"), "a bar in JSON output: {json}");
}
