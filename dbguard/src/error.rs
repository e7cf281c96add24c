//! dbguard's errors. Each message says what happened, what was kept safe and what to run next,
//! and none contains a password.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::direction::Direction;

/// A `Result` with dbguard's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in dbguard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Migrations could not be loaded; nothing was run.
    #[error("{0}")]
    Load(#[from] LoadError),

    /// The database URL is malformed or names an unsupported database.
    #[error(
        "bad database URL `{url}`: {problem}\n  fix: use sqlite://path/to/file.db, postgres://user@host:5432/db or mysql://user@host:3306/db"
    )]
    BadUrl {
        /// The URL, masked.
        url: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A setting read from the environment has a value dbguard cannot use.
    #[error("{name}={value:?} {problem}\n  nothing was changed.\n  next: {next}")]
    BadSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        next: String,
    },

    /// Could not connect.
    #[error(
        "cannot connect to {url}: {message}\n  nothing was changed.\n  next: check that the server is running and that user, host, port and database in the URL are right"
    )]
    Connect {
        /// The URL, masked.
        url: String,
        /// The driver's message, scrubbed of secrets.
        message: String,
    },

    /// A query of dbguard's own bookkeeping failed.
    #[error("database error while {context} on {url}: {message}")]
    Database {
        /// What dbguard was doing.
        context: String,
        /// The URL, masked.
        url: String,
        /// The database's message, scrubbed of secrets.
        message: String,
    },

    /// A migration step failed.
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),

    /// An applied migration's text changed since it ran.
    #[error("{}", drift_message(.0))]
    Drift(Vec<DriftInfo>),

    /// Applied migrations are no longer in the source.
    #[error("the database has migrations applied that are not in the source: {}\n  nothing was run.\n  next: restore the missing files (check your branch), or, if they were removed on purpose, run with `--allow-missing` (`Migrator::allow_missing(true)`)",
        .versions.iter().map(|(v, n)| format!("{v} ({n})")).collect::<Vec<_>>().join(", "))]
    Missing {
        /// Version and recorded name of each missing migration.
        versions: Vec<(i64, String)>,
    },

    /// A migration failed partway without a transaction to undo it.
    #[error(
        "migration {version} ({name}) is dirty: it started at {since} and did not finish{}",
        dirty_tail(*.version, .stopped_at)
    )]
    Dirty {
        /// The dirty migration's version.
        version: i64,
        /// Its name.
        name: String,
        /// When it started.
        since: String,
        /// Where it stopped and why it cannot be continued, when its progress was recorded
        /// (starts with `; `), or empty.
        stopped_at: String,
    },

    /// Pending migrations sort before the newest applied one.
    #[error(
        "migration {version} ({name}) is pending but sorts before {highest}, the newest applied migration (a branch merged late?).\n  nothing was run.\n  next: give it a version after {highest}, or run with `--allow-out-of-order` (`Migrator::allow_out_of_order(true)`)"
    )]
    OutOfOrder {
        /// The pending version.
        version: i64,
        /// Its name.
        name: String,
        /// The newest applied version.
        highest: i64,
    },

    /// Another runner held the migration lock for longer than the configured wait.
    #[error("another dbguard runner has held the migration lock on {url} for over {}s; nothing was changed.{}\n  next: {}", waited.as_secs(), holder.as_ref().map(|h| format!("\n  held by: {h}")).unwrap_or_default(), if *runner_gone { "its runner is gone (killed or its machine lost) but the server is still running its statement. Wait for it to finish, or run again with `--kill-stale-runner` to end it (the migration it belonged to is then continued by the same run)" } else { "wait for it to finish (see `cargo dbguard status`), or raise the lock timeout; a crashed runner's lock is released by the database when its connection closes" })]
    LockTimeout {
        /// The URL, masked.
        url: String,
        /// How long this runner waited.
        waited: Duration,
        /// Who holds it, where the database can tell: process, host, what it runs, since when.
        holder: Option<String>,
        /// The holder's runner is gone while the server still runs its statement (MySQL/MariaDB).
        runner_gone: bool,
    },

    /// This runner could not take its alive lock (MySQL/MariaDB: the lock that tells later
    /// runners it is alive); without it, it could be taken for gone.
    #[error(
        "could not take this runner's alive lock (`dbguard-alive:{session}`, held on a second connection) on {url}; nothing was changed.\n  next: run again; if it persists, see which session holds it with `SELECT IS_USED_LOCK('dbguard-alive:{session}')`"
    )]
    AliveLock {
        /// The URL, masked.
        url: String,
        /// This runner's session id.
        session: i64,
    },

    /// A fleet file (or a fleet's options) that cannot be used as written.
    #[error("fleet {file}: {message}.\n  nothing was run on any target.")]
    FleetFile {
        /// The file's name.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A change to a fleet with production targets, not confirmed with `fleet:<file name>`.
    #[error("fleet {fleet} has {} production target(s) among the {selected} selected ({}){}; nothing was run on any target.\n  next: check the targets with `cargo dbguard fleet status` (same fleet), then confirm with `--confirm fleet:{fleet}`", production.len(), production.join(", "), given.as_ref().map(|g| format!("; `{g}` is not the confirmation")).unwrap_or_default())]
    FleetConfirmationRequired {
        /// The fleet file's name.
        fleet: String,
        /// The production targets.
        production: Vec<String>,
        /// How many targets were selected.
        selected: usize,
        /// The confirmation given, if any.
        given: Option<String>,
    },

    /// A fleet target's schema (PostgreSQL) does not exist: nothing was run on it.
    #[error(
        "the schema \"{schema}\" does not exist in {url} (names are case-sensitive).\n  nothing was run on this target.\n  next: create it (`CREATE SCHEMA ...`) or fix `schema` in the fleet file{}",
        closest.as_ref().map(|c| format!(" (did you mean `schema = \"{c}\"`?)")).unwrap_or_default()
    )]
    FleetSchemaMissing {
        /// The schema the fleet file names (or the default search path).
        schema: String,
        /// The existing schema whose name is closest, when one is close.
        closest: Option<String>,
        /// The database, password masked.
        url: String,
    },

    /// A fleet target whose check or rehearsal found problems.
    #[error("{}", messages.join("\n"))]
    FleetTargetUnhealthy {
        /// What is wrong, one line each.
        messages: Vec<String>,
    },

    /// A down was requested for a migration that declares itself irreversible.
    #[error(
        "migration {version} ({name}) cannot be reverted: {reason}.\n  nothing was reverted past it.\n  next: restore from a backup (`cargo dbguard backups list`), or choose a target at or after {version}"
    )]
    Irreversible {
        /// Its version.
        version: i64,
        /// Its name.
        name: String,
        /// The reason it gives.
        reason: String,
    },

    /// A target version that no migration has.
    #[error("there is no migration {version}; the known versions are {known}.\n  nothing was changed")]
    UnknownVersion {
        /// The requested version.
        version: i64,
        /// A short list of known versions.
        known: String,
    },

    /// The version table was written by a newer dbguard.
    #[error(
        "the table {table} was written by a newer dbguard (layout {found}; this one knows up to {known}).\n  nothing was changed.\n  next: upgrade dbguard to the version your deployment uses"
    )]
    LayoutTooNew {
        /// The version table.
        table: String,
        /// Its layout.
        found: i64,
        /// The newest layout this build knows.
        known: i64,
    },

    /// A migration step would have lost rows of a table it preserves; it did not stand.
    #[error("{0}")]
    RowsLost(Box<RowsLost>),

    /// A destructive change to a production database was not confirmed; nothing was changed.
    #[error("{0}")]
    ConfirmationRequired(Box<Confirmation>),

    /// The database is not what this build expects (start-up check).
    #[error("{0}")]
    Unhealthy(Box<crate::model::health::Health>),

    /// A configured backup could not be taken; nothing was run.
    #[error("{0}")]
    Backup(String),

    /// A SQLite database file that is not there; nothing was created.
    #[error(
        "the SQLite database {} does not exist; nothing was created.\n  next: check the path (relative paths start at the project root, or at the current directory for --database); `cargo dbguard up` creates a new, empty database there",
        .path.display()
    )]
    DatabaseMissing {
        /// Its absolute path.
        path: PathBuf,
    },

    /// A table a migration declares preserved does not exist: the guard cannot protect it.
    #[error("{0}")]
    PreservedTableMissing(Box<MissingPreserved>),

    /// A command that production never allows (`reset`), whatever the confirmation.
    #[error(
        "{action} is refused, whatever the flags: {url} is a prod database ({reason}), and {action} is never allowed in prod.\n  nothing was changed.\n  next: {next}"
    )]
    RefusedInProduction {
        /// The command.
        action: String,
        /// The database, masked.
        url: String,
        /// Why it is production.
        reason: String,
        /// What to do instead.
        next: String,
    },

    /// The name typed at the confirmation prompt was not the database's.
    #[error("aborted: that is not `{database}`. nothing was changed.")]
    Aborted {
        /// The name that was expected.
        database: String,
    },

    /// `repair --statement-ran/--statement-not-run` where the statement is not in doubt, or the
    /// database contradicts the answer.
    #[error("cannot record what the statement migration {version} stopped at did: {why}")]
    CannotMark {
        /// The migration.
        version: i64,
        /// Why, and what to do instead.
        why: String,
    },

    /// `repair --statement-ran/--statement-not-run` of a migration that recorded no progress.
    #[error(
        "migration {version} recorded no progress statement by statement (a Rust step, or one run by an older dbguard): there is no statement to mark.\n  next: `cargo dbguard repair {version} --mark-applied` or `--forget` once you have checked its changes by hand"
    )]
    NothingToResume {
        /// The migration.
        version: i64,
    },

    /// `repair` of a migration that is not dirty.
    #[error(
        "migration {version} is not dirty; nothing to repair.\n  next: `cargo dbguard status` shows each migration's state"
    )]
    NotDirty {
        /// The version asked for.
        version: i64,
    },

    /// `baseline` of a database that already has history.
    #[error(
        "cannot baseline: the database already has migrations recorded (newest: {newest}).\n  nothing was changed.\n  next: `cargo dbguard status` shows them; baseline is for databases that predate dbguard"
    )]
    AlreadyRecorded {
        /// The newest recorded version.
        newest: i64,
    },

    /// A snapshot id that the catalog does not have.
    #[error("there is no snapshot {id} in the catalog of {url}.\n  next: `cargo dbguard backups list` shows the ids")]
    NoSuchSnapshot {
        /// The id asked for.
        id: i64,
        /// The database, masked.
        url: String,
    },

    /// A table that does not exist.
    #[error(
        "there is no table {table} in {url}; nothing was copied.\n  next: check the name; the tables are: {}",
        if .existing.is_empty() { "(none)".to_string() } else { .existing.join(", ") }
    )]
    NoSuchTable {
        /// The table asked for.
        table: String,
        /// The database, masked.
        url: String,
        /// The tables it has (the first 20).
        existing: Vec<String>,
    },

    /// A restore that cannot go ahead as asked; nothing was changed.
    #[error("{message}")]
    RestoreRefused {
        /// What is wrong and what to run instead.
        message: String,
    },

    /// A restore that failed or did not verify; what was kept safe is in the message.
    #[error("{message}")]
    RestoreFailed {
        /// What happened, what was kept safe, what to run next.
        message: String,
    },

    /// A file backup was asked of a database that has no file (PostgreSQL, MySQL).
    #[error(
        "{url} is not a SQLite file, so it has no file backups.\n  next: snapshot tables with `cargo dbguard backup --table users`, or configure `dump-dir` for pg_dump/mysqldump dumps"
    )]
    NotAFile {
        /// The database, masked.
        url: String,
    },

    /// A path that is not one of the database's file backups.
    #[error("{} is not a backup of {}\n  next: `cargo dbguard backups list` shows them", .path.display(), .database.display())]
    NotABackup {
        /// The path given.
        path: PathBuf,
        /// The database file.
        database: PathBuf,
    },

    /// The audit log could not be written.
    #[error(
        "cannot append to the audit log {}: {message}\n  the command itself {outcome}.\n  next: make the file writable, or set another path (`audit-log`)",
        .path.display()
    )]
    AuditLog {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
        /// What became of the command (`finished (ok)`, `did not start`).
        outcome: String,
    },

    /// The lock file beside a SQLite database could not be created.
    #[error(
        "cannot create the lock file {}: {message}\n  nothing was changed.\n  next: make the database's directory writable",
        .path.display()
    )]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },

    /// An error raised by a Rust migration step.
    #[error("{0}")]
    Step(String),

    /// A step that would delete or overwrite rows no snapshot keeps (another schema's table, a
    /// schema dropped whole, a view), while there are rows: they could not be put back.
    #[error("{0}")]
    OutsideSchema(Box<OutsideSchema>),

    /// A `DELETE` or `UPDATE` with no `WHERE`, or whose condition, measured on the live data,
    /// matches every row of its table (`WHERE id > 0`), without an allow with a reason.
    #[error(
        "{} every row of {table} ({} {}): to {verb} them all takes an allow with a reason.\n  kept safe: the statement did not run.\n  next: {next}",
        if *no_where { "it has no WHERE: it reaches" } else { "its condition matches" },
        rows,
        if *rows == 1 { "row" } else { "rows" }
    )]
    EveryRow {
        /// The statement has no WHERE at all (else its condition, measured, matches every row).
        no_where: bool,
        /// The table (with the rows of the tables that inherit from it, which the statement
        /// reaches too).
        table: String,
        /// Its rows.
        rows: i64,
        /// `delete` or `update`.
        verb: &'static str,
        /// What to do: the allow line to add, or the reason to give the one there.
        next: String,
    },

    /// The condition of a `DELETE`/`UPDATE` could not be evaluated to copy the rows it changes,
    /// after earlier statements of its step changed the table, on a database where copying the
    /// whole table then would commit the step's transaction (MySQL).
    #[error(
        "dbguard cannot evaluate this statement's condition to copy the rows of {table} it changes ({message}), and copying all of {table} here would commit the transaction the step runs in.\n  kept safe: the statement did not run.\n  next: check the statement against the table as the earlier statements leave it; or put it in a migration of its own, where {table} is copied whole before it"
    )]
    Unmeasurable {
        /// The table.
        table: String,
        /// What the database said of the condition.
        message: String,
    },
}

