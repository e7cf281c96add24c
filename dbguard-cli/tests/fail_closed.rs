//! The nine reproductions of issue #12, from the command line as a user would type them, on
//! the databases each applies to. Each failed before the fix. (The library-level forms are in
//! `tests/tests/fail_closed.rs`; every mutating command's refusals and dry runs in
//! `guarded.rs`.)

use std::path::Path;
use std::process::{Command, Output, Stdio};

use dbguard::BackendKind;
use dbguard_tests::{TestDb, on_each_engine};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-dbguard");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .arg("dbguard")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DBGUARD_ENV")
        .env_remove("DATABASE_URL")
        .env_remove("DBGUARD_MIGRATIONS")
        .stdin(Stdio::null())
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), text(&o));
    text(&o)
}

/// A cargo package with one migration (`users`, three rows) and `extra` in its manifest.
fn package(extra: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("Cargo.toml"),
        format!("[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{extra}"),
    )
    .unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    let m = p.join("migrations/1_users");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("up.sql"),
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);\nINSERT INTO users (id) VALUES (1), (2), (3);",
    )
    .unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE users;").unwrap();
    d
}

/// Reproduction 1: `--env prod restore --file` replaced the database with no confirmation, and
/// `restore --file --dry-run` replaced it too.
#[test]
fn a_file_restore_in_production_asks_and_a_dry_run_restores_nothing() {
    let d = package("");
    let p = d.path();
    ok(run(p, &["up"]));
    let db = p.join("dbguard.db");
    let backup = dbguard::file_backup::list(&db).unwrap()[0].path.clone();
    let name = backup.file_name().unwrap().to_str().unwrap().to_string();
    let bytes = std::fs::read(&db).unwrap();
    let refused = run(p, &["--env", "prod", "restore", "--file", &name]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("refusing to restore --file on the production database `dbguard.db`"),
        "{}",
        text(&refused)
    );
    let dry = ok(run(p, &["--env", "prod", "restore", "--file", &name, "--dry-run"]));
    assert!(dry.contains("nothing was changed"), "{dry}");
    assert!(std::fs::read(&db).unwrap() == bytes, "the database file changed");
    // A path relative to where the command runs is the same backup.
    let dir_name = p.file_name().unwrap().to_str().unwrap();
    let relative = format!("../{dir_name}/{}", backup.strip_prefix(p).unwrap().to_str().unwrap());
    let dry = ok(run(p, &["restore", "--file", &relative, "--dry-run"]));
    assert!(dry.contains("nothing was changed"), "{dry}");
    ok(run(p, &["--env", "prod", "--confirm", "dbguard.db", "restore", "--file", &name]));
    let history = ok(run(p, &["history"]));
    assert!(history.contains("restore --file") && history.contains("refused") && history.contains(" ok "), "{history}");
}

/// Reproduction 2: `preserves = user` when the table is `users` turned the guard off silently.
async fn a_mistyped_preserves_stops_the_run(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let d = package("");
    let p = d.path();
    let m = p.join("migrations/2_purge");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "-- dbguard: preserves = user\nDELETE FROM users WHERE id > 0;").unwrap();
    std::fs::write(m.join("down.sql"), "-- dbguard: irreversible = \"rows are gone\"").unwrap();
    ok(run(p, &["--database", &t.url, "up", "--to", "1"]));
    let o = run(p, &["--database", &t.url, "up"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("preserves `user`, but there is no table `user`")
            && text(&o).contains("did you mean `users`?"),
        "{}",
        text(&o)
    );
    let mut db = t.connect().await;
    assert_eq!(db.count_rows("users").await.unwrap(), 3);
    db.close().await.unwrap();
}
on_each_engine!(a_mistyped_preserves_stops_the_run);

