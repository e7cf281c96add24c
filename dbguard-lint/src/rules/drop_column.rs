//! `drop-column`: `ALTER TABLE ... DROP COLUMN` deletes a column's data in every row.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-column",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DROP COLUMN deletes the column's value in every row",
    help: "stop using the column first and drop it in a later release; if the data lives on elsewhere, allow it with a reason and dbguard snapshots the table first",
    dialects: &[],
    verbs: &["ALTER"],
};

/// Words after `DROP` in an ALTER TABLE action that drop something other than a column.
const NOT_A_COLUMN: &[&str] = &[
    "CONSTRAINT",
    "INDEX",
    "KEY",
    "PRIMARY",
    "FOREIGN",
    "CHECK",
    "PARTITION",
    "DEFAULT",
    "NOT",
    "IDENTITY",
    "EXPRESSION",
    "TRIGGER",
    "SYSTEM",
];

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        let Some((table, parts)) = altered_existing_table(s, cx) else { return };
        for part in parts {
            let i = part.start;
            if !s.is(i, "DROP") || NOT_A_COLUMN.iter().any(|k| s.is(i + 1, k)) {
                continue;
            }
            let mut j = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            if s.seq(j, &["IF", "EXISTS"]) {
                j += 2;
            }
            if let Some((column, next)) = s.name(j) {
                hits.push(
                    Hit::new(i, next - 1, format!("drops column `{table}.{column}` and its value in every row"))
                        .on(table)
                        .column(column),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::{check, hits};

    #[test]
    fn finds_column_drops() {
        check(
            "drop-column",
            &[
                "ALTER TABLE users DROP COLUMN email",
                "alter table if exists only users drop column if exists email cascade",
                "ALTER TABLE users ADD COLUMN x int, DROP email",
            ],
            &[
                "ALTER TABLE users DROP CONSTRAINT users_email_key",
                "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
                "ALTER TABLE users ALTER COLUMN email DROP DEFAULT",
                "ALTER TABLE users DROP INDEX i",
                "ALTER TABLE users DROP PRIMARY KEY",
                "ALTER TABLE users ADD COLUMN drop_column int",
                "CREATE TABLE t (a int); ALTER TABLE t DROP COLUMN a",
            ],
        );
        let two = hits("drop-column", "ALTER TABLE t DROP COLUMN a, DROP COLUMN b", Dialect::Postgres);
        assert_eq!(
            two,
            ["drops column `t.a` and its value in every row", "drops column `t.b` and its value in every row"]
        );
    }
}
