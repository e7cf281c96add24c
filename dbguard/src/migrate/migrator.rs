//! The migrator: applies and reverts migrations under the version table, one runner at a time.

use std::path::Path;
use std::time::{Duration, Instant};

use dbguard_lint::version::cmp_versions;

use crate::backup::dump::DumpPolicy;
use crate::backup::file::{self as file_backup, FileBackupPolicy};
use crate::db::database::Database;
use crate::db::lock::with_lock;
use crate::error::{Error, Result};
use crate::migrate::execute::{self, row};
use crate::migrate::guard::{self, Protect};
use crate::migrate::report::{DryRun, DryStep, Repair, Report, StepKind, StepReport};
use crate::migrate::select::{self, Allow, keep_after};
use crate::model::applied::{AppliedRow, RowState};
use crate::model::direction::Direction;
use crate::model::migration::{Migration, Step};
use crate::model::plan::{EntryState, Plan};
use crate::model::progress::{Progress, ProgressHook};
use crate::model::stamp::now;
use crate::safety::tier::Tier;
use crate::source::loader::{Loader, sort_and_check};
use crate::store::audit::{AuditEntry, AuditLog};
use crate::store::version_table::VersionTable;

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
    allow: Allow,
    pub(crate) file_backups: FileBackupPolicy,
    pub(crate) dump: Option<DumpPolicy>,
    pub(crate) tier: Option<Tier>,
    confirmed: Option<String>,
    audit: AuditLog,
    watched: Vec<String>,
    record_runs: bool,
    progress: ProgressHook,
}

impl Migrator {
    /// A migrator over `migrations` (any order); refuses duplicate versions.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Self> {
        sort_and_check(&mut migrations)?;
        Ok(Migrator {
            migrations,
            table: crate::store::version_table::DEFAULT_TABLE.into(),
            lock_timeout: Duration::from_secs(120),
            allow: Allow::default(),
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
        Self::new(crate::source::registry::registered()?)
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
        self.allow.drift = allow;
        self
    }

    /// Runs even when applied migrations are missing from the source (default: refuse).
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.allow.missing = allow;
        self
    }

