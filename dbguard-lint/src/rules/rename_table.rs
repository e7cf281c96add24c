//! `rename-table`: renaming a table breaks every query of the running application that uses
//! the old name.

use super::{Category, FileContext, Hit, RuleInfo, alter_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "rename-table",
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "renaming a table breaks code that still uses the old name",
    help: "deploy code that works with both names first (e.g. a view with the old name), then rename",
    dialects: &[],
    verbs: &["ALTER", "RENAME"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _: &FileContext, hits: &mut Vec<Hit>) {
        if let Some((table, from)) = alter_table(s)
            && s.seq(from, &["RENAME", "TO"])
        {
            hits.push(Hit::new(0, from + 2, format!("renames table `{table}`")));
        } else if s.starts(&["RENAME", "TABLE"])
            && let Some((table, next)) = s.name(2)
        {
            hits.push(Hit::new(0, next, format!("renames table `{table}`")));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_table_renames() {
        check(
            "rename-table",
            &["ALTER TABLE users RENAME TO accounts", "RENAME TABLE users TO accounts"],
            &["ALTER TABLE users RENAME COLUMN a TO b", "ALTER TABLE users ADD COLUMN rename int"],
        );
    }
}
