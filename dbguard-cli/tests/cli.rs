//! The built `cargo-dbguard` binary, end to end, on SQLite (server databases are covered by
//! the library tests in `tests/`).

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-dbguard"))
        .current_dir(dir)
        .arg("dbguard") // as cargo passes it
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DBGUARD_MIGRATIONS")
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn project() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("migrations/1_users");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE users;").unwrap();
    d
}

/// A down that `down` would stop (it deletes every row with no allow) fails its dry run too,
/// and the stop says how to run it once the down file is fixed.
#[test]
fn a_down_dry_run_fails_where_the_down_would_stop() {
    let d = project();
    let m = d.path().join("migrations/2_seed");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "INSERT INTO users VALUES (1, 'a'), (2, 'b');\n").unwrap();
    std::fs::write(m.join("down.sql"), "DELETE FROM users;\n").unwrap();
    assert!(run(d.path(), &["up"]).status.success());
    let o = run(d.path(), &["down", "--to", "1", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("`down` would stop: migration 2 (seed) statement 1"), "{}", text(&o));
    let o = run(d.path(), &["down", "--to", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("fix its down file, then run the same `cargo dbguard down` with `--allow-drift`"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("reverted earlier in this run stay reverted"), "{}", text(&o));
}

#[test]
fn up_status_down_with_the_defaults() {
    let d = project();
    let up = run(d.path(), &["up"]);
    assert!(up.status.success(), "{}", text(&up));
    let expected = format!("applied 1 migration to sqlite://{}", d.path().join("dbguard.db").display());
    assert!(text(&up).contains(&expected), "{}", text(&up));
    assert!(d.path().join("dbguard.db").exists(), "the default SQLite file is created");
    let again = run(d.path(), &["up"]);
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));
    let status = run(d.path(), &["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["entries"][0]["state"], "applied");
    let down = run(d.path(), &["down", "--to", "0"]);
    assert!(down.status.success() && text(&down).contains("reverted 1 migration"), "{}", text(&down));
}

#[test]
fn lint_exit_codes() {
    let d = project();
    assert_eq!(run(d.path(), &["lint"]).status.code(), Some(0), "clean migrations");
    std::fs::write(
        d.path().join("migrations/1_users/up.sql"),
        "CREATE TABLE users (id INTEGER);\nDELETE FROM accounts;",
    )
    .unwrap();
    let bad = run(d.path(), &["lint"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("error[delete-without-where]") && text(&bad).contains("up.sql:2:1"), "{}", text(&bad));
    let gh = run(d.path(), &["lint", "--format", "github"]);
    assert!(text(&gh).starts_with("::error file="), "{}", text(&gh));
    let missing = run(d.path(), &["lint", "nope/"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("nope/") && text(&missing).contains("fix:"), "{}", text(&missing));
    // A run that fails before linting writes no half document for a tool to parse.
    for format in ["json", "sarif", "text", "github"] {
        let o = run(d.path(), &["lint", "--format", format, "nope/"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(o.stdout.is_empty(), "{format}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn bad_input_is_exit_2_with_a_clear_message_and_no_password() {
    let d = project();
    let url = run(d.path(), &["status", "--database", "postgres://app:hunter2@127.0.0.1:1/shop"]);
    assert_eq!(url.status.code(), Some(2));
    let out = text(&url);
    assert!(out.contains("cannot connect") && out.contains("app:***@127.0.0.1"), "{out}");
    assert!(!out.contains("hunter2"), "the password leaked: {out}");
    let scheme = run(d.path(), &["status", "--database", "redis://x"]);
    assert_eq!(scheme.status.code(), Some(2));
    assert!(text(&scheme).contains("bad database URL"));
    let unknown = run(d.path(), &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(!text(&unknown).contains("panicked"));
    let no_dir = run(d.path(), &["up", "--migrations", "missing"]);
    assert_eq!(no_dir.status.code(), Some(2));
    assert!(text(&no_dir).contains("cargo dbguard init"), "{}", text(&no_dir));
}

/// `lint --database URL` measures, read-only, what the pending migrations would destroy there,
/// and fails on what `up` would stop: a condition that matches every row without the allow.
#[test]
fn lint_with_a_database_measures_the_blast_radius() {
    let d = project();
    assert!(run(d.path(), &["up"]).status.success());
    let url = format!("sqlite://{}", d.path().join("dbguard.db").display());
    let db = d.path().join("dbguard.db");
    let conn = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(\"INSERT INTO users VALUES (1,'a'),(2,'b'),(3,'c')\"); c.commit()"])
        .arg(&db)
        .status();
    assert!(conn.is_ok_and(|s| s.success()));
    let m = d.path().join("migrations/2_trim");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "DELETE FROM users WHERE id > 1;\n").unwrap();
    std::fs::write(m.join("down.sql"), "-- dbguard: irreversible = \"gone\"\n").unwrap();
    let o = run(d.path(), &["lint", "-d", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("2 trim: users: 2 rows deleted by statement 1 (line 1)"), "{}", text(&o));

    std::fs::write(m.join("up.sql"), "DELETE FROM users WHERE id > 0;\n").unwrap();
    let o = run(d.path(), &["lint", "-d", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("3 rows deleted") && text(&o).contains("the run would stop here"), "{}", text(&o));
    // `up --dry-run` fails the same way, and so does a new constraint the rows refuse.
    let o = run(d.path(), &["up", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("`up` would stop: migration 2 (trim) statement 1 (line 1) would be stopped"),
        "{}",
        text(&o)
    );
    let sql = |q: &str| {
        let script =
            format!("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(\"{q}\"); c.commit()");
        let s = std::process::Command::new("python3").args(["-c", &script]).arg(&db).status();
        assert!(s.is_ok_and(|s| s.success()));
    };
    sql("UPDATE users SET email = 'b' WHERE id = 3");
    std::fs::write(m.join("up.sql"), "CREATE UNIQUE INDEX users_email ON users (email);\n").unwrap();
    let o = run(d.path(), &["up", "--dry-run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("would fail: 2 row(s) of users are refused by the new UNIQUE (email)"), "{}", text(&o));
    sql("UPDATE users SET email = 'c' WHERE id = 3");
    std::fs::write(m.join("up.sql"), "CREATE UNIQUE INDEX users_id2 ON users (id);\n").unwrap();
    let o = run(d.path(), &["up", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "no row refused: {}", text(&o));
    // No WHERE at all: the table is copied whole, said so (never "nothing").
    std::fs::write(m.join("up.sql"), "DELETE FROM users;\n").unwrap();
    let o = run(d.path(), &["lint", "-d", &url]);
    assert!(text(&o).contains("2 trim: users: not measured row by row; every row is copied first"), "{}", text(&o));
    assert!(!text(&o).contains("nothing:"), "{}", text(&o));
    std::fs::write(m.join("up.sql"), "DELETE FROM users WHERE id > 0;\n").unwrap();
    // Without a database, the lint reads only the SQL: the condition depends on the data.
    assert_eq!(run(d.path(), &["lint"]).status.code(), Some(0));
    // A directory given to lint is also the one measured (not the default `migrations/`).
    std::fs::create_dir_all(d.path().join("db")).unwrap();
    std::fs::rename(d.path().join("migrations"), d.path().join("db/migs")).unwrap();
    let o = run(d.path(), &["lint", "db/migs", "-d", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("3 rows deleted"), "{}", text(&o));
    let rows = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from users').fetchone()[0])"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&rows.stdout).trim(), "3", "read-only");
}

/// On a pipe (a CI log), a long run says where it is every few seconds (here every 50 ms, for
/// a migration that takes some hundreds of them); a quick one says nothing.
#[test]
fn a_long_run_on_a_pipe_says_where_it_is() {
    let d = project();
    let m = d.path().join("migrations/2_fill");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("up.sql"),
        "CREATE TABLE t (g INTEGER);\nWITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3000000) INSERT INTO t SELECT g FROM s;\n",
    )
    .unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE t;\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-dbguard"))
        .current_dir(d.path())
        .args(["dbguard", "up"])
        .env_remove("DATABASE_URL")
        .env("DBGUARD_PROGRESS_EVERY", "0.05")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.lines().any(|l| l.starts_with('[') && l.contains("] up 2/2 2 fill (running")), "{err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("(running"), "progress stays off standard output");
    let quick = run(d.path(), &["down", "--to", "0"]);
    assert!(!text(&quick).contains("(running"), "{}", text(&quick));
}

/// A migration that stopped partway says where in `status`, and a plain `up` continues it from
/// there, saying so.
#[test]
fn a_stopped_migration_is_shown_and_continued() {
    let d = project();
    let m = d.path().join("migrations/2_steps");
    std::fs::create_dir_all(&m).unwrap();
    let up =
        "-- dbguard: no-transaction\nINSERT INTO users (id, email) VALUES (1, 'a@x');\nINSERT INTO nope VALUES (1);\n";
    std::fs::write(m.join("up.sql"), up).unwrap();
    std::fs::write(m.join("down.sql"), "DELETE FROM users WHERE id = 1;").unwrap();
    let failed = run(d.path(), &["up"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(text(&failed).contains("continues from statement 2"), "{}", text(&failed));
    let status = run(d.path(), &["status"]);
    assert!(text(&status).contains("stopped at statement 2 of 2 (line 3: INSERT INTO nope"), "{}", text(&status));
    std::fs::write(m.join("up.sql"), up.replace("nope VALUES (1)", "users (id) VALUES (2)")).unwrap();
    let again = run(d.path(), &["up"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("resumed  2 steps from statement 2 of 2"), "{}", text(&again));
}
