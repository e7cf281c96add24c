//! The migrator: applies and reverts migrations under the version table, one runner at a time.

use std::path::Path;
use std::time::{Duration, Instant};

use dbguard_lint::version::cmp_versions;
use sqlx::{AnyConnection, Connection};

use crate::audit::{AuditEntry, AuditLog};
use crate::catalog::SnapshotInfo;
use crate::database::{Database, Env, Session};
use crate::dump::DumpPolicy;
use crate::error::{DriftInfo, Error, FailureOutcome, LossOutcome, MigrationFailure, Result, RowsLost};
use crate::file_backup::{self, FileBackup, FileBackupPolicy};
use crate::guard::{self, Protect};
use crate::history::{AppliedRow, History, RowDetails, RowState, now};
use crate::loader::{Loader, sort_and_check};
use crate::lock::with_lock;
use crate::migration::{Migration, Step, Tx};
use crate::plan::{EntryState, Plan};
use crate::tier::Tier;

/// Applies and reverts a project's migrations.
///
/// ```no_run
/// # async fn run() -> dbguard::Result<()> {
/// use dbguard::{Database, Migrator};
/// let migrator = Migrator::from_dir("migrations")?;
/// let mut db = Database::connect("sqlite://app.db").await?;
/// let report = migrator.up(&mut db, None).await?;
/// println!("applied {} migrations", report.applied.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
    table: String,
    lock_timeout: Duration,
    allow_drift: bool,
    allow_missing: bool,
    allow_out_of_order: bool,
    pub(crate) file_backups: FileBackupPolicy,
    pub(crate) dump: Option<DumpPolicy>,
    pub(crate) tier: Option<Tier>,
    confirmed: Option<String>,
    audit: AuditLog,
    watched: Vec<String>,
    record_runs: bool,
    progress: crate::progress::ProgressHook,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Migrations applied, in order.
    pub applied: Vec<StepReport>,
    /// Migrations reverted, in order.
    pub reverted: Vec<StepReport>,
    /// The state after the run (computed from what the run wrote, without reading again).
    pub plan: Plan,
    /// Table snapshots taken before the steps that preserve or destroy tables.
    pub snapshots: Vec<SnapshotInfo>,
    /// The SQLite file backup taken before the run.
    pub file_backup: Option<FileBackup>,
    /// The dump taken before the run (PostgreSQL/MySQL, when configured).
    pub dump: Option<std::path::PathBuf>,
    /// Row counts recorded after the run in `dbguard_table_stats`: the preserved tables of
    /// every migration, and the watched ones.
    pub counts: Vec<(String, i64)>,
    /// The fingerprint of the schema the run left (recorded in `dbguard_schema_fingerprint`).
    pub fingerprint: Option<String>,
}

/// One migration run by a [`Report`]'s run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// How long it took.
    pub duration_ms: i64,
}

/// What a run would do: see [`Migrator::dry_run_up`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRun {
    /// `up` or `down`.
    pub direction: &'static str,
    /// Where the SQLite file backup would be written.
    pub file_backup: Option<std::path::PathBuf>,
    /// Where the dump would be written.
    pub dump: Option<std::path::PathBuf>,
    /// The steps, in the order they would run.
    pub steps: Vec<DryStep>,
}

/// One step of a [`DryRun`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryStep {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// File or Rust item.
    pub location: String,
    /// `sql`, `rust` or `irreversible`.
    pub kind: &'static str,
    /// The SQL it would run.
    pub sql: Option<String>,
    /// Whether it would run in a transaction.
    pub transactional: bool,
    /// Tables it would snapshot first (they exist now).
    pub snapshots: Vec<String>,
    /// Preserved tables and their row counts now (checked again after the step).
    pub preserved_counts: Vec<(String, i64)>,
    /// The linter's findings on its SQL.
    pub findings: Vec<dbguard_lint::Finding>,
}

