//! The schema each run leaves, kept in `dbguard_schema_fingerprint` so that `check` can show
//! what changed since by hand (out-of-band drift) as a diff.

use sqlx::{Executor, Row};

use crate::db::database::Session;
use crate::db::schema::Schema;
use crate::error::Result;

/// The table where the schema left by each run is kept.
pub const FINGERPRINT_TABLE: &str = "dbguard_schema_fingerprint";

/// A schema recorded after a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedSchema {
    /// The newest applied migration after the run (0 for none).
    pub version: i64,
    /// SHA-256 of the normalised schema.
    pub fingerprint: String,
    /// When (UTC).
    pub at: String,
    /// The command that left it (`up`, `down`, `baseline`, `repair`).
    pub command: String,
    /// The schema itself.
    #[serde(skip)]
    pub schema: Schema,
}

async fn ensure(s: &mut Session<'_>) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (id BIGINT NOT NULL PRIMARY KEY, version BIGINT NOT NULL, \
         fingerprint {v64} NOT NULL, at {v40} NOT NULL, command {v40} NOT NULL, schema_text {text} NOT NULL)",
        b.quote(FINGERPRINT_TABLE),
        v64 = b.varchar(64),
        v40 = b.varchar(40),
        text = b.long_text(),
    );
    s.execute(&sql, "creating the schema fingerprint table").await?;
    Ok(())
}

/// Introspects the schema and records it as the one `command` left at `version`.
pub(crate) async fn record(s: &mut Session<'_>, version: i64, command: &str) -> Result<RecordedSchema> {
    ensure(s).await?;
    let schema = s.introspect().await?;
    let b = &s.env.backend;
    let table = b.quote(FINGERPRINT_TABLE);
    let id = s.query_i64(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"), "numbering a fingerprint").await?;
    let b = &s.env.backend;
    let sql = format!(
        "INSERT INTO {table} (id, version, fingerprint, at, command, schema_text) VALUES ({})",
        (1..=6).map(|n| b.param(n)).collect::<Vec<_>>().join(", ")
    );
    let rec = RecordedSchema {
        version,
        fingerprint: schema.fingerprint(),
        at: crate::model::stamp::now(),
        command: command.to_string(),
        schema,
    };
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(version)
        .bind(rec.fingerprint.clone())
        .bind(rec.at.clone())
        .bind(command.to_string())
        .bind(rec.schema.to_string());
    s.conn.execute(q).await.map_err(|e| s.env.error("recording the schema fingerprint", e))?;
    Ok(rec)
}

/// The schema the last run left, if any run recorded one.
pub(crate) async fn last(s: &mut Session<'_>) -> Result<Option<RecordedSchema>> {
    if !s.table_exists(FINGERPRINT_TABLE).await? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT version, fingerprint, at, command, schema_text FROM {} ORDER BY id DESC LIMIT 1",
        s.env.backend.quote(FINGERPRINT_TABLE)
    );
    let context = "reading the last schema fingerprint";
    let row =
        s.conn.fetch_optional(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.map_err(|e| s.env.error(context, e))?;
    row.map(|r| {
        let text: String = r.try_get(4)?;
        Ok(RecordedSchema {
            version: r.try_get(0)?,
            fingerprint: r.try_get(1)?,
            at: r.try_get(2)?,
            command: r.try_get(3)?,
            schema: Schema::from_lines(&text),
        })
    })
    .transpose()
    .map_err(|e| s.env.error(context, e))
}
