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
}
