//! The whole workflow with the built binary, in a temporary cargo project, on SQLite,
//! PostgreSQL and MySQL: init → new → edit → lint → up --dry-run → up → status → down → up,
//! plus backups and restore. Outputs are snapshot-tested with volatile parts redacted.

use std::path::Path;
use std::process::{Command, Output};

use dbguard::BackendKind;
use dbguard_tests::{TestDb, on_each_engine};

fn run(dir: &Path, url: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-dbguard"));
    cmd.current_dir(dir).arg("dbguard").args(args).env_remove("DBGUARD_MIGRATIONS").env("NO_COLOR", "1");
    if url.is_empty() {
        cmd.env_remove("DATABASE_URL");
    } else {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().map(dbguard_tests::recorded).unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), text(&o));
    text(&o)
}

/// Standard output only (the tier banner goes to stderr), after checking success.
fn stdout_ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A cargo package in a temporary directory.
fn package() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    d
}

/// Snapshot-tests `text` with what changes from run to run redacted.
fn snapshot(name: &str, text: &str, dir: &Path) {
    let text = text.replace(&dir.display().to_string(), "[project]");
    insta::with_settings!({
        filters => vec![
            (r"\d{4}-\d\d-\d\dT[\d:.]+Z", "[time]"),
            (r"\(\d+ ms\)", "([n] ms)"),
            (r"\d{8}T\d{6}(\.\d{3})?Z", "[stamp]"),
        ],
    }, {
        insta::assert_snapshot!(name, text);
    });
}

