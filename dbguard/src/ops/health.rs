//! Health of a database against the code's migrations: for an application's start-up check
//! (`Migrator::startup_check`) and for `cargo dbguard check`. Also watches row counts of the
//! tables that hold users' data, and raises an alert when one drops sharply or empties.

use crate::db::database::Database;
use crate::error::{Error, Result};
use crate::migrate::migrator::Migrator;
use crate::model::health::{Health, Status};
use crate::model::plan::EntryState;

impl Migrator {
    /// What to tell about dirty migration `v`: where it stopped and whether `up` continues it,
    /// and the tables it had taken away (with the snapshot that holds their rows).
    async fn stopped_partway(&self, db: &mut Database, plan: &crate::model::plan::Plan, v: i64) -> Result<String> {
        let point = self.history().resume_point(db, v).await?;
        let generic = format!(
            "migration {v} is dirty: it did not finish. next: finish or undo it by hand, then `cargo dbguard repair {v} --mark-applied` or `--forget`"
        );
        let (mut message, continues) = match &point {
            Some(p) => {
                let resume = self.resumable(db, plan, p.direction).await?;
                if resume.point.is_some() {
                    let again = match p.direction {
                        crate::Direction::Up => "`cargo dbguard up`",
                        crate::Direction::Down => "the same `cargo dbguard down` again",
                    };
                    let m = format!(
                        "migration {v} stopped partway during {} at {} (a run that was interrupted or failed, not a change made by hand). next: {again} continues it from there",
                        p.direction,
                        p.describe()
                    );
                    (m, true)
                } else {
                    (format!("migration {v} is dirty{}", resume.stopped_at), false)
                }
            }
            None => (generic, false),
        };
        // A table it had dropped before stopping is not lost: say where its rows are. When `up`
        // finishes the step (which makes the table again), restoring it would stand in its way.
        let mut s = db.session();
        for snap in crate::store::catalog::list(&mut s).await?.iter().filter(|sn| sn.migration_version == Some(v)) {
            if !crate::backup::snapshot::reason::is_rows(&snap.reason) && !s.table_exists(&snap.source_table).await? {
                let (table, rows, id) = (&snap.source_table, snap.row_count, snap.id);
                message.push_str(&if continues {
                    format!(
                        "\n    {table} is not there now (the migration had not finished with it; `cargo dbguard up` does). Its {rows} rows as they were before migration {v} are in snapshot {id}; `cargo dbguard restore {id}` puts them back if you give the migration up instead"
                    )
                } else {
                    format!(
                        "\n    {table} is not there now; its {rows} rows as they were before migration {v} are in snapshot {id}: `cargo dbguard restore {id}` puts them back"
                    )
                });
            }
        }
        Ok(message)
    }

