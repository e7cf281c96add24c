//! Whole-file backups of a SQLite database, taken with `VACUUM INTO` (consistent while the
//! application keeps writing), verified with `PRAGMA integrity_check` and per-table row counts,
//! described by a JSON manifest beside each file, and pruned by count.
//!
//! Backups live in `<dbfile>.dbguard-backups/<stem>.<UTC timestamp>.<reason>.sqlite`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::db::database::{Database, Session};
use crate::error::{Error, Result};
use crate::model::progress::{Task, Work};

/// How many file backups to keep, and whether to take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBackupPolicy {
    /// Take a backup before every `up`/`down` run with work to do (default: yes).
    pub enabled: bool,
    /// Keep the newest `keep` backups (default 10); the newest verified one is always kept.
    pub keep: usize,
}

impl Default for FileBackupPolicy {
    fn default() -> Self {
        FileBackupPolicy { enabled: true, keep: 10 }
    }
}

/// One file backup, as its manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileBackup {
    /// The backup file.
    pub path: PathBuf,
    /// The database file it copies.
    pub source: PathBuf,
    /// When it was taken (UTC, RFC 3339).
    pub created_at: String,
    /// Why: `pre-up`, `pre-down`, `manual`, `pre-restore`.
    pub reason: String,
    /// Rows per table in the source when it was taken.
    pub tables: BTreeMap<String, i64>,
    /// Whether it passed `integrity_check` and matched every count when it was taken.
    pub verified: bool,
    /// Its size in bytes.
    pub bytes: u64,
    /// A copy an interrupted run left half-written (`*.sqlite.partial`): not a backup. `prune`
    /// removes it.
    #[serde(default)]
    pub incomplete: bool,
}

/// The directory that holds a database file's backups.
pub fn backup_dir(db_file: &Path) -> PathBuf {
    let mut name = db_file.file_name().unwrap_or_default().to_os_string();
    name.push(".dbguard-backups");
    db_file.with_file_name(name)
}

fn manifest_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    let dir = path.parent().unwrap_or(path);
    let next = match crate::model::fault::Fault::of_io(&e) {
        Some(f) => format!("{}: {}", f.what(), f.next_step(Some(dir))),
        None => format!("check {} (`ls -ld {}`)", dir.display(), dir.display()),
    };
    Error::Backup(format!("cannot {what} {}: {e}\n  nothing was run.\n  next: {next}, then run again", path.display()))
}

/// Rows per table (every table but SQLite's internal ones).
async fn table_counts(s: &mut Session<'_>) -> Result<BTreeMap<String, i64>> {
    let names = s
        .strings(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            "listing the tables",
        )
        .await?;
    let mut counts = BTreeMap::new();
    for n in names {
        let c = s.count(&n).await?;
        counts.insert(n, c);
    }
    Ok(counts)
}

/// Takes a verified backup of the SQLite database open in `s`, stored beside `db_file`, then,
/// with `keep`, prunes to that many. A backup that does not verify is an error: nothing may run
/// on top of it.
pub(crate) async fn create(s: &mut Session<'_>, db_file: &Path, why: &str, keep: Option<usize>) -> Result<FileBackup> {
    let dir = backup_dir(db_file);
    std::fs::create_dir_all(&dir).map_err(|e| io_error("create the backup directory", &dir, e))?;
    let stem = db_file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut path = dir.join(format!("{stem}.{stamp}.{why}.sqlite"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}.{stamp}-{n}.{why}.sqlite"));
        n += 1;
    }
    // Written under a temporary name and renamed once verified, with its manifest: a crash
    // leaves either a whole, verified backup or a `.partial` file that says what it is.
    let partial = partial_path(&path);
    let literal = partial.to_string_lossy().replace('\'', "''");
    let size = std::fs::metadata(db_file).map(|m| m.len()).ok();
    s.env.progress.work(Work::new(Task::FileBackup, db_file.display().to_string()).writing(partial.clone(), size));
    if let Err(e) = s.execute(&format!("VACUUM INTO '{literal}'"), "writing a backup with VACUUM INTO").await {
        let _ = std::fs::remove_file(&partial);
        // SQLite only says it could not write: ask the file system what stands in the way.
        let probe = dir.join(".dbguard-write-probe");
        let next = match std::fs::write(&probe, [0u8; 4096]) {
            Err(io) => match crate::model::fault::Fault::of_io(&io) {
                Some(f) => format!("{}: {}", f.what(), f.next_step(Some(&dir))),
                None => format!("{}: check {} (`ls -ld {}`)", io, dir.display(), dir.display()),
            },
            Ok(()) => format!("check the room left where {} is (`df -h {}`)", dir.display(), dir.display()),
        };
        let _ = std::fs::remove_file(&probe);
        return Err(Error::Backup(format!(
            "could not back up {} to {}: {e}\n  nothing was run.\n  next: {next}, then run again",
            db_file.display(),
            path.display()
        )));
    }
    let tables = table_counts(s).await?;
    let bytes = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
    let mut backup = FileBackup {
        path: path.clone(),
        source: db_file.to_path_buf(),
        created_at: crate::model::stamp::now(),
        reason: why.to_string(),
        tables,
        verified: false,
        bytes,
        incomplete: false,
    };
    let rows: i64 = backup.tables.values().sum();
    s.env.progress.work(Work::new(Task::CheckFileBackup, db_file.display().to_string()).rows(rows));
    if let Some(problem) = check_file(&partial, &backup.tables).await? {
        return Err(Error::Backup(format!(
            "the backup {} did not verify: {problem}\n  nothing was run; the database is untouched.\n  next: run `PRAGMA integrity_check` on {} and check the disk",
            path.display(),
            db_file.display()
        )));
    }
    backup.verified = true;
    write_manifest(&backup)?;
    std::fs::rename(&partial, &path).map_err(|e| io_error("rename the finished backup to", &path, e))?;
    if let Some(keep) = keep {
        prune(db_file, keep)?;
    }
    Ok(backup)
}

