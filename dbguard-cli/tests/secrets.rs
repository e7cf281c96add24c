//! The password in a database URL never reaches any output: every command's stdout and
//! stderr (text and JSON, successes, refusals and failures), the audit log file and the
//! `dbguard_audit` table, on PostgreSQL and MySQL with a real password.

use std::path::Path;
use std::process::{Command, Output};

use dbguard::{BackendKind, Database};
use dbguard_tests::TestDb;

const PASSWORD: &str = "Pw-4fe1c9-never-printed";

fn run(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-dbguard"))
        .current_dir(dir)
        .arg("dbguard")
        .args(args)
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .env_remove("DBGUARD_MIGRATIONS")
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

/// `url` with `user:PASSWORD@` as its credentials.
fn with_credentials(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}:{PASSWORD}@{host}")
}

/// A URL with a password that the server checks (MySQL: a user made for it) or accepts
/// (PostgreSQL here trusts local connections, so any password gets in).
async fn secret_url(t: &TestDb, kind: BackendKind) -> String {
    if kind == BackendKind::Mysql {
        let mut admin = t.connect().await;
        for host in ["%", "localhost"] {
            admin
                .execute(&format!("CREATE USER IF NOT EXISTS 'dbguard_pw'@'{host}' IDENTIFIED BY '{PASSWORD}'"))
                .await
                .unwrap();
            admin.execute(&format!("ALTER USER 'dbguard_pw'@'{host}' IDENTIFIED BY '{PASSWORD}'")).await.unwrap();
            admin.execute(&format!("GRANT ALL PRIVILEGES ON *.* TO 'dbguard_pw'@'{host}'")).await.unwrap();
        }
        admin.close().await.unwrap();
        return with_credentials(&t.url, "dbguard_pw");
    }
    with_credentials(&t.url, "postgres")
}

async fn no_output_holds_the_password(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let url = secret_url(&t, kind).await;
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    for (v, up, down) in [
        ("1_create_users", "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE users;"),
        ("2_add_name", "ALTER TABLE users ADD COLUMN name VARCHAR(40);", "ALTER TABLE users DROP COLUMN name;"),
        ("3_broken", "ALTER TABLE nowhere ADD COLUMN x INT;", "SELECT 1 FROM users;"),
    ] {
        std::fs::create_dir_all(m.join(v)).unwrap();
        std::fs::write(m.join(v).join("up.sql"), up).unwrap();
        std::fs::write(m.join(v).join("down.sql"), down).unwrap();
    }
    let name = dbguard::database_name(&t.url);
    let wrong_port = url.replace(":5432/", ":1/").replace(":3306/", ":1/");
    let commands: Vec<Vec<&str>> = vec![
        vec!["up", "--to", "2", "--dry-run"],
        vec!["up", "--to", "2", "--dry-run", "--format", "json"],
        vec!["up", "--to", "2"],
        vec!["up"], // migration 3 fails
        vec!["status"],
        vec!["status", "--format", "json"],
        vec!["check", "--table", "users"],
        vec!["check", "--table", "users", "--format", "json"],
        vec!["backup", "--table", "users"],
        vec!["backups", "list"],
        vec!["backups", "verify"],
        vec!["--env", "prod", "down", "--to", "1"], // refused: no confirmation
        vec!["--env", "prod", "--confirm", "wrong", "down", "--to", "1"],
        vec!["--env", "prod", "--confirm", &name, "down", "--to", "1"],
        vec!["rehearse"],
        vec!["history"],
        vec!["history", "--format", "json"],
    ];
    let mut seen = String::new();
    for args in &commands {
        let o = run(dir.path(), &url, args);
        seen.push_str(&String::from_utf8_lossy(&o.stdout));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    for args in [vec!["status"], vec!["--database", &wrong_port, "status"]] {
        let o = run(dir.path(), &wrong_port, &args);
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        seen.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    seen.push_str(&std::fs::read_to_string(dir.path().join("dbguard-audit.jsonl")).unwrap());
    let mut db = Database::connect(&url).await.unwrap();
    for row in dbguard::audit::read(&mut db).await.unwrap() {
        seen.push_str(&serde_json::to_string(&row).unwrap());
    }
    seen.push_str(&format!("{db:?}"));
    db.close().await.unwrap();

    assert!(!seen.contains(PASSWORD), "the password leaked:\n{seen}");
    // The outputs did name the database (masked), or the test proves nothing.
    assert!(seen.matches(":***@").count() >= commands.len(), "too few masked URLs in:\n{seen}");
    assert!(seen.contains("refused") && seen.contains("failed"), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    no_output_holds_the_password(BackendKind::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    no_output_holds_the_password(BackendKind::Mysql).await
}
