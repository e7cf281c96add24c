//! dbguard: migrations that cannot silently lose your data.
//!
//! A migrator for SQLite (embedded, the default), PostgreSQL and MySQL/MariaDB that keeps a
//! version table with checksums, runs each migration atomically where the database allows and
//! marks it dirty where it does not, refuses edited (drifted), missing and out-of-order
//! migrations, and lets only one runner migrate a database at a time.
//!
//! ```no_run
//! # async fn run() -> dbguard::Result<()> {
//! use dbguard::{Database, Migrator};
//!
//! let migrator = Migrator::from_dir("migrations")?;
//! let mut db = Database::connect("sqlite://app.db").await?;
//! migrator.up(&mut db, None).await?;
//! for entry in migrator.plan(&mut db).await?.entries {
//!     println!("{} {} {:?}", entry.version, entry.name, entry.state);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod audit;
mod backend;
mod backups;
mod catalog;
mod database;
mod databases;
mod dump;
mod error;
pub mod file_backup;
mod fingerprint;
mod guard;
pub mod health;
mod history;
mod linting;
mod loader;
mod lock;
mod migration;
mod migrator;
mod plan;
mod progress;
#[cfg(feature = "axum")]
pub mod ready;
mod registry;
mod rehearse;
mod reset;
mod schema;
mod snapshot;
mod stats;
mod tier;
mod url;

pub use backups::Backups;
pub use catalog::{CATALOG, SnapshotInfo};
pub use database::Database;
pub use dump::DumpPolicy;
pub use error::{
    Confirmation, DriftInfo, Error, FailureOutcome, LoadError, LossOutcome, MigrationFailure, Problem, Result, RowsLost,
};
pub use file_backup::{FileBackup, FileBackupPolicy};
pub use fingerprint::{FINGERPRINT_TABLE, RecordedSchema};
pub use guard::Loss;
pub use health::{Health, Status};
pub use history::{AppliedRow, LAYOUT, RowDetails, RowState};
pub use linting::{LintReport, lint_paths};
pub use loader::Loader;
pub use migration::{Migration, Origin, Step, StepFn, StepFuture, Tx};
pub use migrator::{DryRun, DryStep, Migrator, Repair, Report, StepReport};
pub use plan::{Entry, EntryState, Plan};
pub use progress::Progress;
pub use registry::{Registration, registered};
pub use rehearse::{FindingKind, Rehearsal, RehearsalFinding, RehearsedStep};
pub use reset::ResetReport;
pub use schema::Schema;
pub use snapshot::{PrunePolicy, RestoreOptions, RestoreReport, Verification};
pub use stats::STATS_TABLE;
pub use tier::{Tier, assert_local_for_tests, database_name, is_local};
pub use url::{BackendKind, mask_url, sqlite_file, url_with_database};

/// Turns a `mod` into a registered, compile-time-checked migration: see `docs/macro.md`.
///
/// ```
/// #[dbguard::migration(version = 4, preserves = "users")]
/// mod add_email_to_users {
///     pub const UP: &str = "ALTER TABLE users ADD COLUMN email TEXT";
///     pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
/// }
/// let all = dbguard::registered().unwrap();
/// assert_eq!(all[0].name(), "add_email_to_users");
/// assert_eq!(all[0].preserves(), ["users"]);
/// ```
pub use dbguard_macros::migration;

/// Embeds a directory of SQL migrations at compile time; evaluates to
/// `dbguard::Result<Vec<dbguard::Migration>>`. See `docs/macro.md`.
pub use dbguard_macros::embed_migrations;

/// A length of time, for [`PrunePolicy::older_than`].
pub use chrono::Duration as ChronoDuration;

/// The linter and SQL engine, re-exported.
pub use dbguard_lint as lint;

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