/// Reproduction 3: `s.case` merged the rest of the file into one statement: the DROPs after it went
/// unflagged by `lint`.
#[test]
fn lint_sees_the_drops_after_a_keyword_used_as_a_name() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("up.sql");
    std::fs::write(
        &f,
        "UPDATE t SET a = s.case FROM s WHERE s.id = t.id;\nALTER TABLE t DROP COLUMN b;\nDROP TABLE old_orders;\n",
    )
    .unwrap();
    let o = run(d.path(), &["lint", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = json["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["drop-column", "drop-table"], "{json}");
}

/// Reproduction 4: A relative SQLite URL (as `.env.example` writes it) resolved against the current
/// directory: `cd src && cargo dbguard up` migrated a new empty file. Read-only commands
/// created a missing database too.
#[test]
fn relative_sqlite_paths_start_at_the_project_root() {
    let d = package("");
    let p = d.path();
    std::fs::write(p.join(".env"), "DATABASE_URL=sqlite://dbguard.db\n").unwrap();
    let src = p.join("src");
    let root_db = p.join("dbguard.db");
    for cmd in [&["status"][..], &["check"], &["up", "--dry-run"], &["history"], &["backups", "list"]] {
        let o = run(&src, cmd);
        assert!(!root_db.exists() && !src.join("dbguard.db").exists(), "`{cmd:?}` created a database: {}", text(&o));
        if cmd[0] != "up" {
            assert_ne!(o.status.code(), Some(0), "`{cmd:?}` on a missing database: {}", text(&o));
        }
        assert!(text(&o).contains(&root_db.display().to_string()), "`{cmd:?}` names the absolute path: {}", text(&o));
    }
    let up = ok(run(&src, &["up"]));
    assert!(up.contains(&format!("created {}: a new, empty database", root_db.display())), "{up}");
    assert!(root_db.exists() && !src.join("dbguard.db").exists());
    let status = ok(run(&src, &["status"]));
    assert!(status.contains("applied"), "the same database from the subdirectory: {status}");
}

/// Reproduction 5: `--env dev` was believed over the configuration: `reset` dropped the database that
/// `databases.prod` names.
async fn env_dev_cannot_lower_a_configured_production_database(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let d = package(&format!("\n[package.metadata.dbguard.databases]\nprod = \"{}\"\n", t.url));
    let p = d.path();
    ok(run(p, &["--database", &t.url, "--env", "dev", "up"]));
    let name = dbguard::database_name(&t.url);
    let o = run(p, &["--database", &t.url, "--env", "dev", "--confirm", &name, "reset"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.starts_with("[prod]"), "{out}");
    assert!(out.contains("this URL is databases.prod in Cargo.toml; --env dev cannot lower it"), "{out}");
    let mut db = t.connect().await;
    assert_eq!(db.count_rows("users").await.unwrap(), 3, "the database is intact");
    db.close().await.unwrap();
}
on_each_engine!(env_dev_cannot_lower_a_configured_production_database);

/// Reproduction 6: On PostgreSQL, `BEGIN; ...; COMMIT;` then a failing statement was reported as "exactly
/// as before" while the committed part stayed. Now such a migration never loads.
async fn transaction_control_never_runs(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let d = package("");
    let p = d.path();
    ok(run(p, &["--database", &t.url, "up"]));
    let m = p.join("migrations/2_half");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "BEGIN;\nDELETE FROM users WHERE id = 1;\nCOMMIT;\nSELECT * FROM nowhere;\n")
        .unwrap();
    std::fs::write(m.join("down.sql"), "-- dbguard: irreversible = \"a row is gone\"").unwrap();
    let o = run(p, &["--database", &t.url, "up"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("2_half/up.sql:1") && text(&o).contains("2_half/up.sql:3"), "{}", text(&o));
    let lint = run(p, &["lint"]);
    assert!(text(&lint).contains("transaction-control"), "{}", text(&lint));
    let mut db = t.connect().await;
    assert_eq!(db.count_rows("users").await.unwrap(), 3, "nothing ran");
    db.close().await.unwrap();
}
on_each_engine!(transaction_control_never_runs);

/// Reproduction 7: `sqlite:` migrated an in-memory database and reported success; a MySQL URL without a
/// database waited 120 s and blamed another runner; a malformed URL printed its password.
#[test]
fn bad_urls_are_refused_at_once_and_masked() {
    let d = package("");
    let p = d.path();
    for (url, says) in [
        ("sqlite:", "names no file"),
        ("sqlite://", "names no file"),
        ("mysql://root@127.0.0.1:3306/", "names no database"),
        ("postgres//app:hunter22@db.internal/shop", "unknown or missing scheme"),
        ("mysql://app:hunter22@db.internal:3306", "names no database"),
        // No scheme at all: `app` must not be taken for one.
        ("app:hunter22@db.internal/shop", "bad database URL"),
    ] {
        let o = run(p, &["--database", url, "up"]);
        assert_eq!(o.status.code(), Some(2), "{url}: {}", text(&o));
        assert!(text(&o).contains(says), "{url}: {}", text(&o));
        assert!(!text(&o).contains("hunter22"), "{url}: the password is printed: {}", text(&o));
    }
    // A reset of a file that is not there (a typo) creates nothing.
    for args in
        [&["--database", "sqlite://typo.db", "reset"][..], &["--database", "sqlite://typo.db", "reset", "--dry-run"]]
    {
        let o = run(p, args);
        assert!(!o.status.success() && text(&o).contains("does not exist; nothing was created"), "{}", text(&o));
        assert!(!p.join("typo.db").exists(), "{args:?} created the file");
    }
    // `mode=rwc` in the URL does not let a read-only command create the file.
    for cmd in [&["status"][..], &["check"], &["up", "--dry-run"], &["down"], &["backup"]] {
        let o = run(p, &[&["--database", "sqlite://fresh.db?mode=rwc"][..], cmd].concat());
        assert!(!p.join("fresh.db").exists(), "`{cmd:?}` with mode=rwc created the file: {}", text(&o));
    }
    let memory = run(p, &["--database", "sqlite::memory:", "up"]);
    assert_eq!(memory.status.code(), Some(2), "{}", text(&memory));
    assert!(text(&memory).contains("gone when this command ends"), "{}", text(&memory));
    let asked = ok(run(p, &["--database", "sqlite::memory:", "up", "--in-memory"]));
    assert!(asked.contains("applied 1 migration"), "{asked}");
}

/// A server that accepts the connection and never answers (a hung proxy, a firewall) fails
/// after the connect timeout instead of hanging a deploy.
#[test]
fn a_server_that_never_answers_times_out() {
    let d = package("");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection, saying nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://app:hunter22@127.0.0.1:{port}/shop");
        let o = Command::new(BIN)
            .current_dir(d.path())
            .args(["dbguard", "--database", &url, "status"])
            .env("NO_COLOR", "1")
            .env("DBGUARD_CONNECT_TIMEOUT", "1")
            .env_remove("DBGUARD_ENV")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!o.status.success(), "{scheme}: {}", text(&o));
        assert!(text(&o).contains("no answer within 1s (set DBGUARD_CONNECT_TIMEOUT"), "{scheme}: {}", text(&o));
        assert!(!text(&o).contains("hunter22"), "{}", text(&o));
    }
    // A timeout that is not a number is a usage error, not the default.
    let o = Command::new(BIN)
        .current_dir(d.path())
        .args(["dbguard", "--database", &format!("postgres://app@127.0.0.1:{port}/shop"), "status"])
        .env("NO_COLOR", "1")
        .env("DBGUARD_CONNECT_TIMEOUT", "abc")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("DBGUARD_CONNECT_TIMEOUT=\"abc\" is not a whole number of seconds"), "{}", text(&o));
}

