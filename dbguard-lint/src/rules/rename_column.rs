//! `rename-column`: renaming a column breaks every query that uses the old name.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "rename-column",
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "renaming a column breaks code that still uses the old name",
    help: "add the new column, write both, backfill, move readers, then drop the old column in a later release",
    dialects: &[],
    verbs: &["ALTER"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        let Some((table, parts)) = altered_existing_table(s, cx) else { return };
        for part in parts {
            let i = part.start;
            let renamed = if s.is(i, "RENAME") && !s.is(i + 1, "TO") {
                let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
                s.name(c).filter(|&(_, n)| s.is(n, "TO")).map(|(c, _)| c)
            } else if s.is(i, "CHANGE") {
                // MySQL: CHANGE [COLUMN] old new type; a rename when the names differ.
                let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
                match (s.name(c), s.name(c + 1)) {
                    (Some((old, _)), Some((new, _))) if old != new => Some(old),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(column) = renamed {
                hits.push(Hit::new(i, part.end - 1, format!("renames column `{table}.{column}`")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_column_renames() {
        check(
            "rename-column",
            &[
                "ALTER TABLE users RENAME COLUMN name TO full_name",
                "ALTER TABLE users RENAME name TO full_name",
                "ALTER TABLE t CHANGE name full_name VARCHAR(10)",
            ],
            &["ALTER TABLE users RENAME TO people", "ALTER TABLE t CHANGE name name VARCHAR(20)"],
        );
    }
}
