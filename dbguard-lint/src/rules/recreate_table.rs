//! `recreate-table`: `DROP TABLE [IF EXISTS] t` followed by `CREATE TABLE t` in one migration
//! resets the table to empty (the "force sync" that wiped more than one production database).

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "recreate-table",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "a table dropped and created again in one migration comes back empty",
    help: "change the existing table with ALTER TABLE, or create the new table under a new name and copy the rows over",
    dialects: &[],
    verbs: &["CREATE"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        if !s.starts(&["CREATE"]) {
            return;
        }
        let Some(t) = (1..4).find(|&i| s.is(i, "TABLE")) else { return };
        let i = if s.seq(t + 1, &["IF", "NOT", "EXISTS"]) { t + 4 } else { t + 1 };
        if let Some((name, next)) = s.name(i)
            && cx.dropped.contains(&name)
        {
            hits.push(
                Hit::new(0, next - 1, format!("creates `{name}` again after dropping it: every row it had is gone"))
                    .on(name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_drop_and_create() {
        check(
            "recreate-table",
            &[
                "DROP TABLE IF EXISTS users;\nCREATE TABLE users (id int);",
                "drop table \"Users\"; create table if not exists \"Users\" (id int)",
            ],
            &["DROP TABLE a; CREATE TABLE b (id int)", "CREATE TABLE users (id int); DROP TABLE users"],
        );
    }
}
