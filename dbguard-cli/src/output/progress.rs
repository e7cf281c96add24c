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

/// What a run is doing now, as the bar and the lines show it.
#[derive(Default)]
struct Now {
    /// The migration running: `up`, `3/7`, `20261201 add_email` (the bar shows the counts itself).
    step: Option<(String, String, String)>,
    /// Long work inside it (or inside a command: a restore).
    work: Option<dbguard::Work>,
    /// Statements of the step that ran, of how many.
    statements: Option<(usize, usize)>,
    /// When what is shown began.
    since: Option<std::time::Instant>,
}

impl Now {
    /// Takes in an event; false for those that are not progress.
    fn update(&mut self, p: &dbguard::Progress) -> bool {
        let now = Some(std::time::Instant::now());
        match p {
            dbguard::Progress::BackingUp => {
                let step = Some(("backing up the database first".into(), String::new(), String::new()));
                *self = Now { step, since: now, ..Now::default() };
            }
            dbguard::Progress::Step { index, total, direction, version, name } => {
                let step = Some((direction.to_string(), format!("{}/{total}", index + 1), format!("{version} {name}")));
                *self = Now { step, since: now, ..Now::default() };
            }
            dbguard::Progress::Work(w) => {
                (self.work, self.statements, self.since) = (Some(w.clone()), None, now);
            }
            dbguard::Progress::Statements { done, total } => {
                if self.work.take().is_some() {
                    self.since = now;
                }
                self.statements = Some((*done, *total));
            }
            dbguard::Progress::Finished | dbguard::Progress::EndedStaleRunner { .. } => return false,
        }
        true
    }

