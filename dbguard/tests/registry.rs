//! Migrations registered from Rust code (what `#[migration]` expands to).

use dbguard::{Migration, Origin, Registration, Step, StepFuture, Tx};

fn backfill<'a>(tx: &'a mut Tx<'_>) -> StepFuture<'a> {
    Box::pin(async move {
        tx.execute("UPDATE t SET n = n + 1 WHERE n >= 0").await?;
        Ok(())
    })
}

fn second() -> Migration {
    Migration::new(
        20,
        "backfill",
        Step::Rust { run: backfill, source: "fn backfill ...".into() },
        // It overwrites every row's value: that takes the allow, as without a WHERE.
        Step::Sql("-- dbguard:allow update-without-where reason=\"reverts the backfill\"\nUPDATE t SET n = n - 1 WHERE n >= 1".into()),
    )
    .preserving(["t"])
    .with_origin(Origin::Rust { file: file!(), line: line!(), module: module_path!() })
}

fn first() -> Migration {
    Migration::sql(3, "create_t", "CREATE TABLE t (n INTEGER)", "DROP TABLE t")
}

dbguard::__private::inventory::submit! { Registration { build: second } }
dbguard::__private::inventory::submit! { Registration { build: first } }

#[test]
fn registered_migrations_come_back_sorted_with_their_origin() {
    let all = dbguard::registered().unwrap();
    let got: Vec<_> = all.iter().map(|m| (m.version(), m.name())).collect();
    assert_eq!(got, [(3, "create_t"), (20, "backfill")]);
    assert!(all[1].origin().describe(false).contains("registry.rs"));
    assert!(matches!(all[1].up(), Step::Rust { .. }));
    assert_eq!(all[1].preserves(), ["t"]);
}

#[tokio::test]
async fn a_rust_step_runs_in_the_migration_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let mut db = dbguard::Database::create_if_missing(&url).await.unwrap();
    let m = dbguard::Migrator::from_registry().unwrap();
    m.up(&mut db, Some(3)).await.unwrap();
    db.execute("INSERT INTO t (n) VALUES (1), (2)").await.unwrap();
    assert_eq!(m.up(&mut db, None).await.unwrap().applied.len(), 1);
    assert_eq!(db.query_i64("SELECT SUM(n) FROM t").await.unwrap(), 5);
    m.down(&mut db, 3).await.unwrap();
    assert_eq!(db.query_i64("SELECT SUM(n) FROM t").await.unwrap(), 3);
}
