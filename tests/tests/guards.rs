//! Data guards against real SQLite, PostgreSQL and MySQL with 10,000+ rows: preserved tables,
//! automatic snapshots of destroyed tables, restore (also into changed columns), SQLite file
//! backups with retention, dumps.

use dbguard::{
    BackendKind, Backups, Database, DumpPolicy, Error, FileBackupPolicy, LossOutcome, Migrator, PrunePolicy,
    RestoreOptions,
};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

const ROWS: i64 = 10_000;
const FIRST: [&str; 8] = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances"];
const LAST: [&str; 6] = ["Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "O'Hamilton"];

/// Migration 1 creates `users` and `audit_log`; the rows are inserted by [`seed`].
fn schema(dir: &MigrationDir) {
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80), \
         balance DECIMAL(12, 2) NOT NULL, created_at VARCHAR(32) NOT NULL);\n\
         CREATE TABLE audit_log (id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL, action VARCHAR(40) NOT NULL);\n",
        "DROP TABLE audit_log;\nDROP TABLE users;\n",
    );
}

/// Real-looking rows: names with quotes, some NULLs, money, timestamps.
async fn seed(db: &mut Database) {
    for chunk in 0..(ROWS / 500) {
        let values: Vec<String> = (chunk * 500 + 1..=chunk * 500 + 500)
            .map(|i| {
                let (f, l) = (FIRST[i as usize % FIRST.len()], LAST[i as usize % LAST.len()]);
                let name = if i % 17 == 0 { "NULL".to_string() } else { format!("'{f} {}'", l.replace('\'', "''")) };
                format!(
                    "({i}, '{}.{}{i}@example.com', {name}, {}.{:02}, '2026-{:02}-{:02}T{:02}:00:00Z')",
                    f.to_lowercase(),
                    l.to_lowercase().replace('\'', ""),
                    (i * 37) % 5000,
                    i % 100,
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 24
                )
            })
            .collect();
        db.execute(&format!("INSERT INTO users (id, email, name, balance, created_at) VALUES {}", values.join(", ")))
            .await
            .unwrap();
        let log: Vec<String> =
            (chunk * 500 + 1..=chunk * 500 + 500).map(|i| format!("({i}, {}, 'login')", i % 977)).collect();
        db.execute(&format!("INSERT INTO audit_log (id, user_id, action) VALUES {}", log.join(", "))).await.unwrap();
    }
}

/// A seeded database at migration 1, plus the directory to add migrations to.
async fn seeded(kind: BackendKind) -> Option<(TestDb, MigrationDir, Database)> {
    let t = TestDb::new(kind).await?;
    let dir = MigrationDir::new();
    schema(&dir);
    let mut db = t.connect().await;
    Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap();
    seed(&mut db).await;
    Some((t, dir, db))
}

fn rows_lost(e: Error) -> Box<dbguard::RowsLost> {
    match e {
        Error::RowsLost(l) => l,
        other => panic!("expected RowsLost, got: {other}"),
    }
}

async fn dropping_a_preserved_table_is_refused(kind: BackendKind) {
    let Some((_t, dir, mut db)) = seeded(kind).await else { return };
    let before = db.content_checksum("users").await.unwrap();
    dir.add(
        "2",
        "drop_legacy_users",
        "-- dbguard: preserves = users\n-- dbguard:allow drop-table reason=\"testing the guard\"\nDROP TABLE users;\n",
        "-- dbguard: irreversible = \"users are gone\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let lost = rows_lost(m.up(&mut db, None).await.unwrap_err());
    let message = lost.to_string();
    assert!(
        message.starts_with(&format!(
            "migration 2 (drop_legacy_users) would have removed {ROWS} of {ROWS} rows from users"
        )),
        "{message}"
    );
    assert_eq!(lost.losses[0].after, None);
    assert_eq!(db.content_checksum("users").await.unwrap(), before, "every row is still there");
    if kind == BackendKind::Mysql {
        // DROP TABLE commits on MySQL: the table came back from its snapshot, and the migration
        // is left dirty for a human to look at.
        assert!(matches!(lost.outcome, LossOutcome::Restored { .. }), "{message}");
        assert!(message.contains("restored from snapshots"), "{message}");
    } else {
        assert_eq!(lost.outcome, LossOutcome::RolledBack);
        assert!(message.contains("rolled back, nothing changed"), "{message}");
        assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(1));
    }
}
on_each_engine!(dropping_a_preserved_table_is_refused);

