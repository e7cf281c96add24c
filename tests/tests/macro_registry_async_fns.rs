//! `#[migration]` on modules of async fns compiles and registers them with their options
//! (its own test binary: the registry is the binary's).

use dbguard::migration;

#[migration(version = 5, preserves = ["users", "orders"], transaction = false)]
mod backfill {
    use dbguard::Tx;
    pub async fn up(tx: &mut Tx<'_>) -> dbguard::Result<()> {
        tx.execute("UPDATE users SET email = lower(email) WHERE email IS NOT NULL").await?;
        Ok(())
    }
    pub async fn down(_tx: &mut Tx<'_>) -> dbguard::Result<()> {
        Ok(())
    }
}

#[test]
fn async_fn_migrations_register_with_their_options() {
    let m = dbguard::Migrator::from_registry().unwrap();
    let b = &m.migrations()[0];
    assert_eq!((b.version(), b.name(), b.is_transactional()), (5, "backfill", false));
    assert_eq!(b.preserves(), ["users", "orders"]);
    assert!(matches!(b.up(), dbguard::Step::Rust { .. }));
}
