//! The migrator against real SQLite, PostgreSQL and MySQL: apply, idempotence, failure
//! atomicity, drift, down, baseline.

use dbguard::{BackendKind, EntryState, Error, FailureOutcome, Migrator, Repair};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

fn three(dir: &MigrationDir) {
    dir.add(
        "1",
        "create_a",
        "CREATE TABLE a (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));\nINSERT INTO a (id, v) VALUES (1, 'x');\n",
        "DROP TABLE a;\n",
    );
    dir.add("2", "create_b", "CREATE TABLE b (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE b;");
    dir.add("3", "add_w", "ALTER TABLE a ADD COLUMN w BIGINT;", "ALTER TABLE a DROP COLUMN w;");
}

/// A fresh database and a directory with the three standard migrations.
async fn with_three(kind: BackendKind) -> Option<(TestDb, MigrationDir)> {
    let t = TestDb::new(kind).await?;
    let dir = MigrationDir::new();
    three(&dir);
    Some((t, dir))
}

fn versions(steps: &[dbguard::StepReport]) -> Vec<i64> {
    steps.iter().map(|s| s.version).collect()
}

async fn up_applies_in_order_and_is_idempotent(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    assert_eq!(versions(&report.applied), [1, 2, 3]);

    let plan = m.status(&mut db).await.unwrap();
    assert_eq!(plan.entries.len(), 3);
    for (e, mig) in plan.entries.iter().zip(m.migrations()) {
        assert_eq!(e.state, EntryState::Applied, "{e:?}");
        let row = e.applied.as_ref().unwrap();
        assert_eq!(row.checksum, mig.checksum());
        let d = row.details.as_ref().unwrap();
        assert!(d.applied_by.contains('@') && row.applied_at.ends_with('Z'), "{row:?}");
        assert_eq!(d.dbguard_version, env!("CARGO_PKG_VERSION"));
    }
    let key = |p: &dbguard::Plan| -> Vec<_> {
        p.entries
            .iter()
            .map(|e| (e.version, e.state, e.applied.as_ref().map(|r| (r.checksum.clone(), r.applied_at.clone()))))
            .collect()
    };
    assert_eq!(key(&report.plan), key(&plan), "the in-memory plan after the run matches a fresh read");
    assert!(plan.is_up_to_date());
    assert!(m.up(&mut db, None).await.unwrap().applied.is_empty(), "second up is a no-op");
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM a").await.unwrap(), 1);
}
on_each_engine!(up_applies_in_order_and_is_idempotent);

async fn up_to_a_target_stops_there(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    assert_eq!(versions(&m.up(&mut db, Some(2)).await.unwrap().applied), [1, 2]);
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 1);
    assert!(matches!(m.up(&mut db, Some(7)).await, Err(Error::UnknownVersion { version: 7, .. })));
}
on_each_engine!(up_to_a_target_stops_there);

