//! The holes issue #12 found in the guarantee, each reproduced against the library on
//! SQLite, PostgreSQL and MySQL: a mistyped `preserves`, a keyword used as a name hiding the
//! statements after it, transaction control inside a transactional migration, missing SQLite
//! files and bad URLs, `--env dev` lowering a production tier, a file restore and a prune in
//! production, the audit history of a reset database, and a row-count alert that a `check`
//! consumed. (The command-line forms are in `dbguard-cli/tests/fail_closed.rs`.)

use dbguard::{
    BackendKind, Backups, Database, EntryState, Error, FileBackupPolicy, Migration, Migrator, PrunePolicy, Status,
    Tier, TierPolicy,
};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

/// Migration 1: `users` with three rows, and `legacy`.
fn base(dir: &MigrationDir) {
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120), note VARCHAR(40));\n\
         INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');\n\
         CREATE TABLE legacy (id BIGINT);\nINSERT INTO legacy (id) VALUES (7);\n",
        "DROP TABLE legacy;\nDROP TABLE users;\n",
    );
}

/// A down that says it cannot revert its up.
const IRREVERSIBLE: &str = "-- dbguard: irreversible = \"a test of the up only\"\n";

/// The tables a run snapshotted for migration `version`, sorted.
fn snapshotted(report: &dbguard::Report, version: i64) -> Vec<&str> {
    let mut s: Vec<&str> = report
        .snapshots
        .iter()
        .filter(|s| s.migration_version == Some(version))
        .map(|s| s.source_table.as_str())
        .collect();
    s.sort();
    s
}

async fn count(db: &mut Database, table: &str) -> i64 {
    db.count_rows(table).await.unwrap()
}

/// Reproduction 2: `preserves = user` for `users` turned the guard off without a word.
async fn a_mistyped_preserves_is_refused_before_anything_runs(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "purge",
        "-- dbguard: preserves = user\nDELETE FROM users WHERE id > 0;\n",
        "-- dbguard: irreversible = \"rows deleted\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    for e in [m.dry_run_up(&mut db, None).await.unwrap_err(), m.up(&mut db, None).await.unwrap_err()] {
        let Error::PreservedTableMissing(p) = &e else { panic!("{e}") };
        assert_eq!((p.table.as_str(), p.closest.as_deref(), p.version), ("user", Some("users"), 2));
        assert!(e.to_string().contains("did you mean `users`?") && e.to_string().contains("nothing was run"), "{e}");
    }
    assert_eq!(count(&mut db, "users").await, 3, "the rows are still there");
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 1, "migration 2 did not run");
    // A table made earlier in the same run is there when its preserving migration runs.
    let fresh = TestDb::new(kind).await.unwrap();
    let ok = MigrationDir::new();
    base(&ok);
    ok.add("2", "keep", "-- dbguard: preserves = users\nUPDATE users SET note = 'x' WHERE id = 1;\n", IRREVERSIBLE);
    let mut db2 = fresh.connect().await;
    assert_eq!(Migrator::from_dir(ok.path()).unwrap().up(&mut db2, None).await.unwrap().applied.len(), 2);
    db2.close().await.unwrap();
    db.close().await.unwrap();
}
on_each_engine!(a_mistyped_preserves_is_refused_before_anything_runs);

/// Found trying it as a new user: a `preserves` line under a block-comment header was
/// neither read nor refused, and the DELETE it should have stopped emptied the table.
async fn a_block_comment_header_does_not_hide_preserves(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "purge",
        "/* Ticket 123: purge test users */\n-- dbguard: preserves = users\nDELETE FROM users WHERE id > 1;\n",
        "-- dbguard: irreversible = \"rows deleted\"\n",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    let e = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(e, Error::RowsLost(_)), "{e}");
    assert_eq!(count(&mut db, "users").await, 3, "the rows are still there");
    // A `#` comment (MySQL) that looks like a directive is refused, not ignored.
    let hash = MigrationDir::new();
    base(&hash);
    hash.add("2", "purge", "# dbguard: preserves = users\nDELETE FROM users WHERE id > 1;\n", IRREVERSIBLE);
    let e = Migrator::from_dir(hash.path()).unwrap_err();
    assert!(e.to_string().contains("is not read as a directive"), "{e}");
    db.close().await.unwrap();
}
on_each_engine!(a_block_comment_header_does_not_hide_preserves);

/// Found trying it as a new user: SQL that is only known when it runs — built from literals,
/// built from expressions, prepared from a variable, a procedure call — ran with nothing
/// snapshotted. Literals name their tables; anything else protects every table.
async fn sql_known_only_when_it_runs_is_snapshotted(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add("2", "other", "CREATE TABLE other (id INT);\nINSERT INTO other (id) VALUES (1);\n", "DROP TABLE other;\n");
    let allow = "-- dbguard:allow dynamic-sql reason=\"test\"\n";
    let (known, built) = match kind {
        BackendKind::Postgres => (
            format!("{allow}DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'oth' || 'er'; END $$;\n"),
            format!("{allow}DO $$ BEGIN EXECUTE format('DELETE FROM %I', 'legacy'); END $$;\n"),
        ),
        BackendKind::Mysql => (
            format!("{allow}PREPARE s FROM 'DELETE FROM other';\n{allow}EXECUTE s;\n"),
            format!(
                "{allow}SET @q = CONCAT('DELETE FROM ', 'legacy');\n{allow}PREPARE s FROM @q;\n{allow}EXECUTE s;\n"
            ),
        ),
        _ => return, // SQLite runs no SQL it did not get as text
    };
    dir.add("3", "known", &known, IRREVERSIBLE);
    dir.add("4", "built", &built, IRREVERSIBLE);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    let of = |v: i64| snapshotted(&report, v);
    assert_eq!(of(3), ["other"], "literals name their table");
    // Every table that holds rows: `other`, emptied by 3, has nothing to keep.
    assert_eq!(of(4), ["legacy", "users"], "SQL built from expressions protects every table");
    assert_eq!((count(&mut db, "other").await, count(&mut db, "legacy").await), (0, 0), "the SQL did run");
    db.close().await.unwrap();
}
on_each_engine!(sql_known_only_when_it_runs_is_snapshotted);

