//! `down-does-not-revert`: the up creates a table or column that the down does not drop (checked by `lint_migration`).

use super::{Category, RuleInfo};
use crate::finding::Severity;

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "down-does-not-revert",
    severity: Severity::Warning,
    category: Category::Migration,
    summary: "the up creates a table or column that the down does not drop",
    help: "make the down drop what the up creates, so that up-down-up leaves the same schema",
    dialects: &[],
};

#[cfg(test)]
mod tests {
    use crate::{Dialect, MigrationFiles, lint_migration};

    #[test]
    fn created_but_not_dropped() {
        let up = "CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int;";
        let f = lint_migration(
            MigrationFiles { up: ("up.sql", up), down: Some(("down.sql", "DROP TABLE a;")) },
            Dialect::Postgres,
        );
        assert_eq!(
            f.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            ["the up adds column `b.c` but the down does not drop it"]
        );
        let full = "ALTER TABLE b DROP COLUMN c; DROP TABLE a;";
        assert!(
            lint_migration(MigrationFiles { up: ("up.sql", up), down: Some(("down.sql", full)) }, Dialect::Postgres)
                .is_empty()
        );
    }
}