async fn failing_migration_leaves_no_trace_or_is_dirty(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let bad =
        "CREATE TABLE c (id BIGINT);\nINSERT INTO a (id, v) VALUES (2, 'y');\n\nINSERT INTO nope (id) VALUES (1);\n";
    let bad_dir = dir.add("4", "breaks", bad, "DROP TABLE c;");
    dir.add("5", "after", "CREATE TABLE e (id BIGINT);", "DROP TABLE e;");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(3)).await.unwrap();
    let before = db.introspect().await.unwrap();

    let err = m.up(&mut db, None).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else { panic!("{err}") };
    assert_eq!((f.version, f.direction), (4, dbguard::Direction::Up));
    let (index, line, text) = f.statement.clone().unwrap();
    assert_eq!((index, line), (3, 4), "the third statement, on line 4");
    assert!(text.starts_with("INSERT INTO nope"), "{text}");
    let msg = err.to_string();
    assert!(msg.contains("up.sql") && msg.contains("nope") && msg.contains("next:"), "{msg}");

    let plan = m.plan(&mut db).await.unwrap();
    let state = |v| plan.entries.iter().find(|e| e.version == v).unwrap().state;
    assert_eq!((state(3), state(5)), (EntryState::Applied, EntryState::Pending));

    if kind == BackendKind::Mysql {
        // DDL committed itself: the migration stopped with statement 1 committed and recorded
        // (statement 2 rolled back with the failing 3, in one transaction); fixing statement 3
        // lets a plain `up` continue from statement 2.
        assert_eq!(f.outcome, FailureOutcome::Resumable { statement: 2 });
        assert!(msg.contains("continues from statement 2"), "{msg}");
        assert_eq!(state(4), EntryState::Dirty);
        let status = m.status(&mut db).await.unwrap();
        let stopped = status.entries.iter().find(|e| e.version == 4).unwrap().stopped_at.clone().unwrap();
        assert_eq!((stopped.done, stopped.total), (1, 3), "{stopped:?}");
        assert!(stopped.describe().contains("line 2: INSERT INTO a"), "{}", stopped.describe());
        // Statement 1 edited since it ran: dbguard cannot tell how to go on, and says so.
        let edited = bad.replace("c (id BIGINT)", "c (id INT)").replace("nope", "c");
        std::fs::write(bad_dir.join("up.sql"), &edited).unwrap();
        let again = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
        assert!(matches!(again, Error::Dirty { version: 4, .. }), "{again}");
        assert!(again.to_string().contains("changed since they ran"), "{again}");
        // Only the failing statement fixed: it continues, and statements 1 and 2 do not run twice.
        std::fs::write(bad_dir.join("up.sql"), bad.replace("nope", "c")).unwrap();
        let fixed = Migrator::from_dir(dir.path()).unwrap();
        let report = fixed.up(&mut db, None).await.unwrap();
        assert_eq!(versions(&report.applied), [4, 5]);
        assert_eq!((report.resumed[0].version, report.resumed[0].from), (4, 2));
        assert_eq!(db.query_i64("SELECT COUNT(*) FROM a WHERE id = 2").await.unwrap(), 1);
        assert_eq!(db.query_i64("SELECT COUNT(*) FROM c").await.unwrap(), 1);
        assert!(fixed.plan(&mut db).await.unwrap().is_up_to_date(), "recorded with the fixed file's checksum");
    } else {
        assert_eq!(f.outcome, FailureOutcome::RolledBack);
        assert_eq!(state(4), EntryState::Pending);
        assert_eq!(db.introspect().await.unwrap(), before, "the failed migration left no schema change");
        assert_eq!(db.query_i64("SELECT COUNT(*) FROM a").await.unwrap(), 1, "its insert was rolled back");
        assert!(msg.contains("rolled back"), "{msg}");
    }
}
on_each_engine!(failing_migration_leaves_no_trace_or_is_dirty);

async fn data_only_failure_rolls_back_everywhere(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    dir.add(
        "4",
        "data",
        "INSERT INTO a (id, v) VALUES (2, 'y');\nINSERT INTO a (id, v) VALUES (1, 'duplicate');",
        "DELETE FROM a WHERE id = 2;",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let err = m.up(&mut db, None).await.unwrap_err();
    let Error::MigrationFailed(f) = &err else { panic!("{err}") };
    assert_eq!(f.outcome, FailureOutcome::RolledBack, "no DDL: even MySQL rolls it back");
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM a").await.unwrap(), 1);
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 1);
}
on_each_engine!(data_only_failure_rolls_back_everywhere);

async fn edited_migration_is_drift_but_line_endings_are_not(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let mut db = t.connect().await;
    Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap();

    let up2 = dir.path().join("2_create_b/up.sql");
    std::fs::write(&up2, "CREATE TABLE b (id BIGINT NOT NULL PRIMARY KEY, extra INT);").unwrap();
    let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
    let Error::Drift(d) = &err else { panic!("{err}") };
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].version, d[0].name.as_str()), (2, "create_b"));
    assert_ne!(d[0].applied_checksum, d[0].current_checksum);
    assert!(err.to_string().contains("2_create_b"), "names the file: {err}");
    let allowed = Migrator::from_dir(dir.path()).unwrap().allow_drift(true);
    assert!(allowed.up(&mut db, None).await.unwrap().applied.is_empty());

    // A Windows checkout: CRLF, trailing spaces, a BOM. Not drift.
    std::fs::write(&up2, "\u{feff}CREATE TABLE b (id BIGINT NOT NULL PRIMARY KEY);  \r\n\r\n").unwrap();
    let m = Migrator::from_dir(dir.path()).unwrap();
    assert!(m.up(&mut db, None).await.unwrap().applied.is_empty());
    assert!(m.plan(&mut db).await.unwrap().is_up_to_date());
}
on_each_engine!(edited_migration_is_drift_but_line_endings_are_not);

