//! The backup API over table snapshots ([`snapshot`]), SQLite file backups ([`file`]) and dumps
//! ([`dump`]): take, list, verify, restore and prune. Everything that writes goes through the
//! guarded path (lock, production confirmation, audit, dry run).

pub mod dump;
pub mod file;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backup::file::{FileBackup, FileRestoreReport};
use crate::backup::snapshot::{PrunePolicy, RestoreOptions, RestoreReport, Verification, reason};
use crate::db::database::{Database, Session};
use crate::db::lock::with_lock;
use crate::error::{Error, Result};
use crate::safety::guarded::{self, AskFn, Guarded, Intent, Operation, Safety};
use crate::safety::tier::{Tier, TierPolicy};
use crate::store::catalog::{self, SnapshotInfo};

/// Table snapshots and file backups of one database.
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
#[derive(Debug, Clone, Default)]
pub struct Backups {
    safety: Safety,
}

/// Every backup of a database: its table snapshots and, for SQLite, its file backups.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupList {
    /// Table snapshots, oldest first.
    pub snapshots: Vec<SnapshotInfo>,
    /// File backups, newest first.
    pub files: Vec<FileBackup>,
    /// Snapshot tables no catalog entry names: a run was interrupted while copying (they are
    /// incomplete; `prune` removes them).
    pub leftovers: Vec<String>,
}

/// What [`Backups::back_up`] took (or, for a dry run, would take).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    /// The snapshots taken; for a dry run, the tables with their row counts now (id 0).
    pub snapshots: Vec<SnapshotInfo>,
    /// The file backup taken.
    pub file: Option<FileBackup>,
    /// For a dry run: where the file backup would be written.
    pub file_into: Option<PathBuf>,
}

/// What [`Backups::prune_all`] removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Snapshots removed.
    pub snapshots: Vec<SnapshotInfo>,
    /// File backups removed.
    pub files: Vec<PathBuf>,
    /// Incomplete snapshot tables (no catalog entry) removed.
    pub leftovers: Vec<String>,
}

/// A file backup and what checking it found (`None`: it verifies).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileVerification {
    /// The backup.
    pub backup: FileBackup,
    /// What is wrong with it.
    pub problem: Option<String>,
}

