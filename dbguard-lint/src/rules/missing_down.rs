//! `missing-down`: a migration has no down (checked by `lint_migration`).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "missing-down",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "a migration has no down",
    help: "write the SQL that reverts the up; if it truly cannot be reverted, mark the down with `-- dbguard: irreversible = \"reason\"`",
    dialects: &[],
    verbs: &[],
};

/// The finding for an up with no down.
pub(crate) fn check(up_file: &str) -> Finding {
    Finding::at(&INFO, up_file, (1, 1), (1, 1), format!("{up_file} has no down migration"))
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, MigrationFiles, lint_migration};

    #[test]
    fn a_migration_without_down() {
        let f = lint_migration(
            MigrationFiles { up: ("up.sql", "CREATE TABLE t (id int);"), down: None },
            Dialect::Postgres,
        );
        assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["missing-down"]);
    }
}
