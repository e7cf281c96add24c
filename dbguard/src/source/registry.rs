//! Migrations registered from Rust code with `#[migration]`, collected at link time.
//!
//! The macro expands to an `inventory::submit!` of a [`Registration`]; `inventory` is re-exported
//! by dbguard so that user crates need no extra dependency.

use crate::error::LoadError;
use crate::model::migration::Migration;
use crate::source::loader::sort_and_check;

/// A migration registered by `#[migration]`.
pub struct Registration {
    /// Builds the migration.
    pub build: fn() -> Migration,
}

inventory::collect!(Registration);

/// Every migration registered in this binary, in run order. Duplicate versions are refused
/// with both source locations.
pub fn registered() -> Result<Vec<Migration>, LoadError> {
    let mut all: Vec<Migration> = inventory::iter::<Registration>.into_iter().map(|r| (r.build)()).collect();
    sort_and_check(&mut all)?;
    Ok(all)
}