impl Error {
    /// An error for a Rust migration step to return.
    pub fn step(message: impl Into<String>) -> Self {
        Error::Step(message.into())
    }

    /// What the run did before it stopped on this error, for errors raised mid-run.
    pub fn done(&self) -> Option<&Done> {
        match self {
            Error::MigrationFailed(f) => Some(&f.done),
            Error::RowsLost(l) => Some(&l.done),
            Error::PreservedTableMissing(p) => Some(&p.done),
            _ => None,
        }
    }

    /// Whether dbguard refused before changing anything (as opposed to a command that ran
    /// and failed): the audit log's `refused`. An error after part of a run stood is a failure.
    pub fn is_refusal(&self) -> bool {
        if self.done().is_some_and(|d| !d.is_empty()) {
            return false;
        }
        matches!(
            self,
            Error::Load(_)
                | Error::BadUrl { .. }
                | Error::BadSetting { .. }
                | Error::ConfirmationRequired(_)
                | Error::Drift(_)
                | Error::Missing { .. }
                | Error::Dirty { .. }
                | Error::OutOfOrder { .. }
                | Error::Irreversible { .. }
                | Error::UnknownVersion { .. }
                | Error::LockTimeout { .. }
                | Error::FleetFile { .. }
                | Error::FleetSchemaMissing { .. }
                | Error::FleetConfirmationRequired { .. }
                | Error::AliveLock { .. }
                | Error::LayoutTooNew { .. }
                | Error::DatabaseMissing { .. }
                | Error::PreservedTableMissing(_)
                | Error::RefusedInProduction { .. }
                | Error::Aborted { .. }
                | Error::NotDirty { .. }
                | Error::NothingToResume { .. }
                | Error::CannotMark { .. }
                | Error::AlreadyRecorded { .. }
                | Error::NoSuchSnapshot { .. }
                | Error::NoSuchTable { .. }
                | Error::RestoreRefused { .. }
                | Error::OutsideSchema(_)
                | Error::NotAFile { .. }
                | Error::NotABackup { .. }
        )
    }
}

