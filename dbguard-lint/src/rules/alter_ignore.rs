//! `alter-ignore`: MySQL/MariaDB `ALTER IGNORE TABLE` deletes, without a word, the rows that a
//! new unique key refuses (every duplicate but the first).

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "alter-ignore",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "ALTER IGNORE TABLE silently deletes the rows a new unique key refuses",
    help: "remove the duplicates you mean to remove with a `DELETE ... WHERE` first, then add the key without IGNORE; if losing them is intended, allow it with a reason and dbguard snapshots the table first",
    dialects: &[crate::Dialect::Mysql],
    verbs: &["ALTER"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        // `ALTER [ONLINE] IGNORE TABLE t ...`
        let at = if s.is(1, "ONLINE") { 2 } else { 1 };
        if !s.starts(&["ALTER"]) || !s.is(at, "IGNORE") || !s.is(at + 1, "TABLE") {
            return;
        }
        let Some((name, next)) = s.name(at + 2) else { return };
        if !cx.created.contains(&name) {
            let message = format!("deletes the rows of `{name}` that a new unique key refuses, without a word");
            hits.push(Hit::new(0, next - 1, message).on(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::hits;
    use crate::{Dialect, guard_targets};

    #[test]
    fn finds_alter_ignore() {
        for bad in
            ["ALTER IGNORE TABLE users ADD UNIQUE (email)", "alter online ignore table `users` add primary key (id)"]
        {
            assert_eq!(hits("alter-ignore", bad, Dialect::Mysql).len(), 1, "{bad}");
        }
        for good in ["ALTER TABLE users ADD UNIQUE (email)", "ALTER TABLE ignore_me ADD COLUMN x INT"] {
            assert!(hits("alter-ignore", good, Dialect::Mysql).is_empty(), "{good}");
        }
        // MySQL's only.
        assert!(hits("alter-ignore", "ALTER IGNORE TABLE users ADD UNIQUE (email)", Dialect::Postgres).is_empty());
        // The guard keeps the table whole first.
        let t = guard_targets("ALTER IGNORE TABLE users ADD UNIQUE (email);", Dialect::Mysql);
        assert_eq!(t.destroyed, [("alter-ignore".into(), "users".into())]);
    }
}
