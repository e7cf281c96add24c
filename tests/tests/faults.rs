//! Faults of the machine, not of the migration, produced for real on each database: each says
//! what happened and its own next step, and none tells the user to fix a migration that was
//! never wrong.

use dbguard::{BackendKind, Error, Fault, Migrator};
use dbguard_tests::{MigrationDir, TestDb};

/// Runs `up` of one migration and returns the failure.
async fn failing(t: &TestDb, up: &str) -> Error {
    let dir = MigrationDir::new();
    dir.add("1", "faulty", up, "-- dbguard: irreversible = \"a test\"\n");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let err = m.up(&mut db, None).await.unwrap_err();
    db.close().await.ok();
    err
}

fn fault_of(e: &Error) -> Option<Fault> {
    match e {
        Error::MigrationFailed(f) => f.fault,
        _ => None,
    }
}

#[tokio::test]
async fn sqlite_disk_full_is_not_the_migrations_fault() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    // The database may not grow past 200 pages: the insert fills it, as a full disk would.
    let e = failing(
        &t,
        "PRAGMA max_page_count = 200;\nCREATE TABLE big (id BIGINT, pad TEXT);\n\
         WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 100000) \
         INSERT INTO big SELECT g, printf('%0100d', g) FROM s;",
    )
    .await;
    assert_eq!(fault_of(&e), Some(Fault::DiskFull), "{e}");
    let said = e.to_string();
    assert!(said.contains("the disk is full") && said.contains("not at fault"), "{said}");
    assert!(!said.contains("fix the migration"), "{said}");
}

#[tokio::test]
async fn mysql_table_full_is_not_the_migrations_fault() {
    let Some(t) = TestDb::new(BackendKind::Mysql).await else { return };
    let e = failing(
        &t,
        "SET SESSION max_heap_table_size = 65536;\nCREATE TABLE small (id BIGINT, pad VARCHAR(200)) ENGINE=MEMORY;\n\
         INSERT INTO small WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 900) \
         SELECT g, REPEAT('x', 200) FROM s;",
    )
    .await;
    assert_eq!(fault_of(&e), Some(Fault::DiskFull), "{e}");
    let said = e.to_string();
    assert!(said.contains("the disk is full") && said.contains("continues from statement"), "{said}");
    assert!(!said.contains("fix the statement"), "{said}");
}

#[tokio::test]
async fn postgres_read_only_says_to_use_the_primary() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let e = failing(&t, "SET TRANSACTION READ ONLY;\nCREATE TABLE x (id INT);").await;
    assert_eq!(fault_of(&e), Some(Fault::ReadOnly), "{e}");
    assert!(e.to_string().contains("run against the primary"), "{e}");
}

#[tokio::test]
async fn postgres_missing_privilege_says_to_grant_it() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let mut db = t.connect().await;
    db.execute(
        "DO $$ BEGIN CREATE ROLE dbguard_test_noperm NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .await
    .unwrap();
    db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC").await.unwrap();
    db.close().await.ok();
    let e = failing(&t, "SET LOCAL ROLE dbguard_test_noperm;\nCREATE TABLE x (id INT);").await;
    assert_eq!(fault_of(&e), Some(Fault::PermissionDenied), "{e}");
    assert!(e.to_string().contains("grant the database user the privilege"), "{e}");
}

#[tokio::test]
async fn postgres_server_gone_says_to_check_the_server() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let e = failing(&t, "CREATE TABLE x (id INT);\nSELECT pg_terminate_backend(pg_backend_pid());").await;
    let said = e.to_string();
    assert!(said.contains("connection to the database was lost") && said.contains("server is up"), "{said}");
    assert!(!said.contains("fix the migration"), "{said}");
}
