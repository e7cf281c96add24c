//! `delete-without-where`: a `DELETE` with no `WHERE` deletes every row.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "delete-without-where",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DELETE without WHERE deletes every row of the table",
    help: "add a WHERE clause that selects only the rows to delete; if emptying the table is intended, allow it with a reason",
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
            // Positions are the CTE's: the hit is made on it, then placed by its offset.
            let mut inner = Vec::new();
            self.check(&cte, cx, &mut inner);
            hits.extend(inner.into_iter().map(|h| h.inside(s, &cte)));
        }
        let v = s.main_verb();
        if !s.is(v, "DELETE") {
            return;
        }
        let why = match s.find_top(v, "WHERE") {
            None => "there is no WHERE clause".to_string(),
            Some(w) if s.where_is_always_true(w) => "its WHERE clause is always true".to_string(),
            Some(_) => return,
        };
        let Some((name, next)) = s.name(s.dml_table_at(v)) else { return };
        if !cx.created.contains(&name) {
            hits.push(Hit::new(v, next - 1, format!("deletes every row of `{name}`: {why}")).on(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn a_where_that_only_newer_servers_read_is_no_where() {
        use crate::{Dialect, guard_targets, lint_sql};
        let sql = "DELETE FROM users /*!99999 WHERE id = 5 */;";
        let f = lint_sql("up.sql", sql, Dialect::Mysql);
        assert_eq!(f.iter().filter(|f| f.rule == "delete-without-where").count(), 1, "{f:?}");
        assert_eq!(guard_targets(sql, Dialect::Mysql).destroyed, [("delete-without-where".into(), "users".into())]);
        // Both readings find the same DROP: reported once.
        let twice = lint_sql("up.sql", "DROP TABLE a /*!50100 CASCADE */;", Dialect::Mysql);
        assert_eq!(twice.iter().filter(|f| f.rule == "drop-table").count(), 1, "{twice:?}");
    }

    /// `UPDATE IGNORE t` was read as a change of table `ignore`: the guard then kept nothing.
    #[test]
    fn names_the_table_after_mysql_modifiers() {
        use crate::rules::test_util::hits;
        for (rule, sql) in [
            ("delete-without-where", "DELETE LOW_PRIORITY QUICK IGNORE FROM users"),
            ("update-without-where", "UPDATE LOW_PRIORITY IGNORE users SET a = 1"),
            ("update-without-where", "UPDATE IGNORE users SET a = 1"),
        ] {
            let found = hits(rule, sql, crate::Dialect::Mysql);
            assert!(found.len() == 1 && found[0].contains("`users`"), "{sql}: {found:?}");
        }
    }

    #[test]
    fn finds_unbounded_deletes() {
        check(
            "delete-without-where",
            &[
                "DELETE FROM users",
                "DELETE LOW_PRIORITY QUICK IGNORE FROM users",
                "delete from users using orders",
                "WITH x AS (SELECT id FROM t WHERE a) DELETE FROM t",
                "DELETE FROM t WHERE_NOT_A_KEYWORD",
                "DELETE FROM t -- WHERE id = 1",
                "DELETE FROM users WHERE 1=1",
                "DELETE FROM users WHERE true",
                "DELETE FROM users WHERE (1 = 1)",
                "WITH x AS (DELETE FROM events RETURNING *) SELECT count(*) FROM x",
                "DELETE FROM users WHERE id = id",
                "DELETE FROM users WHERE 1=1 OR id=5",
                "DELETE FROM users WHERE id = 5 OR (2 > 1)",
                "DELETE FROM users WHERE NULL IS NULL",
                "DELETE FROM users WHERE TRUE AND TRUE",
                "DELETE FROM users WHERE 'a' <> 'b'",
                "DELETE FROM users WHERE 1 >= 1",
            ],
            &[
                "DELETE FROM users WHERE id = 1",
                "DELETE FROM users\n  WHERE\n    id IN (SELECT id FROM old)",
                "WITH x AS (DELETE FROM t WHERE a RETURNING id) SELECT * FROM x",
                "DELETE FROM users WHERE 1 = 2",
                "DELETE FROM users WHERE id = 7",
                "DELETE FROM users WHERE 1=1 AND id=5",
                "DELETE FROM users WHERE (1 = 1 OR id = 2) AND id = 3",
                "DELETE FROM users WHERE 2 < 1",
                "DELETE FROM users WHERE id <> id",
                "SELECT 'DELETE FROM users'",
                "CREATE TABLE t (id int); DELETE FROM t",
            ],
        );
    }
}