/// Found trying it as a new user: MySQL executable comments (`/*!50100 ... */`, as mysqldump
/// writes them) were dropped before the statement was sent, so the migration did something
/// else than it says; and the linter did not read them.
#[tokio::test]
async fn mysql_executable_comments_run_as_written() {
    let Some(t) = TestDb::new(BackendKind::Mysql).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "engine",
        "/*!40101 SET @dbguard_test = 1 */;\nCREATE TABLE t3 (id INT) /*!50100 ENGINE=MyISAM */;\n",
        "DROP TABLE t3;\n",
    );
    // A WHERE only servers from 9.99.99 read: this one deletes every row, and the guard
    // snapshots the table.
    dir.add(
        "3",
        "purge",
        "-- dbguard:allow delete-without-where reason=\"test\"\nDELETE FROM users /*!99999 WHERE id = 5 */;\n",
        IRREVERSIBLE,
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    assert_eq!(count(&mut db, "users").await, 0, "the server skipped the WHERE");
    assert_eq!(snapshotted(&report, 3), ["users"], "{:?}", report.snapshots);
    let myisam = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't3' AND ENGINE = 'MyISAM'";
    assert_eq!(db.query_i64(myisam).await.unwrap(), 1, "the executable comment ran");
    let f = dbguard_lint::lint_sql(
        "up.sql",
        "DELETE FROM users WHERE id = 99 /*! OR 1=1 */;",
        dbguard_lint::Dialect::Mysql,
    );
    assert!(f.iter().any(|f| f.rule == "delete-without-where"), "{f:?}");
    db.close().await.unwrap();
}

/// Found by a new-user trial: MariaDB's `SET STATEMENT ... FOR <statement>` hid the statement
/// from the linter and the guard (a table dropped, rows updated with nothing kept). The
/// statement after `FOR` is checked, and every table it names is kept whole first.
#[tokio::test]
async fn mysql_set_statement_for_hides_nothing() {
    let Some(t) = TestDb::new(BackendKind::Mysql).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let sql = "SET STATEMENT max_statement_time = 100 FOR UPDATE users SET email = NULL WHERE id > 1;\n\
               SET STATEMENT sql_mode = '' FOR DROP TABLE legacy;\n";
    let f = dbguard_lint::lint_sql("up.sql", sql, dbguard_lint::Dialect::Mysql);
    assert!(f.iter().any(|f| f.rule == "drop-table" && f.line == 2), "{f:?}");
    dir.add("2", "hidden", sql, IRREVERSIBLE);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    let report = m.up(&mut db, None).await.unwrap();
    let mut kept = snapshotted(&report, 2);
    kept.sort();
    assert_eq!(kept, ["legacy", "users"], "{:?}", report.snapshots);
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM users WHERE email IS NULL").await.unwrap(), 2, "it ran");
    db.close().await.unwrap();
}

/// Found by a new-user trial: a MyISAM table keeps what a statement did when the transaction
/// around it is rolled back, and dbguard said "rolled back, nothing changed" with a row gone
/// (its copy dropped). A step that writes such a table runs statement by statement: a row lost
/// from a preserved one is put back, and a later failure leaves it stopped, with its copy.
#[tokio::test]
async fn mysql_a_table_that_cannot_roll_back_is_never_said_rolled_back() {
    // (`k`'s trigger deletes from `mk`: a step that names only `k` writes `mk` too.)
    let mk = "CREATE TABLE mk (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;\nINSERT INTO mk VALUES (1, 5), (2, 1), (3, 2);\n\
              CREATE TABLE k (id INT PRIMARY KEY) ENGINE=InnoDB;\n\
              CREATE TRIGGER k_ai AFTER INSERT ON k FOR EACH ROW DELETE FROM mk WHERE id = NEW.id;\n";
    for (step, preserved) in [
        ("-- dbguard: preserves = mk\nDELETE FROM mk WHERE id = 1;\n", true),
        ("DELETE FROM mk WHERE id = 1;\nINSERT INTO nonexist VALUES (1);\n", false),
        ("INSERT INTO k VALUES (1);\nINSERT INTO k VALUES (1);\n", false),
    ] {
        let Some(t) = TestDb::new(BackendKind::Mysql).await else { return };
        let dir = MigrationDir::new();
        base(&dir);
        dir.add("2", "mk", mk, "DROP TABLE k;\nDROP TABLE mk;\n");
        dir.add("3", "step", step, IRREVERSIBLE);
        let m = Migrator::from_dir(dir.path()).unwrap();
        let mut db = t.connect().await;
        m.up(&mut db, Some(2)).await.unwrap();
        let err = m.up(&mut db, None).await.unwrap_err();
        assert!(!err.to_string().contains("exactly as before"), "{err}");
        let entry = m.plan(&mut db).await.unwrap().entries.into_iter().find(|e| e.version == 3).unwrap();
        assert_eq!(entry.state, EntryState::Dirty, "{err}");
        if preserved {
            assert_eq!(count(&mut db, "mk").await, 3, "put back: {err}");
        } else {
            assert_eq!(count(&mut db, "mk").await, 2, "statement 1 committed: {err}");
            let snapshots = m.backups().list(&mut db).await.unwrap();
            assert!(snapshots.iter().any(|s| s.source_table == "mk"), "{snapshots:?}");
        }
        db.close().await.unwrap();
    }
}