/// The rest of [`Error::Dirty`]'s message: where it stopped, with its own next step when its
/// progress was recorded, else the generic one.
fn dirty_tail(version: i64, stopped_at: &str) -> String {
    if stopped_at.is_empty() {
        format!(
            ", and its changes could not be rolled back.\n  nothing else will run until this is resolved.\n  next: inspect the database and finish or undo that migration's changes by hand, then run `cargo dbguard repair {version} --mark-applied` (if it is now fully applied) or `cargo dbguard repair {version} --forget` (if it is fully undone)"
        )
    } else {
        format!("{stopped_at}\n  nothing else will run until this is resolved.")
    }
}

/// Details of a failed migration step.
#[derive(Debug)]
pub struct MigrationFailure {
    /// The migration's version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// Where the step came from (file or Rust item).
    pub location: String,
    /// The 1-based index and line of the failing statement, and its text.
    pub statement: Option<(usize, usize, String)>,
    /// The database's message, scrubbed of secrets (or dbguard's, when `by_guard`).
    pub message: String,
    /// Whether dbguard stopped it (a guard refused the statement), not the database.
    pub by_guard: bool,
    /// A fault of the machine (full disk, missing privilege, read-only, lost connection)
    /// rather than of the migration's SQL.
    pub fault: Option<crate::model::fault::Fault>,
    /// What was kept safe.
    pub outcome: FailureOutcome,
    /// What the run did before this migration failed.
    pub done: Done,
}

