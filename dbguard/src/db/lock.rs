//! The lock that keeps two runners from migrating one database at the same time.
//!
//! A second runner polls until the first is done (bounded by a timeout), then finds the work
//! already applied. Every lock is released by the operating system or the server when its holder
//! dies, so a crashed runner never wedges the next one.

use std::fs::{File, OpenOptions, TryLockError};
use std::time::{Duration, Instant};

use crate::db::backend::LockMethod;
use crate::db::database::Database;
use crate::error::{Error, Result};

const POLL: Duration = Duration::from_millis(25);

/// A held migration lock. Release it with [`MigrationLock::release`]; dropping it releases the
/// file lock, and the server releases session locks when the connection closes.
#[derive(Debug)]
pub(crate) struct MigrationLock {
    method: LockMethod,
    _file: Option<File>,
}

impl MigrationLock {
    /// Takes the lock named `key`, waiting up to `timeout`.
    pub async fn acquire(db: &mut Database, key: &str, timeout: Duration) -> Result<Self> {
        let method = db.env.backend.lock_method(key);
        let started = Instant::now();
        loop {
            let taken = match &method {
                LockMethod::None => Some(None),
                LockMethod::File(path) => try_file_lock(path)
                    .map_err(|e| Error::LockFile { path: path.clone(), message: e.to_string() })?
                    .map(Some),
                LockMethod::Sql { acquire, .. } => (db.query_i64(acquire).await? == 1).then_some(None),
            };
            if let Some(file) = taken {
                return Ok(MigrationLock { method, _file: file });
            }
            if started.elapsed() >= timeout {
                let holder = match db.env.backend.lock_holder_sql(key) {
                    Some(sql) => db
                        .session()
                        .strings(&sql, "finding who holds the lock")
                        .await
                        .ok()
                        .and_then(|h| h.into_iter().next()),
                    None => None,
                };
                return Err(Error::LockTimeout { url: db.url().to_string(), waited: started.elapsed(), holder });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Releases the lock.
    pub async fn release(self, db: &mut Database) -> Result<()> {
        if let LockMethod::Sql { release, .. } = &self.method {
            db.query_i64(release).await?;
        }
        Ok(())
    }
}

/// Runs `f` holding the lock named `key`, and releases it whatever `f` returned (an error of
/// `f` wins over an error releasing).
pub(crate) async fn with_lock<T>(
    db: &mut Database,
    key: &str,
    timeout: Duration,
    f: impl AsyncFnOnce(&mut Database) -> Result<T>,
) -> Result<T> {
    let lock = MigrationLock::acquire(db, key, timeout).await?;
    let result = f(db).await;
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