/// What `repair` does with a dirty migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Its changes are complete (you finished them by hand): record it as applied.
    MarkApplied,
    /// Its changes are undone: forget it, so that it runs again.
    Forget,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl Migrator {
    /// A migrator over `migrations` (any order); refuses duplicate versions.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Self> {
        sort_and_check(&mut migrations)?;
        Ok(Migrator {
            migrations,
            table: crate::history::DEFAULT_TABLE.into(),
            lock_timeout: Duration::from_secs(120),
            allow_drift: false,
            allow_missing: false,
            allow_out_of_order: false,
            file_backups: FileBackupPolicy::default(),
            dump: None,
            tier: None,
            confirmed: None,
            audit: AuditLog::default(),
            watched: Vec::new(),
            record_runs: true,
            progress: Default::default(),
        })
    }

    /// A migrator over a directory of SQL migrations (strict loading).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::new(Loader::new().load(dir)?)
    }

    /// A migrator over every `#[migration]` registered in this binary.
    pub fn from_registry() -> Result<Self> {
        Self::new(crate::registry::registered()?)
    }

    /// The version table's name (default `dbguard_schema_version`).
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// How long to wait for another runner's lock (default 120 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Runs even when applied migrations were edited (default: refuse).
    pub fn allow_drift(mut self, allow: bool) -> Self {
        self.allow_drift = allow;
        self
    }

    /// Runs even when applied migrations are missing from the source (default: refuse).
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.allow_missing = allow;
        self
    }

    /// Applies pending migrations that sort before the newest applied one (default: refuse).
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.allow_out_of_order = allow;
        self
    }

    /// SQLite file backups before each run with work to do (default: on, keep 10).
    pub fn file_backups(mut self, policy: FileBackupPolicy) -> Self {
        self.file_backups = policy;
        self
    }

    /// Dumps a PostgreSQL or MySQL database with `pg_dump`/`mysqldump` before each run with work
    /// to do. If the tool is missing or fails, nothing runs.
    pub fn dump_before_runs(mut self, policy: DumpPolicy) -> Self {
        self.dump = Some(policy);
        self
    }

    /// The environment tier (default: `prod` for a database whose host is not local, else `dev`).
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tier = Some(tier);
        self
    }

    /// Confirms destructive changes to the production database named `database` (`down`, and
    /// `up` of a migration the linter finds destructive). Without it, those refuse in `prod`.
    ///
    /// ```no_run
    /// # async fn run(mut db: dbguard::Database) -> dbguard::Result<()> {
    /// use dbguard::{Migrator, Tier};
    /// let m = Migrator::from_dir("migrations")?.tier(Tier::Prod).confirm_production("shop");
    /// m.up(&mut db, None).await?;
    /// # Ok(()) }
    /// ```
    pub fn confirm_production(mut self, database: impl Into<String>) -> Self {
        self.confirmed = Some(database.into());
        self
    }

    /// Tables that hold users' data (besides those migrations declare preserved): their row
    /// counts are recorded after every run, and `check` raises an alert when one shrinks.
    pub fn watch_tables<S: Into<String>>(mut self, tables: impl IntoIterator<Item = S>) -> Self {
        self.watched = tables.into_iter().map(Into::into).collect();
        self
    }

    /// The tables whose row counts are recorded: every migration's preserved tables and the
    /// watched ones, each once.
    pub fn monitored_tables(&self) -> Vec<String> {
        let mut all: Vec<String> = self.migrations.iter().flat_map(|m| m.preserves().iter().cloned()).collect();
        all.extend(self.watched.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        all.retain(|t| seen.insert(t.clone()));
        all
    }

    /// After a run that changed something: records the schema it left and the row counts of
    /// the monitored tables, so that `check` can tell later changes made by hand.
    async fn record_after(&self, db: &mut Database, command: &str, report: &mut Report) -> Result<()> {
        if !self.record_runs {
            return Ok(());
        }
        let version = report.plan.current_version().unwrap_or(0);
        let mut s = db.session();
        report.fingerprint = Some(crate::fingerprint::record(&mut s, version, command).await?.fingerprint);
        report.counts = crate::stats::record_all(&mut s, &self.monitored_tables(), command).await?;
        Ok(())
    }

    /// Calls `f` as a run goes: before the backup, before each migration, at the end (for a
    /// progress bar).
    ///
    /// ```
    /// let m = dbguard::Migrator::new(vec![]).unwrap().on_progress(|p| {
    ///     if let dbguard::Progress::Step { index, total, name, .. } = p {
    ///         eprintln!("[{}/{total}] {name}", index + 1);
    ///     }
    /// });
    /// # drop(m);
    /// ```
    pub fn on_progress(mut self, f: impl Fn(&crate::Progress) + Send + Sync + 'static) -> Self {
        self.progress = crate::progress::ProgressHook::new(f);
        self
    }

    /// The same migrations, for a throwaway copy of the database (`rehearse`): a `dev` tier,
    /// no backups, no audit file, nothing recorded after runs.
    pub(crate) fn for_scratch(&self) -> Migrator {
        Migrator {
            file_backups: FileBackupPolicy { enabled: false, keep: 1 },
            dump: None,
            tier: Some(Tier::Dev),
            confirmed: None,
            audit: AuditLog::default(),
            record_runs: false,
            ..self.clone()
        }
    }

    /// Also appends each audit entry as a JSON line to `path` (every command that changes the
    /// database, or was refused, is always recorded in the `dbguard_audit` table).
    pub fn audit_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.audit.file = Some(path.into());
        self
    }

    /// Records `result` of `command` in the audit log, unless it was a no-op. An audit failure
    /// is reported when the command itself succeeded.
    pub(crate) async fn audited<T>(
        &self,
        db: &mut Database,
        command: &str,
        started: Instant,
        result: Result<T>,
        fill: impl FnOnce(&T, &mut AuditEntry) -> bool,
    ) -> Result<T> {
        let mut entry = AuditEntry::new(db, self.tier_for(db), command);
        entry.confirmation = self.confirmed.clone();
        let changed = match &result {
            Ok(v) => fill(v, &mut entry),
            // Bad input and unreachable databases change nothing and cannot be written to.
            Err(Error::Load(_) | Error::Connect { .. } | Error::BadUrl { .. } | Error::UnknownVersion { .. }) => false,
            Err(_) => true,
        };
        if !changed {
            return result;
        }
        entry.outcome(db, &result);
        entry.duration_ms = started.elapsed().as_millis() as i64;
        let recorded = self.audit.record(db, &entry).await;
        match (result, recorded) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), _) => Err(e),
        }
    }

    /// The tier this migrator treats `db` as.
    pub fn tier_for(&self, db: &Database) -> Tier {
        self.tier_for_url(db.url())
    }

    /// The tier this migrator treats the database at `url` as.
    pub fn tier_for_url(&self, url: &str) -> Tier {
        self.tier.unwrap_or_else(|| Tier::for_url(url))
    }

    /// In `prod`, refuses `versions` in direction `dir` unless confirmed with the database's
    /// name: every `down`, and an `up` that the linter finds destroys something.
    fn check_confirmation(&self, db: &Database, dir: Direction, versions: &[i64]) -> Result<()> {
        if self.tier_for(db) != Tier::Prod || versions.is_empty() {
            return Ok(());
        }
        let dialect = db.kind().dialect();
        let mut what = Vec::new();
        for v in versions {
            let m = self.get(*v);
            let step = if dir == Direction::Up { m.up() } else { m.down() };
            let destroyed = step.sql().map(|sql| dbguard_lint::destroyed_tables(sql, dialect)).unwrap_or_default();
            let tables: Vec<String> = destroyed.iter().map(|(rule, t)| format!("{rule} on {t}")).collect();
            if dir == Direction::Down || !tables.is_empty() {
                let detail = if tables.is_empty() { String::new() } else { format!(": {}", tables.join(", ")) };
                what.push(format!("{} {} {}{detail}", dir.name(), v, m.name()));
            }
        }
        crate::tier::require_confirmation(db.url(), self.confirmed.as_deref(), dir.name(), what)
    }

    /// The backup API with this migrator's lock, tier and confirmation.
    pub fn backups(&self) -> crate::Backups {
        let mut b = crate::Backups::new().lock(self.table.clone(), self.lock_timeout);
        if let Some(t) = self.tier {
            b = b.tier(t);
        }
        if let Some(c) = &self.confirmed {
            b = b.confirm_production(c.clone());
        }
        b
    }

    /// The migrations, in run order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    fn history(&self) -> History<'_> {
        History { table: &self.table }
    }

    /// Sets the source against the database, read-only. Rows carry no [`RowDetails`]; see
    /// [`Migrator::status`] for those.
    pub async fn plan(&self, db: &mut Database) -> Result<Plan> {
        let rows = self.history().read(db, false, false).await?;
        Ok(Plan::compute(&self.migrations, &rows))
    }

    /// Like [`Migrator::plan`], with who applied each migration, when, with which dbguard and
    /// how long it took.
    pub async fn status(&self, db: &mut Database) -> Result<Plan> {
        let rows = self.history().read(db, true, false).await?;
        Ok(Plan::compute(&self.migrations, &rows))
    }

    /// Applies pending migrations up to and including `target` (all when `None`).
    pub async fn up(&self, db: &mut Database, target: Option<i64>) -> Result<Report> {
        let started = Instant::now();
        let result = self.up_unaudited(db, target).await;
        self.audited(db, "up", started, result, |r, e| fill_entry(r, e, &r.applied)).await
    }

    pub(crate) async fn up_unaudited(&self, db: &mut Database, target: Option<i64>) -> Result<Report> {
        if let Some(t) = target {
            self.check_known(t)?;
        }
        self.locked(db, async |this, db, plan| {
            let todo = this.select_up(&plan, target)?;
            this.check_confirmation(db, Direction::Up, &todo)?;
            let mut report = Report::default();
            let mut rows = plan.rows();
            if !todo.is_empty() {
                this.back_up(db, "pre-up", &mut report).await?;
            }
            let total = todo.len();
            for (index, version) in todo.into_iter().enumerate() {
                let m = this.get(version);
                this.step_progress(index, total, Direction::Up, m);
                let row = this.run(db, m, Direction::Up, &mut report).await?.expect("up records a row");
                let duration_ms = row.details.as_ref().map_or(0, |d| d.execution_ms);
                report.applied.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
                rows.push(row);
            }
            report.plan = Plan::compute(&this.migrations, &rows);
            this.progress.emit(crate::Progress::Finished);
            if !report.applied.is_empty() {
                this.record_after(db, "up", &mut report).await?;
            }
            Ok(report)
        })
        .await
    }

    /// Reverts applied migrations newer than `target`, newest first. `0` reverts everything.
    pub async fn down(&self, db: &mut Database, target: i64) -> Result<Report> {
        let started = Instant::now();
        let result = self.down_unaudited(db, target).await;
        self.audited(db, "down", started, result, |r, e| fill_entry(r, e, &r.reverted)).await
    }

    async fn down_unaudited(&self, db: &mut Database, target: i64) -> Result<Report> {
        self.down_to(db, keep_after(target)).await
    }

    /// Reverts the applied migrations newer than `keep` (all of them when `None`), so that a
    /// migration numbered 0 (diesel's initial setup) can be kept.
    pub(crate) async fn down_to(&self, db: &mut Database, keep: Option<i64>) -> Result<Report> {
        if let Some(t) = keep {
            self.check_known(t)?;
        }
        self.locked(db, async |this, db, plan| {
            let to_revert = this.select_down(&plan, keep)?;
            this.check_confirmation(db, Direction::Down, &to_revert)?;
            let mut report = Report::default();
            if !to_revert.is_empty() {
                this.back_up(db, "pre-down", &mut report).await?;
            }
            let started = Instant::now();
            let total = to_revert.len();
            for (index, version) in to_revert.into_iter().enumerate() {
                let m = this.get(version);
                this.step_progress(index, total, Direction::Down, m);
                let step_started = started.elapsed();
                this.run(db, m, Direction::Down, &mut report).await?;
                let duration_ms = (started.elapsed() - step_started).as_millis() as i64;
                report.reverted.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
            }
            let reverted: Vec<i64> = report.reverted.iter().map(|s| s.version).collect();
            let rows: Vec<AppliedRow> = plan.rows().into_iter().filter(|r| !reverted.contains(&r.version)).collect();
            report.plan = Plan::compute(&this.migrations, &rows);
            this.progress.emit(crate::Progress::Finished);
            if !report.reverted.is_empty() {
                this.record_after(db, "down", &mut report).await?;
            }
            Ok(report)
        })
        .await
    }

    /// What `up` would do, without changing anything (no lock, no version table created): each
    /// migration with its SQL, the tables it would snapshot, the preserved tables' counts now,
    /// and the lint findings. Refuses exactly as `up` would.
    pub async fn dry_run_up(&self, db: &mut Database, target: Option<i64>) -> Result<DryRun> {
        if let Some(t) = target {
            self.check_known(t)?;
        }
        let plan = self.plan(db).await?;
        let todo = self.select_up(&plan, target)?;
        self.dry_run(db, todo, Direction::Up).await
    }

    /// What `down` would do, without changing anything. Refuses exactly as `down` would.
    pub async fn dry_run_down(&self, db: &mut Database, target: i64) -> Result<DryRun> {
        if target != 0 {
            self.check_known(target)?;
        }
        let plan = self.plan(db).await?;
        let todo = self.select_down(&plan, keep_after(target))?;
        self.dry_run(db, todo, Direction::Down).await
    }

    /// Whether `up` to `target` would be refused for want of a production confirmation (or for
    /// any other reason `up` refuses before running): read-only.
    pub async fn dry_check_up(&self, db: &mut Database, target: Option<i64>) -> Result<()> {
        let plan = self.plan(db).await?;
        let todo = self.select_up(&plan, target)?;
        self.check_confirmation(db, Direction::Up, &todo)
    }

    /// Like [`Migrator::dry_check_up`], for `down`.
    pub async fn dry_check_down(&self, db: &mut Database, target: i64) -> Result<()> {
        let plan = self.plan(db).await?;
        let todo = self.select_down(&plan, keep_after(target))?;
        self.check_confirmation(db, Direction::Down, &todo)
    }

    async fn dry_run(&self, db: &mut Database, versions: Vec<i64>, dir: Direction) -> Result<DryRun> {
        let dialect = db.kind().dialect();
        let mut out = DryRun {
            direction: dir.name(),
            file_backup: if self.file_backups.enabled && !versions.is_empty() {
                db.env.backend.file().map(crate::file_backup::backup_dir)
            } else {
                None
            },
            dump: if versions.is_empty() { None } else { self.dump.as_ref().map(|d| d.dir.clone()) },
            steps: Vec::new(),
        };
        for v in versions {
            let m = self.get(v);
            let step = match dir {
                Direction::Up => m.up(),
                Direction::Down => m.down(),
            };
            let protect = Protect::for_step(m, step, dialect);
            let mut s = db.session();
            let (snapshots, counts) = guard::preview(&mut s, &protect).await?;
            let findings = step
                .sql()
                .map(|sql| dbguard_lint::lint_sql(&m.origin().describe(dir == Direction::Down), sql, dialect))
                .unwrap_or_default();
            out.steps.push(DryStep {
                version: m.version(),
                name: m.name().to_string(),
                location: m.origin().describe(dir == Direction::Down),
                kind: match step {
                    Step::Sql(_) => "sql",
                    Step::Rust { .. } => "rust",
                    Step::Irreversible { .. } => "irreversible",
                },
                sql: step.sql().map(str::to_string),
                transactional: m.is_transactional(),
                snapshots,
                preserved_counts: counts,
                findings,
            });
        }
        Ok(out)
    }

    /// The versions `up` runs, in order, after the safety checks.
    pub(crate) fn select_up(&self, plan: &Plan, target: Option<i64>) -> Result<Vec<i64>> {
        self.refuse_unsafe(plan)?;
        Ok(plan
            .pending()
            .take_while(|e| target.is_none_or(|t| cmp_versions(e.version, t).is_le()))
            .map(|e| e.version)
            .collect())
    }

    /// The versions `down` reverts, newest first, after checking everything it needs, so that
    /// a refusal changes nothing.
    fn select_down(&self, plan: &Plan, keep: Option<i64>) -> Result<Vec<i64>> {
        self.refuse_dirty(plan)?;
        let to_revert: Vec<_> = plan
            .entries
            .iter()
            .rev()
            .filter(|e| e.is_recorded() && keep.is_none_or(|t| cmp_versions(e.version, t).is_gt()))
            .collect();
        let missing: Vec<_> =
            to_revert.iter().filter(|e| e.state == EntryState::Missing).map(|e| (e.version, e.name.clone())).collect();
        if !missing.is_empty() {
            return Err(Error::Missing { versions: missing });
        }
        if !self.allow_drift {
            self.refuse_drift(to_revert.iter().copied())?;
        }
        for e in &to_revert {
            if let Step::Irreversible { reason, .. } = self.get(e.version).down() {
                return Err(Error::Irreversible {
                    version: e.version,
                    name: e.name.clone(),
                    reason: reason.to_string(),
                });
            }
        }
        Ok(to_revert.iter().map(|e| e.version).collect())
    }

    /// Marks an existing database as being at `version` without running anything: every
    /// migration up to it is recorded as `baseline`. Only on a database with no history.
    pub async fn baseline(&self, db: &mut Database, version: i64) -> Result<Report> {
        let started = Instant::now();
        let result = self.baseline_unaudited(db, version).await;
        self.audited(db, "baseline", started, result, |r, e| fill_entry(r, e, &r.applied)).await
    }

    async fn baseline_unaudited(&self, db: &mut Database, version: i64) -> Result<Report> {
        self.check_known(version)?;
        self.locked(db, async |this, db, plan| {
            if let Some(v) = plan.current_version() {
                return Err(Error::Refused(format!(
                    "cannot baseline: the database already has migrations recorded (newest: {v}).\n  nothing was changed.\n  next: `cargo dbguard status` shows them; baseline is for databases that predate dbguard"
                )));
            }
            let mut report = Report::default();
            let mut rows = Vec::new();
            for m in this.migrations.iter().filter(|m| cmp_versions(m.version(), version).is_le()) {
                let row = this.row(m, RowState::Baseline, now(), 0);
                this.history().insert(&db.env, &mut db.conn, &row).await?;
                report.applied.push(StepReport { version: m.version(), name: m.name().into(), duration_ms: 0 });
                rows.push(row);
            }
            report.plan = Plan::compute(&this.migrations, &rows);
            this.record_after(db, "baseline", &mut report).await?;
            Ok(report)
        })
        .await
    }

    /// Resolves a dirty migration after it was finished or undone by hand.
    pub async fn repair(&self, db: &mut Database, version: i64, action: Repair) -> Result<()> {
        let started = Instant::now();
        let result = self.repair_unaudited(db, version, action).await;
        let command = match action {
            Repair::MarkApplied => "repair --mark-applied",
            Repair::Forget => "repair --forget",
        };
        self.audited(db, command, started, result, |_, e| {
            e.migrations = vec![version];
            true
        })
        .await
    }

    async fn repair_unaudited(&self, db: &mut Database, version: i64, action: Repair) -> Result<()> {
        self.locked(db, async |this, db, plan| {
            let entry = plan.entries.iter().find(|e| e.version == version && e.state == EntryState::Dirty).ok_or_else(|| {
                Error::Refused(format!(
                    "migration {version} is not dirty; nothing to repair.\n  next: `cargo dbguard status` shows each migration's state"
                ))
            })?;
            let history = this.history();
            match action {
                Repair::Forget => history.delete(&db.env, &mut db.conn, version).await,
                Repair::MarkApplied => {
                    history.delete(&db.env, &mut db.conn, version).await?;
                    let row = match this.migrations.iter().find(|m| m.version() == version) {
                        Some(m) => this.row(m, RowState::Applied, now(), 0),
                        None => AppliedRow { state: RowState::Applied, ..entry.applied.clone().expect("dirty entries are recorded") },
                    };
                    history.insert(&db.env, &mut db.conn, &row).await?;
                    let current = plan.current_version().map_or(version, |v| v.max(version));
                    crate::fingerprint::record(&mut db.session(), current, "repair").await.map(drop)
                }
            }
        })
        .await
    }

    /// Takes the lock, makes sure the version table exists, computes the plan, runs `f`, and
    /// releases the lock whatever `f` returned.
    async fn locked<T>(
        &self,
        db: &mut Database,
        f: impl AsyncFnOnce(&Self, &mut Database, Plan) -> Result<T>,
    ) -> Result<T> {
        with_lock(db, &self.table, self.lock_timeout, async |db| {
            self.history().ensure(db).await?;
            let rows = self.history().read(db, false, true).await?;
            f(self, db, Plan::compute(&self.migrations, &rows)).await
        })
        .await
    }

    fn step_progress(&self, index: usize, total: usize, dir: Direction, m: &Migration) {
        let (direction, version, name) = (dir.name(), m.version(), m.name().to_string());
        self.progress.emit(crate::Progress::Step { index, total, direction, version, name });
    }

    /// The whole-database backup before a run with work to do: a verified SQLite file backup,
    /// or a dump when configured. Failing to take it stops the run before anything changed.
    async fn back_up(&self, db: &mut Database, why: &str, report: &mut Report) -> Result<()> {
        self.progress.emit(crate::Progress::BackingUp);
        if self.file_backups.enabled
            && let Some(file) = db.env.backend.file().map(Path::to_path_buf)
        {
            report.file_backup =
                Some(file_backup::create(&mut db.session(), &file, why, self.file_backups.keep).await?);
        }
        if let Some(policy) = &self.dump {
            report.dump = Some(crate::dump::create(&db.env, policy, why)?);
        }
        Ok(())
    }

    pub(crate) fn get(&self, version: i64) -> &Migration {
        self.migrations.iter().find(|m| m.version() == version).expect("plan entries in the source come from it")
    }

    fn check_known(&self, version: i64) -> Result<()> {
        if self.migrations.iter().any(|m| m.version() == version) {
            return Ok(());
        }
        let mut known: Vec<String> = self.migrations.iter().take(5).map(|m| m.version().to_string()).collect();
        if self.migrations.len() > 5 {
            known.push(format!("... {}", self.migrations.last().map_or(0, Migration::version)));
        }
        Err(Error::UnknownVersion { version, known: if known.is_empty() { "none".into() } else { known.join(", ") } })
    }

    fn refuse_dirty(&self, plan: &Plan) -> Result<()> {
        match plan.in_state(EntryState::Dirty).next() {
            Some(e) => Err(Error::Dirty {
                version: e.version,
                name: e.name.clone(),
                since: e.applied.as_ref().map(|r| r.applied_at.clone()).unwrap_or_default(),
            }),
            None => Ok(()),
        }
    }

    fn refuse_drift<'p>(&self, entries: impl Iterator<Item = &'p crate::plan::Entry>) -> Result<()> {
        let drift: Vec<DriftInfo> = entries
            .filter(|e| e.state == EntryState::Drifted)
            .map(|e| DriftInfo {
                version: e.version,
                name: e.name.clone(),
                applied_checksum: e.applied.as_ref().map(|r| r.checksum.clone()).unwrap_or_default(),
                current_checksum: e.checksum.clone().unwrap_or_default(),
                location: e.location.clone().unwrap_or_default(),
            })
            .collect();
        if drift.is_empty() { Ok(()) } else { Err(Error::Drift(drift)) }
    }

    /// The checks before `up`: dirty, drift, missing, out of order.
    fn refuse_unsafe(&self, plan: &Plan) -> Result<()> {
        self.refuse_dirty(plan)?;
        if !self.allow_drift {
            self.refuse_drift(plan.entries.iter())?;
        }
        if !self.allow_missing {
            let missing: Vec<_> = plan.in_state(EntryState::Missing).map(|e| (e.version, e.name.clone())).collect();
            if !missing.is_empty() {
                return Err(Error::Missing { versions: missing });
            }
        }
        if !self.allow_out_of_order
            && let (Some(e), Some(highest)) = (plan.pending().find(|e| e.out_of_order), plan.current_version())
        {
            return Err(Error::OutOfOrder { version: e.version, name: e.name.clone(), highest });
        }
        Ok(())
    }

    fn row(&self, m: &Migration, state: RowState, applied_at: String, execution_ms: i64) -> AppliedRow {
        AppliedRow {
            version: m.version(),
            name: m.name().to_string(),
            checksum: m.checksum().to_string(),
            state,
            applied_at,
            details: Some(RowDetails::now_taking(execution_ms)),
        }
    }

    /// Runs one migration in one direction with its bookkeeping; returns the row an `up` wrote.
    ///
    /// When the database can roll the whole step back, step and version row commit in one
    /// transaction. Otherwise (non-transactional migrations; DDL on MySQL) the row is written
    /// as dirty first, so a failure halfway is visible to every later run.
    async fn run(
        &self,
        db: &mut Database,
        m: &Migration,
        dir: Direction,
        report: &mut Report,
    ) -> Result<Option<AppliedRow>> {
        let Database { conn, env } = db;
        let step = match dir {
            Direction::Up => m.up(),
            Direction::Down => m.down(),
        };
        let history = self.history();
        let started = Instant::now();
        let at = now();
        let elapsed = || started.elapsed().as_millis() as i64;
        let atomic = m.is_transactional() && rolls_back_completely(env, step);
        let protect = Protect::for_step(m, step, env.backend.kind().dialect());
        let lost = |losses, outcome| {
            Error::RowsLost(Box::new(RowsLost {
                version: m.version(),
                name: m.name().to_string(),
                direction: dir.name(),
                losses,
                outcome,
            }))
        };
        // Snapshots live in the migration's transaction where DDL is transactional (so a
        // rolled-back migration leaves none behind); elsewhere they must be committed first.
        let snapshot_inside = atomic && env.backend.transactional_ddl();
        let mut taken = guard::Taken::default();
        if !protect.is_empty() && !snapshot_inside {
            taken = guard::before(&mut Session { env, conn }, &protect, m.version()).await?;
        }

        // The common case, a plain SQL step with nothing to guard, in one round trip instead
        // of one per statement plus three: `BEGIN`, the step, the version row, `COMMIT`. A
        // failure is rolled back and the step run again below, statement by statement, to
        // name the statement that fails.
        if atomic
            && protect.is_empty()
            && env.backend.transactional_ddl()
            && let Step::Sql(sql) = step
            && let Some(done) = self.run_batched(conn, env, m, sql, dir, &at, started).await?
        {
            return Ok(done);
        }

        if atomic {
            let mut tx = conn
                .begin_with(env.backend.begin_statement())
                .await
                .map_err(|e| env.error("starting a transaction", e))?;
            if !protect.is_empty() && snapshot_inside {
                taken = guard::before(&mut Session { env, conn: &mut tx }, &protect, m.version()).await?;
            }
            if let Err(f) = run_step(&mut tx, env, m, step, dir).await {
                tx.rollback().await.map_err(|e| env.error("rolling back the failed migration", e))?;
                return Err(f.into_error(FailureOutcome::RolledBack));
            }
            let losses = guard::losses(&mut Session { env, conn: &mut tx }, &taken.counted).await?;
            if !losses.is_empty() {
                tx.rollback().await.map_err(|e| env.error("rolling back the migration", e))?;
                return Err(lost(losses, LossOutcome::RolledBack));
            }
            report.snapshots.extend(taken.snapshots);
            let row = match dir {
                Direction::Up => {
                    let row = self.row(m, RowState::Applied, at, elapsed());
                    history.insert(env, &mut tx, &row).await?;
                    Some(row)
                }
                Direction::Down => {
                    history.delete(env, &mut tx, m.version()).await?;
                    None
                }
            };
            tx.commit().await.map_err(|e| env.error("committing the migration", e))?;
            return Ok(row);
        }

        match dir {
            Direction::Up => history.insert(env, conn, &self.row(m, RowState::Dirty, at.clone(), 0)).await?,
            Direction::Down => history.set_state(env, conn, m.version(), RowState::Dirty, 0).await?,
        }
        let outcome = if m.is_transactional() {
            // MySQL: DML in the step still rolls back; DDL committed itself already.
            let mut tx = conn
                .begin_with(env.backend.begin_statement())
                .await
                .map_err(|e| env.error("starting a transaction", e))?;
            let r = run_step(&mut tx, env, m, step, dir).await;
            match r {
                Ok(()) => tx.commit().await.map_err(|e| env.error("committing the migration", e))?,
                Err(_) => tx.rollback().await.map_err(|e| env.error("rolling back the failed migration", e))?,
            }
            r
        } else {
            run_step(conn, env, m, step, dir).await
        };
        report.snapshots.extend(taken.snapshots.iter().cloned());
        if let Err(f) = outcome {
            return Err(f.into_error(FailureOutcome::Dirty));
        }
        let mut s = Session { env, conn };
        let losses = guard::losses(&mut s, &taken.counted).await?;
        if !losses.is_empty() {
            return Err(lost(losses.clone(), restore_lost(&mut s, &losses, &taken.snapshots).await));
        }
        match dir {
            Direction::Up => {
                let ms = elapsed();
                history.set_state(env, conn, m.version(), RowState::Applied, ms).await?;
                Ok(Some(self.row(m, RowState::Applied, at, ms)))
            }
            Direction::Down => {
                history.delete(env, conn, m.version()).await?;
                Ok(None)
            }
        }
    }
}

