//! `down-does-not-revert`: the up creates a table or column that the down does not drop (checked by `lint_migration`).

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "down-does-not-revert",
    severity: Severity::Warning,
    category: Category::Migration,
    summary: "the up creates a table or column that the down does not drop",
    help: "make the down drop what the up creates, so that up-down-up leaves the same schema",
    dialects: &[],
    verbs: &[],
};

/// What a migration's up creates, at the offset of each statement, and what its down drops:
/// a finding for each table or column the up creates and the down leaves.
pub(crate) fn check(
    up_file: &str,
    up_sql: &str,
    up: &[(usize, crate::engine::Effects)],
    down: &[crate::engine::Effects],
) -> Vec<Finding> {
    use std::collections::HashSet;
    let dropped_tables: HashSet<&String> = down.iter().flat_map(|e| &e.dropped_tables).collect();
    let dropped_columns: HashSet<&String> = down.iter().flat_map(|e| &e.dropped_columns).collect();
    let index = crate::position::LineIndex::new(up_sql); // migration files are small
    let mut out = Vec::new();
    for (offset, e) in up {
        let pos = index.at(*offset);
        for t in e.created_tables.iter().chain(&e.ensured_tables).filter(|t| !dropped_tables.contains(t)) {
            let msg = format!("the up creates table `{t}` but the down does not drop it");
            out.push(Finding::at(&INFO, up_file, pos, pos, msg));
        }
        for c in e.added_columns.iter().filter(|c| !dropped_columns.contains(c)) {
            let table = c.split('.').next().unwrap_or_default().to_string();
            if !dropped_tables.contains(&table) {
                let msg = format!("the up adds column `{c}` but the down does not drop it");
                out.push(Finding::at(&INFO, up_file, pos, pos, msg));
            }
        }
    }
    out
}

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
