//! `placeholder-down`: a down that is empty, only comments, a TODO, a stand-in or a no-op (checked by `lint_migration`).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "placeholder-down",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "a down that is empty, only comments, a TODO, a stand-in or a no-op",
    help: "write the SQL that reverts the up, or mark it `-- dbguard: irreversible = \"reason\"` so nobody relies on it",
    dialects: &[],
    verbs: &[],
};

/// The finding for a down that only pretends to revert (empty, comments, TODO, `SELECT 1`).
pub(crate) fn check(down_file: &str, down_sql: &str, dialect: crate::Dialect) -> Option<Finding> {
    crate::placeholder::check(down_sql, dialect)
        .map(|kind| Finding::at(&INFO, down_file, (1, 1), (1, 1), format!("the down migration {}", kind.describe())))
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, MigrationFiles, lint_migration};

    #[test]
    fn empty_todo_and_noop_downs_but_not_marked_ones() {
        for down in ["", "-- Not reversible", "TODO", "SELECT 1;"] {
            let f = lint_migration(
                MigrationFiles { up: ("up.sql", "SELECT 1;"), down: Some(("down.sql", down)) },
                Dialect::Postgres,
            );
            assert_eq!(f.iter().map(|f| &*f.rule).collect::<Vec<_>>(), ["placeholder-down"], "{down:?}");
        }
        let marked = "-- dbguard: irreversible = \"the data is gone\"";
        assert!(
            lint_migration(
                MigrationFiles { up: ("up.sql", "SELECT 1;"), down: Some(("down.sql", marked)) },
                Dialect::Postgres
            )
            .is_empty()
        );
    }
}