async fn deleting_preserved_rows_is_refused_adding_passes(kind: BackendKind) {
    let Some((_t, dir, mut db)) = seeded(kind).await else { return };
    let before = db.content_checksum("users").await.unwrap();
    dir.add(
        "2",
        "purge_even_users",
        "-- dbguard: preserves = users\nDELETE FROM users WHERE id % 2 = 0;\n",
        "-- dbguard: irreversible = \"the purged users are gone\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let lost = rows_lost(m.up(&mut db, None).await.unwrap_err());
    assert!(lost.to_string().contains("would have removed 5000 of 10000 rows from users; rolled back"), "{lost}");
    assert_eq!(db.content_checksum("users").await.unwrap(), before);

    // Adding rows is fine...
    let dir2 = MigrationDir::new();
    schema(&dir2);
    dir2.add(
        "2",
        "add_admin",
        "-- dbguard: preserves = users\nINSERT INTO users (id, email, name, balance, created_at) VALUES (20001, 'admin@example.com', 'Admin', 0, '2026-11-21T00:00:00Z');\n",
        "DELETE FROM users WHERE id = 20001;\n",
    );
    // ...unless the table is preserved exactly.
    dir2.add(
        "3",
        "add_robot",
        "-- dbguard: preserves-exactly = users\nINSERT INTO users (id, email, name, balance, created_at) VALUES (20002, 'robot@example.com', 'Robot', 0, '2026-11-21T00:00:00Z');\n",
        "DELETE FROM users WHERE id = 20002;\n",
    );
    let m2 = Migrator::from_dir(dir2.path()).unwrap();
    let err = m2.up(&mut db, None).await.unwrap_err();
    assert_eq!(m2.plan(&mut db).await.unwrap().current_version(), Some(2), "2 passed");
    let lost = rows_lost(err);
    assert!(lost.to_string().contains("changed the row count of users from 10001 to 10002"), "{lost}");
    assert_eq!(db.count_rows("users").await.unwrap(), ROWS + 1);
    // The down of 2 deletes a row of a preserved table: guarded the same way.
    let lost = rows_lost(m2.down(&mut db, 1).await.unwrap_err());
    assert!(lost.to_string().starts_with("reverting migration 2 (add_admin) would have removed 1 of 10001"), "{lost}");
}
on_each_engine!(deleting_preserved_rows_is_refused_adding_passes);

async fn non_transactional_loss_is_restored_from_the_snapshot(kind: BackendKind) {
    let Some((_t, dir, mut db)) = seeded(kind).await else { return };
    let before = db.content_checksum("users").await.unwrap();
    dir.add(
        "2",
        "trim_users",
        "-- dbguard: preserves = users\n-- dbguard: no-transaction\nDELETE FROM users WHERE id > 100;\n",
        "-- dbguard: irreversible = \"the trimmed users are gone\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let lost = rows_lost(m.up(&mut db, None).await.unwrap_err());
    let LossOutcome::Restored { restored } = &lost.outcome else { panic!("{lost}") };
    assert!(restored[0].starts_with("users <- snapshot 1"), "{restored:?}");
    assert_eq!(db.content_checksum("users").await.unwrap(), before, "restored row for row");
    let plan = m.plan(&mut db).await.unwrap();
    assert_eq!(plan.in_state(dbguard::EntryState::Dirty).count(), 1, "left dirty for a human to check");
}
on_each_engine!(non_transactional_loss_is_restored_from_the_snapshot);

async fn allowed_destructive_migration_leaves_a_restorable_snapshot(kind: BackendKind) {
    let Some((_t, dir, mut db)) = seeded(kind).await else { return };
    let before = db.content_checksum("audit_log").await.unwrap();
    dir.add(
        "2",
        "drop_audit_log",
        "-- dbguard:allow drop-table reason=\"moved to the log service\"\nDROP TABLE audit_log;\n",
        "CREATE TABLE audit_log (id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL, action VARCHAR(40) NOT NULL);\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let report = m.up(&mut db, None).await.unwrap();
    assert!(!db.table_exists("audit_log").await.unwrap());
    assert_eq!(report.snapshots.len(), 1, "{:?}", report.snapshots);
    let snap = &report.snapshots[0];
    assert_eq!((snap.source_table.as_str(), snap.reason.as_str(), snap.row_count), ("audit_log", "destructive", ROWS));
    assert_eq!(m.backups().list(&mut db).await.unwrap(), report.snapshots);

    let restored = m.backups().restore(&mut db, snap.id, &RestoreOptions::default()).await.unwrap();
    assert!(restored.created && restored.pre_restore.is_none());
    assert_eq!(db.content_checksum("audit_log").await.unwrap(), before, "every row back");
    let verified = m.backups().verify(&mut db, snap.id).await.unwrap();
    assert!(verified.ok && verified.snapshot.checksum.is_some(), "{verified:?}");

    // Tampering with a snapshot is caught by verify.
    let q = db.quote(&snap.location);
    db.execute(&format!("DELETE FROM {q} WHERE id = 1")).await.unwrap();
    let bad = m.backups().verify(&mut db, snap.id).await.unwrap();
    assert!(!bad.ok && bad.problem.unwrap().contains("9999 rows"));
}
on_each_engine!(allowed_destructive_migration_leaves_a_restorable_snapshot);

async fn restore_maps_changed_columns_and_never_writes_half(kind: BackendKind) {
    let Some((_t, _dir, mut db)) = seeded(kind).await else { return };
    let backups = Backups::new();
    let snap = backups.snapshot(&mut db, "users").await.unwrap();
    assert_eq!(snap.row_count, ROWS);
    // Later migrations drop a column and add one; then a bad deploy deletes rows.
    db.execute("ALTER TABLE users DROP COLUMN name").await.unwrap();
    db.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(40) DEFAULT 'n/a'").await.unwrap();
    db.execute("DELETE FROM users WHERE id > 10").await.unwrap();
    let damaged = db.content_checksum("users").await.unwrap();

    let err = backups.restore(&mut db, snap.id, &RestoreOptions::default()).await.unwrap_err().to_string();
    assert!(
        err.contains("no longer has the snapshot's column(s) name") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(db.content_checksum("users").await.unwrap(), damaged, "nothing was written");

    let opts = RestoreOptions { drop_unmapped_columns: true, ..Default::default() };
    let plan = backups.restore(&mut db, snap.id, &RestoreOptions { dry_run: true, ..opts.clone() }).await.unwrap();
    assert_eq!(
        (plan.unmapped.clone(), plan.defaulted.clone()),
        (vec!["name".to_string()], vec!["nickname".to_string()])
    );
    assert_eq!(db.content_checksum("users").await.unwrap(), damaged, "a dry run writes nothing");

    let report = backups.restore(&mut db, snap.id, &opts).await.unwrap();
    assert_eq!(report.rows, ROWS);
    assert_eq!(report.mapped, ["id", "email", "balance", "created_at"]);
    let pre = report.pre_restore.expect("the damaged table was snapshotted first");
    assert_eq!((pre.reason.as_str(), pre.row_count), ("pre-restore", 10));
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM users WHERE nickname = 'n/a'").await.unwrap(), ROWS);

    // Pruning keeps the newest snapshot of each table.
    let all = backups.list(&mut db).await.unwrap();
    assert_eq!(all.len(), 2);
    let gone = backups.prune(&mut db, &PrunePolicy { keep: Some(0), ..Default::default() }).await.unwrap();
    assert_eq!(gone.iter().map(|s| s.id).collect::<Vec<_>>(), [pre.id], "the verified snapshot stays");
    assert!(!db.table_exists(&pre.location).await.unwrap());
    assert!(db.table_exists(&snap.location).await.unwrap());
}
on_each_engine!(restore_maps_changed_columns_and_never_writes_half);

#[tokio::test]
async fn sqlite_file_backups_verify_restore_and_rotate() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let file = std::path::PathBuf::from(t.url.trim_start_matches("sqlite://"));
    let dir = MigrationDir::new();
    schema(&dir);
    for v in 2..=6 {
        let (up, down) = (
            format!("ALTER TABLE audit_log ADD COLUMN c{v} INTEGER;"),
            format!("ALTER TABLE audit_log DROP COLUMN c{v};"),
        );
        dir.add(&v.to_string(), &format!("add_c{v}"), &up, &down);
    }
    let m = Migrator::from_dir(dir.path()).unwrap().file_backups(FileBackupPolicy { enabled: true, keep: 3 });
    let mut db = t.connect().await;
    let first = m.up(&mut db, Some(1)).await.unwrap();
    assert!(first.file_backup.as_ref().unwrap().verified);
    seed(&mut db).await;

    let second = m.up(&mut db, Some(2)).await.unwrap();
    let backup = second.file_backup.unwrap();
    assert_eq!(backup.tables["users"], ROWS, "{backup:?}");
    assert!(backup.path.starts_with(dbguard::file_backup::backup_dir(&file)));
    assert_eq!(dbguard::file_backup::verify(&backup).await.unwrap(), None, "integrity_check passes");
    m.up(&mut db, Some(3)).await.unwrap();
    let at_three = (db.content_checksum("users").await.unwrap(), db.content_checksum("audit_log").await.unwrap());
    for v in 4..=6 {
        m.up(&mut db, Some(v)).await.unwrap();
    }
    let all = dbguard::file_backup::list(&file).unwrap();
    assert_eq!(all.len(), 3, "retention keeps 3: {all:?}");
    assert!(all.iter().all(|b| b.verified && b.reason == "pre-up"));
    assert!(m.up(&mut db, None).await.unwrap().file_backup.is_none(), "a no-op run takes no backup");

    // Damage, then restore the oldest kept backup (taken before migration 4 ran).
    db.execute("DELETE FROM users").await.unwrap();
    db.close().await.unwrap();
    let oldest = all.last().unwrap().clone();
    let report = dbguard::file_backup::restore(&t.url, &oldest).await.unwrap();
    assert_eq!(report.pre_restore.tables["users"], 0, "the damaged state was backed up first");
    let mut db = t.connect().await;
    let restored = (db.content_checksum("users").await.unwrap(), db.content_checksum("audit_log").await.unwrap());
    assert_eq!(restored, at_three, "identical data");
    assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(3));
    db.close().await.unwrap();

    // A damaged backup no longer verifies, and is not restored.
    std::fs::write(&oldest.path, b"not a database at all").unwrap();
    let checked = dbguard::file_backup::verify(&oldest).await;
    assert!(!matches!(checked, Ok(None)), "{checked:?}");
    assert!(dbguard::file_backup::restore(&t.url, &oldest).await.is_err());
}

async fn catalog_listing(kind: BackendKind) {
    let Some((_t, dir, mut db)) = seeded(kind).await else { return };
    dir.add(
        "2",
        "reset_balances",
        "-- dbguard: preserves = users\n-- dbguard:allow update-without-where reason=\"balances move to the ledger\"\n\
         UPDATE users SET balance = 0;\n-- dbguard:allow delete-without-where reason=\"the log moved\"\nDELETE FROM audit_log;\n",
        "-- dbguard: irreversible = \"the old balances are in the snapshot\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    m.up(&mut db, None).await.unwrap();
    m.backups().snapshot(&mut db, "audit_log").await.unwrap();
    m.backups().verify(&mut db, 1).await.unwrap();
    let list = m.backups().list(&mut db).await.unwrap();
    insta::with_settings!({
        snapshot_suffix => format!("{kind:?}").to_lowercase(),
        filters => vec![
            (r"\d{8}T\d{6}Z", "[stamp]"),
            (r"\d{4}-\d\d-\d\dT[\d:.]+Z", "[time]"),
            (r"(\d+):\d{4,}", "$1:[sum]"),
        ],
    }, {
        insta::assert_snapshot!(serde_json::to_string_pretty(&list).unwrap());
    });
}
on_each_engine!(catalog_listing);

/// PostgreSQL and MySQL only: SQLite takes file backups instead (above).
async fn configured_dumps_run_or_stop_the_run(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    schema(&dir);
    let out = tempfile::tempdir().unwrap();
    let mut db = t.connect().await;
    let missing = DumpPolicy { dir: out.path().into(), program: Some("/nonexistent/dump-tool".into()) };
    let m = Migrator::from_dir(dir.path()).unwrap().dump_before_runs(missing);
    let err = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(err, Error::Backup(_)) && err.to_string().contains("nothing was run"), "{err}");
    assert!(!db.table_exists("users").await.unwrap(), "a configured backup is never skipped");

    let m =
        Migrator::from_dir(dir.path()).unwrap().dump_before_runs(DumpPolicy { dir: out.path().into(), program: None });
    let report = m.up(&mut db, None).await.unwrap();
    let dump = std::fs::read_to_string(report.dump.expect("a dump was taken")).unwrap();
    assert!(dump.contains("dbguard_schema_version"), "the dump holds the database: {}", &dump[..dump.len().min(300)]);
    assert!(db.table_exists("users").await.unwrap());
}
#[tokio::test]
async fn configured_pg_dump_runs_or_stops_the_run() {
    configured_dumps_run_or_stop_the_run(BackendKind::Postgres).await;
}
#[tokio::test]
async fn configured_mysqldump_runs_or_stops_the_run() {
    configured_dumps_run_or_stop_the_run(BackendKind::Mysql).await;
}
