//! `unknown-rule`: a suppression names a rule that does not exist (checked when suppressions are applied).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "unknown-rule",
    severity: Severity::Error,
    category: Category::Suppression,
    summary: "a suppression names a rule that does not exist",
    help: "use one of the rule ids in docs/rules/ (e.g. drop-table, drop-column)",
    dialects: &[],
    verbs: &[],
};

/// The finding for a suppression naming `rule`, when no rule has that id.
pub(crate) fn check(rule: &str, file: &str, pos: (usize, usize), end: (usize, usize)) -> Option<Finding> {
    super::info(rule).is_none().then(|| Finding::at(&INFO, file, pos, end, format!("`{rule}` is not a dbguard rule")))
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, lint_sql};

    #[test]
    fn typo_in_a_rule_id() {
        let f = lint_sql("f.sql", "-- dbguard:allow trunacte reason=\"x\"\nSELECT 1;", Dialect::Postgres);
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["unknown-rule"]);
    }
}