    /// `up 3/7 20261201 add_email: snapshot users (about 2,000,000 rows), 1.2 MB written`; without
    /// `counts`, `up 20261201 add_email: ...` (for the bar, which shows them).
    fn line(&self, counts: bool) -> Option<String> {
        let detail = match (&self.work, self.statements) {
            (Some(w), _) => {
                let written = w.growing.as_ref().and_then(|f| std::fs::metadata(f).ok()).map(|m| m.len());
                Some(match (written, w.bytes) {
                    (Some(n), Some(of)) => format!("{w}, {} of {} written", megabytes(n), megabytes(of)),
                    (Some(n), None) => format!("{w}, {} written", megabytes(n)),
                    _ => w.to_string(),
                })
            }
            // The statement running (or the last, once all ran).
            (None, Some((done, total))) if total > 1 => {
                let at = (done + 1).min(total);
                Some(format!("statement {}/{}", dbguard::thousands(at as i64), dbguard::thousands(total as i64)))
            }
            _ => None,
        };
        let step = self.step.as_ref().map(|(what, of, which)| {
            [what.as_str(), if counts { of.as_str() } else { "" }, which.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        });
        match (step, detail) {
            (Some(step), Some(d)) => Some(format!("{step}: {d}")),
            (Some(step), None) => Some(step),
            (None, d) => d,
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
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

    /// The callback to hand to `on_progress`.
    pub fn hook(&self) -> impl Fn(&dbguard::Progress) + Send + Sync + 'static {
        let (bar, started) = (self.bar.clone(), self.started.clone());
        let now = std::sync::Mutex::new(Now::default());
        move |p: &dbguard::Progress| {
            started.store(true, Ordering::SeqCst);
            match p {
                dbguard::Progress::Step { index, total, .. } => {
                    bar.set_length(*total as u64);
                    bar.set_position(*index as u64);
                }
                // A run within the command ended (a rehearsal has several): nothing to say until
                // the next begins. The bar goes when the command drops it.
                dbguard::Progress::Finished => {
                    if let Ok(mut n) = now.lock() {
                        *n = Now::default();
                    }
                    bar.set_message("");
                    return;
                }
                p @ dbguard::Progress::EndedStaleRunner { .. } => return bar.suspend(|| notices(p)),
                _ => {}
            }
            if let Ok(mut n) = now.lock()
                && n.update(p)
                && let Some(line) = n.line(false)
            {
                bar.set_message(line);
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
/// deploy and a slow one look different:
/// `[12s] up 3/7 20261201 add_email: snapshot users (about 2,000,000 rows) (running 9s)`.
/// Short runs print nothing. `DBGUARD_PROGRESS_EVERY` sets the interval in seconds (default 5).
pub struct Lines {
    now: Arc<std::sync::Mutex<Now>>,
    done: Arc<AtomicBool>,
}

impl Lines {
    /// Starts the reporter (a thread that wakes every tenth of a second to see if it is done).
    pub fn start() -> Lines {
        let every = interval(std::env::var("DBGUARD_PROGRESS_EVERY").ok().as_deref());
        let now: Arc<std::sync::Mutex<Now>> = Arc::default();
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
                let line = state.lock().ok().and_then(|s| Some((s.line(true)?, s.since?)));
                if let Some((what, since)) = line
                    && !finished.load(Ordering::SeqCst)
                {
                    eprintln!("[{}s] {what} (running {}s)", begun.elapsed().as_secs(), since.elapsed().as_secs());
                }
            }
        });
        Lines { now, done }
    }

    /// The callback to hand to `on_progress`.
    pub fn hook(&self) -> impl Fn(&dbguard::Progress) + Send + Sync + 'static {
        let now = self.now.clone();
        move |p: &dbguard::Progress| match p {
            // A run within the command ended (a rehearsal has several): nothing to say until
            // the next begins; the lines stop when the command drops the reporter.
            dbguard::Progress::Finished => {
                if let Ok(mut n) = now.lock() {
                    *n = Now::default();
                }
            }
            p @ dbguard::Progress::EndedStaleRunner { .. } => notices(p),
            p => {
                if let Ok(mut n) = now.lock() {
                    n.update(p);
                }
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// The interval between lines: `DBGUARD_PROGRESS_EVERY` seconds (5 by default), kept between
/// 0.05 s and an hour. A value that is not a number of seconds is said, and the default used.
fn interval(var: Option<&str>) -> Duration {
    const DEFAULT: Duration = Duration::from_secs(5);
    let Some(text) = var else { return DEFAULT };
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s.clamp(0.05, 3600.0)),
        _ => {
            eprintln!(
                "warning: DBGUARD_PROGRESS_EVERY={text:?} is not a number of seconds above 0 (such as 5 or 0.5); progress lines every 5 s"
            );
            DEFAULT
        }
    }
}

/// What shows a text run's progress: a bar on a terminal, lines on a pipe, nothing with
/// `--quiet`.
pub enum Reporter {
    /// On a terminal.
    Bar(Bar),
    /// On a pipe.
    Lines(Lines),
    /// `--quiet`: only what a person must know (`notices`).
    Quiet,
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
            Reporter::Quiet => m,
        }
    }

    /// Hands the reporter's callback to the backup API (restores, snapshots, file backups).
    pub fn attach_backups(&self, b: dbguard::Backups) -> dbguard::Backups {
        match self {
            Reporter::Bar(bar) => b.on_progress(bar.hook()),
            Reporter::Lines(l) => b.on_progress(l.hook()),
            Reporter::Quiet => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Now;
    use dbguard::{Progress, Task, Work};

    #[test]
    fn a_line_says_the_step_and_what_inside_it_takes_long() {
        let mut n = Now::default();
        assert_eq!(n.line(true), None, "nothing to say before anything began");
        n.update(&Progress::Step {
            index: 2,
            total: 7,
            direction: dbguard::Direction::Up,
            version: 20261201,
            name: "add_email".into(),
        });
        assert_eq!(n.line(true).as_deref(), Some("up 3/7 20261201 add_email"));
        assert_eq!(n.line(false).as_deref(), Some("up 20261201 add_email"), "the bar shows the counts itself");
        n.update(&Progress::Work(Work::new(Task::Snapshot, "users").about(Some(2_000_000))));
        assert_eq!(n.line(true).as_deref(), Some("up 3/7 20261201 add_email: snapshot users (about 2,000,000 rows)"));
        n.update(&Progress::Statements { done: 1200, total: 500_000 });
        assert_eq!(n.line(true).as_deref(), Some("up 3/7 20261201 add_email: statement 1,201/500,000"));
        // A step of one statement says nothing more than its name.
        n.update(&Progress::Statements { done: 1, total: 1 });
        assert_eq!(n.line(true).as_deref(), Some("up 3/7 20261201 add_email"));
        // A restore has no step.
        let mut n = Now::default();
        n.update(&Progress::Work(Work::new(Task::Restore, "users").rows(2_000_000i64)));
        assert_eq!(n.line(true).as_deref(), Some("putting rows back into users (2,000,000 rows)"));
    }

    #[test]
    fn the_interval_is_read_safely() {
        use std::time::Duration;
        assert_eq!(super::interval(None), Duration::from_secs(5));
        assert_eq!(super::interval(Some("0.5")), Duration::from_millis(500));
        // Too big, too small, not numbers: never a panic, never a flood.
        assert_eq!(super::interval(Some("inf")), Duration::from_secs(5));
        assert_eq!(super::interval(Some("1e400")), Duration::from_secs(5));
        assert_eq!(super::interval(Some("18446744073709551616")), Duration::from_secs(3600));
        assert_eq!(super::interval(Some("0.001")), Duration::from_millis(50));
        for bad in ["abc", "0", "-1", "NaN", ""] {
            assert_eq!(super::interval(Some(bad)), Duration::from_secs(5), "{bad}");
        }
    }

    #[test]
    fn a_file_being_written_shows_its_size() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("b.partial");
        std::fs::write(&f, vec![0u8; 1_500_000]).unwrap();
        let mut n = Now::default();
        n.update(&Progress::Work(Work::new(Task::FileBackup, "shop.db").writing(f, Some(3_000_000))));
        assert_eq!(n.line(true).as_deref(), Some("file backup of shop.db, 1.5 MB of 3.0 MB written"));
    }
}
