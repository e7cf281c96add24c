//! The progress bar of `up` and `down` (indicatif): drawn on standard error when it is a
//! terminal and the run has taken over a second; never in JSON output or when piped.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the bar shows: short runs stay quiet.
const DELAY: Duration = Duration::from_secs(1);

/// Prints what a person must know whatever the output format (on standard error): the one
/// progress event that is not progress.
pub fn notices(p: &dbguard::Progress) {
    if let dbguard::Progress::EndedStaleRunner { holder } = p {
        eprintln!("ended the statement of a runner that is gone (--kill-stale-runner): {holder}");
    }
}

/// A progress bar fed by `Migrator::on_progress`; cleared when dropped, whatever the run's
/// outcome.
pub struct Bar {
    bar: ProgressBar,
    done: Arc<AtomicBool>,
    /// Set by the first progress event: the work has begun, past any confirmation prompt,
    /// which the bar must never draw over.
    started: Arc<AtomicBool>,
}

impl Bar {
    /// A bar, or `None` when standard error is not a terminal.
    pub fn for_terminal() -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg} {elapsed}") {
            bar.set_style(style.progress_chars("=> "));
        }
        let (done, started) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        // Shown only if the run is still going after DELAY, and once the work has begun.
        let (shown, finished, begun) = (bar.clone(), done.clone(), started.clone());
        std::thread::spawn(move || {
            std::thread::sleep(DELAY);
            while !begun.load(Ordering::SeqCst) && !finished.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !finished.load(Ordering::SeqCst) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Some(Bar { bar, done, started })
    }

    /// The callback to hand to `Migrator::on_progress`.
    pub fn hook(&self) -> impl Fn(&dbguard::Progress) + Send + Sync + 'static {
        let (bar, done, started) = (self.bar.clone(), self.done.clone(), self.started.clone());
        move |p: &dbguard::Progress| {
            started.store(true, Ordering::SeqCst);
            match p {
                dbguard::Progress::BackingUp => bar.set_message("backing up the database first"),
                dbguard::Progress::Step { index, total, direction, version, name } => {
                    bar.set_length(*total as u64);
                    bar.set_position(*index as u64);
                    bar.set_message(format!("{direction} {version} {name}"));
                }
                dbguard::Progress::Finished => {
                    done.store(true, Ordering::SeqCst);
                    bar.finish_and_clear();
                }
                p @ dbguard::Progress::EndedStaleRunner { .. } => bar.suspend(|| notices(p)),
            }
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        self.bar.finish_and_clear();
    }
}

/// On a pipe (CI logs), a plain line every few seconds while a run goes on, so that a stuck
/// deploy and a slow one look different: `[12s] up 3/7 20261201_add_email (running 9s)`.
/// Short runs print nothing. `DBGUARD_PROGRESS_EVERY` sets the interval in seconds (default 5).
pub struct Lines {
    now: Arc<std::sync::Mutex<Option<(String, std::time::Instant)>>>,
    done: Arc<AtomicBool>,
}

impl Lines {
    /// Starts the reporter (a thread that wakes every tenth of a second to see if it is done).
    pub fn start() -> Lines {
        let every = std::env::var("DBGUARD_PROGRESS_EVERY")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map_or(Duration::from_secs(5), Duration::from_secs_f64);
        let now: Arc<std::sync::Mutex<Option<(String, std::time::Instant)>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let (state, finished) = (now.clone(), done.clone());
        std::thread::spawn(move || {
            let begun = std::time::Instant::now();
            let mut next = begun + every;
            while !finished.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100).min(every));
                if std::time::Instant::now() < next {
                    continue;
                }
                next += every;
                let line = state.lock().ok().and_then(|s| s.clone());
                if let Some((what, since)) = line
                    && !finished.load(Ordering::SeqCst)
                {
                    eprintln!("[{}s] {what} (running {}s)", begun.elapsed().as_secs(), since.elapsed().as_secs());
                }
            }
        });
        Lines { now, done }
    }

    /// The callback to hand to `Migrator::on_progress`.
    pub fn hook(&self) -> impl Fn(&dbguard::Progress) + Send + Sync + 'static {
        let (now, done) = (self.now.clone(), self.done.clone());
        move |p: &dbguard::Progress| {
            let what = match p {
                dbguard::Progress::BackingUp => "backing up the database first".to_string(),
                dbguard::Progress::Step { index, total, direction, version, name } => {
                    format!("{direction} {}/{total} {version} {name}", index + 1)
                }
                dbguard::Progress::Finished => {
                    done.store(true, Ordering::SeqCst);
                    return;
                }
                p @ dbguard::Progress::EndedStaleRunner { .. } => return notices(p),
            };
            if let Ok(mut n) = now.lock() {
                *n = Some((what, std::time::Instant::now()));
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// What shows a text run's progress: a bar on a terminal, lines on a pipe.
pub enum Reporter {
    /// On a terminal.
    Bar(Bar),
    /// On a pipe.
    Lines(Lines),
}

impl Reporter {
    /// The reporter for where standard error goes.
    pub fn for_stderr() -> Reporter {
        match Bar::for_terminal() {
            Some(b) => Reporter::Bar(b),
            None => Reporter::Lines(Lines::start()),
        }
    }

    /// Hands the reporter's callback to the migrator.
    pub fn attach(&self, m: dbguard::Migrator) -> dbguard::Migrator {
        match self {
            Reporter::Bar(b) => m.on_progress(b.hook()),
            Reporter::Lines(l) => m.on_progress(l.hook()),
        }
    }
}
