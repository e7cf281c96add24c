//! `suppression-without-reason`: a `dbguard:allow` comment gives no reason (checked when suppressions are applied).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "suppression-without-reason",
    severity: Severity::Error,
    category: Category::Suppression,
    summary: "a `dbguard:allow` comment gives no reason",
    help: "say why it is safe: `-- dbguard:allow drop-column reason=\"moved to contacts in v5\"`",
    dialects: &[],
    verbs: &[],
};

/// The finding for a suppression without a reason (it suppresses nothing).
pub(crate) fn check(
    sup: &crate::suppress::Suppression,
    file: &str,
    pos: (usize, usize),
    end: (usize, usize),
) -> Option<Finding> {
    sup.reason.is_none().then(|| {
        let msg = format!("this suppression of {} gives no reason, so it suppresses nothing", sup.rules.join(", "));
        Finding::at(&INFO, file, pos, end, msg)
    })
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, lint_sql};

    #[test]
    fn no_reason() {
        let f = lint_sql("f.sql", "-- dbguard:allow truncate\nTRUNCATE t;", Dialect::Postgres);
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["suppression-without-reason", "truncate"]);
    }
}