/// Reproduction 3: `s.case` opened a block in the splitter and hid every statement after it
/// from the linter and the runtime guard.
async fn a_keyword_used_as_a_name_hides_nothing(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    // Each database's own way to use a block keyword as a column name.
    let (column, join) = match kind {
        BackendKind::Mysql => ("`case`", "UPDATE users JOIN s ON s.id = users.id SET users.note = s.case;"),
        BackendKind::Postgres => ("\"case\"", "UPDATE users SET note = s.case FROM s WHERE s.id = users.id;"),
        BackendKind::Sqlite => ("begin", "UPDATE users SET note = s.begin FROM s WHERE s.id = users.id;"),
    };
    dir.add(
        "2",
        "rework",
        &format!(
            "CREATE TABLE s (id BIGINT, {column} VARCHAR(10));\n{join}\n\
             -- dbguard:allow drop-column reason=\"moved to s\"\nALTER TABLE users DROP COLUMN email;\n\
             -- dbguard:allow drop-table reason=\"unused\"\nDROP TABLE legacy;\n"
        ),
        IRREVERSIBLE,
    );
    let sql = std::fs::read_to_string(dir.path().join("2_rework/up.sql")).unwrap();
    let found: Vec<String> =
        dbguard_lint::destroyed_tables(&sql, kind.dialect()).into_iter().map(|(r, t)| format!("{r} {t}")).collect();
    assert!(found.contains(&"drop-column users".into()) && found.contains(&"drop-table legacy".into()), "{found:?}");
    let m = Migrator::from_dir(dir.path()).unwrap().file_backups(FileBackupPolicy { enabled: false, keep: 1 });
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    let report = m.up(&mut db, None).await.unwrap();
    let snapped: Vec<(&str, i64)> = report.snapshots.iter().map(|s| (s.source_table.as_str(), s.row_count)).collect();
    assert!(snapped.contains(&("users", 3)) && snapped.contains(&("legacy", 1)), "{snapped:?}");
    db.close().await.unwrap();
}
on_each_engine!(a_keyword_used_as_a_name_hides_nothing);

/// A block the splitter cannot close is an error of its own in `lint`, and the runtime
/// snapshots every existing table the unreadable text names.
async fn text_the_splitter_cannot_read_is_snapshotted_whole(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let sql = "CREATE TRIGGER touch AFTER UPDATE ON users FOR EACH ROW BEGIN\n  UPDATE legacy SET id = 1;\nDELETE FROM users WHERE id > 1;\n";
    dir.add("2", "broken", sql, IRREVERSIBLE);
    let findings = dbguard_lint::lint_sql("up.sql", sql, kind.dialect());
    assert!(findings.iter().any(|f| f.rule == "unparsed-sql" && f.line == 1), "{findings:?}");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    let dry = m.dry_run_up(&mut db, None).await.unwrap();
    let snaps = &dry.steps[0].snapshots;
    assert!(snaps.contains(&"users".to_string()) && snaps.contains(&"legacy".to_string()), "{snaps:?}");
    db.close().await.unwrap();
}
on_each_engine!(text_the_splitter_cannot_read_is_snapshotted_whole);

/// A comment or string that never ends took the rest of the step with it, the version row and
/// `COMMIT` too: SQLite said "applied" for a step that never ran (a big one committed half).
/// Such a step is refused before anything runs, naming where it starts.
async fn a_comment_that_never_ends_runs_nothing(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let mut db = t.connect().await;
    Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap();
    let rows: String = (10..3000).map(|i| format!("INSERT INTO users (id) VALUES ({i});\n")).collect();
    for sql in [
        "INSERT INTO users (id) VALUES (10);\n/* unterminated comment".to_string(),
        format!("{rows}/* oops\n{rows}"),
        "INSERT INTO users (id) VALUES (10);\nINSERT INTO legacy (id) VALUES ('x);\n".to_string(),
    ] {
        dir.add("2", "broken", &sql, IRREVERSIBLE);
        let m = Migrator::from_dir(dir.path()).unwrap();
        let before = count(&mut db, "users").await;
        let dry = m.dry_run_up(&mut db, None).await.unwrap();
        assert!(dry.stops.iter().any(|s| s.contains("would be refused before anything runs")), "{:?}", dry.stops);
        let err = m.up(&mut db, None).await.unwrap_err();
        assert!(
            err.to_string().contains("never ends")
                && err.to_string().contains("kept safe: nothing of the migration ran"),
            "{err}"
        );
        assert_eq!(count(&mut db, "users").await, before, "nothing ran");
        let plan = m.plan(&mut db).await.unwrap();
        assert_eq!(plan.entries.iter().find(|e| e.version == 2).unwrap().state, EntryState::Pending);
    }
}
on_each_engine!(a_comment_that_never_ends_runs_nothing);

