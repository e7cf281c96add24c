//! `malformed-directive`: a `-- dbguard: ...` directive that cannot be read, or a comment that
//! looks meant as one but is not read (`-- DBGUARD:`, `/* dbguard: */`, after the first
//! statement). The loader refuses such a migration; the linter reports it first.

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "malformed-directive",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "a directive that is not read as written: a guard it means to set would be off",
    help: "write directives exactly as `-- dbguard: preserves = users`, in the comment lines before the first statement (see docs/guide.md#directives)",
    dialects: &[],
    verbs: &[],
};

/// The finding for the directives of `sql`, if they cannot be read.
pub(crate) fn check(file: &str, sql: &str) -> Option<Finding> {
    crate::directives::parse(sql).err().map(|e| Finding::at(&INFO, file, (e.line, 1), (e.line, 1), e.message))
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, MigrationFiles, lint_migration};

    #[test]
    fn a_directive_that_does_nothing_is_an_error() {
        let up = "-- DBGUARD: preserves = users\nDELETE FROM users WHERE id > 0;";
        let f = lint_migration(
            MigrationFiles { up: ("up.sql", up), down: Some(("down.sql", "SELECT x FROM y;")) },
            Dialect::Postgres,
        );
        assert!(f.iter().any(|f| f.rule == "malformed-directive" && f.line == 1), "{f:?}");
    }
}
