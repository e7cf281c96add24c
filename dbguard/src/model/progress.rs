//! Progress of a run, reported to whoever shows it (the CLI draws a progress bar from it).

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
    /// Every migration of the run is done.
    Finished,
    /// The runner that held the migration lock was gone while the server still ran its
    /// statement; this run ended that statement (`--kill-stale-runner`).
    EndedStaleRunner {
        /// Who held the lock: session, host, what it ran, since when.
        holder: String,
    },
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
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "ProgressHook(set)" } else { "ProgressHook(none)" })
    }
}
