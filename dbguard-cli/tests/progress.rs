//! Long work says where it is on a pipe (a CI log) while it runs, so that a stuck deploy and a
//! slow one look different: a restore of millions of rows, the snapshot before it, the
//! statements of a big migration. Lines every 50 ms here (`DBGUARD_PROGRESS_EVERY`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dbguard::BackendKind;
use dbguard_tests::{TestDb, on_each_engine};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-dbguard");

fn command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .args(["dbguard", "--database", url])
        .args(args)
        .env("NO_COLOR", "1")
        .env("DBGUARD_PROGRESS_EVERY", "0.05")
        .env_remove("DBGUARD_ENV")
        .env_remove("DATABASE_URL")
        .env_remove("DBGUARD_MIGRATIONS")
        .stdin(Stdio::null());
    c
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: Output) -> String {
    let o = dbguard_tests::recorded(o);
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), text(&o));
    text(&o)
}

/// Runs `args` with standard error on a pipe, reading it as it comes: the lines, and for each
/// whether the process was still running when it arrived.
fn watched(dir: &Path, url: &str, args: &[&str]) -> (Output, Vec<(String, bool)>) {
    let mut child = command(dir, url, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(err).lines() {
        let line = line.unwrap();
        let running = child.try_wait().unwrap().is_none();
        lines.push((line, running));
    }
    let o = child.wait_with_output().unwrap();
    let all: String = lines.iter().map(|(l, _)| format!("{l}\n")).collect();
    let o = Output { stderr: all.into_bytes(), ..o };
    (dbguard_tests::recorded(o), lines)
}

/// A table of `rows` rows, filled by the database itself.
fn fill(kind: BackendKind, rows: u64) -> String {
    let create = "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL);\n";
    let fill = match kind {
        BackendKind::Sqlite => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) INSERT INTO items SELECT g, g * 7 FROM s;"
        ),
        BackendKind::Postgres => format!("INSERT INTO items SELECT g, g * 7 FROM generate_series(1, {rows}) g;"),
        // MariaDB's sequence engine.
        BackendKind::Mysql => format!("INSERT INTO items SELECT seq, seq * 7 FROM seq_1_to_{rows};"),
    };
    format!("{create}{fill}\n")
}

/// The restore of a big table prints where it is while it runs: which table, how many rows,
/// for how long. 2,000,000 rows on SQLite; 200,000 on the servers (the same code path, a
/// shorter run in CI).
async fn a_big_restore_on_a_pipe_says_where_it_is(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let rows: u64 = if kind == BackendKind::Sqlite { 2_000_000 } else { 200_000 };
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations/1_items");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), fill(kind, rows)).unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE items;\n").unwrap();
    let up = ok(command(d.path(), &t.url, &["up"]).output().unwrap());
    assert!(up.contains("applied"), "{up}");

    let (o, lines) = watched(d.path(), &t.url, &["backup", "--table", "items"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let id = out.split("snapshot ").nth(1).and_then(|r| r.split(' ').next()).expect("the snapshot's id").to_string();
    // With the size where the database can tell it cheaply (SQLite counts; PostgreSQL's planner
    // has no estimate for a table never analysed).
    let snapshot = match kind {
        BackendKind::Sqlite => format!("] snapshot items (about {} rows) (running ", dbguard::thousands(rows as i64)),
        _ => "] snapshot items (".to_string(),
    };
    assert!(
        lines.iter().any(|(l, running)| *running && l.contains(&snapshot)),
        "the snapshot said `{snapshot}` while it ran:\n{}",
        text(&o)
    );

    let (o, lines) = watched(d.path(), &t.url, &["restore", &id]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = format!("] putting rows back into items ({} rows) (running ", dbguard::thousands(rows as i64));
    let during: Vec<&str> =
        lines.iter().filter(|(l, running)| *running && l.starts_with('[')).map(|(l, _)| l.as_str()).collect();
    assert!(
        during.iter().any(|l| l.contains(&shown)),
        "a line saying `{shown}` arrived while the restore ran; lines that did:\n{}\nall output:\n{}",
        during.join("\n"),
        text(&o)
    );
    // The table's rows as they were are kept first, and the result is checked: both said too.
    assert!(during.iter().any(|l| l.contains("] snapshot items (")), "{}", during.join("\n"));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("restored {rows} rows into items")), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("(running"), "progress stays off standard output");
}
on_each_engine!(a_big_restore_on_a_pipe_says_where_it_is);

/// A big migration says which of its statements it is at.
#[tokio::test]
async fn a_big_migration_says_which_statement_it_is_at() {
    let Some(t) = TestDb::new(BackendKind::Sqlite).await else { return };
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations/1_seed");
    std::fs::create_dir_all(&m).unwrap();
    let mut up = String::from("CREATE TABLE seed (id BIGINT PRIMARY KEY, name TEXT);\n");
    for i in 1..=200_000 {
        up.push_str(&format!("INSERT INTO seed (id, name) VALUES ({i}, 'name number {i} with some padding');\n"));
    }
    std::fs::write(m.join("up.sql"), up).unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE seed;\n").unwrap();
    let (o, lines) = watched(d.path(), &t.url, &["up"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        lines
            .iter()
            .any(|(l, running)| *running && l.contains("] up 1/1 1 seed: statement ") && l.contains("/200,001")),
        "{}",
        text(&o)
    );
    // `--quiet`: the same work, no progress.
    ok(command(d.path(), &t.url, &["down", "--to", "0"]).output().unwrap());
    let (o, lines) = watched(d.path(), &t.url, &["--quiet", "up"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("applied"), "{}", text(&o));
    assert!(!lines.iter().any(|(l, _)| l.contains("(running ")), "{}", text(&o));
}
