//! `drop-table`: `DROP TABLE` deletes a table and every row in it.

use super::{Category, FileContext, Hit, RuleInfo, dropped_names};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-table",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DROP TABLE deletes a table and every row in it",
    help: "keep the table (rename it, and drop it in a later release once nothing reads it); if the drop is intended, allow it with a reason and dbguard snapshots the table first",
    dialects: &[],
    verbs: &["DROP", "CREATE"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        // `CREATE OR REPLACE TABLE` (MariaDB) drops the table it replaces, rows and all.
        if s.starts(&["CREATE", "OR", "REPLACE", "TABLE"]) {
            if let Some((name, next)) = s.name(4)
                && !cx.created.contains(&name)
            {
                hits.push(
                    Hit::new(0, next - 1, format!("replaces table `{name}`: drops it and every row in it")).on(name),
                );
            }
            return;
        }
        if !s.starts(&["DROP", "TABLE"]) {
            return;
        }
        for (n, (name, first, last)) in dropped_names(s, 2).into_iter().enumerate() {
            // A table this file created holds nothing yet.
            if !cx.created.contains(&name) {
                let first = if n == 0 { 0 } else { first };
                hits.push(Hit::new(first, last, format!("drops table `{name}` and every row in it")).on(name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::{check, hits};

    #[test]
    fn finds_table_drops() {
        check(
            "drop-table",
            &[
                "DROP TABLE users",
                "drop table if exists a, b cascade",
                "/* x */ DROP TABLE \"Users\";",
                "CREATE OR REPLACE TABLE users (id int)",
            ],
            &[
                "DROP INDEX drop_table_idx",
                "CREATE TABLE drop_table (id int)",
                "SELECT 'DROP TABLE x'",
                "-- DROP TABLE x\nSELECT 1",
                "DROP TEMPORARY TABLE t",
                "CREATE TABLE t (id int); DROP TABLE t",
            ],
        );
        // A table that may have been there already is not new: dropping it is flagged.
        assert_eq!(
            hits("drop-table", "CREATE TABLE IF NOT EXISTS notes (id int); DROP TABLE notes", Dialect::Postgres).len(),
            1
        );
        assert_eq!(hits("drop-table", "DROP TABLE a, b", Dialect::Postgres).len(), 2);
    }
}