/// Reproduction 6: a `COMMIT` inside a transactional migration committed half of it while the
/// error said "exactly as before".
async fn transaction_control_is_refused_at_load(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "half",
        "BEGIN;\nUPDATE users SET note = 'x' WHERE id = 1;\nCOMMIT;\nSELECT * FROM nowhere;\n",
        IRREVERSIBLE,
    );
    let e = Migrator::from_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("2_half/up.sql:1") && e.contains("`BEGIN`") && e.contains("2_half/up.sql:3"), "{e}");
    assert!(e.contains("no-transaction"), "{e}");
    let in_code = Migrator::new(vec![Migration::sql(1, "x", "CREATE TABLE t (id INT); COMMIT;", "DROP TABLE t;")]);
    assert!(matches!(in_code, Err(Error::Load(_))));
    // Marked no-transaction, it is the author's to commit.
    let ok = MigrationDir::new();
    base(&ok);
    ok.add(
        "2",
        "parts",
        "-- dbguard: no-transaction\nBEGIN;\nUPDATE users SET note = 'y' WHERE id = 2;\nCOMMIT;\n",
        IRREVERSIBLE,
    );
    let mut db = t.connect().await;
    Migrator::from_dir(ok.path()).unwrap().up(&mut db, None).await.unwrap();
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM users WHERE note = 'y'").await.unwrap(), 1);
    db.close().await.unwrap();
}
on_each_engine!(transaction_control_is_refused_at_load);

/// Reproduction 5, in the library: a database the configuration names as production is
/// production whatever tier is asked for; `reset` is refused and changes nothing.
async fn a_requested_tier_never_lowers_a_configured_production_database(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let tiers = TierPolicy::default()
        .known(Tier::Prod, t.url.clone(), "databases.prod in Cargo.toml")
        .requested(Tier::Dev, "--env dev");
    let m = Migrator::from_dir(dir.path()).unwrap().tiers(tiers);
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    assert_eq!(m.tier_for_url(&t.url), Tier::Prod);
    let e = m.reset(&t.url).await.unwrap_err();
    assert!(matches!(e, Error::RefusedInProduction { .. }), "{e}");
    assert!(e.to_string().contains("this URL is databases.prod in Cargo.toml; --env dev cannot lower it"), "{e}");
    assert_eq!(count(&mut db, "users").await, 3, "the database is intact");
    let down = m.down(&mut db, 0).await.unwrap_err();
    assert!(matches!(down, Error::ConfirmationRequired(_)), "{down}");
    db.close().await.unwrap();
}
on_each_engine!(a_requested_tier_never_lowers_a_configured_production_database);

/// Reproductions 4 and 7 in the library: connecting never creates a database; URLs that name
/// none are refused before connecting, and never print their password.
#[tokio::test]
async fn connecting_never_creates_and_bad_urls_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let url = format!("sqlite://{}", file.display());
    for e in [Database::connect(&url).await.unwrap_err(), Database::connect_read_only(&url).await.unwrap_err()] {
        assert!(matches!(e, Error::DatabaseMissing { ref path } if *path == file), "{e}");
    }
    assert!(!file.exists(), "connecting created the file");
    let db = Database::create_if_missing(&url).await.unwrap();
    assert!(db.created() && file.exists());
    db.close().await.unwrap();
    assert!(!Database::connect(&url).await.unwrap().created());
    for bad in [
        "sqlite:",
        "sqlite://",
        "mysql://root@127.0.0.1:3306/",
        "postgres//user:secret@127.0.0.1/db",
        "postgres://u:secret@h/",
    ] {
        let e = Database::connect(bad).await.unwrap_err();
        assert!(matches!(e, Error::BadUrl { .. }), "{bad}: {e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}

/// Reproductions 1 and 8 in the library: a file restore and a prune of file backups in
/// production need the database's name; a dry run changes no byte; both are audited.
#[tokio::test]
async fn file_restores_and_prunes_in_production_need_the_name() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let file = dbguard::sqlite_file(&t.url).unwrap();
    let dir = MigrationDir::new();
    base(&dir);
    dir.add("2", "note", "ALTER TABLE users ADD COLUMN extra INTEGER;", "ALTER TABLE users DROP COLUMN extra;");
    let log = tempfile::NamedTempFile::new().unwrap();
    let m = Migrator::from_dir(dir.path()).unwrap().audit_file(log.path());
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    m.up(&mut db, None).await.unwrap();
    let backups = dbguard::file_backup::list(&file).unwrap();
    assert_eq!(backups.len(), 2);
    // Newest first: the file as it was before migration 2, then before migration 1 (empty).
    let (before_two, oldest) = (backups[0].path.clone(), backups[1].path.clone());

    let prod = Backups::new().tier(Tier::Prod).audit_file(log.path());
    let bytes = std::fs::read(&file).unwrap();
    let e = prod.restore_file(&mut db, &before_two).await.unwrap_err();
    assert!(
        matches!(e, Error::ConfirmationRequired(ref c) if c.what[0].contains("replace the whole database file")),
        "{e}"
    );
    prod.dry_run_restore_file(&mut db, &before_two).await.unwrap();
    assert!(std::fs::read(&file).unwrap() == bytes, "refusals and dry runs change no byte");
    let e = prod.prune_all(&mut db, &PrunePolicy { keep: Some(1), ..Default::default() }).await.unwrap_err();
    let Error::ConfirmationRequired(c) = &e else { panic!("{e}") };
    assert!(c.what.iter().any(|w| w.contains(&oldest.display().to_string())), "{c:?}");
    assert_eq!(dbguard::file_backup::list(&file).unwrap().len(), 2, "nothing pruned");

    let confirmed = prod.clone().confirm_production("test.db");
    confirmed.restore_file(&mut db, &before_two).await.unwrap();
    assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(1), "the file before migration 2 is back");
    let pruned = confirmed.prune_all(&mut db, &PrunePolicy { keep: Some(1), ..Default::default() }).await.unwrap();
    assert!(!pruned.files.is_empty());
    let history = dbguard::audit::read_file(log.path(), &t.url).unwrap();
    let seen: Vec<(&str, &str)> = history.iter().map(|e| (e.command.as_str(), e.outcome.as_str())).collect();
    for expected in
        [("restore --file", "refused"), ("backups prune", "refused"), ("restore --file", "ok"), ("backups prune", "ok")]
    {
        assert!(seen.contains(&expected), "{expected:?} missing from {seen:?}");
    }
    db.close().await.unwrap();
}

