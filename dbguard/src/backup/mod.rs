//! The backup API: take, list, verify, restore and prune table snapshots, under the migration
//! lock so that none of it races a migration; SQLite file backups ([`file`]) and dumps ([`dump`]).

pub mod dump;
pub mod file;
pub mod snapshot;

use std::time::Duration;

use crate::backup::snapshot::{PrunePolicy, RestoreOptions, RestoreReport, Verification, reason};
use crate::db::database::Database;
use crate::db::lock::with_lock;
use crate::error::{Error, Result};
use crate::store::catalog::{self, SnapshotInfo};

/// Table snapshots of one database.
///
/// ```no_run
/// # async fn run() -> dbguard::Result<()> {
/// use dbguard::{Backups, Database, RestoreOptions};
/// let mut db = Database::connect("sqlite://app.db").await?;
/// let backups = Backups::new();
/// let snap = backups.snapshot(&mut db, "users").await?;
/// // ... later, after an accident:
/// let report = backups.restore(&mut db, snap.id, &RestoreOptions::default()).await?;
/// println!("{} rows back in {}", report.rows, report.table);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Backups {
    lock_key: String,
    lock_timeout: Duration,
    tier: Option<crate::Tier>,
    confirmed: Option<String>,
}

impl Default for Backups {
    fn default() -> Self {
        Self::new()
    }
}

impl Backups {
    /// Backups that take the default migration lock (`dbguard_schema_version`).
    pub fn new() -> Self {
        Backups {
            lock_key: crate::store::version_table::DEFAULT_TABLE.into(),
            lock_timeout: Duration::from_secs(120),
            tier: None,
            confirmed: None,
        }
    }

    /// The environment tier (default: from the URL, like [`crate::Migrator::tier`]).
    pub fn tier(mut self, tier: crate::Tier) -> Self {
        self.tier = Some(tier);
        self
    }

    /// Confirms `restore` and `prune` on the production database named `database`.
    pub fn confirm_production(mut self, database: impl Into<String>) -> Self {
        self.confirmed = Some(database.into());
        self
    }

    /// In production, `action` needs the database's name confirmed.
    fn confirm(&self, db: &Database, action: &'static str, what: Vec<String>) -> Result<()> {
        if self.tier.unwrap_or_else(|| crate::Tier::for_url(db.url())) != crate::Tier::Prod {
            return Ok(());
        }
        crate::safety::tier::require_confirmation(db.url(), self.confirmed.as_deref(), action, what)
    }

    /// Uses the lock of a migrator with a custom version table.
    pub fn lock(mut self, version_table: impl Into<String>, timeout: Duration) -> Self {
        self.lock_key = version_table.into();
        self.lock_timeout = timeout;
        self
    }

    async fn locked<T>(&self, db: &mut Database, f: impl AsyncFnOnce(&mut Database) -> Result<T>) -> Result<T> {
        with_lock(db, &self.lock_key, self.lock_timeout, f).await
    }

    /// Copies `table` into a new snapshot now.
    pub async fn snapshot(&self, db: &mut Database, table: &str) -> Result<SnapshotInfo> {
        self.locked(db, async |db| {
            if !db.table_exists(table).await? {
                return Err(Error::Refused(format!(
                    "there is no table {table} in {}; nothing was copied.\n  next: check the name (`cargo dbguard status` lists the schema's tables)",
                    db.url()
                )));
            }
            snapshot::take(&mut db.session(), table, None, reason::MANUAL).await
        })
        .await
    }

    /// Every snapshot in the catalog, oldest first.
    pub async fn list(&self, db: &mut Database) -> Result<Vec<SnapshotInfo>> {
        catalog::list(&mut db.session()).await
    }

    async fn get(db: &mut Database, id: i64) -> Result<SnapshotInfo> {
        let all = catalog::list(&mut db.session()).await?;
        all.into_iter().find(|s| s.id == id).ok_or_else(|| {
            Error::Refused(format!(
                "there is no snapshot {id} in the catalog of {}.\n  next: `cargo dbguard backups list` shows the ids",
                db.url()
            ))
        })
    }

    /// Checks one snapshot: row count and content checksum against the catalog (recording the
    /// checksum the first time).
    pub async fn verify(&self, db: &mut Database, id: i64) -> Result<Verification> {
        self.locked(db, async |db| {
            let info = Self::get(db, id).await?;
            snapshot::verify(&mut db.session(), &info).await
        })
        .await
    }

    /// Checks every snapshot.
    pub async fn verify_all(&self, db: &mut Database) -> Result<Vec<Verification>> {
        self.locked(db, async |db| {
            let mut out = Vec::new();
            for info in catalog::list(&mut db.session()).await? {
                out.push(snapshot::verify(&mut db.session(), &info).await?);
            }
            Ok(out)
        })
        .await
    }

    /// Restores a snapshot into its table (or `opts.into`): the table's current rows are
    /// snapshotted first, the rows are replaced in one transaction, and the result is verified.
    /// Columns are matched by name; snapshot columns the table lost make it refuse, before
    /// writing anything, unless `opts.drop_unmapped_columns`.
    pub async fn restore(&self, db: &mut Database, id: i64, opts: &RestoreOptions) -> Result<RestoreReport> {
        self.locked(db, async |db| {
            let info = Self::get(db, id).await?;
            if !opts.dry_run {
                let into = opts.into.as_deref().unwrap_or(&info.source_table);
                self.confirm(
                    db,
                    "restore",
                    vec![format!("replace the rows of {into} with snapshot {id} ({} rows)", info.row_count)],
                )?;
            }
            snapshot::restore(&mut db.session(), &info, opts).await
        })
        .await
    }

    /// Removes snapshots by count per table and/or age; the newest verified snapshot of each
    /// table (or its newest, when none is verified) is always kept. Returns what was removed.
    pub async fn prune(&self, db: &mut Database, policy: &PrunePolicy) -> Result<Vec<SnapshotInfo>> {
        self.locked(db, async |db| {
            let all = catalog::list(&mut db.session()).await?;
            let doomed: Vec<SnapshotInfo> = snapshot::to_prune(&all, policy).into_iter().cloned().collect();
            if policy.dry_run {
                return Ok(doomed);
            }
            let what = doomed
                .iter()
                .map(|s| format!("delete snapshot {} of {} ({} rows)", s.id, s.source_table, s.row_count))
                .collect();
            self.confirm(db, "prune backups", what)?;
            let mut s = db.session();
            for snap in &doomed {
                let table = s.env.backend.quote(&snap.location);
                s.execute(&format!("DROP TABLE IF EXISTS {table}"), "removing an old snapshot").await?;
                catalog::delete(&mut s, snap.id).await?;
            }
            Ok(doomed)
        })
        .await
    }
}