/// A file saved with a byte-order mark (and CRLF) runs on every database: the mark is no SQL.
async fn a_byte_order_mark_is_not_sql(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "bom",
        "\u{feff}CREATE TABLE s (id INT);\r\nINSERT INTO s VALUES (1);\r\n",
        "\u{feff}DROP TABLE s;\r\n",
    );
    let mut db = t.connect().await;
    let m = Migrator::from_dir(dir.path()).unwrap();
    m.up(&mut db, None).await.unwrap();
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM s").await.unwrap(), 1);
    m.down(&mut db, 0).await.unwrap();
    assert!(!db.table_exists("s").await.unwrap());
}
on_each_engine!(a_byte_order_mark_is_not_sql);

async fn down_reverts_in_reverse_order_to_the_recorded_schema(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let empty = db.introspect().await.unwrap();
    m.up(&mut db, Some(1)).await.unwrap();
    let at_one = db.introspect().await.unwrap();
    m.up(&mut db, None).await.unwrap();
    assert_ne!(db.introspect().await.unwrap(), at_one);

    assert_eq!(versions(&m.down(&mut db, 1).await.unwrap().reverted), [3, 2]);
    assert_eq!(db.introspect().await.unwrap(), at_one, "{:?}", db.introspect().await.unwrap().diff(&at_one));
    assert_eq!(versions(&m.down(&mut db, 0).await.unwrap().reverted), [1]);
    assert_eq!(db.introspect().await.unwrap(), empty);
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 3);
    // And back up again from scratch.
    assert_eq!(versions(&m.up(&mut db, None).await.unwrap().applied), [1, 2, 3]);
}
on_each_engine!(down_reverts_in_reverse_order_to_the_recorded_schema);

async fn irreversible_down_refuses_before_reverting_anything(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    dir.add(
        "4",
        "lossy",
        "-- dbguard:allow update-without-where reason=\"a test\"\nUPDATE a SET v = 'gone';",
        "-- dbguard: irreversible = \"the old values are gone\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    let err = m.down(&mut db, 0).await.unwrap_err();
    assert!(matches!(&err, Error::Irreversible { version: 4, .. }), "{err}");
    assert!(err.to_string().contains("the old values are gone"));
    assert!(m.plan(&mut db).await.unwrap().is_up_to_date(), "nothing was reverted");
    assert_eq!(versions(&m.down(&mut db, 4).await.unwrap().reverted), Vec::<i64>::new());
}
on_each_engine!(irreversible_down_refuses_before_reverting_anything);

async fn baseline_records_without_running(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    // An existing database that already has what migrations 1 and 2 create.
    db.execute("CREATE TABLE a (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20))").await.unwrap();
    db.execute("CREATE TABLE b (id BIGINT NOT NULL PRIMARY KEY)").await.unwrap();
    assert_eq!(m.baseline(&mut db, 2).await.unwrap().applied.len(), 2);
    let plan = m.plan(&mut db).await.unwrap();
    let states: Vec<_> = plan.entries.iter().map(|e| e.state).collect();
    assert_eq!(states, [EntryState::Baseline, EntryState::Baseline, EntryState::Pending]);
    assert_eq!(versions(&m.up(&mut db, None).await.unwrap().applied), [3]);
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM a").await.unwrap(), 0, "migration 1's insert never ran");
    assert!(matches!(m.baseline(&mut db, 2).await, Err(Error::AlreadyRecorded { newest: 3 })));
}
on_each_engine!(baseline_records_without_running);

async fn missing_and_out_of_order_are_refused(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else {
        return;
    };
    let dir = MigrationDir::new();
    dir.add("1", "one", "CREATE TABLE one (id BIGINT);", "DROP TABLE one;");
    dir.add("3", "three", "CREATE TABLE three (id BIGINT);", "DROP TABLE three;");
    let mut db = t.connect().await;
    Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap();

    dir.add("2", "late_branch", "CREATE TABLE two (id BIGINT);", "DROP TABLE two;");
    let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
    assert!(matches!(err, Error::OutOfOrder { version: 2, highest: 3, .. }), "{err}");
    let m = Migrator::from_dir(dir.path()).unwrap().allow_out_of_order(true);
    assert_eq!(versions(&m.up(&mut db, None).await.unwrap().applied), [2]);

    std::fs::remove_dir_all(dir.path().join("3_three")).unwrap();
    let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
    assert!(matches!(&err, Error::Missing { versions } if versions == &[(3, "three".to_string())]), "{err}");
}
on_each_engine!(missing_and_out_of_order_are_refused);

async fn non_transactional_migration_failure_is_dirty(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    dir.add(
        "4",
        "no_tx",
        "-- dbguard: no-transaction\nCREATE TABLE f (id BIGINT);\nSELECT * FROM nope;",
        "DROP TABLE f;",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    assert!(!m.migrations()[3].is_transactional());
    let mut db = t.connect().await;
    let err = m.up(&mut db, None).await.unwrap_err();
    let resumable = FailureOutcome::Resumable { statement: 2 };
    assert!(matches!(&err, Error::MigrationFailed(f) if f.outcome == resumable), "{err}");
    // Run again as it is: statement 1 is not run twice (it would fail: the table exists);
    // statement 2 fails again, the same way.
    let again = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(&again, Error::MigrationFailed(f) if f.outcome == resumable), "{again}");
    // The failure left nothing in doubt: no statement to say "ran" about.
    let refused = m.repair(&mut db, 4, Repair::StatementRan).await.unwrap_err();
    assert!(matches!(refused, Error::CannotMark { version: 4, .. }), "{refused}");
    let down = m.down(&mut db, 0).await.unwrap_err();
    assert!(matches!(&down, Error::Dirty { version: 4, .. }), "down refuses: {down}");
    assert!(down.to_string().contains("`cargo dbguard up` continues it"), "{down}");
    // Finished by hand: the rest of the statement's intent is already there.
    m.repair(&mut db, 4, Repair::MarkApplied).await.unwrap();
    assert!(m.plan(&mut db).await.unwrap().is_up_to_date());
}
on_each_engine!(non_transactional_migration_failure_is_dirty);

async fn version_table_from_a_newer_dbguard_is_left_alone(kind: BackendKind) {
    let Some((t, dir)) = with_three(kind).await else { return };
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    db.execute("UPDATE dbguard_schema_version_layout SET layout = 99").await.unwrap();
    let err = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(err, Error::LayoutTooNew { found: 99, known: dbguard::LAYOUT, .. }), "{err}");
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 2, "nothing ran");
}
on_each_engine!(version_table_from_a_newer_dbguard_is_left_alone);

