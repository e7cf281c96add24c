//! `Migrator::rehearse` on real SQLite, PostgreSQL and MySQL: downs that do not restore the
//! schema are found on a scratch copy, and the original is never touched.

use dbguard::{BackendKind, Database, FindingKind, Loader, Migrator};
use dbguard_tests::{MigrationDir, TestDb, corpus, on_each_engine};

/// Everything an observer could compare: schema, version rows, user rows.
async fn snapshot(db: &mut Database) -> (String, String, String) {
    let schema = db.introspect().await.unwrap().to_string();
    let versions = db.content_checksum("dbguard_schema_version").await.unwrap();
    let users = db.content_checksum("users").await.unwrap();
    (schema, versions, users)
}

async fn finds_downs_that_do_not_restore_and_leaves_the_original_alone(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL);",
        "DROP TABLE users;",
    );
    // Good: its down undoes it exactly.
    dir.add("2", "create_orders", "CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE orders;");
    // Bad: the down forgets the column.
    dir.add(
        "3",
        "add_email",
        "ALTER TABLE users ADD COLUMN email VARCHAR(120);\nCREATE INDEX users_name ON users (name);",
        "DROP INDEX users_name ON users;",
    );
    // Bad for rows: the down deletes more than its up inserted.
    dir.add(
        "4",
        "seed_admin",
        "INSERT INTO users (id, name) VALUES (100, 'admin');",
        "DELETE FROM users WHERE id >= 2;",
    );
    // SQLite and PostgreSQL have no `DROP INDEX ... ON`.
    if kind != BackendKind::Mysql {
        let down = dir.path().join("3_add_email/down.sql");
        std::fs::write(down, "DROP INDEX users_name;").unwrap();
    }
    let m = Migrator::from_dir(dir.path()).unwrap().watch_tables(["users"]);
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    db.execute("INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus')").await.unwrap();
    let before = snapshot(&mut db).await;
    // The copy must work with the original in use (PostgreSQL falls back to pg_dump | psql).
    let r = m.rehearse(&t.url).await.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(r.from_version, Some(1));
    assert_eq!(r.steps.iter().map(|s| s.version).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(r.downs_not_restoring_schema(), [3], "{:#?}", r.findings);
    let f3 = r.findings.iter().find(|f| f.version == 3).unwrap();
    assert!(f3.details.iter().any(|l| l.starts_with('+') && l.contains("email")), "{:#?}", f3.details);
    let rows = r.findings.iter().find(|f| f.kind == FindingKind::DownDoesNotRestoreRows).expect("rows finding");
    assert_eq!(rows.version, 4);
    assert_eq!(rows.details, ["users: the up changed it by +1 rows, the down by -3"]);
    assert_eq!(r.steps.iter().map(|s| s.down_restores).collect::<Vec<_>>(), [Some(true), Some(false), Some(false)]);
    assert!(!r.is_clean());
    // Migration 3's down leaves `email` behind, so applying it again fails.
    assert!(r.findings.iter().any(|f| f.kind == FindingKind::ReapplyFailed && f.version == 3), "{:#?}", r.findings);

    // The original: byte-for-byte the same schema, history and rows.
    assert_eq!(snapshot(&mut db).await, before);
    assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(1));
    db.close().await.unwrap();
    // The scratch database is gone.
    let name = r.scratch.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    match kind {
        BackendKind::Sqlite => assert!(!std::path::Path::new(&r.scratch["sqlite://".len()..]).exists()),
        _ => {
            let mut db = t.connect().await;
            let sql = match kind {
                BackendKind::Postgres => format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'"),
                _ => format!("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"),
            };
            assert_eq!(db.query_i64(&sql).await.unwrap(), 0, "scratch database {name} left behind");
        }
    }
}
on_each_engine!(finds_downs_that_do_not_restore_and_leaves_the_original_alone);

/// A clean set rehearses clean, with the original's connection closed (PostgreSQL then uses
/// `CREATE DATABASE ... TEMPLATE`).
async fn a_clean_set_rehearses_clean(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "create_users", "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY);", "DROP TABLE users;");
    dir.add("2", "add_name", "ALTER TABLE users ADD COLUMN name VARCHAR(40);", "ALTER TABLE users DROP COLUMN name;");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let r = m.rehearse(&t.url).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(r.is_clean(), "{:#?}", r.findings);
    assert_eq!(r.steps.len(), 2);
    assert!(r.steps.iter().all(|s| s.up && s.down_restores == Some(true)), "{:#?}", r.steps);
    // Still empty: nothing ran on the original.
    let mut db = t.connect().await;
    assert!(!db.introspect().await.unwrap().has_tables());
}
on_each_engine!(a_clean_set_rehearses_clean);