/// A production change asked at the prompt: a wrong name aborts and is audited as refused;
/// the right one goes ahead and the audit says it was typed.
#[tokio::test]
async fn a_typed_confirmation_is_audited() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let dir = MigrationDir::new();
    base(&dir);
    let log = tempfile::NamedTempFile::new().unwrap();
    let answer = std::sync::Arc::new(std::sync::Mutex::new("prod".to_string()));
    let typed = answer.clone();
    let m = Migrator::from_dir(dir.path())
        .unwrap()
        .tier(Tier::Prod)
        .audit_file(log.path())
        .on_confirmation(move |c| c.database == *typed.lock().unwrap());
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap(); // creating tables asks nothing
    let e = m.down(&mut db, 0).await.unwrap_err();
    assert!(matches!(e, Error::Aborted { .. }), "{e}");
    assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(1), "nothing reverted");
    *answer.lock().unwrap() = "test.db".into();
    m.down(&mut db, 0).await.unwrap();
    let history = dbguard::audit::read_file(log.path(), &t.url).unwrap();
    let downs: Vec<(&str, Option<&str>)> = history
        .iter()
        .filter(|e| e.command == "down")
        .map(|e| (e.outcome.as_str(), e.confirmation.as_deref()))
        .collect();
    assert_eq!(downs, [("ok", Some("test.db (typed at the prompt)")), ("refused", None)], "newest first");
    db.close().await.unwrap();
}

/// Reproduction 8: a reset wiped the audit history `history` showed; the file keeps it.
async fn the_audit_history_outlives_a_reset(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let log = tempfile::NamedTempFile::new().unwrap();
    let dumps = tempfile::tempdir().unwrap();
    let m = Migrator::from_dir(dir.path()).unwrap().audit_file(log.path());
    // Servers are dumped before the drop (SQLite files are backed up whole).
    let m = match kind {
        BackendKind::Sqlite => m,
        _ => m.dump_before_runs(dbguard::DumpPolicy { dir: dumps.path().into(), program: None }),
    };
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    db.close().await.unwrap();
    m.reset(&t.url).await.unwrap();
    let history = dbguard::audit::read_file(log.path(), &t.url).unwrap();
    let commands: Vec<&str> = history.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(commands, ["reset", "up"], "{history:?}");
    let mut db = t.connect().await;
    let copy = dbguard::audit::read(&mut db).await.unwrap();
    assert_eq!(
        copy.iter().map(|e| e.command.as_str()).collect::<Vec<_>>(),
        ["reset"],
        "the new database has the reset"
    );
    db.close().await.unwrap();
}
on_each_engine!(the_audit_history_outlives_a_reset);

/// A row-count alert stays until the rows are back or someone acknowledges it.
async fn an_alert_stays_until_acknowledged(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap().watch_tables(["users"]);
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    db.execute("DELETE FROM users WHERE id > 1").await.unwrap();
    for _ in 0..2 {
        let h = m.check(&mut db, &[], &["users"], 0.05).await.unwrap();
        assert_eq!(h.status, Status::Degraded, "{h}");
        assert!(h.alerts[0].contains("users went from 3 rows to 1"), "{h}");
    }
    db.execute("INSERT INTO users (id) VALUES (2), (3)").await.unwrap();
    assert_eq!(m.check(&mut db, &[], &["users"], 0.05).await.unwrap().status, Status::Healthy, "the rows are back");
    db.execute("DELETE FROM users WHERE id > 1").await.unwrap();
    assert_eq!(m.check(&mut db, &[], &["users"], 0.05).await.unwrap().status, Status::Degraded);
    assert_eq!(m.acknowledge(&mut db, &["users"]).await.unwrap(), [("users".to_string(), 1)]);
    assert_eq!(m.check(&mut db, &[], &["users"], 0.05).await.unwrap().status, Status::Healthy, "accepted");
    db.close().await.unwrap();
}
on_each_engine!(an_alert_stays_until_acknowledged);

/// PostgreSQL's errors point into the migration file, not at a line of the server's source.
#[tokio::test]
async fn postgres_errors_point_into_the_file() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "bad", "CREATE TABLE a (id INT);\n\nSELECT id\n  FROM nosuchtable;\n", "DROP TABLE a;");
    let mut db = t.connect().await;
    let e = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err().to_string();
    assert!(e.contains("relation \"nosuchtable\" does not exist (at line 4, column 8)"), "{e}");
    assert!(!e.contains("error returned from database") && !regex_like_server_line(&e), "{e}");
    db.close().await.unwrap();
}

