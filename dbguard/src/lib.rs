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
//! let mut db = Database::create_if_missing("sqlite://app.db").await?;
//! migrator.up(&mut db, None).await?;
//! for entry in migrator.plan(&mut db).await?.entries {
//!     println!("{} {} {:?}", entry.version, entry.name, entry.state);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod backup;
mod db;
mod error;
mod migrate;
mod model;
mod ops;
mod safety;
mod source;
mod store;

pub use backup::dump::DumpPolicy;
pub use backup::file::{FileBackup, FileBackupPolicy};
pub use backup::snapshot::{PrunePolicy, RestoreOptions, RestoreReport, Verification};
pub use backup::{BackupList, BackupReport, Backups, FileVerification, Pruned};
pub use db::database::Database;
pub use db::open_mode::OpenMode;
pub use db::schema::Schema;
pub use db::url::{check as check_url, database_name, is_local, mask_url, sqlite_file, url_with_database};
pub use error::{
    Confirmation, Done, DriftInfo, Error, FailureOutcome, LoadError, Loss, LossOutcome, MigrationFailure,
    MissingPreserved, OutsideSchema, Problem, Result, RowsLost,
};
pub use migrate::Migrator;
pub use migrate::radius::Verb;
pub use migrate::report::{DryRun, DryStep, Radius, Repair, Report, Resumed, StepKind, StepReport};
pub use model::applied::{AppliedRow, RowDetails, RowState};
pub use model::direction::Direction;
pub use model::fault::Fault;
pub use model::health::{Health, Status};
pub use model::kind::BackendKind;
pub use model::migration::{Migration, Origin, Step, StepFn, StepFuture, Tx};
pub use model::plan::{Entry, EntryState, Plan};
pub use model::progress::{Progress, Task, Work, thousands};
pub use model::resume::ResumePoint;
pub use ops::fleet::{
    Fleet, FleetFile, FleetOp, FleetReport, FleetSpec, Target, TargetFailure, TargetOutcome, TargetRun, TargetSpec,
    TargetStatus,
};
pub use ops::rehearse::{FindingKind, Rehearsal, RehearsalFinding, RehearsedStep};
pub use ops::reset::ResetReport;
pub use safety::guarded::{DEFAULT_LOCK_TIMEOUT, Operation};
pub use safety::tier::{KnownDatabase, Tier, TierDecision, TierPolicy, assert_local_for_tests};
pub use source::lint::{LintReport, lint_paths, lint_paths_each};
pub use source::loader::Loader;
pub use source::registry::{Registration, registered};
pub use store::catalog::{CATALOG, SnapshotInfo};
pub use store::fingerprint::{FINGERPRINT_TABLE, RecordedSchema};
pub use store::stats::STATS_TABLE;
pub use store::version_table::LAYOUT;

/// The audit log: entries and reading them back.
pub mod audit {
    pub use crate::store::audit::{AUDIT_TABLE, AuditEntry, AuditLog, read, read_file};
}

/// Whole-file backups of a SQLite database.
pub mod file_backup {
    pub use crate::backup::file::{FileBackup, FileBackupPolicy, FileRestoreReport, backup_dir, list, restore, verify};
}

/// A readiness endpoint for axum applications (feature `axum`).
#[cfg(feature = "axum")]
pub mod ready {
    pub use crate::ops::ready::{Ready, handler, router};
}

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