impl Backups {
    /// Backups with the default lock (`dbguard_schema_version`), tiers decided from the URL,
    /// and no audit file.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn with_safety(safety: Safety) -> Self {
        Backups { safety }
    }

    /// Asks for at least this tier (see [`crate::Migrator::tier`]).
    pub fn tier(mut self, tier: Tier) -> Self {
        self.safety.tiers = self.safety.tiers.requested(tier, format!("Backups::tier({tier})"));
        self
    }

    /// How tiers are decided (see [`crate::Migrator::tiers`]).
    pub fn tiers(mut self, policy: TierPolicy) -> Self {
        self.safety.tiers = policy;
        self
    }

    /// Confirms `restore` and `prune` on the production database named `database`.
    pub fn confirm_production(mut self, database: impl Into<String>) -> Self {
        self.safety.confirmed = Some(database.into());
        self
    }

    /// Asks `ask` when a production change needs a confirmation and none was given.
    pub fn on_confirmation(
        mut self,
        ask: impl Fn(&crate::error::Confirmation) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.safety.ask = Some(std::sync::Arc::new(ask) as AskFn);
        self
    }

    /// Appends audit entries to `path` too (see [`crate::Migrator::audit_file`]).
    pub fn audit_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.safety.audit.file = Some(path.into());
        self
    }

    /// Uses the lock of a migrator with a custom version table.
    pub fn lock(mut self, version_table: impl Into<String>, timeout: Duration) -> Self {
        self.safety.lock.key = version_table.into();
        self.safety.lock.timeout = timeout;
        self
    }

    /// Ends the statement of a lock holder whose runner is gone (see
    /// [`crate::Migrator::kill_stale_runner`]).
    pub fn kill_stale_runner(mut self, yes: bool) -> Self {
        self.safety.lock.kill_stale_runner = yes;
        self
    }

    /// Calls `f` with what the lock did (see [`crate::Migrator::on_progress`]).
    pub fn on_progress(mut self, f: impl Fn(&crate::Progress) + Send + Sync + 'static) -> Self {
        self.safety.progress = crate::model::progress::ProgressHook::new(f);
        self
    }

    async fn locked<T>(&self, db: &mut Database, f: impl AsyncFnOnce(&mut Database) -> Result<T>) -> Result<T> {
        with_lock(db, &self.safety.lock, &self.safety.progress, f).await
    }

    /// Copies `table` into a new snapshot now.
    pub async fn snapshot(&self, db: &mut Database, table: &str) -> Result<SnapshotInfo> {
        let mut r = self.back_up(db, &[table], false).await?;
        Ok(r.snapshots.remove(0))
    }

    /// Takes a backup now: a snapshot of each of `tables`, and with `file` (SQLite) a
    /// verified whole-file backup. It only adds (older backups are removed by `prune`, which
    /// asks in production), so production does not ask.
    pub async fn back_up(&self, db: &mut Database, tables: &[&str], file: bool) -> Result<BackupReport> {
        self.run_back_up(db, tables, file, false).await.map(Guarded::done)
    }

    /// What [`Backups::back_up`] would take, without writing anything.
    pub async fn dry_run_back_up(&self, db: &mut Database, tables: &[&str], file: bool) -> Result<BackupReport> {
        self.run_back_up(db, tables, file, true).await.map(Guarded::planned)
    }

    async fn run_back_up(
        &self,
        db: &mut Database,
        tables: &[&str],
        file: bool,
        dry_run: bool,
    ) -> Result<Guarded<BackupReport, BackupReport>> {
        guarded::run(
            &self.safety,
            db,
            Operation::Backup,
            dry_run,
            async |db| {
                let mut plan = BackupReport::default();
                for table in tables {
                    if !db.table_exists(table).await? {
                        let mut existing = db.session().user_tables().await?;
                        existing.truncate(20);
                        return Err(Error::NoSuchTable { table: table.to_string(), url: db.url().into(), existing });
                    }
                    let rows = db.count_rows(table).await?;
                    plan.snapshots.push(SnapshotInfo {
                        id: 0,
                        source_table: table.to_string(),
                        migration_version: None,
                        reason: reason::MANUAL.into(),
                        row_count: rows,
                        checksum: None,
                        created_at: String::new(),
                        location: String::new(),
                    });
                }
                if file {
                    let file =
                        db.env.backend.database_file().ok_or_else(|| Error::NotAFile { url: db.url().into() })?;
                    plan.file_into = Some(file::backup_dir(file));
                }
                Ok(Intent { plan, destroys: Vec::new(), changes: true })
            },
            async |db, plan| {
                let mut done = BackupReport::default();
                for s in &plan.snapshots {
                    done.snapshots
                        .push(snapshot::take(&mut db.session(), &s.source_table, None, reason::MANUAL).await?);
                }
                if file {
                    let path = db.env.backend.database_file().map(Path::to_path_buf).expect("checked by the plan");
                    done.file = Some(file::create(&mut db.session(), &path, "manual", None).await?);
                }
                Ok(done)
            },
            |r, e| {
                e.backups = r.snapshots.iter().map(|s| format!("snapshot {} ({})", s.id, s.location)).collect();
                e.backups.extend(r.file.iter().map(|f| f.path.display().to_string()));
            },
        )
        .await
    }

    /// Every snapshot in the catalog, oldest first.
    pub async fn list(&self, db: &mut Database) -> Result<Vec<SnapshotInfo>> {
        catalog::list(&mut db.session()).await
    }

    /// Every backup of the database: snapshots and (SQLite) file backups.
    pub async fn list_all(&self, db: &mut Database) -> Result<BackupList> {
        let snapshots = catalog::list(&mut db.session()).await?;
        let files = match db.env.backend.database_file() {
            Some(f) => file::list(f)?,
            None => Vec::new(),
        };
        let leftovers = leftovers(&mut db.session(), &snapshots).await?;
        Ok(BackupList { snapshots, files, leftovers })
    }

    async fn get(db: &mut Database, id: i64) -> Result<SnapshotInfo> {
        let all = catalog::list(&mut db.session()).await?;
        all.into_iter().find(|s| s.id == id).ok_or_else(|| Error::NoSuchSnapshot { id, url: db.url().into() })
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

    /// Checks every file backup (SQLite): integrity, and the row counts its manifest recorded.
    pub async fn verify_files(&self, db: &Database) -> Result<Vec<FileVerification>> {
        let Some(f) = db.env.backend.database_file() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for backup in file::list(f)? {
            let problem = match file::verify(&backup).await {
                Ok(p) => p,
                Err(e) => Some(e.to_string()),
            };
            out.push(FileVerification { backup, problem });
        }
        Ok(out)
    }

    /// Restores a snapshot into its table (or `opts.into`): the table's current rows are
    /// snapshotted first, the rows are replaced in one transaction, and the result is verified.
    /// Columns are matched by name; snapshot columns the table lost make it refuse, before
    /// writing anything, unless `opts.drop_unmapped_columns`. With `opts.dry_run`, only the plan.
    pub async fn restore(&self, db: &mut Database, id: i64, opts: &RestoreOptions) -> Result<RestoreReport> {
        let result = guarded::run(
            &self.safety,
            db,
            Operation::Restore,
            opts.dry_run,
            async |db| {
                let info = Self::get(db, id).await?;
                let plan = snapshot::plan_restore(&mut db.session(), &self.safety.lock.key, &info, opts).await?;
                let what = format!(
                    "replace the rows of {} with snapshot {id} ({} rows, taken {})",
                    plan.report.table, info.row_count, info.created_at
                );
                Ok(Intent { plan, destroys: vec![what], changes: true })
            },
            async |db, plan| snapshot::apply_restore(&mut db.session(), plan).await,
            |r, e| {
                e.backups = vec![format!("snapshot {} ({})", r.snapshot.id, r.snapshot.location)];
                e.backups
                    .extend(r.pre_restore.iter().map(|p| format!("pre-restore snapshot {} ({})", p.id, p.location)));
                e.counts_checked = vec![format!("{}: {} rows", r.table, r.rows)];
            },
        )
        .await?;
        Ok(match result {
            Guarded::DryRun(plan) => plan.report,
            Guarded::Done(report) => report,
        })
    }

    /// Replaces the SQLite database `db` is connected to with the file backup at `backup` (its
    /// path, or its file name in the backup directory). The backup must verify; the current
    /// file is backed up first; the result is verified; `db` is connected to the restored
    /// database afterwards. Stop the application first.
    pub async fn restore_file(&self, db: &mut Database, backup: &Path) -> Result<FileRestoreReport> {
        self.run_restore_file(db, backup, false).await.map(Guarded::done)
    }

    /// Checks that [`Backups::restore_file`] would go ahead, without changing anything: the
    /// backup it would restore.
    pub async fn dry_run_restore_file(&self, db: &mut Database, backup: &Path) -> Result<FileBackup> {
        self.run_restore_file(db, backup, true).await.map(Guarded::planned)
    }

    async fn run_restore_file(
        &self,
        db: &mut Database,
        backup: &Path,
        dry_run: bool,
    ) -> Result<Guarded<FileBackup, FileRestoreReport>> {
        guarded::run(
            &self.safety,
            db,
            Operation::RestoreFile,
            dry_run,
            async |db| {
                let f = db.env.backend.database_file().ok_or_else(|| Error::NotAFile { url: db.url().into() })?;
                let found = file::find(f, backup)?;
                file::check_restorable(&found).await?;
                let what = format!(
                    "replace the whole database file {} with the backup {} (taken {}, {} tables)",
                    f.display(),
                    found.path.display(),
                    found.created_at,
                    found.tables.len()
                );
                Ok(Intent { plan: found, destroys: vec![what], changes: true })
            },
            async |db, found| file::replace(db, &found).await,
            |r, e| {
                e.backups = vec![r.restored.path.display().to_string(), r.pre_restore.path.display().to_string()];
            },
        )
        .await
    }

    /// Removes snapshots by count per table and/or age; the newest verified snapshot of each
    /// table (or its newest, when none is verified) is always kept. Returns what was removed
    /// (with `policy.dry_run`, what would be). File backups are not touched; see
    /// [`Backups::prune_all`].
    pub async fn prune(&self, db: &mut Database, policy: &PrunePolicy) -> Result<Vec<SnapshotInfo>> {
        self.run_prune(db, policy, false).await.map(|p| p.snapshots)
    }

    /// Like [`Backups::prune`], for snapshots and (SQLite) file backups together: one
    /// confirmation in production listing everything it deletes, one audit entry.
    pub async fn prune_all(&self, db: &mut Database, policy: &PrunePolicy) -> Result<Pruned> {
        self.run_prune(db, policy, true).await
    }

    async fn run_prune(&self, db: &mut Database, policy: &PrunePolicy, files: bool) -> Result<Pruned> {
        let result = guarded::run(
            &self.safety,
            db,
            Operation::Prune,
            policy.dry_run,
            async |db| {
                let all = catalog::list(&mut db.session()).await?;
                let mut plan = Pruned {
                    snapshots: snapshot::to_prune(&all, policy).into_iter().cloned().collect(),
                    files: Vec::new(),
                    leftovers: leftovers(&mut db.session(), &all).await?,
                };
                if files && let Some(f) = db.env.backend.database_file() {
                    plan.files = file::prune_by(f, &PrunePolicy { dry_run: true, ..policy.clone() })?;
                }
                let mut what: Vec<String> = plan
                    .snapshots
                    .iter()
                    .map(|s| {
                        format!(
                            "delete snapshot {} of {} ({} rows, {})",
                            s.id, s.source_table, s.row_count, s.created_at
                        )
                    })
                    .collect();
                what.extend(plan.files.iter().map(|p| format!("delete the file backup {}", p.display())));
                what.extend(
                    plan.leftovers.iter().map(|t| format!("drop {t}, an incomplete snapshot an interrupted run left")),
                );
                let changes = !what.is_empty();
                Ok(Intent { plan, destroys: what, changes })
            },
            async |db, plan| {
                let mut s = db.session();
                for snap in &plan.snapshots {
                    snapshot::discard(&mut s, snap, "an old snapshot pruned").await?;
                }
                for t in &plan.leftovers {
                    let table = s.env.backend.quote(t);
                    s.execute(&format!("DROP TABLE IF EXISTS {table}"), "removing an incomplete snapshot").await?;
                }
                file::delete(&plan.files)?;
                Ok(plan)
            },
            |r, e| {
                e.backups = r.snapshots.iter().map(|s| format!("deleted snapshot {} ({})", s.id, s.location)).collect();
                e.backups.extend(r.files.iter().map(|p| format!("deleted {}", p.display())));
                e.backups.extend(r.leftovers.iter().map(|t| format!("dropped incomplete snapshot {t}")));
            },
        )
        .await?;
        Ok(match result {
            Guarded::DryRun(p) | Guarded::Done(p) => p,
        })
    }
}

/// Snapshot tables that no catalog entry names. Snapshots are catalogued once copied, so these
/// are copies an interrupted run left unfinished (or empty row snapshots it never filled).
async fn leftovers(s: &mut Session<'_>, catalogued: &[SnapshotInfo]) -> Result<Vec<String>> {
    let sql = s.env.backend.list_tables_sql();
    let all = s.strings(sql, "listing the tables").await?;
    Ok(all
        .into_iter()
        .filter(|t| t.starts_with(snapshot::PREFIX) && !catalogued.iter().any(|c| c.location == *t))
        .collect())
}
