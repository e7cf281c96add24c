//! The migrator: applies and reverts migrations under the version table, one runner at a time,
//! every change through the guarded path ([`crate::safety::guarded`]).

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
use crate::model::resume::{InFlight, ResumePoint};
use crate::model::stamp::now;
use crate::safety::guarded::{self, AskFn, Guarded, Intent, Operation, Safety};
use crate::safety::tier::{Tier, TierDecision, TierPolicy};
use crate::source::loader::{Loader, sort_and_check};
use crate::store::audit::AuditEntry;
use crate::store::version_table::VersionTable;

/// Applies and reverts a project's migrations.
///
/// ```no_run
/// # async fn run() -> dbguard::Result<()> {
/// use dbguard::{Database, Migrator};
/// let migrator = Migrator::from_dir("migrations")?;
/// let mut db = Database::create_if_missing("sqlite://app.db").await?;
/// let report = migrator.up(&mut db, None).await?;
/// println!("applied {} migrations", report.applied.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
    table: String,
    allow: Allow,
    pub(crate) file_backups: FileBackupPolicy,
    pub(crate) dump: Option<DumpPolicy>,
    pub(crate) safety: Safety,
    watched: Vec<String>,
    record_runs: bool,
}

/// The plan of an `up` or a `down`: the versions, in the order they run.
pub(crate) struct RunPlan {
    versions: Vec<i64>,
    plan: Plan,
    dry: Option<DryRun>,
    /// The version table exists with a known layout (nothing to create).
    ensured: bool,
    /// The dirty migration the run continues, with the progress recorded.
    resume: Option<(i64, ResumePoint)>,
}

impl Migrator {
    /// A migrator over `migrations` (any order); refuses duplicate versions, and transaction
    /// control (`BEGIN`, `COMMIT`, ...) inside migrations that run in a transaction.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Self> {
        sort_and_check(&mut migrations)?;
        crate::source::loader::check_in_code(&migrations)?;
        Ok(Migrator {
            migrations,
            table: crate::store::version_table::DEFAULT_TABLE.into(),
            allow: Allow::default(),
            file_backups: FileBackupPolicy::default(),
            dump: None,
            safety: Safety::default(),
            watched: Vec::new(),
            record_runs: true,
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

    /// The version table's name (default `dbguard_schema_version`); also the migration lock's.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self.safety.lock.key = self.table.clone();
        self
    }

    /// How long to wait for another runner's lock (default 120 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.safety.lock.timeout = timeout;
        self
    }

    /// On MySQL/MariaDB, when the runner holding the migration lock is gone (killed, its
    /// machine lost) but the server still runs its statement, ends that statement instead of
    /// waiting for it (`--kill-stale-runner`). The statement is rolled back or stopped, and
    /// the migration it belonged to is continued by this run like any stopped migration.
    /// A runner counts as gone only when its "alive" lock, held on a second connection by
    /// every dbguard runner from this version on, is free; PostgreSQL and SQLite stop a dead
    /// runner's work themselves, so this changes nothing there.
    pub fn kill_stale_runner(mut self, yes: bool) -> Self {
        self.safety.lock.kill_stale_runner = yes;
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

    /// Asks for at least this tier. It can raise a database's tier, never lower it: a
    /// database on another host is `prod` unless [`Migrator::tiers`] says otherwise.
    pub fn tier(mut self, tier: Tier) -> Self {
        self.safety.tiers = self.safety.tiers.requested(tier, format!("Migrator::tier({tier})"));
        self
    }

    /// How tiers are decided: the databases the configuration names, and the tier asked for.
    pub fn tiers(mut self, policy: TierPolicy) -> Self {
        self.safety.tiers = policy;
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
        self.safety.confirmed = Some(database.into());
        self
    }

    /// Asks `ask` when a production change needs a confirmation and none was given (the
    /// command line's prompt); it returns true when the person typed the database's name.
    pub fn on_confirmation(
        mut self,
        ask: impl Fn(&crate::error::Confirmation) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.safety.ask = Some(std::sync::Arc::new(ask) as AskFn);
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
        self.safety.progress = ProgressHook::new(f);
        self
    }

    /// The same migrations, for a throwaway copy of the database (`rehearse`): no backups,
    /// no audit file, nothing recorded after runs.
    pub(crate) fn for_scratch(&self) -> Migrator {
        Migrator {
            file_backups: FileBackupPolicy { enabled: false, keep: 1 },
            dump: None,
            // Its progress is shown as the real run's would be.
            safety: Safety {
                lock: self.safety.lock.clone(),
                progress: self.safety.progress.clone(),
                ..Safety::default()
            },
            record_runs: false,
            ..self.clone()
        }
    }

    /// Also appends each audit entry as a JSON line to `path`, the record of truth that
    /// `cargo dbguard history` reads (every command that changes the database, or was
    /// refused, is also copied to the `dbguard_audit` table).
    pub fn audit_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.safety.audit.file = Some(path.into());
        self
    }

