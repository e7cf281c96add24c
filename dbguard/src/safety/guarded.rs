//! The guarded path: the one piece of code through which every change to a database goes.
//!
//! `up`, `down`, `baseline`, `repair`, `reset`, table and file restores, pruning and backups
//! are each written as two halves: a *plan*, which only reads and says what the change would
//! do and what it would destroy, and an *apply*, which does it. [`run`] is the only caller of
//! an apply. In this order, it:
//!
//! 1. decides the database's tier (see [`crate::safety::tier::TierPolicy`]) and refuses what that tier never
//!    allows (`reset` in production);
//! 2. for a dry run, runs the plan on a read-only session and returns it: a dry run never
//!    reaches an apply, and its session cannot write whatever the plan does;
//! 3. takes the migration lock and runs the plan, read-only, under it;
//! 4. in production, when the plan destroys something, requires the database's name
//!    (given, or typed at a prompt) and refuses otherwise, listing what would have happened;
//! 5. writes the audit entry (`started`) to the audit file, runs the apply, and writes the
//!    final entry (`ok`/`failed`) to the file and the database; refusals are audited too, in
//!    the file (in the database only when there is no file, so that a refused command leaves
//!    the database exactly as it was);
//! 6. releases the lock, whatever happened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::database::Database;
use crate::db::lock::{LockWait, with_lock};
use crate::error::{Confirmation, Error, Result};
use crate::model::progress::ProgressHook;
use crate::safety::tier::{Tier, TierDecision, TierPolicy, require_confirmation};
use crate::store::audit::{AuditEntry, AuditLog};

/// How long a run waits for another runner's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// The changes that go through the guarded path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Apply migrations.
    Up,
    /// Revert migrations.
    Down,
    /// Record an existing database as being at a version.
    Baseline,
    /// Mark a dirty migration applied, or forget it.
    Repair,
    /// Drop the database, create it again, migrate it.
    Reset,
    /// Replace a table's rows with a snapshot's.
    Restore,
    /// Replace a SQLite database file with a file backup.
    RestoreFile,
    /// Delete old snapshots and file backups.
    Prune,
    /// Take a snapshot or a file backup now.
    Backup,
    /// Accept the current row counts after a row-count alert.
    Acknowledge,
}

impl Operation {
    /// Every operation, for tests that must cover them all.
    pub const ALL: [Operation; 10] = [
        Operation::Up,
        Operation::Down,
        Operation::Baseline,
        Operation::Repair,
        Operation::Reset,
        Operation::Restore,
        Operation::RestoreFile,
        Operation::Prune,
        Operation::Backup,
        Operation::Acknowledge,
    ];

    /// The command as users type it: `up`, `restore --file`, `backups prune`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Up => "up",
            Operation::Down => "down",
            Operation::Baseline => "baseline",
            Operation::Repair => "repair",
            Operation::Reset => "reset",
            Operation::Restore => "restore",
            Operation::RestoreFile => "restore --file",
            Operation::Prune => "backups prune",
            Operation::Backup => "backup",
            Operation::Acknowledge => "check --acknowledge",
        }
    }

    /// What to do instead where the operation is never allowed.
    fn forbidden(self, tier: Tier) -> Option<&'static str> {
        match (self, tier) {
            (Operation::Reset, Tier::Prod) => Some(
                "`cargo dbguard down --to VERSION` or `cargo dbguard restore` change production one audited step at a time; for a copy to experiment on, use `cargo dbguard rehearse`",
            ),
            _ => None,
        }
    }
}

/// Asks a person to confirm a production change (the command line's prompt): true when they
/// typed the database's name.
pub type AskFn = Arc<dyn Fn(&Confirmation) -> bool + Send + Sync>;

