//! The crates.io migrations (285 real diesel migrations) through the runtime on PostgreSQL.

use std::time::Instant;

use dbguard::{BackendKind, Loader, Migrator};
use dbguard_tests::{TestDb, corpus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crates_io_migrations_apply_on_postgres() {
    let Some(dir) = corpus("cratesio") else {
        return;
    };
    let Some(t) = TestDb::new(BackendKind::Postgres).await else {
        return;
    };
    let migrations = Loader::new().accept_legacy_downs(true).load(&dir).unwrap();
    assert_eq!(migrations.len(), 285);
    let m = Migrator::new(migrations).unwrap();
    let mut db = t.connect().await;
    let started = Instant::now();
    let report = m.up(&mut db, None).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("crates.io corpus: applied {} migrations in {:?}", report.applied.len(), started.elapsed());
    assert_eq!(report.applied.len(), 285);
    let plan = m.plan(&mut db).await.unwrap();
    assert!(plan.is_up_to_date());
    assert!(db.table_exists("crates").await.unwrap() && db.table_exists("versions").await.unwrap());
    assert!(m.up(&mut db, None).await.unwrap().applied.is_empty());
}
