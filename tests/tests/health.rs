//! Start-up checks, health, row-count alerts and the audit table, on real SQLite, PostgreSQL
//! and MySQL.

use dbguard::{BackendKind, Error, Migrator, Status, Tier};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

fn three(dir: &MigrationDir) {
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40));",
        "DROP TABLE users;",
    );
    dir.add("2", "create_orders", "CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE orders;");
    dir.add(
        "3",
        "add_email",
        "ALTER TABLE users ADD COLUMN email VARCHAR(120);",
        "ALTER TABLE users DROP COLUMN email;",
    );
}

fn unhealthy(r: dbguard::Result<dbguard::Health>) -> Box<dbguard::Health> {
    match r {
        Err(Error::Unhealthy(h)) => h,
        other => panic!("expected Unhealthy, got {other:?}"),
    }
}

async fn startup_check_names_each_state(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    three(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;

    let empty = unhealthy(m.startup_check(&mut db, &[]).await);
    assert_eq!(empty.status, Status::Critical);
    assert!(
        empty.to_string().contains("the database is empty") && empty.to_string().contains("cargo dbguard up"),
        "{empty}"
    );

    m.up(&mut db, Some(1)).await.unwrap();
    let behind = unhealthy(m.startup_check(&mut db, &["users"]).await);
    assert_eq!((behind.status, behind.pending.clone()), (Status::Degraded, vec![2, 3]));
    assert!(behind.to_string().contains("behind: 2 migration(s) pending"), "{behind}");

    m.up(&mut db, None).await.unwrap();
    let ok = m.startup_check(&mut db, &["users", "orders"]).await.unwrap();
    assert_eq!((ok.status, ok.current_version, ok.expected_version), (Status::Healthy, Some(3), Some(3)));

    let older_build = MigrationDir::new();
    older_build.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40));",
        "DROP TABLE users;",
    );
    older_build.add(
        "2",
        "create_orders",
        "CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY);",
        "DROP TABLE orders;",
    );
    let ahead = unhealthy(Migrator::from_dir(older_build.path()).unwrap().startup_check(&mut db, &[]).await);
    assert_eq!((ahead.status, ahead.missing.clone()), (Status::Critical, vec![3]));
    assert!(ahead.to_string().contains("ahead of this build"), "{ahead}");

    let edited = MigrationDir::new();
    three(&edited);
    edited.add(
        "3",
        "add_email",
        "ALTER TABLE users ADD COLUMN email VARCHAR(200);",
        "ALTER TABLE users DROP COLUMN email;",
    );
    let drifted = unhealthy(Migrator::from_dir(edited.path()).unwrap().startup_check(&mut db, &[]).await);
    assert_eq!((drifted.status, drifted.drifted.clone()), (Status::Critical, vec![3]));

    let gone = unhealthy(m.startup_check(&mut db, &["users", "invoices"]).await);
    assert!(gone.to_string().contains("the required table invoices does not exist"), "{gone}");

    // A migration that fails outside a transaction leaves the database dirty.
    dir.add(
        "4",
        "broken",
        "-- dbguard: no-transaction\nCREATE TABLE x (id BIGINT);\nSELECT * FROM no_such_table;",
        "DROP TABLE x;",
    );
    let m4 = Migrator::from_dir(dir.path()).unwrap();
    assert!(m4.up(&mut db, None).await.is_err());
    let dirty = unhealthy(m4.startup_check(&mut db, &[]).await);
    assert_eq!((dirty.status, dirty.dirty.clone()), (Status::Critical, vec![4]));
    // It recorded where it stopped: a plain `up` continues it, no repair by hand.
    assert!(dirty.to_string().contains("stopped partway during up at statement 2 of 2"), "{dirty}");
    assert!(dirty.to_string().contains("`cargo dbguard up` continues it"), "{dirty}");
}
on_each_engine!(startup_check_names_each_state);

