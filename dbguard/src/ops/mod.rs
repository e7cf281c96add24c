//! Operations built on the migrator: health and `check`, rehearsal on a scratch copy, reset,
//! and the axum readiness endpoint. They add their methods to [`crate::Migrator`] from here, so
//! that `migrate/` never depends on them.

pub mod fleet;
pub mod health;
#[cfg(feature = "axum")]
pub mod ready;
pub mod rehearse;
pub mod reset;