    /// The audit file set with [`Migrator::audit_file`].
    pub fn audit_path(&self) -> Option<&Path> {
        self.safety.audit.file.as_deref()
    }

    /// The tier this migrator treats `db` as.
    pub fn tier_for(&self, db: &Database) -> Tier {
        self.tier_for_url(db.env.raw_url())
    }

    /// The tier this migrator treats the database at `url` as.
    pub fn tier_for_url(&self, url: &str) -> Tier {
        self.safety.tier(url).tier
    }

    /// The tier of the database at `url`, and why (for banners and refusals).
    pub fn tier_decision(&self, url: &str) -> TierDecision {
        self.safety.tier(url)
    }

    /// The backup API with this migrator's lock, tiers, confirmation and audit log.
    pub fn backups(&self) -> crate::backup::Backups {
        crate::backup::Backups::with_safety(self.safety.clone())
    }

    /// The migrations, in run order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    pub(crate) fn history(&self) -> VersionTable<'_> {
        VersionTable { table: &self.table }
    }

    /// Sets the source against the database, read-only. Rows carry no [`crate::model::applied::RowDetails`];
    /// see [`Migrator::status`] for those.
    pub async fn plan(&self, db: &mut Database) -> Result<Plan> {
        let rows = self.history().read(db, false, false).await?;
        Ok(Plan::compute(&self.migrations, &rows))
    }

    /// Like [`Migrator::plan`], with who applied each migration, when, with which dbguard and
    /// how long it took.
    pub async fn status(&self, db: &mut Database) -> Result<Plan> {
        let rows = self.history().read(db, true, false).await?;
        let mut plan = Plan::compute(&self.migrations, &rows);
        let Some(v) = plan.in_state(EntryState::Dirty).next().map(|e| e.version) else { return Ok(plan) };
        let Some(mut point) = self.history().resume_point(db, v).await? else { return Ok(plan) };
        let resume = self.resumable(db, &plan, point.direction).await?;
        if let Some(Step::Sql(sql)) = self.migrations.iter().find(|m| m.version() == v).map(|m| m.step(point.direction))
        {
            point.read_against(&dbguard_lint::split::split(sql, db.kind().dialect()));
        }
        if let Some(e) = plan.entries.iter_mut().find(|e| e.version == v) {
            e.cannot_continue = resume.point.is_none().then(|| resume.stopped_at.replacen(';', ":", 1));
            e.stopped_at = Some(point);
        }
        Ok(plan)
    }

    /// Applies pending migrations up to and including `target` (all when `None`).
    pub async fn up(&self, db: &mut Database, target: Option<i64>) -> Result<Report> {
        self.run_up(db, target, false).await.map(Guarded::done)
    }

    /// What `up` would do, without changing anything (no lock, no version table created, a
    /// read-only session): each migration with its SQL, the tables it would snapshot, the
    /// preserved tables' counts now, and the lint findings. Refuses exactly as `up` would.
    pub async fn dry_run_up(&self, db: &mut Database, target: Option<i64>) -> Result<DryRun> {
        self.run_up(db, target, true).await.map(|g| g.planned().dry.expect("a dry run describes its steps"))
    }

    async fn run_up(&self, db: &mut Database, target: Option<i64>, dry_run: bool) -> Result<Guarded<RunPlan, Report>> {
        if let Some(t) = target {
            select::check_known(&self.migrations, t)?;
        }
        guarded::run(
            &self.safety,
            db,
            Operation::Up,
            dry_run,
            async |db| self.plan_up(db, target, dry_run).await,
            async |db, p| self.apply_up(db, p).await,
            |r, e| fill_entry(r, e, &r.applied),
        )
        .await
    }

    /// The version table's rows, read-only (two queries in the steady state), and whether it
    /// exists with a known layout.
    async fn read_rows(&self, db: &mut Database) -> Result<(Plan, bool)> {
        let layout = self.history().layout(db).await?;
        let rows = if layout > 0 { self.history().read(db, false, true).await? } else { Vec::new() };
        // An older layout is upgraded (by `ensure`) before the run writes.
        Ok((Plan::compute(&self.migrations, &rows), layout == crate::store::version_table::LAYOUT))
    }

    /// Reads what an `up` would run, and what it destroys (for production's confirmation).
    async fn plan_up(&self, db: &mut Database, target: Option<i64>, dry_run: bool) -> Result<Intent<RunPlan>> {
        let (plan, ensured) = self.read_rows(db).await?;
        let resume = self.resumable(db, &plan, Direction::Up).await?;
        let versions = select::up(&plan, target, self.allow, resume.version()).map_err(|e| resume.explain(e))?;
        self.check_preserved(db, &versions, resume.version()).await?;
        let destroys = self.destroys(db, Direction::Up, &versions);
        let dry = if dry_run { Some(self.describe(db, &versions, Direction::Up).await?) } else { None };
        let resume = resume.point;
        Ok(Intent { changes: !versions.is_empty(), destroys, plan: RunPlan { versions, plan, dry, ensured, resume } })
    }

    /// The one unguarded `up` (under the lock, not audited or confirmed): for scratch copies
    /// (`rehearse`) and the migrations a `reset` applies to the database it re-created.
    pub(crate) async fn up_unguarded(&self, db: &mut Database, target: Option<i64>) -> Result<Report> {
        with_lock(db, &self.safety.lock, &self.safety.progress, async |db| {
            let intent = self.plan_up(db, target, false).await?;
            db.env.progress = self.safety.progress.clone();
            self.apply_up(db, intent.plan).await
        })
        .await
    }

    async fn apply_up(&self, db: &mut Database, p: RunPlan) -> Result<Report> {
        let RunPlan { versions: todo, plan, ensured, resume, .. } = p;
        if !ensured {
            self.history().ensure(db).await?;
        }
        let mut report = Report::default();
        let mut rows = plan.rows();
        if !todo.is_empty() {
            self.back_up(db, "pre-up", &mut report).await?;
        }
        let total = todo.len();
        for (index, version) in todo.into_iter().enumerate() {
            let m = self.get(version);
            self.step_progress(index, total, Direction::Up, m);
            let point = resume.as_ref().filter(|(v, _)| *v == version).map(|(_, p)| p);
            let row = match execute::run(&self.table, db, m, Direction::Up, &mut report, point).await {
                Ok(row) => row.expect("up records a row"),
                Err(e) => return Err(self.stopped(db, "up", e, report, &rows).await),
            };
            let duration_ms = row.details.as_ref().map_or(0, |d| d.execution_ms);
            report.applied.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
            rows.push(row);
        }
        report.plan = Plan::compute(&self.migrations, &rows);
        self.safety.progress.emit(Progress::Finished);
        if !report.applied.is_empty() {
            self.record_after(db, "up", &mut report).await?;
        }
        Ok(report)
    }

    /// Reverts applied migrations newer than `target`, newest first. `0` reverts everything.
    pub async fn down(&self, db: &mut Database, target: i64) -> Result<Report> {
        self.run_down(db, keep_after(target), false).await.map(Guarded::done)
    }

    /// What `down` would do, without changing anything. Refuses exactly as `down` would.
    pub async fn dry_run_down(&self, db: &mut Database, target: i64) -> Result<DryRun> {
        self.run_down(db, keep_after(target), true)
            .await
            .map(|g| g.planned().dry.expect("a dry run describes its steps"))
    }

    async fn run_down(&self, db: &mut Database, keep: Option<i64>, dry_run: bool) -> Result<Guarded<RunPlan, Report>> {
        if let Some(t) = keep {
            select::check_known(&self.migrations, t)?;
        }
        guarded::run(
            &self.safety,
            db,
            Operation::Down,
            dry_run,
            async |db| self.plan_down(db, keep, dry_run).await,
            async |db, p| self.apply_down(db, p).await,
            |r, e| fill_entry(r, e, &r.reverted),
        )
        .await
    }

    async fn plan_down(&self, db: &mut Database, keep: Option<i64>, dry_run: bool) -> Result<Intent<RunPlan>> {
        let (plan, ensured) = self.read_rows(db).await?;
        let resume = self.resumable(db, &plan, Direction::Down).await?;
        let versions =
            select::down(&self.migrations, &plan, keep, self.allow, resume.version()).map_err(|e| resume.explain(e))?;
        self.check_preserved_now(db, &versions, resume.version()).await?;
        let destroys = self.destroys(db, Direction::Down, &versions);
        let dry = if dry_run { Some(self.describe(db, &versions, Direction::Down).await?) } else { None };
        let resume = resume.point;
        Ok(Intent { changes: !versions.is_empty(), destroys, plan: RunPlan { versions, plan, dry, ensured, resume } })
    }

    /// The unguarded `down` for scratch copies (`rehearse`): reverts the applied migrations
    /// newer than `keep` (all of them when `None`).
    pub(crate) async fn down_unguarded(&self, db: &mut Database, keep: Option<i64>) -> Result<Report> {
        with_lock(db, &self.safety.lock, &self.safety.progress, async |db| {
            let intent = self.plan_down(db, keep, false).await?;
            self.apply_down(db, intent.plan).await
        })
        .await
    }

    async fn apply_down(&self, db: &mut Database, p: RunPlan) -> Result<Report> {
        let RunPlan { versions: to_revert, plan, ensured, resume, .. } = p;
        if !ensured {
            self.history().ensure(db).await?;
        }
        let mut report = Report::default();
        if !to_revert.is_empty() {
            self.back_up(db, "pre-down", &mut report).await?;
        }
        let started = Instant::now();
        let total = to_revert.len();
        for (index, version) in to_revert.into_iter().enumerate() {
            let m = self.get(version);
            self.step_progress(index, total, Direction::Down, m);
            let step_started = started.elapsed();
            let point = resume.as_ref().filter(|(v, _)| *v == version).map(|(_, p)| p);
            if let Err(e) = execute::run(&self.table, db, m, Direction::Down, &mut report, point).await {
                let reverted: Vec<i64> = report.reverted.iter().map(|s| s.version).collect();
                let rows: Vec<AppliedRow> =
                    plan.rows().into_iter().filter(|r| !reverted.contains(&r.version)).collect();
                return Err(self.stopped(db, "down", e, report, &rows).await);
            }
            let duration_ms = (started.elapsed() - step_started).as_millis() as i64;
            report.reverted.push(StepReport { version: m.version(), name: m.name().into(), duration_ms });
        }
        let reverted: Vec<i64> = report.reverted.iter().map(|s| s.version).collect();
        let rows: Vec<AppliedRow> = plan.rows().into_iter().filter(|r| !reverted.contains(&r.version)).collect();
        report.plan = Plan::compute(&self.migrations, &rows);
        self.safety.progress.emit(Progress::Finished);
        if !report.reverted.is_empty() {
            self.record_after(db, "down", &mut report).await?;
        }
        Ok(report)
    }

    /// What production must confirm for these migrations: every `down`, and each `up` the
    /// linter finds destroys something (allowed or not), with what it destroys.
    fn destroys(&self, db: &Database, dir: Direction, versions: &[i64]) -> Vec<String> {
        let dialect = db.kind().dialect();
        let mut what = Vec::new();
        for v in versions {
            let m = self.get(*v);
            let step = if dir == Direction::Up { m.up() } else { m.down() };
            let targets = step
                .sql()
                .filter(|sql| guard::might_destroy(sql))
                .map(|sql| dbguard_lint::guard_targets(sql, dialect))
                .unwrap_or_default();
            let mut tables: Vec<String> = targets.destroyed.iter().map(|(rule, t)| format!("{rule} on {t}")).collect();
            tables.extend(targets.cascades.iter().map(|c| format!("drop-cascade of {c}")));
            if !targets.unchecked.is_empty() {
                tables.push("SQL that cannot be checked (every table it names is snapshotted)".into());
            }
            if dir == Direction::Down || !tables.is_empty() {
                let detail = if tables.is_empty() { String::new() } else { format!(": {}", tables.join(", ")) };
                what.push(format!("{} {} {}{detail}", dir.as_str(), v, m.name()));
            }
        }
        what
    }

    /// Refuses an `up` whose migrations preserve a table that will not be there when they run:
    /// a mistyped name, or a table gone since, would otherwise turn the guard off silently.
    /// The tables are followed through the run: what exists now, plus what earlier migrations
    /// of the run create, minus what they drop.
    ///
    /// A `resumed` migration's preserved tables may be gone for now (its rows are in the
    /// snapshot its first run took; the step puts the table back): not checked here.
    async fn check_preserved(&self, db: &mut Database, versions: &[i64], resumed: Option<i64>) -> Result<()> {
        if versions.iter().all(|v| self.get(*v).preserves().is_empty()) {
            return Ok(());
        }
        let dialect = db.kind().dialect();
        let existing = db.session().user_tables().await?;
        let mut tables: Vec<String> = existing.clone();
        for (i, v) in versions.iter().enumerate() {
            let m = self.get(*v);
            for t in m.preserves().iter().filter(|_| resumed != Some(*v)) {
                if !tables.iter().any(|x| x == t) {
                    let when = if i == 0 || existing.iter().any(|x| x == t) {
                        "in the database".to_string()
                    } else {
                        "in the database, nor made by the migrations before it in this run".to_string()
                    };
                    return Err(missing_preserved(m, t, &tables, when));
                }
            }
            if let Some(sql) = m.up().sql() {
                let (created, dropped) = dbguard_lint::table_effects(sql, dialect);
                tables.retain(|t| !dropped.iter().any(|d| d.eq_ignore_ascii_case(t)));
                tables.extend(created);
            }
        }
        Ok(())
    }

    /// Refuses to revert migrations whose preserved tables do not exist now.
    async fn check_preserved_now(&self, db: &mut Database, versions: &[i64], resumed: Option<i64>) -> Result<()> {
        if versions.iter().all(|v| self.get(*v).preserves().is_empty()) {
            return Ok(());
        }
        let tables = db.session().user_tables().await?;
        for v in versions.iter().filter(|v| resumed != Some(**v)) {
            let m = self.get(*v);
            if let Some(t) = m.preserves().iter().find(|t| !tables.contains(t)) {
                return Err(missing_preserved(m, t, &tables, "in the database".into()));
            }
        }
        Ok(())
    }

    async fn describe(&self, db: &mut Database, versions: &[i64], dir: Direction) -> Result<DryRun> {
        let dialect = db.kind().dialect();
        let mut out = DryRun {
            direction: dir,
            file_backup: if self.file_backups.enabled && !versions.is_empty() {
                db.env.backend.database_file().map(file_backup::backup_dir)
            } else {
                None
            },
            dump: if versions.is_empty() { None } else { self.dump.as_ref().map(|d| d.dir.clone()) },
            steps: Vec::new(),
            stops: Vec::new(),
        };
        let mut written: Vec<String> = Vec::new();
        for v in versions {
            let m = self.get(*v);
            let step = m.step(dir);
            let mut protect = Protect::for_step(m, step, dialect);
            let mut s = db.session();
            guard::measure_values(&mut s, &mut protect, m.version()).await?;
            let mut preview = guard::preview(&mut s, &mut protect, m.version()).await?;
            // Counted on the database as it is now: a table an earlier step of this run may
            // write to (or create) is measured only when the step runs.
            for r in &mut preview.radius {
                if written.iter().any(|w| w == "*" || w.eq_ignore_ascii_case(&r.table)) {
                    (r.rows, r.every_row) = (None, false);
                }
            }
            written.extend(guard::written_tables(step, dialect));
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
                snapshots: preview.tables,
                preserved_counts: preview.counts,
                radius: preview.radius,
                findings,
            });
        }
        out.stops = out.find_stops();
        // A step `up` refuses before running anything of it.
        for v in versions {
            let m = self.get(*v);
            if let Some(sql) = m.step(dir).sql()
                && let Some(r) = execute::refused_before_running(&mut db.session(), sql).await?
            {
                let (n, line, _) = r.at;
                out.stops.push(format!(
                    "migration {} ({}) statement {n} (line {line}) would be refused before anything runs: {}{}",
                    m.version(),
                    m.name(),
                    r.why,
                    r.next
                ));
            }
        }
        Ok(out)
    }

    /// The versions `up` to `target` would run on `plan`, after this migrator's refusals.
    pub(crate) async fn select_up(&self, db: &mut Database, plan: &Plan, target: Option<i64>) -> Result<Vec<i64>> {
        // A dirty migration that `up` would continue is continued here too.
        let resume = self.resumable(db, plan, Direction::Up).await?;
        select::up(plan, target, self.allow, resume.version()).map_err(|e| resume.explain(e))
    }

    /// Marks an existing database as being at `version` without running anything: every
    /// migration up to it is recorded as `baseline`. Only on a database with no history.
    pub async fn baseline(&self, db: &mut Database, version: i64) -> Result<Report> {
        self.run_baseline(db, version, false).await.map(Guarded::done)
    }

    /// What `baseline` would record, without writing anything: a report whose `applied` lists
    /// the migrations it would record.
    pub async fn dry_run_baseline(&self, db: &mut Database, version: i64) -> Result<Report> {
        self.run_baseline(db, version, true).await.map(Guarded::planned)
    }

    async fn run_baseline(&self, db: &mut Database, version: i64, dry_run: bool) -> Result<Guarded<Report, Report>> {
        select::check_known(&self.migrations, version)?;
        guarded::run(
            &self.safety,
            db,
            Operation::Baseline,
            dry_run,
            async |db| {
                if let Some(newest) = self.read_rows(db).await?.0.current_version() {
                    return Err(Error::AlreadyRecorded { newest });
                }
                let mut report = Report::default();
                let mut rows = Vec::new();
                for m in self.migrations.iter().filter(|m| cmp_versions(m.version(), version).is_le()) {
                    rows.push(row(m, RowState::Baseline, now(), 0));
                    report.applied.push(StepReport { version: m.version(), name: m.name().into(), duration_ms: 0 });
                }
                report.plan = Plan::compute(&self.migrations, &rows);
                let destroys = vec![format!(
                    "record {} migration(s) up to {version} as applied without running them: they will never run on this database",
                    report.applied.len()
                )];
                Ok(Intent { changes: true, destroys, plan: report })
            },
            async |db, mut report| {
                self.history().ensure(db).await?;
                for r in report.plan.rows() {
                    self.history().insert(&db.env, &mut db.conn, &r).await?;
                }
                self.record_after(db, "baseline", &mut report).await?;
                Ok(report)
            },
            |r, e| fill_entry(r, e, &r.applied),
        )
        .await
    }

    /// Resolves a dirty migration after it was finished or undone by hand.
    pub async fn repair(&self, db: &mut Database, version: i64, action: Repair) -> Result<()> {
        self.run_repair(db, version, action, false).await.map(drop)
    }

    /// Checks that `repair` would go ahead (the migration is dirty), without writing anything.
    pub async fn dry_run_repair(&self, db: &mut Database, version: i64, action: Repair) -> Result<()> {
        self.run_repair(db, version, action, true).await.map(drop)
    }

    async fn run_repair(
        &self,
        db: &mut Database,
        version: i64,
        action: Repair,
        dry_run: bool,
    ) -> Result<Guarded<(Plan, AppliedRow), ()>> {
        guarded::run(
            &self.safety,
            db,
            Operation::Repair,
            dry_run,
            async |db| {
                let plan = self.plan(db).await?;
                if !plan.entries.iter().any(|e| e.version == version) {
                    select::check_known(&self.migrations, version)?;
                }
                let entry = plan
                    .entries
                    .iter()
                    .find(|e| e.version == version && e.state == EntryState::Dirty)
                    .ok_or(Error::NotDirty { version })?;
                let applied = entry.applied.clone().expect("dirty entries are recorded");
                let what = match action {
                    Repair::MarkApplied => {
                        format!("record migration {version} ({}) as applied, as it is now", entry.name)
                    }
                    Repair::Forget => format!("forget migration {version} ({}), so that it runs again", entry.name),
                    Repair::StatementRan | Repair::StatementNotRun => {
                        let Some(p) = self.history().resume_point(db, version).await? else {
                            return Err(Error::NothingToResume { version });
                        };
                        self.check_in_doubt(db, version, &p).await?;
                        let (ran, verb) = if action == Repair::StatementRan {
                            ("ran", "continue after it")
                        } else {
                            ("did not run", "run it")
                        };
                        format!("record that {} of migration {version} {ran}: the next run will {verb}", p.describe())
                    }
                };
                Ok(Intent { changes: true, destroys: vec![what], plan: (plan, applied) })
            },
            async |db, (plan, applied)| {
                let history = self.history();
                match action {
                    Repair::StatementRan | Repair::StatementNotRun => {
                        let mut p =
                            history.resume_point(db, version).await?.ok_or(Error::NothingToResume { version })?;
                        let m = self.migrations.iter().find(|m| m.version() == version);
                        let sql = m.and_then(|m| m.step(p.direction).sql());
                        (p.in_flight, p.failed_partway, p.restored_by_guard) = (None, false, false);
                        if action == Repair::StatementRan {
                            let statements = dbguard_lint::split::split(sql.unwrap_or_default(), db.kind().dialect());
                            if p.done < statements.len() {
                                p.advance(&statements);
                            }
                        }
                        history.set_resume_point(&db.env, &mut db.conn, version, Some(&p)).await
                    }
                    Repair::Forget => history.delete(&db.env, &mut db.conn, version).await,
                    Repair::MarkApplied => {
                        history.delete(&db.env, &mut db.conn, version).await?;
                        let row = match self.migrations.iter().find(|m| m.version() == version) {
                            Some(m) => row(m, RowState::Applied, now(), 0),
                            None => AppliedRow { state: RowState::Applied, ..applied },
                        };
                        history.insert(&db.env, &mut db.conn, &row).await?;
                        let current = plan.current_version().map_or(version, |v| v.max(version));
                        crate::store::fingerprint::record(&mut db.session(), current, "repair").await.map(drop)
                    }
                }
            },
            |_, e| e.migrations = vec![version],
        )
        .await
    }

    /// Refuses `repair --statement-ran/--statement-not-run` unless the statement `p` stopped at
    /// is in doubt, the statements before it ran as they are now, and the database does not
    /// contradict either answer (an index it left INVALID).
    async fn check_in_doubt(&self, db: &mut Database, version: i64, p: &ResumePoint) -> Result<()> {
        let cannot = |why: String| Err(Error::CannotMark { version, why });
        if p.restored_by_guard {
            return cannot("the row guard put rows back after all its statements ran; there is no statement in doubt.\n  next: check its changes by hand, then `repair --mark-applied` (keep them) or undo them and `--forget`".into());
        }
        if !p.in_doubt() {
            return cannot(format!(
                "{} is not in doubt: it either committed or failed without changing anything, and the next `cargo dbguard {}` runs it (fix it first if it failed)",
                p.describe(),
                p.direction
            ));
        }
        let m = self.migrations.iter().find(|m| m.version() == version);
        let sql = m.and_then(|m| m.step(p.direction).sql());
        let statements = dbguard_lint::split::split(sql.unwrap_or_default(), db.kind().dialect());
        let texts: Vec<&str> = statements.iter().map(|s| s.text).collect();
        if !p.ran_unchanged(p.direction, &texts) {
            let which = p.first_changed(&texts).map_or(String::new(), |n| format!(" (statement {n} differs)"));
            return cannot(format!(
                "the statements that ran before it were changed since{which}.\n  next: put them back as they were first"
            ));
        }
        let words = crate::migrate::radius::words(texts.get(p.done).copied().unwrap_or_default());
        let now = db.session().object_states().await?;
        if let Some((t, index)) = crate::model::resume::invalid_indexes(&words, &now).into_iter().next() {
            return cannot(format!(
                "the index {index} of {t} is INVALID: it neither ran nor did not.\n  next: `DROP INDEX CONCURRENTLY {index};`, then `--statement-not-run`"
            ));
        }
        Ok(())
    }

    /// The dirty migration a run in direction `dir` can continue from its recorded progress,
    /// or where it stopped and why it cannot.
    pub(crate) async fn resumable(&self, db: &mut Database, plan: &Plan, dir: Direction) -> Result<Resume> {
        let Some(e) = plan.in_state(EntryState::Dirty).next() else { return Ok(Resume::default()) };
        let Some(point) = self.history().resume_point(db, e.version).await? else {
            return Ok(Resume::default());
        };
        let version = e.version;
        let step = self.migrations.iter().find(|m| m.version() == version).map(|m| m.step(point.direction));
        let texts: Vec<&str> = match step {
            Some(Step::Sql(sql)) => {
                dbguard_lint::split::split(sql, db.kind().dialect()).iter().map(|s| s.text).collect()
            }
            _ => Vec::new(),
        };
        let mut point = point;
        if let Some(Step::Sql(sql)) = step {
            point.read_against(&dbguard_lint::split::split(sql, db.kind().dialect()));
        }
        let at = point.describe();
        let mut cannot_tell = None;
        if point.continues(dir, &texts)
            && matches!(step, Some(Step::Sql(_)))
            && point.done < texts.len()
            && let Some(before) = point.in_flight.take()
        {
            let st = texts[point.done];
            let dialect = db.kind().dialect();
            let keyword =
                dbguard_lint::split::split(st, dialect).first().map(|s| s.first_keyword()).unwrap_or_default();
            let (created, dropped) = dbguard_lint::table_effects(st, dialect);
            let now = db.session().object_states().await?;
            match crate::model::resume::judge(
                &keyword,
                &crate::migrate::radius::words(st),
                &created,
                &dropped,
                &before,
                &now,
            ) {
                InFlight::Ran => {
                    point.judged_ran = Some(true);
                    let all = dbguard_lint::split::split(step.and_then(Step::sql).unwrap_or_default(), dialect);
                    point.advance(&all);
                }
                // The schema is as before it, but what it wrote to a MyISAM/Aria table stays.
                InFlight::NotRun if point.in_flight_untransactional => {
                    cannot_tell = Some(
                        "it writes a table that keeps no transaction (MyISAM, Aria), and what it wrote stays whether or not it finished"
                            .to_string(),
                    )
                }
                InFlight::NotRun => point.judged_ran = Some(false),
                InFlight::Unknown(why) => {
                    cannot_tell = Some(why.replace(crate::model::resume::VERSION, &version.to_string()))
                }
            }
        }
        let continues = cannot_tell.is_none() && point.continues(dir, &texts) && matches!(step, Some(Step::Sql(_)));
        // What the statements that ran left in their connection: a new one has only what can be
        // set again (see `execute`).
        let lost_state = match continues {
            true => crate::model::resume::session_state(&texts[..point.done.min(texts.len())]).err(),
            false => None,
        };
        if continues && lost_state.is_none() {
            return Ok(Resume { point: Some((version, point)), stopped_at: String::new() });
        }
        let other = point.direction;
        let committed = match point.done {
            0 => String::new(),
            1 => " Statement 1 had committed: `repair --forget` would run it again.".to_string(),
            n => format!(" Statements 1 to {n} had committed: `repair --forget` would run them again."),
        };
        let repair_next = format!(
            "`cargo dbguard repair {version} --statement-ran` (or `--statement-not-run`), then `cargo dbguard {dir}` continues from there"
        );
        let stopped_at = if let Some((k, what)) = lost_state {
            format!(
                "; it stopped at {at}, and statement {}, which had run, set {what} in its connection: a new connection does not have it, so the rest would run without it.{committed}\n  next: run the remaining statements by hand in one session (with that statement first), then `cargo dbguard repair {version} --mark-applied`; or undo what ran, then `cargo dbguard repair {version} --forget`",
                k + 1
            )
        } else if let Some(why) = cannot_tell {
            format!(
                "; it stopped while {at} was running, and dbguard cannot tell whether that statement finished: {why}.{committed}\n  next: check that statement's effect in the database, then {repair_next}"
            )
        } else if point.restored_by_guard {
            format!(
                "; all its statements ran, but the row guard found rows lost and put them back from snapshots, so its other changes need a look.{committed}\n  next: check its changes by hand, then `cargo dbguard repair {version} --mark-applied` (keep them) or undo them and `--forget`"
            )
        } else if point.failed_partway {
            format!(
                "; it stopped at {at}, which changed the schema before it failed: it ran in part.{committed}\n  next: finish or undo that statement by hand, then {repair_next}"
            )
        } else if other != dir {
            let again = match other {
                Direction::Up => "`cargo dbguard up`".to_string(),
                Direction::Down => "the same `cargo dbguard down` again".to_string(),
            };
            format!("; its {other} stopped at {at}.\n  next: {again} continues it from there")
        } else {
            let changed = point.first_changed(&texts).map_or(String::new(), |n| format!(" (statement {n} differs)"));
            format!(
                "; it stopped at {at}, and the statements before that one were changed since they ran{changed}, so dbguard cannot tell how to continue.{committed}\n  next: put them back as they were, and `cargo dbguard {dir}` continues it"
            )
        };
        Ok(Resume { point: None, stopped_at })
    }

    /// A run stopped by `e` after `report`'s steps stood: the schema they left and the row
    /// counts are recorded (so that `check` does not call their changes "made by hand"), and
    /// the error carries what was done.
    async fn stopped(
        &self,
        db: &mut Database,
        command: &str,
        e: Error,
        mut report: Report,
        rows: &[AppliedRow],
    ) -> Error {
        self.safety.progress.emit(Progress::Finished);
        if !report.applied.is_empty() || !report.reverted.is_empty() {
            report.plan = Plan::compute(&self.migrations, rows);
            // Best effort: the run's own error is the news.
            let _ = self.record_after(db, command, &mut report).await;
        }
        with_done(e, &report)
    }

    fn step_progress(&self, index: usize, total: usize, direction: Direction, m: &Migration) {
        let (version, name) = (m.version(), m.name().to_string());
        self.safety.progress.emit(Progress::Step { index, total, direction, version, name });
    }

    /// The whole-database backup before a run with work to do: a verified SQLite file backup,
    /// or a dump when configured. Failing to take it stops the run before anything changed.
    async fn back_up(&self, db: &mut Database, why: &str, report: &mut Report) -> Result<()> {
        self.safety.progress.emit(Progress::BackingUp);
        // Rotating old backups deletes them: automatic in dev and staging, only on an explicit,
        // confirmed `backups prune` in production.
        let retention = (self.safety.tier(db.env.raw_url()).tier != Tier::Prod).then_some(self.file_backups.keep);
        if self.file_backups.enabled
            && let Some(file) = db.env.backend.database_file().map(Path::to_path_buf)
        {
            report.file_backup = Some(file_backup::create(&mut db.session(), &file, why, retention).await?);
        }
        if let Some(policy) = &self.dump {
            report.dump = Some(crate::backup::dump::create(&db.env, policy, why)?);
        }
        Ok(())
    }

    pub(crate) fn get(&self, version: i64) -> &Migration {
        self.migrations.iter().find(|m| m.version() == version).expect("plan entries in the source come from it")
    }
}

