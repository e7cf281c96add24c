//! The backup catalog, `dbguard_backups`: one row per table snapshot, in the database that holds
//! the snapshot, so that the two can only be lost together.

use sqlx::{Executor, Row};

use crate::db::database::Session;
use crate::error::Result;

/// The catalog table's name.
pub const CATALOG: &str = "dbguard_backups";

/// One table snapshot, as recorded in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotInfo {
    /// Catalog id, for `restore <ID>`.
    pub id: i64,
    /// The table that was copied.
    pub source_table: String,
    /// The migration it was taken for, if any.
    pub migration_version: Option<i64>,
    /// Why it was taken: `preserves`, `destructive`, `manual`, `pre-restore`.
    pub reason: String,
    /// Rows copied.
    pub row_count: i64,
    /// Content checksum (`count:sum`), recorded when the snapshot is first verified.
    pub checksum: Option<String>,
    /// When it was taken (UTC, RFC 3339).
    pub created_at: String,
    /// Where the copy is: the snapshot table's name.
    pub location: String,
}

const COLUMNS: &str = "id, source_table, migration_version, reason, row_count, checksum, created_at, location";

/// Creates the catalog if it does not exist.
pub(crate) async fn ensure(s: &mut Session<'_>) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (id BIGINT NOT NULL PRIMARY KEY, source_table {name} NOT NULL, \
         migration_version BIGINT NULL, reason {v40} NOT NULL, row_count BIGINT NOT NULL, checksum {v80} NULL, \
         created_at {v40} NOT NULL, location {name} NOT NULL)",
        b.quote(CATALOG),
        name = b.varchar(255),
        v40 = b.varchar(40),
        v80 = b.varchar(80),
    );
    s.execute(&sql, "creating the backup catalog").await?;
    Ok(())
}

/// Records a snapshot, giving it the next id (callers hold the migration lock).
pub(crate) async fn insert(s: &mut Session<'_>, mut info: SnapshotInfo) -> Result<SnapshotInfo> {
    let table = s.env.backend.quote(CATALOG);
    info.id = s.query_i64(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"), "numbering a backup").await?;
    let b = &s.env.backend;
    let sql = format!(
        "INSERT INTO {table} ({COLUMNS}) VALUES ({})",
        (1..=8).map(|n| b.param(n)).collect::<Vec<_>>().join(", ")
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(info.id)
        .bind(info.source_table.clone())
        .bind(info.migration_version)
        .bind(info.reason.clone())
        .bind(info.row_count)
        .bind(info.checksum.clone())
        .bind(info.created_at.clone())
        .bind(info.location.clone());
    s.conn.execute(q).await.map_err(|e| s.env.error("recording a backup in the catalog", e))?;
    Ok(info)
}

/// Every snapshot, oldest first; empty when there is no catalog yet.
pub(crate) async fn list(s: &mut Session<'_>) -> Result<Vec<SnapshotInfo>> {
    if !s.table_exists(CATALOG).await? {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLUMNS} FROM {} ORDER BY id", s.env.backend.quote(CATALOG));
    let rows = s
        .conn
        .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map_err(|e| s.env.error("reading the backup catalog", e))?;
    rows.iter()
        .map(|r| {
            Ok(SnapshotInfo {
                id: r.try_get(0)?,
                source_table: r.try_get(1)?,
                migration_version: r.try_get(2)?,
                reason: r.try_get(3)?,
                row_count: r.try_get(4)?,
                checksum: r.try_get(5)?,
                created_at: r.try_get(6)?,
                location: r.try_get(7)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(|e| s.env.error("reading the backup catalog", e))
}

/// Records a snapshot's checksum.
pub(crate) async fn set_checksum(s: &mut Session<'_>, id: i64, checksum: &str) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!("UPDATE {} SET checksum = {} WHERE id = {}", b.quote(CATALOG), b.param(1), b.param(2));
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(checksum.to_string()).bind(id);
    s.conn.execute(q).await.map_err(|e| s.env.error("recording a backup's checksum", e))?;
    Ok(())
}

/// Removes a snapshot's catalog row.
pub(crate) async fn delete(s: &mut Session<'_>, id: i64) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!("DELETE FROM {} WHERE id = {}", b.quote(CATALOG), b.param(1));
    s.conn
        .execute(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id))
        .await
        .map_err(|e| s.env.error("removing a backup from the catalog", e))?;
    Ok(())
}