/// What a run did before it failed, kept with the error so that it can be shown and acted on:
/// the migrations that stand, and the backups that were taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// Migrations applied earlier in the run (version, name): they stand.
    pub applied: Vec<(i64, String)>,
    /// Migrations reverted earlier in the run.
    pub reverted: Vec<(i64, String)>,
    /// Snapshots taken (`snapshot 3 of users (dbguard_bak_...)`).
    pub snapshots: Vec<String>,
    /// The file backup or dump taken before the run.
    pub backups: Vec<PathBuf>,
}

impl Done {
    /// Whether the run did nothing before failing.
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty() && self.reverted.is_empty() && self.snapshots.is_empty() && self.backups.is_empty()
    }
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list =
            |v: &[(i64, String)]| v.iter().map(|(n, name)| format!("{n} ({name})")).collect::<Vec<_>>().join(", ");
        if !self.applied.is_empty() {
            write!(f, "\n  applied earlier in this run, and standing: {}", list(&self.applied))?;
        }
        if !self.reverted.is_empty() {
            write!(f, "\n  reverted earlier in this run: {}", list(&self.reverted))?;
        }
        for b in &self.backups {
            write!(f, "\n  backup taken before the run: {}", b.display())?;
        }
        if !self.snapshots.is_empty() {
            write!(f, "\n  snapshots taken: {}", self.snapshots.join("; "))?;
        }
        Ok(())
    }
}