/// Whether `s` has `at line <n>` not followed by `, column` (the driver's server-source line).
fn regex_like_server_line(s: &str) -> bool {
    s.match_indices("at line ").any(|(i, m)| {
        let rest = &s[i + m.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && !rest[digits..].starts_with(", column")
    })
}

/// Rows a foreign key deletes or changes with the rows of a table the step empties
/// (`ON DELETE CASCADE`, `SET NULL`) are snapshotted too, through every level, and a dry run
/// names them.
async fn rows_that_go_through_foreign_keys_are_snapshotted(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "orders",
        "CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT,\n\
           FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);\n\
         CREATE TABLE items (id BIGINT, order_id BIGINT, FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE SET NULL);\n\
         CREATE TABLE notes (id BIGINT, user_id BIGINT, FOREIGN KEY (user_id) REFERENCES users (id));\n\
         INSERT INTO orders VALUES (10, 1), (11, 2);\nINSERT INTO items VALUES (100, 10), (101, 11);\n",
        "DROP TABLE items;\nDROP TABLE notes;\nDROP TABLE orders;\n",
    );
    dir.add("3", "purge", "-- dbguard:allow delete-without-where reason=\"test\"\nDELETE FROM users;\n", IRREVERSIBLE);
    let m = Migrator::from_dir(dir.path()).unwrap().file_backups(FileBackupPolicy { enabled: false, keep: 1 });
    let mut db = t.connect().await;
    m.up(&mut db, Some(2)).await.unwrap();
    let dry = m.dry_run_up(&mut db, None).await.unwrap();
    let mut planned = dry.steps[0].snapshots.clone();
    planned.sort();
    assert_eq!(planned, ["items", "orders", "users"], "the table without an action on delete is left alone");
    let report = m.up(&mut db, None).await.unwrap();
    let mut snapped: Vec<(&str, i64)> =
        report.snapshots.iter().map(|s| (s.source_table.as_str(), s.row_count)).collect();
    snapped.sort();
    assert_eq!(snapped, [("items", 2), ("orders", 2), ("users", 3)]);
    assert_eq!(count(&mut db, "orders").await, 0, "the cascade did run");
    db.close().await.unwrap();
}
on_each_engine!(rows_that_go_through_foreign_keys_are_snapshotted);

/// `DROP TYPE ... CASCADE` drops the columns of that type: their tables are snapshotted, and a
/// `DO` block running SQL built at run time snapshots every table its text names.
#[tokio::test]
async fn postgres_cascades_and_dynamic_sql_are_snapshotted() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let dir = MigrationDir::new();
    base(&dir);
    dir.add(
        "2",
        "moods",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE DOMAIN feeling AS mood;\n\
         CREATE TABLE diary (id INT, m mood);\nCREATE TABLE history (id INT, ms mood[]);\nCREATE TABLE mine (f feeling);\n\
         CREATE TABLE plain (id INT);\n\
         INSERT INTO diary VALUES (1, 'ok');\nINSERT INTO history VALUES (1, '{ok,sad}');\nINSERT INTO mine VALUES ('sad');\n",
        "DROP TABLE diary, history, mine, plain;\nDROP DOMAIN feeling;\nDROP TYPE mood;\n",
    );
    dir.add("3", "drop_mood", "-- dbguard:allow drop-cascade reason=\"test\"\nDROP TYPE mood CASCADE;\n", IRREVERSIBLE);
    dir.add(
        "4",
        "dynamic",
        "-- dbguard:allow dynamic-sql reason=\"test\"\nDO $$ BEGIN EXECUTE 'DELETE FROM ' || quote_ident('legacy'); END $$;\n",
        IRREVERSIBLE,
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(2)).await.unwrap();
    // A snapshot of columns of defined types restores into them (cast back from text).
    let backups = Backups::new();
    let before = backups.snapshot(&mut db, "history").await.unwrap();
    db.execute("UPDATE history SET ms = '{sad}'").await.unwrap();
    backups.restore(&mut db, before.id, &Default::default()).await.unwrap();
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM history WHERE ms = '{ok,sad}'").await.unwrap(), 1);
    let report = m.up(&mut db, None).await.unwrap();
    let of = |v: i64| snapshotted(&report, v);
    assert_eq!(of(3), ["diary", "history", "mine"]);
    // The snapshots kept the columns the cascade dropped from their tables.
    assert_eq!(db.columns("diary").await.unwrap(), ["id"]);
    let snap = report.snapshots.iter().find(|s| s.source_table == "diary").unwrap();
    assert_eq!(db.columns(&snap.location).await.unwrap(), ["id", "m"]);
    let kept = format!("SELECT COUNT(*) FROM \"{}\" WHERE m = 'ok'", snap.location);
    assert_eq!(db.query_i64(&kept).await.unwrap(), 1);
    // `quote_ident(...)` is an expression: which table it names is only known when it runs.
    // (`plain` is empty: nothing to keep.)
    assert_eq!(of(4), ["diary", "history", "legacy", "mine", "users"]);
    assert_eq!(count(&mut db, "legacy").await, 0, "the block did run");
    db.close().await.unwrap();
}

