//! The row guard around each migration step: snapshot what the step may destroy, count the
//! tables it must preserve, and find what it lost.

use crate::backup::snapshot::{self, reason};
use crate::db::database::Session;
use crate::error::Loss;
use crate::error::Result;
use crate::model::migration::{Migration, Step};
use crate::store::catalog::SnapshotInfo;

/// What one step must protect.
#[derive(Debug, Default)]
pub(crate) struct Protect {
    /// Declared preserved tables, and whether their count must stay exactly the same.
    preserved: Vec<(String, bool)>,
    /// Tables the linter finds the step destroys or rewrites.
    destroyed: Vec<String>,
}

impl Protect {
    pub fn for_step(m: &Migration, step: &Step, dialect: dbguard_lint::Dialect) -> Self {
        let preserved = m.preserves().iter().map(|t| (t.clone(), m.preserves_exactly().contains(t))).collect();
        let mut destroyed: Vec<String> = Vec::new();
        if let Step::Sql(sql) = step
            && might_destroy(sql)
        {
            for (_, table) in dbguard_lint::destroyed_tables(sql, dialect) {
                if !destroyed.contains(&table) {
                    destroyed.push(table);
                }
            }
        }
        Protect { preserved, destroyed }
    }

    pub fn is_empty(&self) -> bool {
        self.preserved.is_empty() && self.destroyed.is_empty()
    }

    /// Every table to snapshot, each once, preserved ones first.
    fn tables(&self) -> impl Iterator<Item = (&str, &'static str)> {
        let preserved = self.preserved.iter().map(|(t, _)| (t.as_str(), reason::PRESERVES));
        let destroyed = self
            .destroyed
            .iter()
            .filter(|t| !self.preserved.iter().any(|(p, _)| p.eq_ignore_ascii_case(t)))
            .map(|t| (t.as_str(), reason::DESTRUCTIVE));
        preserved.chain(destroyed)
    }
}

/// Whether `sql` contains a keyword of a destructive statement (`DROP`, `TRUNCATE`, `DELETE`,
/// `UPDATE`, `ALTER`, `REPLACE`). A byte scan, so that the common migration (CREATE and
/// INSERT) skips the linter; a false positive only costs the lint.
fn might_destroy(sql: &str) -> bool {
    const WORDS: [&[u8]; 6] = [b"drop", b"truncate", b"delete", b"update", b"alter", b"replace"];
    let b = sql.as_bytes();
    (0..b.len()).any(|i| {
        let c = b[i] | 0x20;
        matches!(c, b'd' | b't' | b'u' | b'a' | b'r')
            && WORDS.iter().any(|w| b.len() - i >= w.len() && b[i..i + w.len()].eq_ignore_ascii_case(w))
    })
}

/// A preserved table's count before the step.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    table: String,
    before: i64,
    exact: bool,
}

/// What [`before`] did: the snapshots taken and the counts to compare with afterwards.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    pub snapshots: Vec<SnapshotInfo>,
    pub counted: Vec<Counted>,
}

/// Snapshots every existing table the step may destroy or must preserve; a snapshot's row
/// count is the preserved table's count before the step (no second scan).
pub(crate) async fn before(s: &mut Session<'_>, protect: &Protect, version: i64) -> Result<Taken> {
    let mut taken = Taken::default();
    for (table, why) in protect.tables() {
        if !s.table_exists(table).await? {
            continue; // created later in the step, or already gone: nothing to keep
        }
        let snap = snapshot::take(s, table, Some(version), why).await?;
        if let Some((_, exact)) = protect.preserved.iter().find(|(t, _)| t == table) {
            taken.counted.push(Counted { table: table.to_string(), before: snap.row_count, exact: *exact });
        }
        taken.snapshots.push(snap);
    }
    Ok(taken)
}

/// What [`before`] would do, read-only: the existing tables it would snapshot, and the
/// preserved tables' counts now.
pub(crate) async fn preview(s: &mut Session<'_>, protect: &Protect) -> Result<(Vec<String>, Vec<(String, i64)>)> {
    let (mut tables, mut counts) = (Vec::new(), Vec::new());
    for (table, _) in protect.tables() {
        if !s.table_exists(table).await? {
            continue;
        }
        if protect.preserved.iter().any(|(t, _)| t == table) {
            counts.push((table.to_string(), s.count(table).await?));
        }
        tables.push(table.to_string());
    }
    Ok((tables, counts))
}

/// The preserved tables that lost rows (or changed count, when exact).
pub(crate) async fn losses(s: &mut Session<'_>, counted: &[Counted]) -> Result<Vec<Loss>> {
    let mut out = Vec::new();
    for c in counted {
        let after = if s.table_exists(&c.table).await? { Some(s.count(&c.table).await?) } else { None };
        let lost = match after {
            None => true,
            Some(n) => n < c.before || (c.exact && n != c.before),
        };
        if lost {
            out.push(Loss { table: c.table.clone(), before: c.before, after, exact: c.exact });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefilter_lets_every_destructive_keyword_through() {
        assert!(!super::might_destroy("CREATE TABLE t (id INT); INSERT INTO t VALUES (1);"));
        for sql in [
            "drop table t",
            "TRUNCATE t",
            "Delete from t",
            "update t set a = 1",
            "ALTER TABLE t DROP c",
            "REPLACE INTO t VALUES (1)",
        ] {
            assert!(super::might_destroy(sql), "{sql}");
        }
    }
}