    /// Applies pending migrations that sort before the newest applied one (default: refuse).
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.allow.out_of_order = allow;
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
        report.fingerprint = Some(crate::store::fingerprint::record(&mut s, version, command).await?.fingerprint);
        report.counts = crate::store::stats::record_all(&mut s, &self.monitored_tables(), command).await?;
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
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = ProgressHook::new(f);
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
                what.push(format!("{} {} {}{detail}", dir.as_str(), v, m.name()));
            }
        }
        crate::safety::tier::require_confirmation(db.url(), self.confirmed.as_deref(), dir.as_str(), what)
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

    fn history(&self) -> VersionTable<'_> {
        VersionTable { table: &self.table }
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
            select::check_known(&self.migrations, t)?;
        }
        self.locked(db, async |this, db, plan| {
            let todo = select::up(&plan, target, this.allow)?;
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
                let row =
                    execute::run(&this.table, db, m, Direction::Up, &mut report).await?.expect("up records a row");
                let duration_ms = row.details.as_ref().map_or(0, |d| d.execution_ms);
                report.applied.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
                rows.push(row);
            }
            report.plan = Plan::compute(&this.migrations, &rows);
            this.progress.emit(Progress::Finished);
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
            select::check_known(&self.migrations, t)?;
        }
        self.locked(db, async |this, db, plan| {
            let to_revert = select::down(&this.migrations, &plan, keep, this.allow)?;
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
                execute::run(&this.table, db, m, Direction::Down, &mut report).await?;
                let duration_ms = (started.elapsed() - step_started).as_millis() as i64;
                report.reverted.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
            }
            let reverted: Vec<i64> = report.reverted.iter().map(|s| s.version).collect();
            let rows: Vec<AppliedRow> = plan.rows().into_iter().filter(|r| !reverted.contains(&r.version)).collect();
            report.plan = Plan::compute(&this.migrations, &rows);
            this.progress.emit(Progress::Finished);
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
            select::check_known(&self.migrations, t)?;
        }
        let plan = self.plan(db).await?;
        let todo = select::up(&plan, target, self.allow)?;
        self.dry_run(db, todo, Direction::Up).await
    }

    /// What `down` would do, without changing anything. Refuses exactly as `down` would.
    pub async fn dry_run_down(&self, db: &mut Database, target: i64) -> Result<DryRun> {
        if target != 0 {
            select::check_known(&self.migrations, target)?;
        }
        let plan = self.plan(db).await?;
        let todo = select::down(&self.migrations, &plan, keep_after(target), self.allow)?;
        self.dry_run(db, todo, Direction::Down).await
    }

    /// Whether `up` to `target` would be refused for want of a production confirmation (or for
    /// any other reason `up` refuses before running): read-only.
    pub async fn dry_check_up(&self, db: &mut Database, target: Option<i64>) -> Result<()> {
        let plan = self.plan(db).await?;
        let todo = select::up(&plan, target, self.allow)?;
        self.check_confirmation(db, Direction::Up, &todo)
    }

    /// Like [`Migrator::dry_check_up`], for `down`.
    pub async fn dry_check_down(&self, db: &mut Database, target: i64) -> Result<()> {
        let plan = self.plan(db).await?;
        let todo = select::down(&self.migrations, &plan, keep_after(target), self.allow)?;
        self.check_confirmation(db, Direction::Down, &todo)
    }

    async fn dry_run(&self, db: &mut Database, versions: Vec<i64>, dir: Direction) -> Result<DryRun> {
        let dialect = db.kind().dialect();
        let mut out = DryRun {
            direction: dir,
            file_backup: if self.file_backups.enabled && !versions.is_empty() {
                db.env.backend.file().map(file_backup::backup_dir)
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
                    Step::Sql(_) => StepKind::Sql,
                    Step::Rust { .. } => StepKind::Rust,
                    Step::Irreversible { .. } => StepKind::Irreversible,
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

    /// Marks an existing database as being at `version` without running anything: every
    /// migration up to it is recorded as `baseline`. Only on a database with no history.
    pub async fn baseline(&self, db: &mut Database, version: i64) -> Result<Report> {
        let started = Instant::now();
        let result = self.baseline_unaudited(db, version).await;
        self.audited(db, "baseline", started, result, |r, e| fill_entry(r, e, &r.applied)).await
    }

    async fn baseline_unaudited(&self, db: &mut Database, version: i64) -> Result<Report> {
        select::check_known(&self.migrations, version)?;
        self.locked(db, async |this, db, plan| {
            if let Some(v) = plan.current_version() {
                return Err(Error::Refused(format!(
                    "cannot baseline: the database already has migrations recorded (newest: {v}).\n  nothing was changed.\n  next: `cargo dbguard status` shows them; baseline is for databases that predate dbguard"
                )));
            }
            let mut report = Report::default();
            let mut rows = Vec::new();
            for m in this.migrations.iter().filter(|m| cmp_versions(m.version(), version).is_le()) {
                let row = row(m, RowState::Baseline, now(), 0);
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
                        Some(m) => row(m, RowState::Applied, now(), 0),
                        None => AppliedRow { state: RowState::Applied, ..entry.applied.clone().expect("dirty entries are recorded") },
                    };
                    history.insert(&db.env, &mut db.conn, &row).await?;
                    let current = plan.current_version().map_or(version, |v| v.max(version));
                    crate::store::fingerprint::record(&mut db.session(), current, "repair").await.map(drop)
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
        let (direction, version, name) = (dir, m.version(), m.name().to_string());
        self.progress.emit(Progress::Step { index, total, direction, version, name });
    }

    /// The whole-database backup before a run with work to do: a verified SQLite file backup,
    /// or a dump when configured. Failing to take it stops the run before anything changed.
    async fn back_up(&self, db: &mut Database, why: &str, report: &mut Report) -> Result<()> {
        self.progress.emit(Progress::BackingUp);
        if self.file_backups.enabled
            && let Some(file) = db.env.backend.file().map(Path::to_path_buf)
        {
            report.file_backup =
                Some(file_backup::create(&mut db.session(), &file, why, self.file_backups.keep).await?);
        }
        if let Some(policy) = &self.dump {
            report.dump = Some(crate::backup::dump::create(&db.env, policy, why)?);
        }
        Ok(())
    }

    /// The versions `up` to `target` would run on `plan`, after this migrator's refusals.
    pub(crate) fn select_up(&self, plan: &Plan, target: Option<i64>) -> Result<Vec<i64>> {
        select::up(plan, target, self.allow)
    }

    pub(crate) fn get(&self, version: i64) -> &Migration {
        self.migrations.iter().find(|m| m.version() == version).expect("plan entries in the source come from it")
    }
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
        .filter(|s| s.reason == crate::backup::snapshot::reason::PRESERVES)
        .map(|s| format!("{}: {} rows", s.source_table, s.row_count))
        .collect();
    !steps.is_empty()
}