/// What state a failed migration left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Refused before anything of it was sent to the database (the message says why and
    /// what to do).
    NotRun,
    /// Rolled back in its transaction: the database is exactly as before this migration.
    RolledBack,
    /// Could not be rolled back; recorded as dirty.
    Dirty,
    /// A statement that commits itself failed after changing the schema: it ran in part. The
    /// ones before it committed and are recorded.
    RanInPart {
        /// The statement (from 1).
        statement: usize,
    },
    /// Stopped at a statement with the ones before it committed and recorded: the next `up`
    /// continues from this statement (numbered from 1).
    Resumable {
        /// The statement the next run starts with.
        statement: usize,
    },
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {} ({}) failed during {}", self.version, self.name, self.direction)?;
        match &self.statement {
            Some((index, line, text)) => {
                write!(f, " at statement {index}, line {line} of {}:\n    {}", self.location, excerpt(text))?
            }
            None => write!(f, " in {}", self.location)?,
        }
        let said = if self.by_guard { "dbguard stopped it" } else { "database said" };
        write!(f, "\n  {said}: {}", self.message)?;
        // A fault of the machine is not fixed by editing the migration.
        let fix = |sql: &str| match self.fault {
            Some(fault) => format!("{}: {}", fault.what(), fault.next_step(None)),
            None => sql.to_string(),
        };
        write!(f, "{}", self.done)?;
        let down = self.direction == crate::model::direction::Direction::Down;
        // An applied migration's file edited is drift: the down that reverts it says so.
        let again = if down { "the same `cargo dbguard down` with `--allow-drift`" } else { "`cargo dbguard up`" };
        let earlier = if down {
            "reverted earlier in this run stay reverted"
        } else {
            "applied earlier in this run stay applied"
        };
        match self.outcome {
            FailureOutcome::NotRun => write!(
                f,
                "\n  kept safe: nothing of the migration ran; the database is exactly as before it (migrations {earlier})."
            ),
            FailureOutcome::RolledBack => write!(
                f,
                "\n  kept safe: the migration was rolled back; the database is exactly as before it (migrations {earlier}).\n  next: {}, then run {again} again",
                fix(if down { "fix its down file" } else { "fix the migration" })
            ),
            FailureOutcome::Dirty => write!(
                f,
                "\n  kept safe: nothing after it ran; it is recorded as dirty because its changes could not be rolled back (a no-transaction migration, or DDL, which commits itself on MySQL).\n  next: {}; inspect the database, finish or undo its changes by hand, then `cargo dbguard repair {} --mark-applied` or `--forget`",
                fix("fix the migration"),
                self.version
            ),
            FailureOutcome::RanInPart { statement } => write!(
                f,
                "\n  kept safe: {}; statement {statement} may have done part of its work before it failed (it changed the schema, wrote a table that keeps what a failed statement did: MyISAM, Aria, or ran a procedure or block that may commit), and nothing after it ran.\n  next: {}finish or undo statement {statement} by hand, then `cargo dbguard repair {} --statement-ran` (finished) or `--statement-not-run` (undone), and {again} continues",
                committed_before(statement),
                self.fault.map(|f| format!("{}: {}; then ", f.what(), f.next_step(None))).unwrap_or_default(),
                self.version
            ),
            FailureOutcome::Resumable { statement } => write!(
                f,
                "\n  kept safe: {}; nothing from statement {statement} on stands. The migration is recorded as stopped at statement {statement}.\n  next: {}, then run {again} again: it continues from statement {statement}",
                committed_before(statement),
                fix(if statement > 1 {
                    "fix the statement that failed (leave the ones that committed as they are)"
                } else {
                    "fix the statement that failed"
                })
            ),
        }
    }
}

