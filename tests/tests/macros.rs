//! `#[migration]` items and `embed_migrations!` at run time, on real SQLite, PostgreSQL and
//! MySQL: they register, apply, revert, are guarded like SQL files, and carry the checksum the
//! SQL-file loader computes.

use dbguard::{BackendKind, EntryState, Error, Loader, LossOutcome, Migrator, Repair, migration};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};

#[migration(version = 1)]
mod create_accounts {
    pub const UP: &str = "CREATE TABLE accounts (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL)";
    pub const DOWN: &str = "DROP TABLE accounts";
}

#[migration(version = 2, name = "seed_accounts")]
mod seed {
    use dbguard::Tx;
    pub async fn up(tx: &mut Tx<'_>) -> dbguard::Result<()> {
        tx.execute("INSERT INTO accounts (id, email) VALUES (1, 'ada@example.com'), (2, 'grace@example.com'), (3, 'linus@example.com')").await?;
        Ok(())
    }
    pub async fn down(tx: &mut Tx<'_>) -> dbguard::Result<()> {
        tx.execute("DELETE FROM accounts WHERE id IN (1, 2, 3)").await?;
        Ok(())
    }
}

#[migration(version = 3, up = "sql/0003_add_nickname_up.sql", down = "sql/0003_add_nickname_down.sql")]
mod add_nickname {}

/// Deletes rows of a table it preserves (and whose emails it preserves): must never stand.
#[migration(version = 4, preserves = "accounts(email)")]
mod careless_cleanup {
    use dbguard::Tx;
    pub async fn up(tx: &mut Tx<'_>) -> dbguard::Result<()> {
        tx.execute("DELETE FROM accounts WHERE id > 1").await?;
        Ok(())
    }
    pub async fn down(_tx: &mut Tx<'_>) -> dbguard::Result<()> {
        Ok(())
    }
}

#[test]
fn the_registry_holds_every_migration_sorted_with_its_settings() {
    let m = Migrator::from_registry().unwrap();
    let all = m.migrations();
    let got: Vec<_> = all.iter().map(|m| (m.version(), m.name())).collect();
    assert_eq!(got, [(1, "create_accounts"), (2, "seed_accounts"), (3, "add_nickname"), (4, "careless_cleanup")]);
    assert_eq!(all[3].preserves(), ["accounts"]);
    assert_eq!(all[3].preserves_values(), [("accounts".to_string(), vec!["email".to_string()])]);
    assert_eq!(all[2].up().sql(), Some("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(40);\n"));
    let origin = all[0].origin().describe(false);
    assert!(origin.starts_with("tests/tests/macros.rs:") && origin.ends_with("(macros::create_accounts)"), "{origin}");
}

#[test]
fn compile_time_checksum_equals_the_loaders() {
    let registered = &Migrator::from_registry().unwrap().migrations()[0].clone();
    // Computed now, at run time, from the same text:
    assert_eq!(registered.checksum(), dbguard::lint::checksum::checksum(create_accounts::UP, create_accounts::DOWN));
    // And by the SQL-file loader, from files holding the same SQL (with CRLF endings, even):
    let dir = MigrationDir::new();
    dir.add("1", "create_accounts", &create_accounts::UP.replace('\n', "\r\n"), create_accounts::DOWN);
    let loaded = Loader::new().load(dir.path()).unwrap();
    assert_eq!(loaded[0].checksum(), registered.checksum());
    let files = Migrator::from_registry().unwrap().migrations()[2].clone();
    let up = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/0003_add_nickname_up.sql")).unwrap();
    let down = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/0003_add_nickname_down.sql")).unwrap();
    assert_eq!(files.checksum(), dbguard::lint::checksum::checksum(&up, &down));
}

async fn macro_migrations_apply_guard_and_revert(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let m = Migrator::from_registry().unwrap();
    let mut db = t.connect().await;
    let empty = db.introspect().await.unwrap();
    assert_eq!(m.up(&mut db, Some(3)).await.unwrap().applied.len(), 3);
    assert_eq!(db.count_rows("accounts").await.unwrap(), 3);
    assert_eq!(db.columns("accounts").await.unwrap(), ["id", "email", "nickname"]);

    let lost = match m.up(&mut db, None).await.unwrap_err() {
        Error::RowsLost(l) => l,
        other => panic!("{other}"),
    };
    assert!(
        lost.to_string().starts_with("migration 4 (careless_cleanup) would have removed 2 of 3 rows from accounts"),
        "{lost}"
    );
    assert_eq!(db.count_rows("accounts").await.unwrap(), 3, "the preserved rows are all there");
    if kind == BackendKind::Mysql {
        // A Rust step on MySQL cannot be trusted to roll back: restored, and left dirty.
        assert!(matches!(lost.outcome, LossOutcome::Restored { .. }), "{lost}");
        assert_eq!(m.plan(&mut db).await.unwrap().in_state(EntryState::Dirty).count(), 1);
        m.repair(&mut db, 4, Repair::Forget).await.unwrap();
    } else {
        assert_eq!(lost.outcome, LossOutcome::RolledBack);
    }
    assert_eq!(m.plan(&mut db).await.unwrap().current_version(), Some(3));

    let report = m.down(&mut db, 0).await.unwrap();
    assert_eq!(report.reverted.iter().map(|s| s.version).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(db.introspect().await.unwrap(), empty, "reverted to an empty schema");
}
on_each_engine!(macro_migrations_apply_guard_and_revert);

#[tokio::test]
async fn embedded_migrations_equal_the_directory_and_apply() {
    let embedded = dbguard::embed_migrations!("../examples/shop/migrations").unwrap();
    let loaded = Loader::new().load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop/migrations")).unwrap();
    let key = |v: &[dbguard::Migration]| -> Vec<(i64, String, String, bool)> {
        v.iter().map(|m| (m.version(), m.name().to_string(), m.checksum().to_string(), m.is_transactional())).collect()
    };
    assert_eq!(key(&embedded), key(&loaded));
    assert_eq!(embedded.len(), 4);
    let origin = embedded[0].origin().describe(false);
    assert!(origin.starts_with("../examples/shop/migrations/0001_"), "{origin}");

    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let mut db = t.connect().await;
    let report = Migrator::new(embedded).unwrap().up(&mut db, None).await.unwrap();
    assert_eq!(report.applied.len(), 4);
}
