//! `unused-suppression`: a suppression that suppresses nothing (checked when suppressions are applied).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "unused-suppression",
    severity: Severity::Warning,
    category: Category::Suppression,
    summary: "a suppression that suppresses nothing",
    help: "remove it, or move it directly above the statement it is meant for",
    dialects: &[],
    verbs: &[],
};

/// The finding for an allowance of `rule` (with a reason) that no finding used.
pub(crate) fn check(rule: &str, used: bool, file: &str, pos: (usize, usize), end: (usize, usize)) -> Option<Finding> {
    (!used).then(|| Finding::at(&INFO, file, pos, end, format!("`{rule}` is allowed here but nothing triggers it")))
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, lint_sql};

    #[test]
    fn nothing_to_suppress() {
        let f = lint_sql("f.sql", "-- dbguard:allow truncate reason=\"x\"\nSELECT 1;", Dialect::Postgres);
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["unused-suppression"]);
    }

    /// Before a DELETE or UPDATE with a condition, the allow is what the guard asks for when
    /// the condition, measured, matches every row: never "unused" (removing it would stop `up`).
    #[test]
    fn an_every_row_allow_before_a_condition_is_used_at_run_time() {
        let sql = "-- dbguard:allow delete-without-where reason=\"wipe\"\ndelete from t where id > 0;\n\
                   -- dbguard:allow update-without-where reason=\"all\"\nUPDATE t SET a = 1 WHERE a IS NULL;";
        assert!(lint_sql("f.sql", sql, Dialect::Postgres).is_empty());
        // Before anything else it is still unused.
        let stray = "-- dbguard:allow delete-without-where reason=\"x\"\nCREATE TABLE t (id INT);";
        let f = lint_sql("f.sql", stray, Dialect::Postgres);
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["unused-suppression"]);
    }
}
