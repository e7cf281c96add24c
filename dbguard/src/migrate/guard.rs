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
    /// The migration, for messages: version, name, location.
    migration: (i64, String, String),
    /// Declared preserved tables, and whether their count must stay exactly the same.
    preserved: Vec<(String, bool)>,
    /// Tables the linter finds the step destroys or rewrites.
    destroyed: Vec<String>,
    /// Tables the step truncates: with `CASCADE`, every table referencing them is emptied too.
    truncated: Vec<String>,
    /// Names in text the linter could not read statement by statement: every existing table
    /// among them is snapshotted, since what hides there cannot be classified.
    unchecked: Vec<String>,
    /// Objects dropped with CASCADE: the tables with columns depending on them are snapshotted.
    cascades: Vec<dbguard_lint::Cascade>,
    /// Whether [`Protect::resolve`] has run.
    resolved: bool,
}

impl Protect {
    pub fn for_step(m: &Migration, step: &Step, dialect: dbguard_lint::Dialect) -> Self {
        let preserved = m.preserves().iter().map(|t| (t.clone(), m.preserves_exactly().contains(t))).collect();
        let migration = (m.version(), m.name().to_string(), m.origin().describe(false));
        let mut p = Protect { migration, preserved, ..Protect::default() };
        if let Step::Sql(sql) = step
            && might_destroy(sql)
        {
            let targets = dbguard_lint::guard_targets(sql, dialect);
            for (rule, table) in targets.destroyed {
                if rule == "truncate" && !p.truncated.contains(&table) {
                    p.truncated.push(table.clone());
                }
                p.destroy(table);
            }
            (p.unchecked, p.cascades) = (targets.unchecked, targets.cascades);
        }
        p
    }

    pub fn is_empty(&self) -> bool {
        self.preserved.is_empty() && self.destroyed.is_empty() && self.unchecked.is_empty() && self.cascades.is_empty()
    }

    fn destroy(&mut self, table: String) -> bool {
        let new = !self.destroyed.contains(&table);
        if new {
            self.destroyed.push(table);
        }
        new
    }

    /// Completes the tables destroyed from the live database (once): the existing tables named
    /// in text the linter could not check, the tables with columns depending on what is dropped
    /// with CASCADE, and, through foreign keys, the tables whose rows go or change with the
    /// rows of a table destroyed (`ON DELETE CASCADE`, `SET NULL`; everything that references
    /// a truncated table).
    async fn resolve(&mut self, s: &mut Session<'_>) -> Result<()> {
        if self.resolved || (self.destroyed.is_empty() && self.unchecked.is_empty() && self.cascades.is_empty()) {
            return Ok(());
        }
        self.resolved = true;
        if !self.unchecked.is_empty() {
            for t in s.user_tables().await? {
                let named = self.unchecked.iter().any(|n| *n == t || n.eq_ignore_ascii_case(&t));
                if named {
                    self.destroy(t);
                }
            }
        }
        for object in std::mem::take(&mut self.cascades) {
            for t in s.tables_depending_on(&object).await? {
                self.destroy(t);
            }
        }
        // Foreign-key closure: each table added is followed in turn.
        let mut i = 0;
        while i < self.destroyed.len() {
            let table = self.destroyed[i].clone();
            let every = self.truncated.contains(&table);
            for child in s.referencing_tables(&table, every).await? {
                if every && !self.truncated.contains(&child) {
                    self.truncated.push(child.clone());
                }
                self.destroy(child);
            }
            i += 1;
        }
        Ok(())
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
pub(crate) fn might_destroy(sql: &str) -> bool {
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
pub(crate) async fn before(s: &mut Session<'_>, protect: &mut Protect, version: i64) -> Result<Taken> {
    protect.resolve(s).await?;
    let mut taken = Taken::default();
    for (table, why) in protect.tables() {
        if !s.table_exists(table).await? {
            if why == reason::PRESERVES {
                // A guard on a table that is not there protects nothing: never pass silently.
                let (version, name, location) = protect.migration.clone();
                let existing = s.user_tables().await?;
                return Err(crate::error::Error::PreservedTableMissing(Box::new(crate::error::MissingPreserved {
                    version,
                    name,
                    closest: closest(table, &existing),
                    table: table.to_string(),
                    location,
                    when: "in the database when it was about to run".into(),
                    done: Default::default(),
                })));
            }
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
pub(crate) async fn preview(s: &mut Session<'_>, protect: &mut Protect) -> Result<(Vec<String>, Vec<(String, i64)>)> {
    protect.resolve(s).await?;
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

/// The name in `names` closest to `wanted` (case-insensitive edit distance), if any is close.
pub(crate) fn closest(wanted: &str, names: &[String]) -> Option<String> {
    // `public.users`, `"users"`: names are bare, unquoted.
    let bare = wanted.rsplit('.').next().unwrap_or(wanted).trim_matches(|c| c == '"' || c == '`');
    if bare != wanted
        && let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(bare))
    {
        return Some(n.clone());
    }
    let w = bare.to_lowercase();
    names
        .iter()
        .map(|n| (edit_distance(&w, &n.to_lowercase()), n))
        .filter(|(d, n)| *d <= (n.len().max(w.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
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

    #[test]
    fn the_closest_table_name_is_suggested() {
        let names = ["users".to_string(), "orders".to_string(), "user_emails".to_string()];
        assert_eq!(super::closest("user", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("Users", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("ordres", &names).as_deref(), Some("orders"));
        assert_eq!(super::closest("invoices", &names), None);
        assert_eq!(super::closest("public.users", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("\"orders\"", &names).as_deref(), Some("orders"));
    }
}
