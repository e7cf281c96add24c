//! `create-index-not-concurrently` (PostgreSQL): `CREATE INDEX` blocks writes to the table
//! until the index is built.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "create-index-not-concurrently",
    severity: Severity::Warning,
    category: Category::LockSafety,
    summary: "CREATE INDEX without CONCURRENTLY blocks writes to an existing table while it builds",
    help: "use CREATE INDEX CONCURRENTLY in a migration marked `-- dbguard: no-transaction`",
    dialects: &[crate::Dialect::Postgres],
    verbs: &["CREATE"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        let idx = if s.starts(&["CREATE", "INDEX"]) {
            1
        } else if s.starts(&["CREATE", "UNIQUE", "INDEX"]) {
            2
        } else {
            return;
        };
        if s.is(idx + 1, "CONCURRENTLY") {
            return;
        }
        let Some(on) = s.find_top(idx, "ON") else { return };
        let t = if s.is(on + 1, "ONLY") { on + 2 } else { on + 1 };
        if let Some((table, _)) = s.name(t)
            && !cx.created.contains(&table)
        {
            hits.push(Hit::new(0, idx, format!("builds an index on `{table}` while blocking writes to it")));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::hits;

    #[test]
    fn finds_blocking_index_builds() {
        let rule = "create-index-not-concurrently";
        assert_eq!(hits(rule, "CREATE UNIQUE INDEX i ON users (email)", Dialect::Postgres).len(), 1);
        assert!(hits(rule, "CREATE INDEX CONCURRENTLY i ON users (email)", Dialect::Postgres).is_empty());
        assert!(hits(rule, "CREATE TABLE users (id int); CREATE INDEX i ON users (id)", Dialect::Postgres).is_empty());
        assert!(hits(rule, "CREATE INDEX i ON users (email)", Dialect::Sqlite).is_empty(), "PostgreSQL only");
    }
}
