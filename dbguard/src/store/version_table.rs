//! The version table (`dbguard_schema_version` by default): what has been applied, when, by
//! whom, with which checksum, and whether it finished.
//!
//! The table's own layout is versioned in `<table>_layout`, so a later dbguard can upgrade it in
//! place and an older one refuses to touch a table it does not understand.

use sqlx::{Executor, Row};

use crate::db::database::{Database, Env};
use crate::error::{Error, Result};
use crate::model::applied::{AppliedRow, RowDetails, RowState};
use crate::model::resume::ResumePoint;

/// The version table's default name (also the default migration lock's name).
pub(crate) const DEFAULT_TABLE: &str = "dbguard_schema_version";

/// The layout of the version table this build writes: 2 adds `resume_point`, where a
/// migration that cannot run in one transaction records its progress statement by statement.
pub const LAYOUT: i64 = 2;

/// Reads and writes the version table on one connection.
pub(crate) struct VersionTable<'a> {
    pub table: &'a str,
}

impl VersionTable<'_> {
    fn layout_table(&self) -> String {
        format!("{}_layout", self.table)
    }

    /// Read-only: the layout of the version table (0 when it does not exist), refusing one
    /// that a newer dbguard wrote. An older one is upgraded by [`VersionTable::ensure`].
    pub async fn layout(&self, db: &mut Database) -> Result<i64> {
        let read = format!("SELECT COALESCE(MAX(layout), 0) FROM {}", db.quote(&self.layout_table()));
        let found = match db.query_i64(&read).await {
            Ok(n) => n,
            // Most likely absent; anything else is reported as it is.
            Err(e) => return if db.table_exists(&self.layout_table()).await? { Err(e) } else { Ok(0) },
        };
        if found > LAYOUT {
            return Err(Error::LayoutTooNew { table: self.table.to_string(), found, known: LAYOUT });
        }
        Ok(found)
    }

    /// Creates the tables if needed and checks (or upgrades) their layout. In the steady state
    /// this is one query: the layout is read first, and the tables are only created when that
    /// read fails.
    pub async fn ensure(&self, db: &mut Database) -> Result<()> {
        let layout = db.quote(&self.layout_table());
        let read = format!("SELECT COALESCE(MAX(layout), 0) FROM {layout}");
        let found = match db.query_i64(&read).await {
            Ok(n) => n,
            Err(_) => {
                let ddl = db.env.backend.history_ddl(self.table);
                db.execute(&ddl).await?;
                db.execute(&format!("CREATE TABLE IF NOT EXISTS {layout} (layout BIGINT NOT NULL)")).await?;
                db.query_i64(&read).await?
            }
        };
        match found {
            0 => {
                db.execute(&format!("INSERT INTO {layout} (layout) VALUES ({LAYOUT})")).await?;
            }
            LAYOUT => {}
            1 => {
                let column = format!("resume_point {} NULL", db.env.backend.long_text());
                db.execute(&format!("ALTER TABLE {} ADD COLUMN {column}", db.quote(self.table))).await?;
                db.execute(&format!("UPDATE {layout} SET layout = {LAYOUT}")).await?;
            }
            n if n > LAYOUT => {
                return Err(Error::LayoutTooNew { table: self.table.to_string(), found: n, known: LAYOUT });
            }
            _ => unreachable!("layouts start at 1"),
        }
        Ok(())
    }

    /// All rows, in no particular order, with their details when `details` is set. An absent
    /// table reads as empty (checked unless `ensured`, when [`VersionTable::ensure`] just ran).
    pub async fn read(&self, db: &mut Database, details: bool, ensured: bool) -> Result<Vec<AppliedRow>> {
        if !ensured && !db.table_exists(self.table).await? {
            return Ok(Vec::new());
        }
        if !details && let Some(rows) = self.read_concatenated(db).await? {
            return Ok(rows);
        }
        let extra = if details { ", execution_ms, applied_by, dbguard_version" } else { "" };
        let sql = format!("SELECT version, name, checksum, state, applied_at{extra} FROM {}", db.quote(self.table));
        let rows = db
            .conn
            .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
            .await
            .map_err(|e| db.db_error("reading the version table", e))?;
        rows.iter()
            .map(|r| {
                Ok(AppliedRow {
                    version: r.try_get(0)?,
                    name: r.try_get(1)?,
                    checksum: r.try_get(2)?,
                    state: RowState::parse(&r.try_get::<String, _>(3)?),
                    applied_at: r.try_get(4)?,
                    details: if details {
                        Some(RowDetails {
                            execution_ms: r.try_get(5)?,
                            applied_by: r.try_get(6)?,
                            dbguard_version: r.try_get(7)?,
                        })
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| db.db_error("reading the version table", e))
    }

    /// The rows without details as one concatenated value, where the backend can; `None`
    /// when it cannot, or when a name holds a separator character (then rows are read one by
    /// one).
    async fn read_concatenated(&self, db: &mut Database) -> Result<Option<Vec<AppliedRow>>> {
        let Some(agg) = db.env.backend.concat_rows(&["version", "name", "checksum", "state", "applied_at"]) else {
            return Ok(None);
        };
        let sql = format!("SELECT {agg} FROM {}", db.quote(self.table));
        let row = db
            .conn
            .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
            .await
            .map_err(|e| db.db_error("reading the version table", e))?;
        let text: Option<String> = row.try_get(0).map_err(|e| db.db_error("reading the version table", e))?;
        let Some(text) = text else { return Ok(Some(Vec::new())) };
        let mut rows = Vec::new();
        for record in text.split('\u{1e}') {
            let f: Vec<&str> = record.split('\u{1f}').collect();
            let ([_, name, checksum, state, at], Ok(version)) = (f.as_slice(), f[0].parse::<i64>()) else {
                return Ok(None);
            };
            rows.push(AppliedRow {
                version,
                name: name.to_string(),
                checksum: checksum.to_string(),
                state: RowState::parse(state),
                applied_at: at.to_string(),
                details: None,
            });
        }
        Ok(Some(rows))
    }

    /// Inserts a row on the given connection (inside the caller's transaction, if any).
    pub async fn insert(&self, env: &Env, conn: &mut sqlx::AnyConnection, row: &AppliedRow) -> Result<()> {
        let b = &env.backend;
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, state, applied_at, execution_ms, applied_by, dbguard_version) VALUES ({})",
            b.quote(self.table),
            (1..=8).map(|n| b.param(n)).collect::<Vec<_>>().join(", ")
        );
        let d = row.details.clone().unwrap_or_else(RowDetails::now);
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.version)
            .bind(row.name.clone())
            .bind(row.checksum.clone())
            .bind(row.state.as_str())
            .bind(row.applied_at.clone())
            .bind(d.execution_ms)
            .bind(d.applied_by)
            .bind(d.dbguard_version);
        conn.execute(q).await.map_err(|e| env.error("recording the migration in the version table", e))?;
        Ok(())
    }

    /// Sets a row's state and duration.
    pub async fn set_state(
        &self,
        env: &Env,
        conn: &mut sqlx::AnyConnection,
        version: i64,
        state: RowState,
        ms: i64,
    ) -> Result<()> {
        let b = &env.backend;
        let sql = format!(
            "UPDATE {} SET state = {}, execution_ms = {} WHERE version = {}",
            b.quote(self.table),
            b.param(1),
            b.param(2),
            b.param(3)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state.as_str()).bind(ms).bind(version);
        conn.execute(q).await.map_err(|e| env.error("updating the migration's state", e))?;
        Ok(())
    }

    /// The statement that records `row` (or, for `None`, removes `version`) with its values
    /// written as SQL literals and `execution_ms` as an SQL expression, to send in one round
    /// trip with the step and the `COMMIT`. `None` when a value
    /// holds a quote-sensitive character (a backslash or a control character), which is then
    /// recorded with bind parameters instead.
    pub fn literal_change(
        &self,
        env: &Env,
        row: Option<&AppliedRow>,
        version: i64,
        execution_ms: &str,
    ) -> Option<String> {
        let table = env.backend.quote(self.table);
        let Some(row) = row else { return Some(format!("DELETE FROM {table} WHERE version = {version}")) };
        let d = row.details.clone().unwrap_or_else(RowDetails::now);
        let texts = [&row.name, &row.checksum, &row.applied_at, &d.applied_by, &d.dbguard_version];
        if texts.iter().any(|t| t.chars().any(|c| c == '\\' || c.is_control())) {
            return None;
        }
        let lit = |t: &str| format!("'{}'", t.replace('\'', "''"));
        Some(format!(
            "INSERT INTO {table} (version, name, checksum, state, applied_at, execution_ms, applied_by, dbguard_version) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            row.version,
            lit(&row.name),
            lit(&row.checksum),
            lit(row.state.as_str()),
            lit(&row.applied_at),
            execution_ms,
            lit(&d.applied_by),
            lit(&d.dbguard_version)
        ))
    }

    /// Records a step that ran statement by statement as finished: its state, duration, name
    /// and checksum (the file may have been fixed since a failed statement), and no progress.
    pub async fn finish(&self, env: &Env, conn: &mut sqlx::AnyConnection, row: &AppliedRow) -> Result<()> {
        let b = &env.backend;
        let sql = format!(
            "UPDATE {} SET state = {}, execution_ms = {}, name = {}, checksum = {}, resume_point = NULL WHERE version = {}",
            b.quote(self.table),
            b.param(1),
            b.param(2),
            b.param(3),
            b.param(4),
            b.param(5)
        );
        let ms = row.details.as_ref().map_or(0, |d| d.execution_ms);
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.state.as_str())
            .bind(ms)
            .bind(row.name.clone())
            .bind(row.checksum.clone())
            .bind(row.version);
        conn.execute(q).await.map_err(|e| env.error("recording the migration as applied", e))?;
        Ok(())
    }

    /// The progress recorded for `version`: `None` when there is none, when the table predates
    /// progress (layout 1), or when this build cannot read it.
    pub async fn resume_point(&self, db: &mut Database, version: i64) -> Result<Option<ResumePoint>> {
        if self.layout(db).await? < 2 {
            return Ok(None);
        }
        let b = &db.env.backend;
        let sql = format!("SELECT resume_point FROM {} WHERE version = {}", b.quote(self.table), b.param(1));
        let text: Option<Option<String>> = db
            .conn
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version))
            .await
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(|e| db.db_error("reading where a migration stopped", e))?;
        Ok(text.flatten().as_deref().and_then(ResumePoint::parse))
    }

    /// Records (or, with `None`, clears) a migration's progress, on the given connection
    /// (inside the caller's transaction, if any).
    pub async fn set_resume_point(
        &self,
        env: &Env,
        conn: &mut sqlx::AnyConnection,
        version: i64,
        point: Option<&ResumePoint>,
    ) -> Result<()> {
        let b = &env.backend;
        let sql =
            format!("UPDATE {} SET resume_point = {} WHERE version = {}", b.quote(self.table), b.param(1), b.param(2));
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(point.map(ResumePoint::to_json)).bind(version);
        conn.execute(q).await.map_err(|e| env.error("recording the migration's progress", e))?;
        Ok(())
    }

    /// Deletes a row (after a down, or when repairing).
    pub async fn delete(&self, env: &Env, conn: &mut sqlx::AnyConnection, version: i64) -> Result<()> {
        let b = &env.backend;
        let sql = format!("DELETE FROM {} WHERE version = {}", b.quote(self.table), b.param(1));
        conn.execute(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version))
            .await
            .map_err(|e| env.error("removing the migration from the version table", e))?;
        Ok(())
    }
}
