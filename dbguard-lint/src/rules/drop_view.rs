//! `drop-view` and `drop-materialized-view`: dropping a view loses its definition (and, for a
//! materialized view, its stored rows); readers break.

use super::{Category, FileContext, Hit, RuleInfo, dropped_names};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-view",
    severity: Severity::Warning,
    category: Category::DataLoss,
    summary: "DROP VIEW removes a view that queries may still read",
    help: "make sure nothing reads the view any more, and keep its definition in the down migration",
    dialects: &[],
    verbs: &["DROP"],
};

pub static MATERIALIZED_INFO: RuleInfo = RuleInfo {
    id: "drop-materialized-view",
    severity: Severity::Warning,
    category: Category::DataLoss,
    summary: "DROP MATERIALIZED VIEW removes stored rows that may take long to compute again",
    help: "make sure nothing reads it, and that the down migration recreates and refreshes it",
    dialects: &[crate::Dialect::Postgres],
    verbs: &["DROP"],
};

/// `drop-view`.
pub struct Rule;
/// `drop-materialized-view`.
pub struct Materialized;
pub static MATERIALIZED: Materialized = Materialized;

fn check(s: &Stmt, kind: &[&str], what: &str, hits: &mut Vec<Hit>) {
    if s.starts(kind) {
        for (name, _, last) in dropped_names(s, kind.len()) {
            hits.push(Hit::new(0, last, format!("drops {what} `{name}`")));
        }
    }
}

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }
    fn check(&self, s: &Stmt, _: &FileContext, hits: &mut Vec<Hit>) {
        check(s, &["DROP", "VIEW"], "view", hits);
    }
}

impl super::Rule for Materialized {
    fn info(&self) -> &'static RuleInfo {
        &MATERIALIZED_INFO
    }
    fn check(&self, s: &Stmt, _: &FileContext, hits: &mut Vec<Hit>) {
        check(s, &["DROP", "MATERIALIZED", "VIEW"], "materialized view", hits);
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::{check, hits};

    #[test]
    fn finds_view_drops() {
        check(
            "drop-view",
            &["DROP VIEW IF EXISTS active_users"],
            &["CREATE VIEW v AS SELECT 1", "DROP MATERIALIZED VIEW m"],
        );
        assert_eq!(hits("drop-materialized-view", "DROP MATERIALIZED VIEW recent", Dialect::Postgres).len(), 1);
    }
}
