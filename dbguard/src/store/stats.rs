//! Row counts of the tables that hold users' data, recorded after every run and on every
//! `check` in `dbguard_table_stats`, so that `check` can tell when one shrank or emptied
//! between two looks.

use sqlx::{Executor, Row};

use crate::db::database::Session;
use crate::error::Result;

/// The table where row counts are kept between runs.
pub const STATS_TABLE: &str = "dbguard_table_stats";

/// One recorded count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub row_count: i64,
    pub at: String,
}

/// Creates the table if it does not exist.
pub(crate) async fn ensure(s: &mut Session<'_>) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (tbl {name} NOT NULL, row_count BIGINT NOT NULL, at {v40} NOT NULL, \
         recorded_by {v40} NOT NULL)",
        b.quote(STATS_TABLE),
        name = b.varchar(255),
        v40 = b.varchar(40),
    );
    s.execute(&sql, "creating the row-count table").await?;
    Ok(())
}

/// The count of `table` that `check` compares with: the newest one a run or an
/// acknowledgement recorded, else the first one a check recorded. Counts that a check recorded
/// on top of earlier ones (earlier builds did) are ignored: a check never moves the
/// baseline, so that an alert stays until it is dealt with.
pub(crate) async fn last(s: &mut Session<'_>, table: &str) -> Result<Option<Recorded>> {
    let b = &s.env.backend;
    let sql = format!(
        "SELECT row_count, at FROM {t} WHERE tbl = {p} \
         ORDER BY CASE WHEN recorded_by = 'check' THEN 0 ELSE 1 END DESC, \
         CASE WHEN recorded_by = 'check' THEN '' ELSE at END DESC, at ASC LIMIT 1",
        t = b.quote(STATS_TABLE),
        p = b.param(1)
    );
    let context = "reading the last row counts";
    let row = s
        .conn
        .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(table.to_string()))
        .await
        .map_err(|e| s.env.error(context, e))?;
    row.map(|r| Ok(Recorded { row_count: r.try_get(0)?, at: r.try_get(1)? }))
        .transpose()
        .map_err(|e| s.env.error(context, e))
}

/// Records the count of `table` at `at`; `by` is the command (`up`, `down`, `check`).
pub(crate) async fn record(s: &mut Session<'_>, table: &str, row_count: i64, at: &str, by: &str) -> Result<()> {
    let b = &s.env.backend;
    let sql = format!(
        "INSERT INTO {} (tbl, row_count, at, recorded_by) VALUES ({}, {}, {}, {})",
        b.quote(STATS_TABLE),
        b.param(1),
        b.param(2),
        b.param(3),
        b.param(4)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(table.to_string())
        .bind(row_count)
        .bind(at.to_string())
        .bind(by.to_string());
    s.conn.execute(q).await.map_err(|e| s.env.error("recording row counts", e))?;
    Ok(())
}

/// Counts and records every table of `tables` that exists; returns the counts.
pub(crate) async fn record_all(s: &mut Session<'_>, tables: &[String], by: &str) -> Result<Vec<(String, i64)>> {
    let mut counts = Vec::new();
    if tables.is_empty() {
        return Ok(counts);
    }
    ensure(s).await?;
    let at = crate::model::stamp::now();
    for t in tables {
        if s.table_exists(t).await? {
            let n = s.count(t).await?;
            record(s, t, n, &at, by).await?;
            counts.push((t.clone(), n));
        }
    }
    Ok(counts)
}

/// The alert for a table that went from `before` to `now` rows, if it shrank by more than
/// `threshold` (0.05 = 5 %) or emptied.
pub(crate) fn alert(table: &str, before: &Recorded, now: i64, threshold: f64) -> Option<String> {
    let lost = before.row_count - now;
    let shrank = before.row_count > 0 && lost as f64 / before.row_count as f64 > threshold;
    let emptied = now == 0 && before.row_count > 0;
    (shrank || emptied).then(|| {
        format!(
            "{table} went from {} rows to {now} since the last record ({}). next: find out who deleted them; \
             `cargo dbguard backups list` shows the snapshots of {table}",
            before.row_count, before.at
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: i64) -> Recorded {
        Recorded { row_count: n, at: "2026-11-21T10:00:00Z".into() }
    }

    #[test]
    fn alerts_on_a_drop_past_the_threshold_or_an_emptied_table() {
        assert!(alert("users", &rec(100), 96, 0.05).is_none());
        assert!(alert("users", &rec(100), 94, 0.05).unwrap().contains("users went from 100 rows to 94"));
        assert!(alert("users", &rec(1), 0, 0.99).is_some(), "emptied");
        assert!(alert("users", &rec(0), 0, 0.05).is_none());
        assert!(alert("users", &rec(100), 150, 0.05).is_none(), "growth");
    }
}