fn write_manifest(b: &FileBackup) -> Result<()> {
    let path = manifest_path(&b.path);
    let tmp = partial_path(&path);
    let json = serde_json::to_string_pretty(b).expect("a manifest serialises");
    std::fs::write(&tmp, json).map_err(|e| io_error("write the backup manifest", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_error("write the backup manifest", &path, e))
}

/// Where a file is written before it is complete.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

/// Opens a backup read-only and checks its integrity and row counts; `Some(problem)` if bad.
async fn check_file(path: &Path, expected: &BTreeMap<String, i64>) -> Result<Option<String>> {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut db = Database::connect(&url).await?;
    let mut s = db.session();
    let integrity = s.strings("PRAGMA integrity_check", "checking a backup's integrity").await?;
    let problem = if integrity != ["ok"] {
        Some(format!("integrity_check says: {}", integrity.join("; ")))
    } else {
        let found = table_counts(&mut s).await?;
        (found != *expected).then(|| {
            let diff: Vec<String> = expected
                .iter()
                .filter(|(t, n)| found.get(*t) != Some(n))
                .map(|(t, n)| format!("{t}: {n} rows in the source, {:?} in the backup", found.get(t)))
                .collect();
            format!("row counts differ ({})", diff.join(", "))
        })
    };
    db.close().await?;
    Ok(problem)
}

/// Every backup of `db_file`, newest first. Files without a manifest are listed as unverified.
pub fn list(db_file: &Path) -> Result<Vec<FileBackup>> {
    let dir = backup_dir(db_file);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("read the backup directory", &dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // `.partial`, and SQLite's `.partial-journal` beside it.
        if name.contains(".sqlite.partial") || name.contains(".json.partial") {
            // A backup or manifest an interrupted run left half-written.
            out.push(FileBackup {
                path: path.clone(),
                source: db_file.to_path_buf(),
                created_at: String::new(),
                reason: "incomplete".into(),
                tables: BTreeMap::new(),
                verified: false,
                bytes: entry.metadata().map(|m| m.len()).unwrap_or(0),
                incomplete: true,
            });
            continue;
        }
        if path.extension().is_none_or(|e| e != "sqlite") {
            continue;
        }
        let manifest = std::fs::read_to_string(manifest_path(&path)).ok();
        let backup = manifest.and_then(|m| serde_json::from_str::<FileBackup>(&m).ok()).unwrap_or_else(|| FileBackup {
            path: path.clone(),
            source: db_file.to_path_buf(),
            created_at: String::new(),
            reason: "unknown".into(),
            tables: BTreeMap::new(),
            verified: false,
            bytes: entry.metadata().map(|m| m.len()).unwrap_or(0),
            incomplete: false,
        });
        out.push(FileBackup { path, ..backup });
    }
    // File names start with the timestamp after the stem, so they sort by time.
    out.sort_by(|a, b| b.path.cmp(&a.path));
    Ok(out)
}

/// Checks a backup file again: integrity and the row counts its manifest recorded.
pub async fn verify(backup: &FileBackup) -> Result<Option<String>> {
    if backup.incomplete {
        return Ok(Some(
            "incomplete: an interrupted run left it half-written; it is not a backup. `cargo dbguard backups prune --keep N` removes it".into(),
        ));
    }
    if backup.tables.is_empty() && !backup.verified {
        return Ok(Some("it has no manifest: its row counts were never recorded".into()));
    }
    check_file(&backup.path, &backup.tables).await
}

/// Deletes all but the newest `keep` backups of `db_file`, never the newest verified one.
/// Returns the deleted files.
pub(crate) fn prune(db_file: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    prune_by(db_file, &crate::backup::snapshot::PrunePolicy { keep: Some(keep), ..Default::default() })
}

/// Deletes the backups beyond `policy.keep` and/or older than `policy.older_than` (all of them
/// but the newest verified one, whatever the policy says). With `dry_run`, deletes nothing.
pub(crate) fn prune_by(db_file: &Path, policy: &crate::backup::snapshot::PrunePolicy) -> Result<Vec<PathBuf>> {
    let (incomplete, all): (Vec<FileBackup>, Vec<FileBackup>) = list(db_file)?.into_iter().partition(|b| b.incomplete);
    let newest_verified = all.iter().find(|b| b.verified).map(|b| b.path.clone());
    let now = chrono::Utc::now();
    // What interrupted runs left half-written always goes: it holds nothing to restore.
    let mut removed = Vec::new();
    for b in &incomplete {
        if !policy.dry_run {
            std::fs::remove_file(&b.path).map_err(|e| io_error("delete the incomplete backup", &b.path, e))?;
        }
        removed.push(b.path.clone());
    }
    for (i, b) in all.iter().enumerate() {
        let over = policy.keep.is_some_and(|k| i >= k);
        let old = policy.too_old(&b.created_at, now);
        if !(over || old) || Some(&b.path) == newest_verified.as_ref() {
            continue;
        }
        if policy.dry_run {
            removed.push(b.path.clone());
            continue;
        }
        std::fs::remove_file(&b.path).map_err(|e| io_error("delete the old backup", &b.path, e))?;
        let _ = std::fs::remove_file(manifest_path(&b.path));
        removed.push(b.path.clone());
    }
    Ok(removed)
}

/// Deletes file backups and their manifests (planned by [`prune_by`] with `dry_run`).
pub(crate) fn delete(paths: &[PathBuf]) -> Result<()> {
    for p in paths {
        std::fs::remove_file(p).map_err(|e| io_error("delete the old backup", p, e))?;
        let _ = std::fs::remove_file(manifest_path(p));
    }
    Ok(())
}

/// What restoring a file backup did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRestoreReport {
    /// The backup restored.
    pub restored: FileBackup,
    /// The backup of the database taken just before it was replaced.
    pub pre_restore: FileBackup,
}