/// A SQLite database left with a hot rollback journal (a process killed in the middle of a
/// transaction) is still read by the read-only commands: SQLite rolls the journal back on the
/// first read, which a `mode=ro` connection cannot do.
#[tokio::test]
async fn a_hot_journal_does_not_stop_read_only_commands() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let dir = MigrationDir::new();
    base(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, None).await.unwrap();
    // Mid-transaction, copy the file and its journal: the copy is a crash's leftovers.
    db.execute("PRAGMA synchronous = OFF").await.unwrap();
    db.execute("BEGIN").await.unwrap();
    db.execute("UPDATE users SET note = 'half'").await.unwrap();
    let file = dbguard::sqlite_file(&t.url).unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let copy = crashed.path().join("crashed.db");
    std::fs::copy(&file, &copy).unwrap();
    let journal = std::path::PathBuf::from(format!("{}-journal", file.display()));
    assert!(journal.exists(), "the transaction has a journal");
    std::fs::copy(&journal, format!("{}-journal", copy.display())).unwrap();
    db.execute("ROLLBACK").await.unwrap();
    db.close().await.unwrap();

    let url = format!("sqlite://{}", copy.display());
    let mut ro = Database::connect_read_only(&url).await.unwrap();
    assert_eq!(m.plan(&mut ro).await.unwrap().current_version(), Some(1));
    assert_eq!(count(&mut ro, "users").await, 3);
    assert!(ro.execute("DELETE FROM users").await.is_err(), "still read-only");
    ro.close().await.unwrap();
}