/// The settings of the guarded path, shared by [`crate::Migrator`] and [`crate::backup::Backups`].
#[derive(Clone)]
pub(crate) struct Safety {
    pub tiers: TierPolicy,
    /// The database name given to confirm a production change (`--confirm`).
    pub confirmed: Option<String>,
    /// How the confirmation was given, for the audit log, when not by naming the database
    /// itself (a fleet's `fleet:<file>`, given once for all its targets).
    pub confirmed_as: Option<String>,
    /// Asked when a confirmation is needed and none was given.
    pub ask: Option<AskFn>,
    pub audit: AuditLog,
    /// How to wait for the migration lock (its name is the version table's).
    pub lock: LockWait,
    /// Told what a run is doing (see [`crate::Migrator::on_progress`]).
    pub progress: ProgressHook,
}

impl Default for Safety {
    fn default() -> Self {
        Safety {
            tiers: TierPolicy::default(),
            confirmed: None,
            confirmed_as: None,
            ask: None,
            audit: AuditLog::default(),
            lock: LockWait {
                key: crate::store::version_table::DEFAULT_TABLE.into(),
                timeout: DEFAULT_LOCK_TIMEOUT,
                kill_stale_runner: false,
            },
            progress: ProgressHook::default(),
        }
    }
}

impl std::fmt::Debug for Safety {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Safety")
            .field("tiers", &self.tiers)
            .field("confirmed", &self.confirmed)
            .field("ask", &self.ask.as_ref().map(|_| "set"))
            .field("audit", &self.audit)
            .field("lock", &self.lock)
            .finish()
    }
}

impl Safety {
    /// The tier of the database at `url`, and why.
    pub fn tier(&self, url: &str) -> TierDecision {
        self.tiers.resolve(url)
    }
}

/// What a change would do, found by its plan without writing anything.
pub(crate) struct Intent<P> {
    /// The plan, handed to the apply (or returned by a dry run).
    pub plan: P,
    /// What it destroys or replaces, one line each; production needs a confirmation when this
    /// is not empty.
    pub destroys: Vec<String>,
    /// Whether it changes anything at all: a run with nothing to do is neither confirmed nor
    /// audited.
    pub changes: bool,
}

/// What [`run`] did: only planned (a dry run), or the change itself.
pub(crate) enum Guarded<P, T> {
    /// A dry run's plan.
    DryRun(P),
    /// The change's result.
    Done(T),
}

impl<P, T> Guarded<P, T> {
    /// The result of a run that was not a dry run.
    pub fn done(self) -> T {
        match self {
            Guarded::Done(t) => t,
            Guarded::DryRun(_) => unreachable!("only dry runs return a plan"),
        }
    }

    /// The plan of a dry run.
    pub fn planned(self) -> P {
        match self {
            Guarded::DryRun(p) => p,
            Guarded::Done(_) => unreachable!("a dry run returns its plan"),
        }
    }
}