/// Replaces the SQLite database `db_url` with a verified backup, through the guarded path
/// with default settings ([`crate::backup::Backups::restore_file`] with the project's). The current
/// file is backed up first; the backup is checked before and the result after. Stop the
/// application first: the file is replaced underneath any open connection.
pub async fn restore(db_url: &str, backup: &FileBackup) -> Result<FileRestoreReport> {
    let mut db = Database::connect(db_url).await?;
    let result = crate::backup::Backups::new().restore_file(&mut db, &backup.path).await;
    db.close().await.ok();
    result
}

/// The backup of `db_file` at `path` (its path, or its file name), checked to be one.
pub(crate) fn find(db_file: &Path, path: &Path) -> Result<FileBackup> {
    list(db_file)?
        .into_iter()
        .find(|b| b.path == path || b.path.file_name() == Some(path.as_os_str()))
        .ok_or_else(|| Error::NotABackup { path: path.to_path_buf(), database: db_file.to_path_buf() })
}

/// Refuses a backup that does not verify; nothing is changed.
pub(crate) async fn check_restorable(backup: &FileBackup) -> Result<()> {
    match verify(backup).await? {
        None => Ok(()),
        Some(problem) => Err(Error::RestoreRefused {
            message: format!(
                "the backup {} does not verify: {problem}\n  nothing was changed.\n  next: `cargo dbguard backups list` and pick another",
                backup.path.display()
            ),
        }),
    }
}

/// Replaces the database file `db` is connected to with `backup` (already checked), and
/// connects `db` to the restored database. The caller holds the lock.
pub(crate) async fn replace(db: &mut Database, backup: &FileBackup) -> Result<FileRestoreReport> {
    let file = db
        .env
        .backend
        .database_file()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::NotAFile { url: db.url().into() })?;
    let url = db.env.raw_url().to_string();
    let pre = create(&mut db.session(), &file, "pre-restore", None).await?;
    // Copy beside the target and rename over it: the database file is never half-written.
    let tmp = file.with_extension("dbguard-restoring");
    let work = Work::new(Task::FileRestore, file.display().to_string());
    db.env.progress.work(work.writing(tmp.clone(), std::fs::metadata(&backup.path).map(|m| m.len()).ok()));
    std::fs::copy(&backup.path, &tmp).map_err(|e| io_error("copy the backup to", &tmp, e))?;
    std::fs::rename(&tmp, &file).map_err(|e| io_error("replace the database file", &file, e))?;
    for ext in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_os_string();
        side.push(ext);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    // The connection still reads the file that was replaced: open the restored one.
    let progress = db.env.progress.clone();
    *db = Database::connect(&url).await?;
    db.env.progress = progress;
    let rows: i64 = backup.tables.values().sum();
    db.env.progress.work(Work::new(Task::CheckFileBackup, file.display().to_string()).rows(rows));
    if let Some(problem) = check_file(&file, &backup.tables).await? {
        return Err(Error::RestoreFailed {
            message: format!(
                "the restored database does not verify: {problem}\n  kept safe: the database as it was before the restore is in {}.\n  next: copy that file back over {}",
                pre.path.display(),
                file.display()
            ),
        });
    }
    Ok(FileRestoreReport { restored: backup.clone(), pre_restore: pre })
}