/// The crates.io migrations whose down does not bring back the schema their up found,
/// rehearsed on PostgreSQL. Each was checked by hand against its up.sql/down.sql; the reasons
/// are in docs/production.md#rehearse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crates_io_downs_that_do_not_restore_the_schema() {
    let Some(dir) = corpus("cratesio") else { return };
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let m = Migrator::new(Loader::new().accept_legacy_downs(true).load(&dir).unwrap()).unwrap();
    let r = m.rehearse(&t.url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.steps.len(), 285);
    for f in &r.findings {
        eprintln!("{} {} {:?}\n    {}", f.version, f.name, f.kind, f.details.join("\n    "));
    }
    let named = |kind| r.findings.iter().filter(|f| f.kind == kind).map(|f| f.name.as_str()).collect::<Vec<_>>();
    // Newest first, as the downs run. Each checked by hand against its up.sql and down.sql.
    assert_eq!(
        named(FindingKind::DownDoesNotRestoreSchema),
        [
            "versions_tar_sha256_not_null",             // down adds a CHECK the database never had
            "drop_gh_access_token",                     // re-added with DEFAULT '' it did not have
            "fix-num-versions-trigger",                 // up replaced a function; down drops it (and its trigger)
            "remove-token-generated-at-column",         // function re-created with another body
            "remove-semver-no-prerelease-column",       // the column's index is not re-created
            "remove-obsolete-fn",                       // function re-created with another body
            "change_api_token_to_bytea",                // back to text, not varchar; pgcrypto stays
            "remove_version_authors_user_id",           // the foreign key is not re-created
            "remove_crate_downloads",                   // FK re-created without ON DELETE CASCADE, another name
            "use_jsonb_for_features",                   // back to text, not varchar
            "stop_lying_to_schema",                     // max_version loses its DEFAULT '0.0.0'
            "move_readme_rendering_onto_versions",      // rendered_at NOT NULL, FK under another name
            "move_tokens_to_emails_table",              // tokens.token text, was varchar
            "dont_touch_timestamps_unless_row_changed", // older function bodies not the originals
            "drop_schema_migrations",                   // down creates a table that never existed here
            "version_downloads_needs_no_id",            // index expression date(date) becomes date
            "make_dependencies_schema_match_use",       // features back to text, was varchar
            "crate_owners_does_not_need_id",            // unique constraint's columns in another order
            "dumped_migration_105",                     // function re-created with another body
            "dumped_migration_36",                      // table re-created with 1 of its 2 columns, no indexes
            "dumped_migration_19",                      // up was a no-op (already NOT NULL); down drops NOT NULL
        ]
    );
    assert_eq!(
        named(FindingKind::DownFailed),
        [
            "make-unique-version-unique", // drops a constraint its up never created
            "remove-downloads-column",    // CREATE INDEX CONCURRENTLY inside the down's transaction
            "downloads_need_no_id",       // a missing semicolon: two ALTERs read as one
            "dumped_migration_27",        // drops an index that is not there
            "dumped_migration_14",        // DELETE FROM metadata, no WHERE, no allow: stopped
        ]
    );
    // `category_trees`' down drops the ltree column, then the extension: it failed while the
    // column's snapshot kept the ltree type; snapshots keep such columns as text now.
    assert_eq!(named(FindingKind::Irreversible).len(), 9, "the 9 empty downs");
}

/// The rehearsal measures each migration's blast radius on the copy, as `up` will on the
/// original: here the rows a DELETE removes.
async fn a_rehearsal_measures_the_blast_radius(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "create_users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL);",
        "DROP TABLE users;",
    );
    dir.add("2", "trim", "DELETE FROM users WHERE id > 1;", "-- dbguard: irreversible = \"a test\"");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = t.connect().await;
    m.up(&mut db, Some(1)).await.unwrap();
    db.execute("INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus')").await.unwrap();
    let r = m.rehearse(&t.url).await.unwrap_or_else(|e| panic!("{e}"));
    let radius: Vec<_> = r.steps[0].radius.iter().map(|x| (x.table.as_str(), x.verb, x.rows)).collect();
    assert_eq!(radius, [("users", dbguard::Verb::Delete, Some(2))]);
    assert_eq!(db.count_rows("users").await.unwrap(), 3, "the original is untouched");
}
on_each_engine!(a_rehearsal_measures_the_blast_radius);