    /// Compares the database with this migrator's migrations, read-only. `required` tables
    /// must exist.
    pub async fn health(&self, db: &mut Database, required: &[&str]) -> Result<Health> {
        let plan = self.plan(db).await?;
        let mut h = Health {
            status: Status::Healthy,
            tier: self.tier_for(db).to_string(),
            url: db.url().to_string(),
            current_version: plan.current_version(),
            expected_version: self.migrations().last().map(|m| m.version()),
            pending: plan.pending().map(|e| e.version).collect(),
            drifted: plan.in_state(EntryState::Drifted).map(|e| e.version).collect(),
            missing: plan.in_state(EntryState::Missing).map(|e| e.version).collect(),
            dirty: plan.in_state(EntryState::Dirty).map(|e| e.version).collect(),
            required_tables: Vec::new(),
            row_counts: Vec::new(),
            alerts: Vec::new(),
            messages: Vec::new(),
            fingerprint: None,
            schema_changes: Vec::new(),
        };
        if plan.current_version().is_none() && h.dirty.is_empty() {
            // The tables of this database or schema (a schema's neighbours are not its tables).
            if db.session().user_tables().await?.is_empty() {
                h.raise(Status::Critical, "the database is empty: no migration has run on it. next: `cargo dbguard up` (or `Migrator::up` before serving)".into());
            } else {
                h.raise(Status::Critical, "the database has tables but no dbguard history (not initialised by dbguard). next: `cargo dbguard baseline <version>` to record what it already has".into());
            }
        }
        if let Some(&v) = h.dirty.first() {
            let message = self.stopped_partway(db, &plan, v).await?;
            h.raise(Status::Critical, message);
        }
        if !h.drifted.is_empty() {
            h.raise(Status::Critical, format!("applied migrations were edited since they ran: {:?}. next: `cargo dbguard status`, and undo the edits", h.drifted));
        }
        if !h.missing.is_empty() {
            h.raise(Status::Critical, format!("the database is ahead of this build: migrations {:?} are applied but not in it. next: deploy the build that has them (or roll the database back with that build)", h.missing));
        }
        if !h.pending.is_empty() && h.current_version.is_some() {
            h.raise(
                Status::Degraded,
                format!(
                    "the database is behind: {} migration(s) pending ({:?}). next: `cargo dbguard up`",
                    h.pending.len(),
                    h.pending
                ),
            );
        }
        for t in required {
            let present = db.table_exists(t).await?;
            h.required_tables.push((t.to_string(), present));
            if present {
                h.row_counts.push((t.to_string(), db.count_rows(t).await?));
            } else {
                h.raise(Status::Critical, format!("the required table {t} does not exist. next: check the last migrations and the backups (`cargo dbguard backups list`)"));
            }
        }
        Ok(h)
    }

    /// For an application's start-up: `Ok` when the database is exactly what this build
    /// expects, otherwise an error that says what is wrong and what to run.
    ///
    /// ```no_run
    /// # async fn run(mut db: dbguard::Database) -> dbguard::Result<()> {
    /// let migrator = dbguard::Migrator::from_registry()?;
    /// migrator.startup_check(&mut db, &["users", "orders"]).await?; // refuse to serve otherwise
    /// # Ok(()) }
    /// ```
    pub async fn startup_check(&self, db: &mut Database, required: &[&str]) -> Result<Health> {
        let h = self.health(db, required).await?;
        if h.status == Status::Healthy { Ok(h) } else { Err(Error::Unhealthy(Box::new(h))) }
    }

    /// Accepts the current row counts of `tables` (all monitored tables when empty) as the
    /// ones `check` compares with, after a row-count alert was looked into: the rows went on
    /// purpose. Audited, through the guarded path.
    pub async fn acknowledge(&self, db: &mut Database, tables: &[&str]) -> Result<Vec<(String, i64)>> {
        self.run_acknowledge(db, tables, false).await
    }

    /// The counts [`Migrator::acknowledge`] would accept, without writing anything.
    pub async fn dry_run_acknowledge(&self, db: &mut Database, tables: &[&str]) -> Result<Vec<(String, i64)>> {
        self.run_acknowledge(db, tables, true).await
    }

    async fn run_acknowledge(&self, db: &mut Database, tables: &[&str], dry_run: bool) -> Result<Vec<(String, i64)>> {
        let tables: Vec<String> =
            if tables.is_empty() { self.monitored_tables() } else { tables.iter().map(|t| t.to_string()).collect() };
        let result = crate::safety::guarded::run(
            &self.safety,
            db,
            crate::safety::guarded::Operation::Acknowledge,
            dry_run,
            async |db| {
                let mut s = db.session();
                let mut counts = Vec::new();
                for t in &tables {
                    if s.table_exists(t).await? {
                        counts.push((t.clone(), s.count(t).await?));
                    }
                }
                let changes = !counts.is_empty();
                Ok(crate::safety::guarded::Intent { plan: counts, destroys: Vec::new(), changes })
            },
            async |db, counts| {
                let mut s = db.session();
                crate::store::stats::ensure(&mut s).await?;
                let at = crate::model::stamp::now();
                for (t, n) in &counts {
                    crate::store::stats::record(&mut s, t, *n, &at, "acknowledge").await?;
                }
                Ok(counts)
            },
            |counts, e| e.counts_checked = counts.iter().map(|(t, n)| format!("{t}: {n} rows accepted")).collect(),
        )
        .await?;
        Ok(match result {
            crate::safety::guarded::Guarded::DryRun(counts) | crate::safety::guarded::Guarded::Done(counts) => counts,
        })
    }