impl Migrator {
    /// The one-round-trip path of [`Migrator::run`]: `Ok(None)` when it does not apply (the
    /// backend cannot time the step itself, or a value needs bind parameters) or the step
    /// failed (rolled back; the caller runs it again statement by statement to report it).
    #[allow(clippy::too_many_arguments)]
    async fn run_batched(
        &self,
        conn: &mut AnyConnection,
        env: &Env,
        m: &Migration,
        sql: &str,
        dir: Direction,
        at: &str,
        started: Instant,
    ) -> Result<Option<Option<AppliedRow>>> {
        use sqlx::Executor;
        // The server times the step itself, so that the version row goes with it.
        let Some(elapsed) = env.backend.elapsed_ms_sql(&format!("'{at}'")) else { return Ok(None) };
        let row = (dir == Direction::Up).then(|| self.row(m, RowState::Applied, at.to_string(), 0));
        let Some(record) = self.history().literal_change(env, row.as_ref(), m.version(), &elapsed) else {
            return Ok(None);
        };
        // A newline before `;`: the step may end in a `--` comment.
        let batch = format!("{};\n{sql}\n;\n{record};\nCOMMIT", env.backend.begin_statement());
        if conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(batch))).await.is_err() {
            // Whatever ran is undone; the error is reported by the statement-by-statement run.
            let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
            return Ok(None);
        }
        // The row as the caller reports it, with the duration measured here.
        let ms = started.elapsed().as_millis() as i64;
        Ok(Some(row.map(|_| self.row(m, RowState::Applied, at.to_string(), ms))))
    }
}