/// Reproduction 8: `--env prod backups prune` deleted file backups without asking; prunes and restores
/// were not audited; a reset wiped the history `history` showed.
#[test]
fn prunes_ask_in_production_and_history_outlives_a_reset() {
    let d = package("");
    let p = d.path();
    ok(run(p, &["up"]));
    ok(run(p, &["down", "--to", "0"]));
    ok(run(p, &["up"]));
    let files = dbguard::file_backup::list(&p.join("dbguard.db")).unwrap();
    assert!(files.len() >= 3);
    let refused = run(p, &["--env", "prod", "backups", "prune", "--keep", "1"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let listed = text(&refused);
    let older = files[1].path.display().to_string();
    assert!(
        listed.contains(&format!("delete the file backup {older}")),
        "the refusal lists what it would delete: {listed}"
    );
    assert_eq!(dbguard::file_backup::list(&p.join("dbguard.db")).unwrap().len(), files.len(), "nothing deleted");
    ok(run(p, &["--env", "prod", "--confirm", "dbguard.db", "backups", "prune", "--keep", "1"]));
    ok(run(p, &["reset"]));
    let history = ok(run(p, &["history"]));
    for command in ["reset", "backups prune", " down ", " up "] {
        assert!(history.contains(command), "`{command}` is missing from the history after a reset: {history}");
    }
}

/// Reproduction 9: `init` did not keep the database, its backups, dumps and lock files out of git, and
/// named a configuration section it had not written.
#[test]
fn init_keeps_data_out_of_git() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("Cargo.toml"), "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n")
        .unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    let out = ok(run(p, &["init"]));
    assert!(out.contains("added [package.metadata.dbguard] in"), "{out}");
    let ignore = std::fs::read_to_string(p.join(".gitignore")).unwrap();
    for entry in ["/dbguard.db", "*.dbguard-backups/", "*.dbguard.lock", "/dbguard-dumps/", "/dbguard-audit.jsonl"] {
        assert!(ignore.lines().any(|l| l == entry), "{entry} missing: {ignore}");
    }
    ok(run(p, &["init"]));
    assert_eq!(std::fs::read_to_string(p.join(".gitignore")).unwrap(), ignore, "a second init adds nothing");
}

/// An audit file that cannot be written stops a command before it creates or changes anything.
#[test]
fn an_unwritable_audit_log_stops_before_the_database_is_created() {
    let d = package("\n[package.metadata.dbguard]\naudit-log = \"no/such/dir/audit.jsonl\"\n");
    let p = d.path();
    let o = run(p, &["up"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no/such/dir/audit.jsonl"), "{}", text(&o));
    assert!(!p.join("dbguard.db").exists(), "the database was created before the audit failed");
}
