//! Progress of a run, reported to whoever shows it (the CLI draws a progress bar from it).

use std::path::PathBuf;
use std::sync::Arc;

/// What a run is doing now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The whole-database backup before the run is being taken.
    BackingUp,
    /// Migration `index` (0-based) of `total` starts, in `direction` (`up` or `down`).
    Step {
        /// 0-based position in the run.
        index: usize,
        /// Migrations in the run.
        total: usize,
        /// Up or down.
        direction: crate::model::direction::Direction,
        /// Version.
        version: i64,
        /// Name.
        name: String,
    },
    /// Long work inside a step or a command began (a snapshot, a restore, a backup): it lasts
    /// until the next event.
    Work(Work),
    /// `done` statements of the current step's `total` have run: sent before each statement (or
    /// round trip of them) and after the last, so that a long migration shows the one running.
    /// A step sent whole in one round trip has a `total` of 0.
    Statements {
        /// Statements that ran.
        done: usize,
        /// Statements in the step.
        total: usize,
    },
    /// Every migration of the run is done.
    Finished,
    /// The runner that held the migration lock was gone while the server still ran its
    /// statement; this run ended that statement (`--kill-stale-runner`).
    EndedStaleRunner {
        /// Who held the lock: session, host, what it ran, since when.
        holder: String,
    },
}

/// A piece of long work, as a progress line shows it: `snapshot users (2,000,000 rows)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    /// What is being done.
    pub task: Task,
    /// The table (or database file) it is done to.
    pub subject: String,
    /// How many rows it handles, when known (counted, or the planner's estimate).
    pub rows: Option<u64>,
    /// `rows` is the planner's estimate, not a count.
    pub estimated: bool,
    /// The bytes it will write, when known (a file backup: the database's size).
    pub bytes: Option<u64>,
    /// A file being written by the work, whose size shows how far it is.
    pub growing: Option<PathBuf>,
}

/// Kinds of long work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Copying a table into a snapshot.
    Snapshot,
    /// Copying the rows a statement will delete or overwrite.
    KeepRows,
    /// Checking a snapshot's content before it is used.
    CheckSnapshot,
    /// Putting a snapshot's rows back into a table.
    Restore,
    /// Comparing a restored table with its snapshot.
    Verify,
    /// Writing a file backup of a SQLite database.
    FileBackup,
    /// Checking a file backup (integrity and row counts).
    CheckFileBackup,
    /// Copying a file backup over the database.
    FileRestore,
    /// Writing a dump with the database's dump tool.
    Dump,
}

impl Work {
    /// Work of `task` on `subject`, sizes unknown.
    pub fn new(task: Task, subject: impl Into<String>) -> Work {
        Work { task, subject: subject.into(), rows: None, estimated: false, bytes: None, growing: None }
    }

    /// With a row count.
    pub fn rows(mut self, rows: impl TryInto<u64>) -> Work {
        self.rows = rows.try_into().ok();
        self
    }

    /// With the planner's estimate of its rows (or a count, where counting is cheap).
    pub fn about(mut self, rows: Option<u64>) -> Work {
        self.rows = rows;
        self.estimated = true;
        self
    }

    /// With the file it writes and how big it will be.
    pub fn writing(mut self, file: PathBuf, bytes: Option<u64>) -> Work {
        self.growing = Some(file);
        self.bytes = bytes;
        self
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Snapshot => "snapshot",
            Task::KeepRows => "keeping the rows",
            Task::CheckSnapshot => "checking the snapshot of",
            Task::Restore => "putting rows back into",
            Task::Verify => "verifying the restored",
            Task::FileBackup => "file backup of",
            Task::CheckFileBackup => "checking the file backup of",
            Task::FileRestore => "copying the backup over",
            Task::Dump => "dump of",
        })
    }
}

impl std::fmt::Display for Work {
    /// `snapshot users (2,000,000 rows)`; what a file being written holds so far is the
    /// reporter's to add.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.task, self.subject)?;
        let about = if self.estimated { "about " } else { "" };
        match self.rows {
            Some(1) => write!(f, " ({about}1 row)"),
            Some(n) => write!(f, " ({about}{} rows)", thousands(n as i64)),
            None => Ok(()),
        }
    }
}

/// `1234567` as `1,234,567`: counts as progress lines and reports show them.
///
/// ```
/// assert_eq!(dbguard::thousands(-1234567), "-1,234,567");
/// ```
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A callback for [`Progress`], set with [`crate::Migrator::on_progress`].
#[derive(Clone, Default)]
pub(crate) struct ProgressHook(Option<Callback>);

type Callback = Arc<dyn Fn(&Progress) + Send + Sync>;

impl ProgressHook {
    pub(crate) fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        ProgressHook(Some(Arc::new(f)))
    }

    pub(crate) fn emit(&self, p: Progress) {
        if let Some(f) = &self.0 {
            f(&p);
        }
    }

    /// Whether anyone listens: work that only feeds progress lines is skipped otherwise.
    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Reports long work beginning.
    pub(crate) fn work(&self, w: Work) {
        self.emit(Progress::Work(w));
    }
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "ProgressHook(set)" } else { "ProgressHook(none)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_reads_as_a_line() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(
            Work::new(Task::Snapshot, "users").rows(2_000_000i64).to_string(),
            "snapshot users (2,000,000 rows)"
        );
        assert_eq!(Work::new(Task::Restore, "users").rows(1i64).to_string(), "putting rows back into users (1 row)");
        assert_eq!(Work::new(Task::Snapshot, "users").about(Some(5)).to_string(), "snapshot users (about 5 rows)");
        // A count that cannot be one (an estimate of -1) is left out, not shown as a huge number.
        assert_eq!(Work::new(Task::Dump, "shop").rows(-1i64).to_string(), "dump of shop");
    }
}