/// The version a `down --to target` keeps (`0`: none, everything is reverted).
fn keep_after(target: i64) -> Option<i64> {
    (target != 0).then_some(target)
}

/// Fills an audit entry from a run's report; false when the run changed nothing.
fn fill_entry(r: &Report, e: &mut AuditEntry, steps: &[StepReport]) -> bool {
    e.migrations = steps.iter().map(|s| s.version).collect();
    e.backups = r.snapshots.iter().map(|s| format!("snapshot {} ({})", s.id, s.location)).collect();
    e.backups.extend(r.file_backup.iter().map(|b| b.path.display().to_string()));
    e.backups.extend(r.dump.iter().map(|d| d.display().to_string()));
    e.counts_checked = r
        .snapshots
        .iter()
        .filter(|s| s.reason == crate::snapshot::reason::PRESERVES)
        .map(|s| format!("{}: {} rows", s.source_table, s.row_count))
        .collect();
    !steps.is_empty()
}

/// Puts back the rows of each table that lost them, from the snapshot taken before the step.
async fn restore_lost(s: &mut Session<'_>, losses: &[guard::Loss], snapshots: &[SnapshotInfo]) -> LossOutcome {
    let mut restored = Vec::new();
    for loss in losses {
        let Some(snap) = snapshots.iter().find(|sn| sn.source_table == loss.table) else { continue };
        let opts = crate::snapshot::RestoreOptions { drop_unmapped_columns: true, ..Default::default() };
        match crate::snapshot::restore(s, snap, &opts).await {
            Ok(r) => restored.push(format!("{} <- snapshot {} ({}, {} rows)", r.table, snap.id, snap.location, r.rows)),
            Err(e) => {
                return LossOutcome::RestoreFailed {
                    snapshots: snapshots.iter().map(|sn| format!("{}: snapshot {}", sn.source_table, sn.id)).collect(),
                    message: e.to_string(),
                };
            }
        }
    }
    LossOutcome::Restored { restored }
}

