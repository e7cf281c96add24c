//! `duplicate-version`: two migrations share a version (checked by `duplicate_versions`).

use super::{Category, RuleInfo};
use crate::finding::Severity;

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "duplicate-version",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "two migrations share a version",
    help: "give one of them a new version (the next free number or a current timestamp)",
    dialects: &[],
};

#[cfg(test)]
mod tests {
    #[test]
    fn same_version_twice() {
        let f = crate::duplicate_versions(&[(7, "7_a.up.sql"), (7, "0007_b/up.sql"), (8, "8_c.up.sql")]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "duplicate-version");
    }
}
