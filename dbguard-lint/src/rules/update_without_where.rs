//! `update-without-where`: an `UPDATE` with no `WHERE` rewrites every row.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "update-without-where",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "UPDATE without WHERE overwrites a column in every row",
    help: "add a WHERE clause that selects only the rows to change; a backfill of every row is fine once allowed with a reason",
    dialects: &[],
    verbs: &[],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        for cte in s.cte_statements() {
            let mut inner = Vec::new();
            self.check(&cte, cx, &mut inner);
            hits.extend(inner.into_iter().map(|h| h.inside(s, &cte)));
        }
        let v = s.main_verb();
        if !s.is(v, "UPDATE") {
            return;
        }
        let why = match s.find_top(v, "WHERE") {
            None => "there is no WHERE clause".to_string(),
            Some(w) if s.where_is_always_true(w) => "its WHERE clause is always true".to_string(),
            Some(_) => return,
        };
        let Some((name, next)) = s.name(s.dml_table_at(v)) else { return };
        if !cx.created.contains(&name) {
            hits.push(Hit::new(v, next - 1, format!("overwrites every row of `{name}`: {why}")).on(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_unbounded_updates() {
        check(
            "update-without-where",
            &[
                "UPDATE users SET email = NULL",
                "UPDATE t SET a = (SELECT b FROM u WHERE u.id = 1)",
                "UPDATE users SET email = NULL WHERE true",
                "WITH x AS (UPDATE users SET email = NULL RETURNING id) SELECT 1",
                "UPDATE LOW_PRIORITY IGNORE users SET email = NULL",
            ],
            &[
                "UPDATE users SET email = NULL WHERE id = 1",
                "SELECT 1 FROM t FOR UPDATE",
                "CREATE TABLE t (a int); UPDATE t SET a = 1",
            ],
        );
    }
}