async fn init_new_lint_up_status_down(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let d = package();
    let p = d.path();
    let url = if kind == BackendKind::Sqlite { "" } else { t.url.as_str() };

    let init = ok(run(p, url, &["init"]));
    assert!(init.contains("created") && p.join("migrations").is_dir(), "{init}");
    let manifest = std::fs::read_to_string(p.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[package.metadata.dbguard]"), "{manifest}");
    assert!(p.join(".env.example").exists());

    ok(run(p, url, &["new", "create_users"]));
    ok(run(p, url, &["new", "add_email"]));
    let m = p.join("migrations");
    assert!(m.join("0001_create_users/up.sql").exists() && m.join("0002_add_email/down.sql").exists());
    // A fresh scaffold is refused until its down is written.
    let refused = run(p, url, &["up"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("down migration is empty or only comments"), "{}", text(&refused));

    std::fs::write(m.join("0001_create_users/up.sql"), "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(80));\nINSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace');\n").unwrap();
    std::fs::write(m.join("0001_create_users/down.sql"), "DROP TABLE users;\n").unwrap();
    std::fs::write(
        m.join("0002_add_email/up.sql"),
        "-- dbguard: preserves = users\nALTER TABLE users ADD COLUMN email VARCHAR(120);\n",
    )
    .unwrap();
    std::fs::write(
        m.join("0002_add_email/down.sql"),
        "-- dbguard:allow drop-column reason=\"reverting 0002\"\nALTER TABLE users DROP COLUMN email;\n",
    )
    .unwrap();
    assert_eq!(run(p, url, &["lint"]).status.code(), Some(0), "{}", text(&run(p, url, &["lint"])));

    // A dry run changes nothing; on SQLite it does not even create the database.
    let file = p.join("dbguard.db");
    let dry = stdout_ok(run(p, url, &["up", "--dry-run"]));
    assert!(dry.contains("dry run of `up`") && dry.contains("CREATE TABLE users"), "{dry}");
    if url.is_empty() {
        assert!(dry.contains(&format!("{} does not exist yet", file.display())), "{dry}");
        assert!(!file.exists(), "a dry run created the database");
    } else {
        let mut db = t.connect().await;
        assert!(!db.introspect().await.unwrap().has_tables(), "the dry run changed the schema");
        db.close().await.unwrap();
    }
    let mut db = dbguard::Database::create_if_missing(&if url.is_empty() {
        format!("sqlite://{}", file.display())
    } else {
        t.url.clone()
    })
    .await
    .unwrap();
    assert!(!db.table_exists("dbguard_schema_version").await.unwrap());
    if kind == BackendKind::Sqlite {
        snapshot("up_dry_run", &dry, p);
    }

    let up = ok(run(p, url, &["up"]));
    assert!(up.contains("applied  1 create_users") && up.contains("applied 2 migrations"), "{up}");
    assert!(up.contains("row counts recorded: users 2") && up.contains("schema fingerprint recorded:"), "{up}");
    let status = run(p, url, &["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["entries"][1]["state"], "applied", "{json}");
    if kind == BackendKind::Sqlite {
        snapshot("status", &stdout_ok(run(p, url, &["status"])), p);
    }

    let down = ok(run(p, url, &["down", "--to", "1"]));
    assert!(down.contains("reverted 2 add_email"), "{down}");
    assert!(down.contains("snapshot users"), "the down drops a column: users was snapshotted first\n{down}");
    ok(run(p, url, &["up"]));
    assert_eq!(db.count_rows("users").await.unwrap(), 2);

    // Backups: a manual snapshot, a listing, a restore after damage.
    let backup = ok(run(p, url, &["backup", "--table", "users"]));
    let id: String = backup.split("snapshot ").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    db.execute("DELETE FROM users").await.unwrap();
    let restored = ok(run(p, url, &["restore", &id]));
    assert!(restored.contains("restored 2 rows into users"), "{restored}");
    assert_eq!(db.count_rows("users").await.unwrap(), 2);
    let list = stdout_ok(run(p, url, &["backups", "list", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert!(json["snapshots"].as_array().unwrap().iter().any(|s| s["reason"] == "pre-restore"), "{json}");
    if kind == BackendKind::Sqlite {
        assert!(!json["files"].as_array().unwrap().is_empty(), "SQLite runs leave file backups");
    }
    db.close().await.unwrap();
}
on_each_engine!(init_new_lint_up_status_down);

#[test]
fn help_and_scaffolds_are_reviewed() {
    let d = package();
    insta::assert_snapshot!("help", ok(run(d.path(), "", &["--help"])));
    ok(run(d.path(), "", &["new", "create_users"]));
    let dir = d.path().join("migrations/0001_create_users");
    insta::assert_snapshot!("scaffold_up", std::fs::read_to_string(dir.join("up.sql")).unwrap());
    insta::assert_snapshot!("scaffold_down", std::fs::read_to_string(dir.join("down.sql")).unwrap());
    ok(run(d.path(), "", &["new", "backfill", "--rust"]));
    insta::assert_snapshot!(
        "scaffold_rust",
        std::fs::read_to_string(d.path().join("src/migrations/v0002_backfill.rs")).unwrap()
    );
}

#[test]
fn configuration_errors_name_the_key_and_the_file() {
    let d = package();
    let manifest = d.path().join("Cargo.toml");
    let text_before = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text_before}\n[package.metadata.dbguard]\ndatabse = \"sqlite://x.db\"\n"))
        .unwrap();
    let out = run(d.path(), "", &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("unknown field `databse`") && t.contains("Cargo.toml") && t.contains("database"), "{t}");
}

#[test]
fn env_file_and_metadata_precedence() {
    let d = package();
    let p = d.path();
    let manifest = std::fs::read_to_string(p.join("Cargo.toml")).unwrap();
    std::fs::write(
        p.join("Cargo.toml"),
        format!(
            "{manifest}\n[package.metadata.dbguard]\ndatabase = \"sqlite://from-metadata.db\"\nmigrations = \"db\"\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(p.join("db/1_t")).unwrap();
    std::fs::write(p.join("db/1_t/up.sql"), "CREATE TABLE t (id INTEGER);").unwrap();
    std::fs::write(p.join("db/1_t/down.sql"), "DROP TABLE t;").unwrap();
    ok(run(p, "", &["up"]));
    assert!(p.join("from-metadata.db").exists(), "metadata applies");
    std::fs::write(p.join(".env"), "DATABASE_URL=sqlite://from-dotenv.db\n").unwrap();
    ok(run(p, "", &["up"]));
    assert!(p.join("from-dotenv.db").exists(), ".env wins over metadata");
    let flag = format!("sqlite://{}", p.join("from-flag.db").display());
    ok(run(p, "sqlite://from-env.db", &["up", "--database", &flag]));
    assert!(p.join("from-flag.db").exists(), "the flag wins over everything");
    ok(run(p, "sqlite://from-env.db", &["up"]));
    assert!(p.join("from-env.db").exists(), "the environment wins over .env");
}

#[test]
fn lint_outputs_are_reviewed() {
    let d = package();
    let m = d.path().join("migrations/0001_purge");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE sessions (id BIGINT);\nDELETE FROM users;\n").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE sessions;\n").unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("src/reset.rs"), "pub async fn reset(pool: &sqlx::PgPool) {\n    sqlx::query(\"TRUNCATE orders\").execute(pool).await.unwrap();\n}\n").unwrap();
    for (name, args) in [
        ("lint_text", vec!["lint", "--rust-sql"]),
        ("lint_json", vec!["lint", "--rust-sql", "--format", "json"]),
        ("lint_sarif", vec!["lint", "--rust-sql", "--format", "sarif"]),
    ] {
        let out = run(d.path(), "", &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        snapshot(name, &String::from_utf8_lossy(&out.stdout), d.path());
    }
    // Without --rust-sql the app code is not checked.
    let plain = text(&run(d.path(), "", &["lint"]));
    assert!(plain.contains("delete-without-where") && !plain.contains("TRUNCATE orders"), "{plain}");
}

#[test]
fn a_badly_named_migration_is_exit_2_naming_the_file() {
    let d = package();
    let m = d.path().join("migrations/add_users");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE users (id INTEGER);").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE users;").unwrap();
    let out = run(d.path(), "", &["up"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("migrations/add_users") && t.contains("fix:") && !t.contains("panicked"), "{t}");
}

#[test]
fn check_and_history() {
    let d = package();
    let p = d.path();
    let m = p.join("migrations/0001_users");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);").unwrap();
    std::fs::write(m.join("down.sql"), "DROP TABLE users;").unwrap();
    let missing = run(p, "", &["check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("critical") && text(&missing).contains("does not exist"), "{}", text(&missing));
    assert!(!p.join("dbguard.db").exists(), "check created the database");
    ok(run(p, "", &["up"]));
    let healthy = ok(run(p, "", &["check", "--table", "users"]));
    assert!(healthy.contains("healthy at version 1") && healthy.contains("users: 0 rows"), "{healthy}");
    let json: serde_json::Value = serde_json::from_str(&stdout_ok(run(p, "", &["check", "--format", "json"]))).unwrap();
    assert_eq!(json["status"], "healthy");
    let history = ok(run(p, "", &["history"]));
    assert!(history.contains(" up ") && history.contains(" ok "), "{history}");
    let log = std::fs::read_to_string(p.join("dbguard-audit.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2, "one changing command: a line when it starts, one when it ends: {log}");
    assert_eq!(history.lines().filter(|l| l.contains(" up ")).count(), 1, "{history}");
}

/// `rehearse` reports the down that does not restore its up (exit 1) and leaves the database
/// as it was; `reset` re-creates a dev database after a backup, and is refused in prod.
async fn rehearse_and_reset(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = package();
    let m = dir.path().join("migrations");
    for (v, up, down) in [
        ("1_create_users", "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE users;"),
        ("2_add_name", "ALTER TABLE users ADD COLUMN name VARCHAR(40);", "CREATE TABLE leftover (id INT);"),
    ] {
        std::fs::create_dir_all(m.join(v)).unwrap();
        std::fs::write(m.join(v).join("up.sql"), up).unwrap();
        std::fs::write(m.join(v).join("down.sql"), down).unwrap();
    }
    ok(run(dir.path(), &t.url, &["up", "--to", "1"]));
    let mut db = t.connect().await;
    db.execute("INSERT INTO users (id) VALUES (1), (2)").await.unwrap();
    let before = db.introspect().await.unwrap();

    let o = run(dir.path(), &t.url, &["rehearse"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("2 add_name: its down does not restore the schema its up found") && out.contains("name"),
        "{out}"
    );
    assert!(out.contains("2 problems") && out.contains("applying it again after the downs fails"), "{out}");
    assert!(!out.contains("DownDoesNotRestoreSchema") && !out.contains("(s)"), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&run(dir.path(), &t.url, &["rehearse", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["findings"][0]["kind"], "down-does-not-restore-schema", "{json}");
    assert_eq!(db.introspect().await.unwrap(), before, "rehearse changed the database");
    assert_eq!(db.count_rows("users").await.unwrap(), 2);
    db.close().await.unwrap();

    // reset: refused in prod whatever the flags, then done in dev after a backup.
    let refused = run(dir.path(), &t.url, &["--env", "prod", "--confirm", &dbguard::database_name(&t.url), "reset"]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(text(&refused).contains("refused, whatever the flags"), "{}", text(&refused));
    let mut db = t.connect().await;
    assert_eq!(db.count_rows("users").await.unwrap(), 2, "a refused reset changed the database");
    db.close().await.unwrap();

    let dumps = dir.path().join("dumps");
    // SQLite takes a file backup; the servers a dump into the configured directory.
    if kind != BackendKind::Sqlite {
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!(
                "{}\n[package.metadata.dbguard]\ndump-dir = \"{}\"\n",
                std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap(),
                dumps.display()
            ),
        )
        .unwrap();
    }
    let out = ok(run(dir.path(), &t.url, &["--env", "dev", "reset"]));
    assert!(out.contains("backed up to") && out.contains("applied 2 migrations"), "{out}");
    let mut db = t.connect().await;
    assert_eq!(db.count_rows("users").await.unwrap(), 0, "the database was not re-created");
    assert_eq!(db.columns("users").await.unwrap(), ["id", "name"]);
    db.close().await.unwrap();
    let backup = out.lines().find_map(|l| l.strip_prefix("backed up to ")).unwrap().trim();
    let saved = if kind == BackendKind::Sqlite {
        // The file backup is a SQLite database with the old rows.
        let mut b = dbguard::Database::connect(&format!("sqlite://{backup}")).await.unwrap();
        b.count_rows("users").await.unwrap()
    } else {
        let dump = std::fs::read_to_string(backup).unwrap();
        assert!(dump.contains("users"), "{backup}");
        2
    };
    assert_eq!(saved, 2, "the backup does not hold the rows");
}
on_each_engine!(rehearse_and_reset);

/// `doctor` scores a bare project low, says what to do for each point, and scores it full once
/// each point is done.
#[test]
fn doctor_scores_the_setup_and_says_what_to_fix() {
    let dir = package();
    let p = dir.path();
    let m = p.join("migrations");
    let write = |v: &str, up: &str, down: &str| {
        std::fs::create_dir_all(m.join(v)).unwrap();
        std::fs::write(m.join(v).join("up.sql"), up).unwrap();
        std::fs::write(m.join(v).join("down.sql"), down).unwrap();
    };
    write("1_create_users", "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, legacy TEXT);", "DROP TABLE users;");
    let drop_legacy = "-- dbguard:allow drop-column reason=\"nothing reads it\"\nALTER TABLE users DROP COLUMN legacy;";
    write("2_drop_legacy", drop_legacy, "ALTER TABLE users ADD COLUMN legacy TEXT;");

    let o = run(p, "", &["doctor"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("safety score: 3/7"), "{out}");
    for missing in ["MISS ci-lint", "MISS backup", "MISS prod-tier", "MISS preserves", "fix: add `cargo dbguard lint"] {
        assert!(out.contains(missing), "{missing}: {out}");
    }
    for held in ["ok   lint-clean", "ok   downs", "ok   audit-log"] {
        assert!(out.contains(held), "{held}: {out}");
    }

    // Do what it says.
    std::fs::create_dir_all(p.join(".github/workflows")).unwrap();
    std::fs::write(p.join(".github/workflows/ci.yml"), "steps:\n  - run: cargo dbguard lint --format github\n")
        .unwrap();
    let manifest = std::fs::read_to_string(p.join("Cargo.toml")).unwrap();
    std::fs::write(
        p.join("Cargo.toml"),
        format!(
            "{manifest}\n[package.metadata.dbguard]\ncritical-tables = [\"users\"]\n\n[package.metadata.dbguard.databases]\nprod = \"postgres://app@db.internal/shop\"\n"
        ),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&run(p, "", &["doctor", "--format", "json"]).stdout).unwrap();
    let preserves = json["points"].as_array().unwrap().iter().find(|x| x["name"] == "preserves").unwrap();
    assert_eq!(preserves["ok"], false);
    assert!(preserves["detail"].as_str().unwrap().contains("2 drop_legacy (drop-column on users)"), "{json}");
    write(
        "2_drop_legacy",
        &format!("-- dbguard: preserves = users\n{drop_legacy}"),
        "ALTER TABLE users ADD COLUMN legacy TEXT;",
    );
    ok(run(p, "", &["up"]));
    ok(run(p, "", &["backup"]));
    let out = ok(run(p, "", &["doctor"]));
    assert!(out.contains("safety score: 7/7"), "{out}");
    assert!(out.contains("run by .github/workflows/ci.yml"), "{out}");
}

/// `fleet`: a fleet file with relative SQLite paths (from the file's directory), up with a
/// summary, status as JSON, a production target refused without `--confirm fleet:<file>`, a
/// missing tenant file failing its target only, and the configuration's fleet.
#[test]
fn fleet_up_status_and_confirmation() {
    let d = package();
    let p = d.path();
    ok(run(p, "", &["new", "create_users"]));
    std::fs::write(
        p.join("migrations/0001_create_users/up.sql"),
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(p.join("migrations/0001_create_users/down.sql"), "DROP TABLE users;\n").unwrap();
    std::fs::create_dir_all(p.join("fleet/db")).unwrap();
    for name in ["a", "b", "c"] {
        empty_sqlite_file(&p.join(format!("fleet/db/{name}.db")));
    }
    let targets = "[[target]]\nname = \"a\"\nurl = \"sqlite://db/a.db\"\ntags = [\"eu\"]\n\
                   [[target]]\nname = \"b\"\nurl = \"sqlite://db/b.db\"\n\
                   [[target]]\nname = \"c\"\nurl = \"sqlite://db/c.db\"\ntier = \"prod\"\n";
    std::fs::write(p.join("fleet/tenants.toml"), targets).unwrap();
    // From a subdirectory: relative paths start at the fleet file's directory.
    std::fs::create_dir_all(p.join("src/deep")).unwrap();
    let fleet = ["fleet", "--fleet", "../../fleet/tenants.toml"];
    let refused = run(&p.join("src/deep"), "", &[&fleet[..], &["up"]].concat());
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("--confirm fleet:tenants.toml"), "{}", text(&refused));

    let only = stdout_ok(run(&p.join("src/deep"), "", &[&fleet[..], &["up", "--only", "eu"]].concat()));
    assert!(only.contains("a ") && only.contains("none→1") && only.contains("1 ok, 0 failed, 0 skipped"), "{only}");
    let all = run(
        &p.join("src/deep"),
        "",
        &[&fleet[..], &["up", "--confirm", "fleet:tenants.toml", "--parallel", "2"]].concat(),
    );
    let out = ok(all);
    assert!(out.contains("3 ok, 0 failed, 0 skipped"), "{out}");
    assert!(out.contains("[1/3] ") && out.contains("[3/3] "), "a line per target as it ends: {out}");
    let status = stdout_ok(run(&p.join("src/deep"), "", &[&fleet[..], &["status", "--format", "json"]].concat()));
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let notes: Vec<&str> =
        v["targets"].as_array().unwrap().iter().map(|t| t["outcome"]["note"].as_str().unwrap()).collect();
    assert_eq!(notes, ["up to date"; 3], "{status}");
    assert!(!p.join("src/deep/db").exists(), "no database was created beside the current directory");

    // A tenant whose file is gone fails (never created empty); the others are reported.
    std::fs::remove_file(p.join("fleet/db/b.db")).unwrap();
    let o = run(p, "", &["fleet", "--fleet", "fleet/tenants.toml", "--continue-on-failure", "status"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("2 ok, 1 failed, 0 skipped") && text(&o).contains("does not exist"), "{}", text(&o));
    assert!(text(&o).contains("run the same `cargo dbguard fleet ...` command again"), "{}", text(&o));
    assert!(!p.join("fleet/db/b.db").exists(), "the missing tenant was not created");

    // The configuration's fleet, when no --fleet is given.
    let manifest = std::fs::read_to_string(p.join("Cargo.toml")).unwrap();
    let url = format!("sqlite://{}", p.join("fleet/db/a.db").display());
    std::fs::write(
        p.join("Cargo.toml"),
        format!("{manifest}\n[[package.metadata.dbguard.fleet.target]]\nname = \"only-a\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let out = stdout_ok(run(p, "", &["fleet", "status"]));
    assert!(out.contains("only-a") && out.contains("1 ok"), "{out}");
}

/// A tenant database that exists: an empty file is an empty SQLite database.
fn empty_sqlite_file(path: &Path) {
    std::fs::write(path, b"").unwrap();
}