/// What stands of a migration stopped at `statement` (1-based): the ones before it, if any.
fn committed_before(statement: usize) -> String {
    match statement {
        0 | 1 => "no statement before it ran (it is the first)".into(),
        2 => "statement 1 committed and is recorded".into(),
        n => format!("statements 1 to {} committed and are recorded", n - 1),
    }
}

/// `text` with what follows `IDENTIFIED BY` or `PASSWORD` hidden: statements are shown in
/// messages, the audit log and `status`, and must not carry a password there.
pub(crate) fn hide_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let upper = text.to_ascii_uppercase();
    match ["IDENTIFIED", "PASSWORD"].iter().filter_map(|k| upper.find(k)).min() {
        Some(at) => format!("{}... (the rest hidden: it may hold a password)", text[..at].trim_end()).into(),
        None => text.into(),
    }
}

fn excerpt(text: &str) -> String {
    let text = hide_secrets(text);
    let first: String = text.lines().take(3).collect::<Vec<_>>().join("\n    ");
    let mut s: String = first.chars().take(300).collect();
    if s.len() < text.trim_end().len() {
        s.push_str(" ...");
    }
    s
}

/// Rows a step would change that no snapshot keeps (see [`Error::OutsideSchema`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideSchema {
    /// The migration's version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Where it is.
    pub location: String,
    /// The table (qualified when it is another schema's), or view.
    pub table: String,
    /// Why no snapshot keeps its rows.
    pub why: String,
    /// What to do.
    pub next: String,
    /// The statement (from 1) and its line, when one statement is the cause.
    pub at: Option<(usize, usize)>,
}

impl fmt::Display for OutsideSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OutsideSchema { version, name, location, table, why, next, at } = self;
        let at = match at {
            Some((statement, line)) => format!("in statement {statement} ({location}:{line})"),
            None => format!("({location})"),
        };
        write!(
            f,
            "migration {version} ({name}) would change rows of {table} {at}: {why}; no snapshot would keep them.\n  kept safe: the migration did not run; {table} is as it was.\n  next: {next}"
        )
    }
}

/// A preserved table that does not exist (see [`Error::PreservedTableMissing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPreserved {
    /// The migration's version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// The table it names.
    pub table: String,
    /// The column it names in that table (`preserves = users(email)`), when the table is there
    /// but the column is not.
    pub column: Option<String>,
    /// The existing table closest to that name.
    pub closest: Option<String>,
    /// Where the migration is.
    pub location: String,
    /// Where it is missing: `in the database`, `... nor made by the migrations before it`.
    pub when: String,
    /// What the run did before this migration (when it was found missing mid-run).
    pub done: Done,
}