    /// [`Migrator::health`], plus monitoring:
    /// - row counts of `watched` tables (and of the tables migrations preserve) are recorded in
    ///   `dbguard_table_stats` by every run; one that lost more than `threshold` (0.05 = 5 %)
    ///   of its rows since the last run, or became empty, raises an alert, and keeps raising it
    ///   until the rows are back or [`Migrator::acknowledge`] accepts the new counts (a table
    ///   no run has counted yet is counted by the first check);
    /// - the schema is compared with the one the last run left: changes made by hand since are
    ///   listed in [`Health::schema_changes`] as a diff (`+` added, `-` gone).
    pub async fn check(
        &self,
        db: &mut Database,
        required: &[&str],
        watched: &[&str],
        threshold: f64,
    ) -> Result<Health> {
        let mut h = self.health(db, required).await?;
        let mut s = db.session();
        if let Some(recorded) = crate::store::fingerprint::last(&mut s).await? {
            let now = s.introspect().await?;
            h.fingerprint = Some(now.fingerprint());
            if now.fingerprint() != recorded.fingerprint {
                h.schema_changes = now.diff(&recorded.schema);
                // A run stopped halfway: these are its changes so far, not hand-made ones.
                let by = match h.dirty.first() {
                    Some(v) => format!("by migration {v}, which stopped partway (see above)"),
                    None => "outside dbguard".to_string(),
                };
                let shown: Vec<&str> = h.schema_changes.iter().take(20).map(String::as_str).collect();
                let more = h.schema_changes.len().saturating_sub(shown.len());
                let more = if more > 0 { format!("\n      ... and {more} more") } else { String::new() };
                h.raise(
                    Status::Degraded,
                    format!(
                        "the schema changed since the last migration run ({} at version {}, {}), {by}:\n      {}{more}\n    next: {}",
                        recorded.command,
                        recorded.version,
                        recorded.at,
                        shown.join("\n      "),
                        if h.dirty.is_empty() {
                            "turn the change into a migration (`cargo dbguard new`), or undo it"
                        } else {
                            "let the stopped migration finish (see above); these changes are its own"
                        }
                    ),
                );
            }
        }
        let mut tables = self.monitored_tables();
        for t in watched {
            if !tables.iter().any(|x| x == t) {
                tables.push(t.to_string());
            }
        }
        if tables.is_empty() {
            return Ok(h);
        }
        crate::store::stats::ensure(&mut s).await?;
        let at = crate::model::stamp::now();
        for t in &tables {
            if !s.table_exists(t).await? {
                continue;
            }
            let now = s.count(t).await?;
            match crate::store::stats::last(&mut s, t).await? {
                // Compared with the count a run (or an acknowledgement) recorded, which `check`
                // never moves: an alert stays until the rows are back or someone accepts them.
                Some(before) => {
                    if let Some(alert) = crate::store::stats::alert(t, &before, now, threshold) {
                        h.alerts.push(alert.clone());
                        h.raise(Status::Degraded, alert);
                    }
                }
                // Never counted: this first count is what later checks compare with.
                None => crate::store::stats::record(&mut s, t, now, &at, "check").await?,
            }
            if !h.row_counts.iter().any(|(n, _)| n == t) {
                h.row_counts.push((t.to_string(), now));
            }
        }
        Ok(h)
    }
}
