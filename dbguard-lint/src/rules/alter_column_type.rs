//! `alter-column-type`: changing a column's type converts every value, and may truncate,
//! round or reject them.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "alter-column-type",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "changing a column's type may truncate or convert its data, and rewrites the table",
    help: "add a new column of the new type, backfill it, switch readers over, then drop the old one in a later release",
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
            // PostgreSQL: ALTER [COLUMN] c [SET DATA] TYPE t; MySQL: MODIFY [COLUMN] c t, CHANGE [COLUMN] a b t.
            let col = if s.is(i, "ALTER") {
                let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
                s.name(c).filter(|&(_, n)| s.is(n, "TYPE") || s.seq(n, &["SET", "DATA", "TYPE"]))
            } else if s.is(i, "MODIFY") || s.is(i, "CHANGE") {
                s.name(if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 })
            } else {
                None
            };
            if let Some((column, _)) = col {
                hits.push(
                    Hit::new(
                        i,
                        part.end - 1,
                        format!("changes the type of `{table}.{column}`: every value is converted"),
                    )
                    .on(table),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_type_changes() {
        check(
            "alter-column-type",
            &[
                "ALTER TABLE t ALTER COLUMN price TYPE numeric(10, 2)",
                "ALTER TABLE t ALTER price SET DATA TYPE int USING price::int",
                "ALTER TABLE t MODIFY COLUMN name VARCHAR(10)",
                "ALTER TABLE t CHANGE name full_name VARCHAR(10)",
            ],
            &[
                "ALTER TABLE t ALTER COLUMN price SET DEFAULT 0",
                "ALTER TABLE t ADD COLUMN type text",
                "CREATE TABLE t (a int); ALTER TABLE t ALTER a TYPE bigint",
            ],
        );
    }
}
