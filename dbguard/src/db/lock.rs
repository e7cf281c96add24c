//! The lock that keeps two runners from migrating one database at the same time.
//!
//! A second runner polls until the first is done (bounded by a timeout), then finds the work
//! already applied. Every lock is released by the operating system or the server when its holder
//! dies, so a crashed runner never wedges the next one — except on MySQL/MariaDB, where the
//! server finishes a dead runner's statement before it notices: there each runner also holds an
//! "alive" lock on a second, idle connection, which the server drops the moment the process
//! dies, so that a later runner can tell a dead holder from a slow one and, when asked
//! (`--kill-stale-runner`), end its statement.

use std::fs::{File, OpenOptions, TryLockError};
use std::time::{Duration, Instant};

use crate::db::backend::{LockMethod, StaleRunner};
use crate::db::database::Database;
use crate::db::open_mode::OpenMode;
use crate::error::{Error, Result};
use crate::model::progress::{Progress, ProgressHook};

const POLL: Duration = Duration::from_millis(25);
/// How often a waiting runner checks that the lock's holder is still alive (MySQL/MariaDB).
const LOOK: Duration = Duration::from_secs(1);

/// How a runner waits for the migration lock.
#[derive(Debug, Clone)]
pub(crate) struct LockWait {
    /// The lock's name: the version table's.
    pub key: String,
    /// How long to wait for another runner.
    pub timeout: Duration,
    /// End the statement of a holder whose runner is gone (MySQL/MariaDB) instead of waiting
    /// for it to finish.
    pub kill_stale_runner: bool,
}

/// A held migration lock. Release it with [`MigrationLock::release`]; dropping it releases the
/// file lock, and the server releases session locks when the connection closes.
pub(crate) struct MigrationLock {
    method: LockMethod,
    _file: Option<File>,
    /// The connection holding this runner's alive lock (and its SQL to release it), closed
    /// after the migration lock is released.
    alive: Option<(Database, String)>,
}

impl MigrationLock {
    /// Takes the lock, waiting up to `wait.timeout`; tells `progress` when it ended a stale
    /// runner's statement.
    pub async fn acquire(db: &mut Database, wait: &LockWait, progress: &ProgressHook) -> Result<Self> {
        let key = wait.key.as_str();
        let method = db.env.backend.lock_method(key);
        let stale = db.env.backend.stale_runner(key);
        // Taken before the migration lock, so that whoever sees this session hold the lock
        // also sees it alive.
        let alive = match &stale {
            Some(s) => Some(take_alive_lock(db, s).await?),
            None => None,
        };
        let started = Instant::now();
        let mut ended = Vec::new();
        // Whether the holder is alive costs two queries: asked about once a second, not at
        // every poll of the lock.
        let mut next_look = started;
        loop {
            let taken = match &method {
                LockMethod::None => Some(None),
                LockMethod::File(path) => try_file_lock(path)
                    .map_err(|e| Error::LockFile { path: path.clone(), message: e.to_string() })?
                    .map(Some),
                LockMethod::Sql { acquire, .. } => (db.query_i64(acquire).await? == 1).then_some(None),
            };
            if let Some(file) = taken {
                return Ok(MigrationLock { method, _file: file, alive });
            }
            let gone = match &stale {
                Some(s) if Instant::now() >= next_look || started.elapsed() >= wait.timeout => {
                    next_look = Instant::now() + LOOK;
                    gone_holder(db, s).await?
                }
                _ => None,
            };
            if let (Some(id), Some(s), true) = (gone, &stale, wait.kill_stale_runner)
                && !ended.contains(&id)
            {
                let holder = describe_holder(db, key).await;
                // The holder may have finished meanwhile: ending an unknown session is no error.
                let _ = db.session().execute(&(s.end)(id), "ending a stale runner's session").await;
                ended.push(id);
                progress.emit(Progress::EndedStaleRunner { holder: holder.unwrap_or_else(|| format!("session {id}")) });
                continue;
            }
            if started.elapsed() >= wait.timeout {
                let holder = describe_holder(db, key).await;
                return Err(Error::LockTimeout {
                    url: db.url().to_string(),
                    waited: started.elapsed(),
                    holder,
                    runner_gone: gone.is_some(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Releases the lock.
    pub async fn release(self, db: &mut Database) -> Result<()> {
        if let LockMethod::Sql { release, .. } = &self.method {
            db.query_i64(release).await?;
        }
        if let Some((mut alive, release)) = self.alive {
            let _ = alive.session().query_i64(&release, "releasing the runner's alive lock").await;
            let _ = alive.close().await;
        }
        Ok(())
    }
}

/// Opens the second connection and takes this session's alive lock on it. Without it a later
/// runner would take this one for dead, so failing to take it fails the run.
async fn take_alive_lock(db: &mut Database, s: &StaleRunner) -> Result<(Database, String)> {
    let id = db.session().query_i64(s.session_id, "reading the session id").await?;
    let mut alive = Box::pin(Database::open(db.env.raw_url(), OpenMode::Existing)).await?;
    alive.session().execute(s.keep_open, "keeping the runner's alive connection open").await?;
    if alive.session().query_i64(&(s.alive)(id), "taking the runner's alive lock").await? != 1 {
        let _ = alive.close().await;
        return Err(Error::AliveLock { url: db.url().to_string(), session: id });
    }
    Ok((alive, (s.release)(id)))
}

/// The session holding the lock when its runner is gone (its alive lock is free).
async fn gone_holder(db: &mut Database, s: &StaleRunner) -> Result<Option<i64>> {
    let id = db.session().query_i64(&s.holder, "finding who holds the lock").await?;
    if id == 0 {
        return Ok(None);
    }
    let gone = db.session().query_i64(&(s.gone)(id), "checking the lock holder is alive").await? == 1;
    Ok(gone.then_some(id))
}

/// Who holds the lock (process, host, what it runs, since when), where the database can tell.
async fn describe_holder(db: &mut Database, key: &str) -> Option<String> {
    let sql = db.env.backend.lock_holder_sql(key)?;
    db.session().strings(&sql, "finding who holds the lock").await.ok().and_then(|h| h.into_iter().next())
}

/// Runs `f` holding the lock, and releases it whatever `f` returned (an error of
/// `f` wins over an error releasing).
pub(crate) async fn with_lock<T>(
    db: &mut Database,
    wait: &LockWait,
    progress: &ProgressHook,
    f: impl AsyncFnOnce(&mut Database) -> Result<T>,
) -> Result<T> {
    let lock = MigrationLock::acquire(db, wait, progress).await?;
    let result = f(db).await;
    // Set by the change that ran under the lock, for its long work; not beyond it.
    db.env.progress = ProgressHook::default();
    let released = lock.release(db).await;
    let value = result?;
    released?;
    Ok(value)
}

fn try_file_lock(path: &std::path::Path) -> std::io::Result<Option<File>> {
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}