/// Whether a failure of `step` inside a transaction leaves no trace on this database.
fn rolls_back_completely(env: &Env, step: &Step) -> bool {
    if env.backend.transactional_ddl() {
        return true;
    }
    match step {
        Step::Sql(sql) => dbguard_lint::split::split(sql, env.backend.kind().dialect())
            .iter()
            .all(|s| !env.backend.commits_implicitly(&s.first_keyword())),
        // A Rust step may do anything; assume the worst.
        Step::Rust { .. } | Step::Irreversible { .. } => false,
    }
}

/// A failed step, before we know what its failure left behind.
struct StepFailure {
    failure: MigrationFailure,
}

impl StepFailure {
    fn into_error(mut self, outcome: FailureOutcome) -> Error {
        self.failure.outcome = outcome;
        Error::MigrationFailed(Box::new(self.failure))
    }
}

async fn run_step(
    conn: &mut AnyConnection,
    env: &Env,
    m: &Migration,
    step: &Step,
    dir: Direction,
) -> Result<(), StepFailure> {
    use sqlx::Executor;
    let fail = |statement, message: String| StepFailure {
        failure: MigrationFailure {
            version: m.version(),
            name: m.name().to_string(),
            direction: dir.name(),
            location: m.origin().describe(dir == Direction::Down),
            statement,
            message,
            outcome: FailureOutcome::RolledBack,
        },
    };
    match step {
        Step::Sql(sql) => {
            for (i, s) in dbguard_lint::split::split(sql, env.backend.kind().dialect()).iter().enumerate() {
                if let Err(e) = conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(s.text.to_string()))).await {
                    return Err(fail(Some((i + 1, s.line, s.text.to_string())), env.scrub(&e.to_string())));
                }
            }
            Ok(())
        }
        Step::Rust { run, .. } => {
            let mut tx = Tx::new(conn, env.backend.kind());
            run(&mut tx).await.map_err(|e| fail(None, env.scrub(&e.to_string())))
        }
        Step::Irreversible { reason, .. } => Err(fail(None, format!("the step is irreversible: {reason}"))),
    }
}
