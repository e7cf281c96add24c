//! `unused-suppression`: a suppression that suppresses nothing (checked when suppressions are applied).

use super::{Category, RuleInfo};
use crate::finding::Severity;

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "unused-suppression",
    severity: Severity::Warning,
    category: Category::Suppression,
    summary: "a suppression that suppresses nothing",
    help: "remove it, or move it directly above the statement it is meant for",
    dialects: &[],
};

#[cfg(test)]
mod tests {
    use crate::{Dialect, lint_sql};

    #[test]
    fn nothing_to_suppress() {
        let f = lint_sql("f.sql", "-- dbguard:allow truncate reason=\"x\"\nSELECT 1;", Dialect::Postgres);
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["unused-suppression"]);
    }
}
