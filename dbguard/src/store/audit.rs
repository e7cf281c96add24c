//! The audit log: one JSON line per command that changes (or was refused the chance to change)
//! a database, appended to a file, and one row in `dbguard_audit` in the database itself.
//! URLs are masked and messages scrubbed before they are written.

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
    /// When it ended (UTC, RFC 3339).
    pub at: String,
    /// `user@host`.
    pub by: String,
    /// `dev`, `staging` or `prod`.
    pub tier: String,
    /// The database URL, masked.
    pub url: String,
    /// `up`, `down`, `baseline`, `repair`, `restore`, ...
    pub command: String,
    /// The migrations it ran.
    pub migrations: Vec<i64>,
    /// Backups taken: snapshot ids and file paths.
    pub backups: Vec<String>,
    /// Preserved tables counted.
    pub counts_checked: Vec<String>,
    /// The confirmation given, if any.
    pub confirmation: Option<String>,
    /// `ok`, `refused` or `failed`.
    pub outcome: String,
    /// The error, for refused and failed commands (scrubbed).
    pub message: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// The dbguard that ran it.
    pub dbguard_version: String,
}

impl AuditEntry {
    /// An entry for `command` on `db`, stamped now.
    pub(crate) fn new(db: &Database, tier: crate::Tier, command: &str) -> Self {
        AuditEntry {
            at: now(),
            by: applied_by(),
            tier: tier.to_string(),
            url: db.url().to_string(),
            command: command.to_string(),
            dbguard_version: env!("CARGO_PKG_VERSION").to_string(),
            outcome: "ok".into(),
            ..Default::default()
        }
    }

    /// Sets the outcome from a command's result.
    pub(crate) fn outcome<T>(&mut self, db: &Database, result: &Result<T>) {
        if let Err(e) = result {
            self.outcome = match e {
                Error::ConfirmationRequired(_)
                | Error::Refused(_)
                | Error::Drift(_)
                | Error::Missing { .. }
                | Error::Dirty { .. }
                | Error::OutOfOrder { .. }
                | Error::Irreversible { .. }
                | Error::LockTimeout { .. } => "refused",
                _ => "failed",
            }
            .into();
            self.message = Some(db.env.scrub(&e.to_string()));
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
    /// Appends `entry` to the file and to `dbguard_audit`. A failure to write the file is an
    /// error (an audit that silently stops is worse than none); the command's own outcome has
    /// already happened and is part of the entry.
    pub(crate) async fn record(&self, db: &mut Database, entry: &AuditEntry) -> Result<()> {
        let json = serde_json::to_string(entry).expect("an audit entry serialises");
        if let Some(path) = &self.file {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(format!("{json}\n").as_bytes()));
            written.map_err(|e| {
                Error::Refused(format!(
                    "cannot append to the audit log {}: {e}\n  the command itself finished ({}).\n  next: make the file writable, or set another path",
                    path.display(),
                    entry.outcome
                ))
            })?;
        }
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
