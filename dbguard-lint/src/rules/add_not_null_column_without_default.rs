//! `add-not-null-column-without-default`: adding a NOT NULL column with no default fails on a
//! table with rows (PostgreSQL, SQLite) or silently fills it with zero values (MySQL), and
//! breaks inserts from code that does not know the column yet.

use super::{Category, FileContext, Hit, RuleInfo, adds_column, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "add-not-null-column-without-default",
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "a NOT NULL column without a DEFAULT fails on existing rows and breaks old inserts",
    help: "add the column with a DEFAULT, or add it nullable, backfill it, then SET NOT NULL",
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
            if !adds_column(s, i) {
                continue;
            }
            let not_null = part.clone().any(|j| s.seq(j, &["NOT", "NULL"]));
            let default = part.clone().any(|j| s.is(j, "DEFAULT") || s.is(j, "GENERATED") || s.is(j, "AS"));
            let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            if not_null
                && !default
                && let Some((column, _)) = s.name(c)
            {
                hits.push(Hit::new(
                    i,
                    part.end - 1,
                    format!("adds NOT NULL column `{table}.{column}` without a default"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_not_null_columns_without_default() {
        check(
            "add-not-null-column-without-default",
            &["ALTER TABLE users ADD COLUMN email TEXT NOT NULL"],
            &[
                "ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE users ADD COLUMN email TEXT",
                "ALTER TABLE users ADD CONSTRAINT c CHECK (a IS NOT NULL)",
                "CREATE TABLE users (id int); ALTER TABLE users ADD COLUMN email TEXT NOT NULL",
            ],
        );
    }
}
