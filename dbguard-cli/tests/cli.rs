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