impl fmt::Display for MissingPreserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.column {
            write!(
                f,
                "migration {} ({}) preserves `{}({c})`, but {} has no column `{c}`",
                self.version, self.name, self.table, self.table
            )?;
            if let Some(close) = &self.closest {
                write!(f, "; did you mean `{close}`?")?;
            }
            let ran = if self.done.is_empty() { "nothing was run" } else { "the migration did not run" };
            return write!(
                f,
                "\n  {ran}: a guard on a column that does not exist protects nothing.{}\n  next: fix the column's name in the `preserves` line of {} (`-- dbguard: preserves = {}({})`)",
                self.done,
                self.location,
                self.table,
                self.closest.as_deref().unwrap_or("...")
            );
        }
        write!(
            f,
            "migration {} ({}) preserves `{}`, but there is no table `{}` {}",
            self.version, self.name, self.table, self.table, self.when
        )?;
        match &self.closest {
            // `public.users` when `users` is there: the schema is the migration's own.
            Some(c)
                if self.table.contains('.')
                    && self
                        .table
                        .rsplit('.')
                        .next()
                        .is_some_and(|b| b.trim_matches(['"', '`']).eq_ignore_ascii_case(c)) =>
            {
                write!(f, "; `preserves` names tables without their schema (the migration's own): write `{c}`")?
            }
            Some(c) => write!(f, "; did you mean `{c}`?")?,
            None => {}
        }
        let ran = if self.done.is_empty() {
            "nothing was run".to_string()
        } else {
            format!("migration {} did not run", self.version)
        };
        write!(
            f,
            "\n  {ran}: a guard on a table that does not exist protects nothing.{}\n  next: fix the name in {} (`-- dbguard: preserves = {}`)",
            self.done,
            self.location,
            self.closest.as_deref().unwrap_or("...")
        )
    }
}

/// What a production change needs confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The command (`up`, `down`, `restore`, `backups prune`, ...).
    pub action: String,
    /// The name to type: the database's name.
    pub database: String,
    /// The URL, masked.
    pub url: String,
    /// Why the database is production (`this URL is databases.prod in Cargo.toml`, ...).
    pub reason: String,
    /// What would run: one line per migration, table or file, with what it destroys.
    pub what: Vec<String>,
    /// A confirmation that was given but names another database.
    pub given: Option<String>,
}

impl fmt::Display for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.given {
            Some(g) => write!(
                f,
                "the confirmation `{g}` does not name the production database `{}` ({}); refusing to {}",
                self.database, self.url, self.action
            )?,
            None => write!(
                f,
                "refusing to {} on the production database `{}` ({}) without a confirmation",
                self.action, self.database, self.url
            )?,
        }
        write!(f, "\n  it is production because {}", self.reason)?;
        for w in &self.what {
            write!(f, "\n  - {w}")?;
        }
        write!(
            f,
            "\n  nothing was changed.\n  next: check the list, then run again with `--confirm {}` (or type the name when asked)",
            self.database
        )
    }
}

/// A migration that would have lost preserved rows, and what dbguard did about it.
#[derive(Debug)]
pub struct RowsLost {
    /// The migration's version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// Up or down.
    pub direction: Direction,
    /// Each preserved table that lost rows.
    pub losses: Vec<Loss>,
    /// What was done.
    pub outcome: LossOutcome,
    /// What the run did before this migration.
    pub done: Done,
}

/// Rows a step took from a preserved table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Loss {
    /// The table.
    pub table: String,
    /// Rows before the step.
    pub before: i64,
    /// Rows after it; `None` when the table no longer exists.
    pub after: Option<i64>,
    /// Whether the table was preserved exactly (any change in count is a loss).
    pub exact: bool,
    /// For preserved columns (`preserves = users(email, name)`): the columns whose values
    /// changed (the row count may be intact), or that are gone.
    pub columns: Option<Vec<String>>,
    /// Whether those columns no longer exist (dropped or renamed) rather than changed.
    pub column_gone: bool,
}

/// How a migration that lost preserved rows was undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LossOutcome {
    /// Rolled back in its transaction: nothing changed.
    RolledBack,
    /// The step could not be rolled back (MySQL DDL, or a non-transactional migration): the
    /// tables were restored from these snapshots, and the migration is recorded as dirty.
    Restored {
        /// `table <- snapshot` descriptions.
        restored: Vec<String>,
    },
    /// Restoring failed too; the snapshots are intact.
    RestoreFailed {
        /// The snapshots to restore from, by table.
        snapshots: Vec<String>,
        /// Why the restore failed.
        message: String,
    },
}

