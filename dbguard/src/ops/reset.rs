//! `reset`: drop the database, create it again and migrate it from scratch. For `dev` and
//! `staging` only; a backup is taken first, outside the database being dropped.

use std::path::PathBuf;

use crate::backup::dump::DumpPolicy;
use crate::db::database::Database;
use crate::error::Result;
use crate::migrate::migrator::Migrator;
use crate::migrate::report::Report;
use crate::safety::guarded::{self, Guarded, Intent, Operation};

/// What [`Migrator::reset`] did (or, for a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResetReport {
    /// The backup taken before dropping: a SQLite file backup or a dump. For a dry run, where
    /// it would go.
    pub backup: Option<PathBuf>,
    /// The tables the database had before (those a dry run would drop).
    pub dropped_tables: Vec<String>,
    /// The migrations applied to the new, empty database (none for a dry run).
    pub report: Report,
    /// Whether this is a dry run's plan (nothing was changed).
    pub dry_run: bool,
}

impl Migrator {
    /// Drops the database at `url`, creates it empty and applies every migration. Refused in
    /// `prod` whatever else is set. A backup is taken first: a verified SQLite file backup, or
    /// a `pg_dump`/`mysqldump` dump (into the configured dump directory, else
    /// `dbguard-dumps/`); if it cannot be taken, nothing is dropped.
    ///
    /// ```no_run
    /// # async fn run() -> dbguard::Result<()> {
    /// let migrator = dbguard::Migrator::from_dir("migrations")?;
    /// let r = migrator.reset("sqlite://dev.db").await?;
    /// println!("backup: {:?}; applied {}", r.backup, r.report.applied.len());
    /// # Ok(()) }
    /// ```
    pub async fn reset(&self, url: &str) -> Result<ResetReport> {
        self.run_reset(url, false).await
    }

    /// What [`Migrator::reset`] would do, without changing anything.
    pub async fn dry_run_reset(&self, url: &str) -> Result<ResetReport> {
        self.run_reset(url, true).await
    }

    async fn run_reset(&self, url: &str, dry_run: bool) -> Result<ResetReport> {
        // A missing SQLite file is refused like everywhere else: a mistyped path must not
        // become a new database that a reset "re-created" (`up` creates one on purpose).
        let mut conn = if dry_run { Database::connect_read_only(url).await? } else { Database::connect(url).await? };
        let db = &mut conn;
        let dump = self.dump.clone().unwrap_or(DumpPolicy { dir: "dbguard-dumps".into(), program: None });
        let result = guarded::run(
            &self.safety,
            db,
            Operation::Reset,
            dry_run,
            async |db| {
                let tables = db.session().user_tables().await?;
                let backup = match db.env.backend.database_file() {
                    Some(file) => Some(crate::backup::file::backup_dir(file)),
                    None => Some(dump.dir.clone()),
                };
                let destroys = vec![format!(
                    "drop {} ({} tables: {}) and create it again, empty, then apply every migration",
                    db.url(),
                    tables.len(),
                    tables.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
                )];
                let plan = ResetReport { backup, dropped_tables: tables, report: Report::default(), dry_run: true };
                Ok(Intent { plan, destroys, changes: true })
            },
            async |db, mut plan| {
                plan.backup = match db.env.backend.database_file().map(PathBuf::from) {
                    Some(file) => {
                        let keep = self.file_backups.keep.max(1);
                        Some(crate::backup::file::create(&mut db.session(), &file, "pre-reset", Some(keep)).await?.path)
                    }
                    None => Some(crate::backup::dump::create(&db.env, &dump, "pre-reset")?),
                };
                let url = db.env.raw_url().to_string();
                crate::db::admin::recreate(&url).await?;
                // The old connection's database is gone: continue on the new one.
                *db = Database::create_if_missing(&url).await?;
                plan.report = self.up_unguarded(db, None).await?;
                plan.dry_run = false;
                Ok(plan)
            },
            |r, e| {
                e.migrations = r.report.applied.iter().map(|s| s.version).collect();
                e.backups = r.backup.iter().map(|p| p.display().to_string()).collect();
            },
        )
        .await;
        conn.close().await.ok();
        Ok(match result? {
            Guarded::DryRun(plan) | Guarded::Done(plan) => plan,
        })
    }
}
