//! `duplicate-version`: two migrations share a version (checked by `duplicate_versions`).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "duplicate-version",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "two migrations share a version",
    help: "give one of them a new version (the next free number or a current timestamp)",
    dialects: &[],
    verbs: &[],
};

/// The findings for migrations (version, file) that share a version.
pub fn check(migrations: &[(i64, &str)]) -> Vec<Finding> {
    let mut sorted: Vec<_> = migrations.to_vec();
    sorted.sort();
    sorted
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| {
            let msg = format!("version {} is used by both {} and {}", w[0].0, w[0].1, w[1].1);
            Finding::at(&INFO, w[1].1, (1, 1), (1, 1), msg)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_version_twice() {
        let f = crate::duplicate_versions(&[(7, "7_a.up.sql"), (7, "0007_b/up.sql"), (8, "8_c.up.sql")]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "duplicate-version");
    }
}