/// The error for a preserved table that is not there, naming the closest one that is.
/// What [`Migrator::resumable`] found.
#[derive(Default)]
pub(crate) struct Resume {
    pub point: Option<(i64, ResumePoint)>,
    /// For a refusal: where the dirty migration stopped and why it cannot go on.
    pub stopped_at: String,
}

impl Resume {
    fn version(&self) -> Option<i64> {
        self.point.as_ref().map(|(v, _)| *v)
    }

    fn explain(&self, e: Error) -> Error {
        match e {
            Error::Dirty { version, name, since, .. } => {
                Error::Dirty { version, name, since, stopped_at: self.stopped_at.clone() }
            }
            e => e,
        }
    }
}

fn missing_preserved(m: &Migration, table: &str, existing: &[String], when: String) -> Error {
    Error::PreservedTableMissing(Box::new(crate::error::MissingPreserved {
        column: None,
        version: m.version(),
        name: m.name().to_string(),
        table: table.to_string(),
        closest: guard::closest(table, existing),
        location: m.origin().describe(false),
        when,
        done: Default::default(),
    }))
}

/// A failed step's error, with what the run did before it (migrations, snapshots, backups).
fn with_done(e: Error, report: &Report) -> Error {
    let done = crate::error::Done {
        applied: report.applied.iter().map(|s| (s.version, s.name.clone())).collect(),
        reverted: report.reverted.iter().map(|s| (s.version, s.name.clone())).collect(),
        snapshots: report
            .snapshots
            .iter()
            .map(|s| format!("snapshot {} of {} ({})", s.id, s.source_table, s.location))
            .collect(),
        backups: report.file_backup.iter().map(|b| b.path.clone()).chain(report.dump.clone()).collect(),
    };
    match e {
        Error::MigrationFailed(mut f) => {
            f.done = done;
            Error::MigrationFailed(f)
        }
        Error::RowsLost(mut l) => {
            l.done = done;
            Error::RowsLost(l)
        }
        Error::PreservedTableMissing(mut p) => {
            p.done = done;
            Error::PreservedTableMissing(p)
        }
        other => other,
    }
}

/// Fills an audit entry from a run's report.
fn fill_entry(r: &Report, e: &mut AuditEntry, steps: &[StepReport]) {
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
}