/// Runs a change through the guarded path (see the module documentation). `plan` runs on a
/// read-only session; `apply` must leave `db` connected to the database now at its URL (a
/// reset or a file restore reconnects); `fill` adds what the change did to the audit entry.
pub(crate) async fn run<P, T>(
    safety: &Safety,
    db: &mut Database,
    op: Operation,
    dry_run: bool,
    plan: impl AsyncFnOnce(&mut Database) -> Result<Intent<P>>,
    apply: impl AsyncFnOnce(&mut Database, P) -> Result<T>,
    fill: impl FnOnce(&T, &mut AuditEntry),
) -> Result<Guarded<P, T>> {
    let url = db.env.raw_url().to_string();
    let decision = safety.tier(&url);
    let forbidden = op.forbidden(decision.tier).map(|next| Error::RefusedInProduction {
        action: op.as_str().into(),
        url: db.url().into(),
        reason: decision.reason.clone(),
        next: next.into(),
    });
    if dry_run {
        // A dry run says what the real command would do: here, be refused.
        if let Some(refused) = forbidden {
            return Err(refused);
        }
        let intent = db.read_only(plan).await?;
        return Ok(Guarded::DryRun(intent.plan));
    }
    let started = Instant::now();
    let entry = || {
        let mut e = AuditEntry::new(&url, decision.tier, op.as_str());
        e.confirmation = safety.confirmed_as.clone().or_else(|| safety.confirmed.clone());
        e
    };
    if let Some(refused) = forbidden {
        return refuse(safety, db, entry(), started, refused).await;
    }
    with_lock(db, &safety.lock, &safety.progress, async |db| {
        // Long work of the plan (checking a snapshot) is reported too, unless a confirmation
        // prompt may follow it (production), which a progress bar must not draw over.
        if decision.tier != Tier::Prod {
            db.env.progress = safety.progress.clone();
        }
        // The plan only reads (the dry runs, on a read-only session, prove it); under the lock,
        // so that what it found is still true when the apply runs.
        let intent = match plan(db).await {
            Ok(i) => i,
            Err(e) => return refuse(safety, db, entry(), started, e).await,
        };
        if !intent.changes {
            return apply(db, intent.plan).await.map(Guarded::Done);
        }
        let mut typed = None;
        if decision.tier == Tier::Prod {
            match confirm(safety, db.url(), &decision, op, intent.destroys.clone()) {
                Ok(t) => typed = t,
                Err(e) => return refuse(safety, db, entry(), started, e).await,
            }
        }
        let mut entry = entry();
        if let Some(name) = typed {
            entry.confirmation = Some(format!("{name} (typed at the prompt)"));
        }
        entry.intent = intent.destroys;
        entry.outcome = "started".into();
        safety.audit.append(&entry)?;
        // Long work of the change (not of its plan, which may be followed by a prompt) is reported.
        db.env.progress = safety.progress.clone();
        let result = apply(db, intent.plan).await;
        entry.at = crate::model::stamp::now();
        entry.outcome = "ok".into();
        entry.duration_ms = started.elapsed().as_millis() as i64;
        match &result {
            Ok(v) => fill(v, &mut entry),
            Err(e) => {
                entry.outcome(&result, |m| db.env.scrub(m));
                // What stood before the failure is part of the record.
                if let Some(done) = e.done() {
                    entry.migrations = done.applied.iter().chain(&done.reverted).map(|(v, _)| *v).collect();
                    entry.backups = done.snapshots.clone();
                    entry.backups.extend(done.backups.iter().map(|b| b.display().to_string()));
                }
            }
        }
        let recorded = safety.audit.record(db, &entry).await;
        match (result, recorded) {
            (Ok(v), Ok(())) => Ok(Guarded::Done(v)),
            (Ok(_), Err(e)) | (Err(e), _) => Err(e),
        }
    })
    .await
}

/// Requires the database's name for a production change that destroys `what`: given, or asked
/// for; otherwise refuses. Returns the name when it was typed at the prompt, for the audit.
fn confirm(
    safety: &Safety,
    url: &str,
    decision: &TierDecision,
    op: Operation,
    what: Vec<String>,
) -> Result<Option<String>> {
    match require_confirmation(url, &decision.reason, safety.confirmed.as_deref(), op.as_str(), what) {
        Err(Error::ConfirmationRequired(c)) if c.given.is_none() && safety.ask.is_some() => {
            let ask = safety.ask.as_ref().expect("checked");
            if ask(&c) { Ok(Some(c.database)) } else { Err(Error::Aborted { database: c.database }) }
        }
        other => other.map(|()| None),
    }
}

/// Audits a refusal (or a plan that failed) and returns it.
async fn refuse<T>(safety: &Safety, db: &mut Database, mut entry: AuditEntry, started: Instant, e: Error) -> Result<T> {
    entry.outcome = if e.is_refusal() { "refused" } else { "failed" }.into();
    entry.message = Some(db.env.scrub(&e.to_string()));
    entry.duration_ms = started.elapsed().as_millis() as i64;
    // A refusal leaves the database as it was, byte for byte: its line goes to the audit file,
    // and only where there is none, to the database's own copy.
    let recorded = match safety.audit.file {
        Some(_) => safety.audit.append(&entry),
        None => safety.audit.record(db, &entry).await,
    };
    match recorded {
        // The audit file could not be written: that is the news (nothing was changed anyway).
        Err(audit @ Error::AuditLog { .. }) => Err(audit),
        // A database that cannot take the row (read-only, gone) is no reason to hide the refusal.
        Ok(()) | Err(_) => Err(e),
    }
}
