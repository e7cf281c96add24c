//! `reset`: drop the database, create it again and migrate it from scratch. For `dev` and
//! `staging` only; a backup is taken first, outside the database being dropped.

use std::path::PathBuf;
use std::time::Instant;

use crate::backup::dump::DumpPolicy;
use crate::db::database::Database;
use crate::error::{Error, Result};
use crate::migrate::migrator::Migrator;
use crate::migrate::report::Report;
use crate::safety::tier::Tier;

/// What [`Migrator::reset`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResetReport {
    /// The backup taken before dropping: a SQLite file backup or a dump (none when there was
    /// no database yet).
    pub backup: Option<PathBuf>,
    /// The migrations applied to the new, empty database.
    pub report: Report,
}

impl Migrator {
    /// Drops the database at `url`, creates it empty and applies every migration. Refused in
    /// `prod` whatever else is set. A backup is taken first: a verified SQLite file backup, or
    /// a `pg_dump`/`mysqldump` dump (into the configured dump directory, else
    /// `dbguard-dumps/`); if it cannot be taken, nothing is dropped.
    ///
    /// ```no_run
    /// # async fn run() -> dbguard::Result<()> {
    /// let migrator = dbguard::Migrator::from_dir("migrations")?.tier(dbguard::Tier::Dev);
    /// let r = migrator.reset("sqlite://dev.db").await?;
    /// println!("backup: {:?}; applied {}", r.backup, r.report.applied.len());
    /// # Ok(()) }
    /// ```
    pub async fn reset(&self, url: &str) -> Result<ResetReport> {
        let tier = self.tier_for_url(url);
        if tier == Tier::Prod {
            return Err(Error::Refused(format!(
                "reset drops the whole database, and {} is a prod database: refused, whatever the flags.\n  nothing was changed.\n  next: `cargo dbguard down --to VERSION` or `cargo dbguard restore` change production one audited step at a time; for a dev copy, pass --env dev with a dev database",
                crate::db::url::mask_url(url)
            )));
        }
        let started = Instant::now();
        let mut db = Database::connect(url).await?;
        let backup = match db.env.backend.file().map(PathBuf::from) {
            // Connecting created the file if there was none: an empty file has nothing to keep.
            Some(file) if std::fs::metadata(&file).is_ok_and(|m| m.len() == 0) => None,
            Some(file) => {
                let keep = self.file_backups.keep.max(1);
                Some(crate::backup::file::create(&mut db.session(), &file, "pre-reset", keep).await?.path)
            }
            None => {
                let policy = self.dump.clone().unwrap_or(DumpPolicy { dir: "dbguard-dumps".into(), program: None });
                Some(crate::backup::dump::create(&db.env, &policy, "pre-reset")?)
            }
        };
        db.close().await?;
        crate::db::admin::recreate(url).await?;
        let mut db = Database::connect(url).await?;
        let result = self.up_unaudited(&mut db, None).await;
        let kept = backup.clone();
        let report = self
            .audited(&mut db, "reset", started, result, |r, e| {
                e.migrations = r.applied.iter().map(|s| s.version).collect();
                e.backups = kept.iter().map(|p| p.display().to_string()).collect();
                true
            })
            .await;
        db.close().await?;
        Ok(ResetReport { backup, report: report? })
    }
}