/// Found by a new-user trial: `SET search_path TO app` (or MySQL's `USE other`) in a migration
/// moves the connection dbguard records it through: the record failed after the step ran (a
/// no-transaction step stayed dirty for good). Refused before anything runs; a path that keeps
/// the home schema passes.
async fn a_step_that_moves_the_connection_away_is_refused_first(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    if kind == BackendKind::Sqlite {
        return; // nothing moves a SQLite connection's main database
    }
    let mut db = t.connect().await;
    let (away, kept) = match kind {
        BackendKind::Postgres => {
            db.execute("CREATE SCHEMA app").await.unwrap();
            (
                "SET search_path TO app;\nCREATE TABLE t1 (id INT);\n",
                "SET search_path TO public, app;\nCREATE TABLE t2 (id INT);\n",
            )
        }
        _ => ("USE information_schema;\nSELECT 1;\n", "SELECT 1;\n"),
    };
    let dir = MigrationDir::new();
    dir.add("1", "away", away, "-- dbguard: irreversible = \"a test\"\n");
    let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
    assert!(err.to_string().contains("moves the connection away from"), "{err}");
    assert!(err.to_string().contains("kept safe: nothing of the migration ran"), "{err}");
    let m = Migrator::from_dir(dir.path()).unwrap();
    assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 1, "not recorded, not dirty");
    // The dry run says so too, and exits as a stop.
    let dry = Migrator::from_dir(dir.path()).unwrap().dry_run_up(&mut db, None).await.unwrap();
    assert!(dry.stops.iter().any(|s| s.contains("would be refused before anything runs")), "{:?}", dry.stops);
    // Paths that keep the home schema, or go back to the connection's own, pass; one that
    // empties the path (pg_dump's first lines) or cannot be read is refused.
    let (passing, refused): (Vec<&str>, Vec<(&str, &str)>) = match kind {
        BackendKind::Postgres => (
            vec![
                "SET search_path = \"$user\", public",
                "SET search_path TO public, \"$user\"",
                "SET search_path TO DEFAULT",
                "RESET search_path",
                "SELECT set_config('search_path', 'nothere, public, app', false)",
                "SELECT pg_catalog.set_config('search_path', 'public', true)",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = app AS 'SELECT 1'",
            ],
            vec![
                ("SELECT pg_catalog.set_config('search_path', '', false)", "delete that line"),
                ("SET search_path = \"$user\"", "to schemas none of which exist"),
                ("SET search_path TO app, public", "away from public, to app"),
                ("DO $$ BEGIN PERFORM set_config('search_path', 'app', false); END $$", "cannot read"),
                ("SELECT set_config('search_path', current_setting('x.y'), false)", "cannot read"),
                // Written out first, the temporary schema takes the new tables (gone at the end
                // of the session), the catalog too.
                ("SET search_path TO pg_temp, public", "away from public, to pg_temp"),
                ("SET search_path TO pg_catalog, public", "away from public, to pg_catalog"),
                ("SET \"search_path\" TO app", "away from public, to app"),
                // A schema the step creates exists by the time the path is set.
                ("CREATE SCHEMA made;\nSET search_path TO made, public", "away from public, to made"),
                ("UPDATE pg_settings SET setting = 'app' WHERE name = 'search_path'", "cannot read"),
                // A temporary table hides the table of its name, dbguard's own too.
                (
                    "CREATE TEMP TABLE dbguard_schema_version (LIKE public.dbguard_schema_version INCLUDING ALL)",
                    "temporary table named dbguard_schema_version",
                ),
                ("CREATE TEMPORARY TABLE kept10 AS SELECT 1 AS id", "temporary table named kept10"),
            ],
        ),
        _ => {
            let here = t.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
            (
                vec![Box::leak(format!("USE `{here}`").into_boxed_str()) as &str],
                // The server runs what is inside an executable comment.
                vec![
                    ("USE mysql", ", to mysql"),
                    ("/*!50000 USE mysql */", ", to mysql"),
                    ("EXECUTE IMMEDIATE 'USE mysql'", "cannot read"),
                    ("PREPARE s FROM 'USE mysql'", "cannot read"),
                    ("CREATE TEMPORARY TABLE dbguard_schema_version (id INT)", "temporary table named"),
                ],
            )
        }
    };
    for (i, sql) in passing.iter().enumerate() {
        let v = (10 + i).to_string();
        dir.add(
            &v,
            "kept",
            &format!("{sql};\nCREATE TABLE kept{v} (id INT);\n"),
            "-- dbguard: irreversible = \"a test\"\n",
        );
    }
    dir.add("1", "away", kept, "-- dbguard: irreversible = \"a test\"\n");
    let m = Migrator::from_dir(dir.path()).unwrap();
    assert!(m.dry_run_up(&mut db, None).await.unwrap().stops.is_empty());
    m.up(&mut db, None).await.unwrap();
    for (i, (sql, why)) in refused.iter().enumerate() {
        let v = (50 + i).to_string();
        dir.add(
            &v,
            "away",
            &format!("{sql};\nCREATE TABLE away{v} (id INT);\n"),
            "-- dbguard: irreversible = \"a test\"\n",
        );
        let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err();
        assert!(err.to_string().contains(why), "{sql}: {err}");
        assert!(err.to_string().contains("kept safe: nothing of the migration ran"), "{err}");
        assert_eq!(err.to_string().matches("next:").count(), 1, "one thing to do: {err}");
        std::fs::remove_dir_all(dir.path().join(format!("{v}_away"))).unwrap();
    }
    // What the text does not show is found when the step has run, before it is recorded:
    // rolled back, whether it went in one round trip or was guarded statement by statement.
    if kind == BackendKind::Postgres {
        // The steps above left `public, app`: back to `"$user", public`.
        db.execute("RESET search_path").await.unwrap();
        db.execute("CREATE TABLE kept_rows (id INT PRIMARY KEY, v TEXT)").await.unwrap();
        db.execute("INSERT INTO kept_rows VALUES (1, 'a'), (2, 'b')").await.unwrap();
        let moved = "moved unqualified names away from public, to ";
        let hidden = [
            ("CREATE SCHEMA AUTHORIZATION CURRENT_USER", moved),
            ("SELECT set_config('search' || '_path', 'app, public', false)", moved),
            (
                "UPDATE kept_rows SET v = 'c' WHERE id = 1;\nSELECT set_config('search' || '_path', 'app, public', false)",
                moved,
            ),
            (
                "DO $$ BEGIN EXECUTE 'CREATE TEMP TABLE ' || 'kept_rows (id INT)'; END $$",
                "left a temporary table named kept_rows",
            ),
            (
                "UPDATE kept_rows SET v = 'c' WHERE id = 1;\nDO $$ BEGIN EXECUTE 'CREATE TEMP TABLE ' || 'kept_rows (id INT)'; END $$",
                "temporary table named kept_rows",
            ),
        ];
        for (i, (sql, why)) in hidden.iter().enumerate() {
            let v = (80 + i).to_string();
            dir.add(
                &v,
                "hidden",
                &format!("{sql};\nCREATE TABLE away{v} (id INT);\n"),
                "-- dbguard: irreversible = \"a test\"\n",
            );
            let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err().to_string();
            assert!(err.contains(why), "{sql}: {err}");
            assert!(err.contains("kept safe: the migration was rolled back"), "{err}");
            assert_eq!(
                db.query_i64("SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename LIKE 'away%'").await.unwrap(),
                0
            );
            assert_eq!(db.query_i64("SELECT count(*) FROM kept_rows WHERE v = 'c'").await.unwrap(), 0);
            let m = Migrator::from_dir(dir.path()).unwrap();
            assert_eq!(m.plan(&mut db).await.unwrap().pending().count(), 1, "{sql}: not recorded");
            std::fs::remove_dir_all(dir.path().join(format!("{v}_hidden"))).unwrap();
        }
        assert_eq!(
            db.query_i64("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = current_user").await.unwrap(),
            0
        );
    }
    // A step that cannot run in one transaction is checked statement by statement: the one
    // that moved the names is stopped, and the connection taken back before anything more is
    // recorded.
    let (sql, stopped, elsewhere, home) = match kind {
        BackendKind::Postgres => (
            "-- dbguard: no-transaction\nSELECT set_config('search' || '_path', 'app, public', false);\nCREATE TABLE moved_nt (id INT);\n",
            "statement 1 moved unqualified names away from public, to app",
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'app'",
            "SELECT count(*) FROM (SELECT 1) x WHERE current_schema() = 'public'",
        ),
        _ => (
            "SET @q = 'USE mysql';\nPREPARE s FROM @q;\nEXECUTE s;\nCREATE TABLE moved_nt (id INT);\n",
            "statement 3 moved unqualified names away from",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mysql' AND (table_name LIKE 'dbguard%' OR table_name = 'moved_nt')",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'dbguard_schema_version'",
        ),
    };
    dir.add("99", "moved", sql, "-- dbguard: irreversible = \"a test\"\n");
    let err = Migrator::from_dir(dir.path()).unwrap().up(&mut db, None).await.unwrap_err().to_string();
    assert!(err.contains(stopped), "{err}");
    assert_eq!(db.query_i64(elsewhere).await.unwrap(), 0, "nothing of dbguard's (or the step's) went there");
    assert_eq!(db.query_i64(home).await.unwrap(), 1, "the connection is back home");
    let status = Migrator::from_dir(dir.path()).unwrap().status(&mut db).await.unwrap();
    let stopped = status.entries.iter().find(|e| e.version == 99).unwrap().stopped_at.clone();
    let stopped = stopped.expect("recorded as stopped there, at home");
    assert!(stopped.failed_partway, "left for a person to judge: {stopped:?}");
}
on_each_engine!(a_step_that_moves_the_connection_away_is_refused_first);
