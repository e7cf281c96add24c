//! The audit log: a JSON line when a command that changes a database starts, and another when it
//! ends (or is refused), appended to a file; the final line is also copied to `dbguard_audit`
//! in the database itself. The file is the record of truth (`cargo dbguard history` reads it):
//! it outlives a database that is reset or restored from a file. URLs are masked and messages
//! scrubbed before they are written.

use std::io::Write;
use std::path::PathBuf;

use sqlx::Executor;

use crate::db::database::Database;
use crate::error::{Error, Result};
use crate::model::stamp::{applied_by, now};

/// The audit table's name.
pub const AUDIT_TABLE: &str = "dbguard_audit";

/// One audited command.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Pairs the line written when the command started with the one written when it ended.
    #[serde(default)]
    pub id: String,
    /// When it started, or ended (UTC, RFC 3339).
    pub at: String,
    /// `user@host`.
    pub by: String,
    /// `dev`, `staging` or `prod`.
    pub tier: String,
    /// The database URL, masked.
    pub url: String,
    /// The database, without user, password or options (`postgres://db:5432/shop`, or a
    /// SQLite file's absolute path): what `history` filters on.
    #[serde(default)]
    pub database: String,
    /// `up`, `down`, `baseline`, `repair`, `restore`, ...
    pub command: String,
    /// What it was about to destroy or replace, as its plan found (on the `started` line and
    /// the final one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intent: Vec<String>,
    /// The migrations it ran.
    pub migrations: Vec<i64>,
    /// Backups taken: snapshot ids and file paths.
    pub backups: Vec<String>,
    /// Preserved tables counted.
    pub counts_checked: Vec<String>,
    /// The confirmation given, if any.
    pub confirmation: Option<String>,
    /// `started` (written before the command runs), then `ok`, `refused` or `failed`.
    pub outcome: String,
    /// The error, for refused and failed commands (scrubbed).
    pub message: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// The dbguard that ran it.
    pub dbguard_version: String,
}

impl AuditEntry {
    /// An entry for `command` on the database at `url` (raw; masked here), stamped now.
    pub(crate) fn new(url: &str, tier: crate::model::tier::Tier, command: &str) -> Self {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let at = now();
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        AuditEntry {
            id: format!("{at}-{}-{seq}", std::process::id()),
            at,
            by: applied_by(),
            tier: tier.to_string(),
            url: crate::db::url::mask_url(url),
            database: crate::db::url::audit_key(url),
            command: command.to_string(),
            dbguard_version: env!("CARGO_PKG_VERSION").to_string(),
            outcome: "ok".into(),
            ..Default::default()
        }
    }

    /// Sets the outcome from a command's result; `scrub` removes secrets from the message.
    pub(crate) fn outcome<T>(&mut self, result: &Result<T>, scrub: impl Fn(&str) -> String) {
        if let Err(e) = result {
            self.outcome = if e.is_refusal() { "refused" } else { "failed" }.into();
            self.message = Some(scrub(&e.to_string()));
        }
    }
}

/// Where audit lines go besides the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLog {
    /// The JSONL file (none: the database table only).
    pub file: Option<PathBuf>,
}

impl AuditLog {
    /// Checks that the audit file can be written, before anything else happens: a command
    /// whose audit would fail must not first create a database. Leaves no trace: a missing
    /// file is not created (a probe file beside it is created and removed).
    pub fn check_writable(&self) -> Result<()> {
        let Some(path) = &self.file else { return Ok(()) };
        let checked = if path.exists() {
            std::fs::OpenOptions::new().append(true).open(path).map(drop)
        } else {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let probe = dir.join(format!(".dbguard-audit-probe-{}", std::process::id()));
            std::fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&probe)
                .and_then(|_| std::fs::remove_file(&probe))
        };
        checked.map_err(|e| Error::AuditLog {
            path: path.clone(),
            message: e.to_string(),
            outcome: "did not start; nothing was changed".into(),
        })
    }

    /// Appends `entry` to the file, if there is one. A failure is an error: an audit that
    /// silently stops is worse than none.
    pub(crate) fn append(&self, entry: &AuditEntry) -> Result<()> {
        let Some(path) = &self.file else { return Ok(()) };
        let json = serde_json::to_string(entry).expect("an audit entry serialises");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(format!("{json}\n").as_bytes()));
        written.map_err(|e| Error::AuditLog {
            path: path.clone(),
            message: e.to_string(),
            outcome: if entry.outcome == "started" {
                "did not start; nothing was changed".into()
            } else {
                format!("ended ({})", entry.outcome)
            },
        })
    }

    /// Appends `entry` to the file and copies it to `dbguard_audit` in `db`.
    pub(crate) async fn record(&self, db: &mut Database, entry: &AuditEntry) -> Result<()> {
        self.append(entry)?;
        let json = serde_json::to_string(entry).expect("an audit entry serialises");
        let b = &db.env.backend;
        let table = b.quote(AUDIT_TABLE);
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (at {v40} NOT NULL, by_user {name} NOT NULL, tier {v16} NOT NULL, \
             command {v40} NOT NULL, outcome {v16} NOT NULL, entry TEXT NOT NULL)",
            v40 = b.varchar(40),
            v16 = b.varchar(16),
            name = b.varchar(255),
        );
        let insert = format!(
            "INSERT INTO {table} (at, by_user, tier, command, outcome, entry) VALUES ({})",
            (1..=6).map(|n| b.param(n)).collect::<Vec<_>>().join(", ")
        );
        db.execute(&create).await?;
        let q = sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(entry.at.clone())
            .bind(entry.by.clone())
            .bind(entry.tier.clone())
            .bind(entry.command.clone())
            .bind(entry.outcome.clone())
            .bind(json);
        db.conn.execute(q).await.map_err(|e| db.db_error("writing the audit row", e))?;
        Ok(())
    }
}

/// The audit rows of the database, newest first.
pub async fn read(db: &mut Database) -> Result<Vec<AuditEntry>> {
    if !db.table_exists(AUDIT_TABLE).await? {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT entry FROM {} ORDER BY at DESC", db.quote(AUDIT_TABLE));
    let rows = db.session().strings(&sql, "reading the audit table").await?;
    Ok(rows.iter().filter_map(|r| serde_json::from_str(r).ok()).collect())
}

/// The entries of the audit file `path` about the database at `url`, newest first: each
/// command once, with its final outcome, or `interrupted` when the file has its start and no
/// end (the process died). Lines that cannot be read are skipped; a missing file is empty.
pub fn read_file(path: &std::path::Path, url: &str) -> Result<Vec<AuditEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::AuditLog {
                path: path.to_path_buf(),
                message: e.to_string(),
                outcome: "was not run (nothing read)".into(),
            });
        }
    };
    let (id, masked) = (crate::db::url::audit_key(url), crate::db::url::mask_url(url));
    let mut out: Vec<AuditEntry> = Vec::new();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<AuditEntry>(line) else { continue };
        // Entries written before the `database` field existed are matched by their URL.
        if !(e.database == id || e.database.is_empty() && e.url == masked) {
            continue;
        }
        match out.iter_mut().find(|o| !e.id.is_empty() && o.id == e.id) {
            Some(started) => *started = e,
            None => out.push(e),
        }
    }
    for e in &mut out {
        if e.outcome == "started" {
            e.outcome = "interrupted".into();
            e.message = Some("it started and never recorded an end: the process was stopped or crashed".into());
        }
    }
    out.reverse();
    Ok(out)
}