impl fmt::Display for RowsLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what: Vec<String> = self
            .losses
            .iter()
            .map(|l| match (l.after, &l.columns) {
                (Some(_), Some(cols)) if l.column_gone => {
                    format!("removed the column(s) {} of {}, whose values it preserves", cols.join(", "), l.table)
                }
                (Some(_), Some(cols)) => format!(
                    "changed values of {}({}), which it preserves (a checksum of them over every row differs)",
                    l.table,
                    cols.join(", ")
                ),
                (None, _) => {
                    format!("removed {} of {} rows from {} (the table would be gone)", l.before, l.before, l.table)
                }
                (Some(n), None) if n < l.before => {
                    format!("removed {} of {} rows from {}", l.before - n, l.before, l.table)
                }
                (Some(n), None) => {
                    format!("changed the row count of {} from {} to {n} (it is preserved exactly)", l.table, l.before)
                }
            })
            .collect();
        let verb = if self.direction == Direction::Down { "reverting migration" } else { "migration" };
        write!(f, "{verb} {} ({}) would have {}", self.version, self.name, what.join(", and "))?;
        let next = match &self.outcome {
            LossOutcome::RolledBack => {
                write!(f, "; rolled back, nothing changed.")?;
                "fix the migration so that it keeps the rows and the preserved values (it was not applied, so edit it); if they should go, say so: take the table (or the columns) out of its `preserves` line, or write the data somewhere else first".to_string()
            }
            LossOutcome::Restored { restored } => {
                write!(
                    f,
                    "; its changes could not be rolled back, so the rows were restored from snapshots ({}).\n  the migration is recorded as dirty: its other changes may stand.",
                    restored.join(", ")
                )?;
                format!(
                    "check the schema, undo what is left of the migration by hand, then `cargo dbguard repair {} --forget`",
                    self.version
                )
            }
            LossOutcome::RestoreFailed { snapshots, message } => {
                write!(
                    f,
                    "; its changes could not be rolled back, and restoring failed: {message}.\n  kept safe: the snapshots are intact ({}).",
                    snapshots.join(", ")
                )?;
                format!("`cargo dbguard restore <ID>` for each, then `cargo dbguard repair {} --forget`", self.version)
            }
        };
        write!(f, "{}\n  next: {next}", self.done)
    }
}

/// An applied migration whose text changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftInfo {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// The checksum recorded when it was applied.
    pub applied_checksum: String,
    /// The checksum of the text now.
    pub current_checksum: String,
    /// Where it is now.
    pub location: String,
}

fn drift_message(drift: &[DriftInfo]) -> String {
    let mut s = String::from("applied migrations were edited after they ran (drift):");
    for d in drift {
        // The checksum covers both files of a migration: either may be the one edited.
        let both = d.location.strip_suffix("up.sql").map(|dir| format!("{dir}up.sql or {dir}down.sql"));
        s.push_str(&format!(
            "\n  - {} ({}) in {}: applied with checksum {}, the files now have {}",
            d.version,
            d.name,
            both.as_deref().unwrap_or(&d.location),
            d.applied_checksum,
            d.current_checksum
        ));
    }
    s.push_str("\n  nothing was run.\n  next: undo the edit (`git diff` / `git log -p` on the file) and put the change in a new migration; if the edit is harmless (a comment), run with `--allow-drift` (`Migrator::allow_drift(true)`)");
    s
}

/// Problems found while loading migrations; nothing was run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Every problem found (loading does not stop at the first).
    pub problems: Vec<Problem>,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or directory.
    pub path: PathBuf,
    /// The 1-based line, where it is known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<PathBuf>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem { path: path.into(), line: None, message: message.into(), fix: fix.into() }
    }

    pub(crate) fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{} in the migrations; nothing was run:", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {}", p.path.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": {}\n    fix: {}", p.message, p.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::committed_before;

    #[test]
    fn a_first_statement_has_nothing_before_it() {
        assert_eq!(committed_before(1), "no statement before it ran (it is the first)");
        assert_eq!(committed_before(2), "statement 1 committed and is recorded");
        assert_eq!(committed_before(5), "statements 1 to 4 committed and are recorded");
    }
}