async fn a_table_emptied_by_hand_raises_an_alert(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    three(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    db.execute("INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus')").await.unwrap();
    let first = m.check(&mut db, &["users"], &["users", "orders"], 0.05).await.unwrap();
    assert!(first.alerts.is_empty() && first.status == Status::Healthy, "{first}");
    db.execute("DELETE FROM users").await.unwrap();
    let second = m.check(&mut db, &["users"], &["users", "orders"], 0.05).await.unwrap();
    assert_eq!(second.status, Status::Degraded);
    assert_eq!(second.alerts.len(), 1, "{second}");
    assert!(second.alerts[0].starts_with("users went from 3 rows to 0"), "{second}");
}
on_each_engine!(a_table_emptied_by_hand_raises_an_alert);

/// Counts are recorded after every run, not only on `check`: rows deleted by hand right
/// after a deploy are caught by the first `check`.
async fn counts_recorded_after_a_run_catch_the_first_loss(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    three(&dir);
    dir.add(
        "4",
        "seed_users",
        "-- dbguard: preserves = users\nINSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus'), (4, 'Ken');",
        "DELETE FROM users WHERE id <= 4;",
    );
    let m = Migrator::from_dir(dir.path()).unwrap().watch_tables(["orders"]);
    assert_eq!(m.monitored_tables(), ["users", "orders"]);
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    assert_eq!(report.counts, [("users".to_string(), 4), ("orders".to_string(), 0)]);
    db.execute("DELETE FROM users WHERE id > 2").await.unwrap();
    let h = m.check(&mut db, &[], &[], 0.05).await.unwrap();
    assert_eq!(h.status, Status::Degraded, "{h}");
    assert_eq!(h.alerts.len(), 1, "{h}");
    assert!(h.alerts[0].starts_with("users went from 4 rows to 2"), "{h}");
}
on_each_engine!(counts_recorded_after_a_run_catch_the_first_loss);

/// Someone adds a column by hand: `check` shows it as a diff against the schema the last run
/// left, and a run that records a new schema makes the database healthy again.
async fn a_column_added_by_hand_is_reported_as_a_diff(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    three(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    let recorded = report.fingerprint.clone().expect("a run records the schema it left");
    let clean = m.check(&mut db, &[], &[], 0.05).await.unwrap();
    assert_eq!(clean.status, Status::Healthy, "{clean}");
    assert_eq!(clean.fingerprint.as_deref(), Some(recorded.as_str()));

    db.execute("ALTER TABLE orders ADD COLUMN note VARCHAR(50)").await.unwrap();
    let h = m.check(&mut db, &[], &[], 0.05).await.unwrap();
    assert_eq!(h.status, Status::Degraded, "{h}");
    let added: Vec<&String> = h.schema_changes.iter().filter(|l| l.starts_with('+')).collect();
    assert!(!added.is_empty() && added.iter().all(|l| l.contains("orders")), "{:#?}", h.schema_changes);
    assert!(added.iter().any(|l| l.contains("note")), "{:#?}", h.schema_changes);
    let text = h.to_string();
    assert!(text.contains("the schema changed since the last migration run (up at version 3"), "{text}");
    assert!(text.contains("note"), "{text}");
    assert_ne!(h.fingerprint.as_deref(), Some(recorded.as_str()));

    // Undone by hand: healthy again.
    db.execute("ALTER TABLE orders DROP COLUMN note").await.unwrap();
    let undone = m.check(&mut db, &[], &[], 0.05).await.unwrap();
    assert_eq!(undone.status, Status::Healthy, "{undone}");
}
on_each_engine!(a_column_added_by_hand_is_reported_as_a_diff);

async fn runs_and_refusals_are_audited(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    three(&dir);
    let log = tempfile::NamedTempFile::new().unwrap();
    let m = Migrator::from_dir(dir.path()).unwrap().audit_file(log.path());
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    m.up(&mut db, None).await.unwrap(); // a no-op changes nothing: not audited
    let refused = m.clone().tier(Tier::Prod).down(&mut db, 1).await.unwrap_err();
    assert!(matches!(refused, Error::ConfirmationRequired(_)));

    // The database keeps what ran; the refusal, which changed nothing, is in the file.
    assert_eq!(dbguard::audit::read(&mut db).await.unwrap().len(), 1);
    let entries = dbguard::audit::read_file(log.path(), &t.url).unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (newest, oldest) = (&entries[0], &entries[1]);
    assert_eq!(
        (oldest.command.as_str(), oldest.outcome.as_str(), oldest.migrations.clone()),
        ("up", "ok", vec![1, 2, 3])
    );
    assert_eq!((newest.command.as_str(), newest.outcome.as_str(), newest.tier.as_str()), ("down", "refused", "prod"));
    assert!(newest.message.as_deref().unwrap_or_default().contains("without a confirmation"));
    assert!(oldest.by.contains('@') && oldest.url == db.url());
    let lines = std::fs::read_to_string(log.path()).unwrap();
    // The run's line when it started and when it ended, then the refusal.
    let outcomes: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["started", "ok", "refused"], "{lines}");
}
on_each_engine!(runs_and_refusals_are_audited);