/// `on_progress` sees the backup (written, then checked), each migration in order with the
/// run's size, the statements that ran where a step runs them one by one, and the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_each_step_in_order() {
    let t = dbguard_tests::TestDb::new(BackendKind::Sqlite).await.unwrap();
    let dir = dbguard_tests::MigrationDir::new();
    dir.add("1", "a", "CREATE TABLE a (id INT);", "DROP TABLE a;");
    dir.add("2", "b", "CREATE TABLE b (id INT);", "DROP TABLE b;");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let m = Migrator::from_dir(dir.path()).unwrap().on_progress(move |p| {
        // Work names paths that differ from run to run: its task says enough here.
        let shown = match p {
            dbguard::Progress::Work(w) => format!("Work {:?}", w.task),
            p => format!("{p:?}"),
        };
        sink.lock().unwrap().push(shown)
    });
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    m.down(&mut db, 1).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "BackingUp",
            "Work FileBackup",
            "Work CheckFileBackup",
            r#"Step { index: 0, total: 2, direction: Up, version: 1, name: "a" }"#,
            r#"Step { index: 1, total: 2, direction: Up, version: 2, name: "b" }"#,
            "Finished",
            "BackingUp",
            "Work FileBackup",
            "Work CheckFileBackup",
            r#"Step { index: 0, total: 1, direction: Down, version: 2, name: "b" }"#,
            "Statements { done: 0, total: 1 }",
            "Statements { done: 1, total: 1 }",
            "Finished",
        ]
    );
}

/// Names are recorded exactly, quotes and backslashes included, whichever way the version row
/// is written (as SQL literals with the `COMMIT`, or with bind parameters).
async fn names_with_quotes_are_recorded_exactly(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let names = ["o'brien's table", "back\\slash", "plain"];
    let migrations: Vec<dbguard::Migration> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let v = i as i64 + 1;
            dbguard::Migration::sql(v, *n, format!("CREATE TABLE q{v} (id INT);"), format!("DROP TABLE q{v};"))
        })
        .collect();
    let m = Migrator::new(migrations).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    let status = m.status(&mut db).await.unwrap();
    let recorded: Vec<&str> = status.entries.iter().map(|e| e.applied.as_ref().unwrap().name.as_str()).collect();
    assert_eq!(recorded, names);
    assert!(status.entries.iter().all(|e| e.state == EntryState::Applied), "{status:?}");
    m.down(&mut db, 0).await.unwrap();
    assert!(m.plan(&mut db).await.unwrap().current_version().is_none());
}
on_each_engine!(names_with_quotes_are_recorded_exactly);
