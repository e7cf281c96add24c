//! `drop-database`: `DROP DATABASE` deletes every table of a database.

use super::{Category, FileContext, Hit, RuleInfo, dropped_names};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-database",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DROP DATABASE deletes a whole database",
    help: "a migration should never drop a database; do it by hand, after a verified backup",
    dialects: &[],
    verbs: &["DROP"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _: &FileContext, hits: &mut Vec<Hit>) {
        // MySQL's DROP SCHEMA is the same statement.
        let mysql_schema = s.dialect == crate::Dialect::Mysql && s.starts(&["DROP", "SCHEMA"]);
        if s.starts(&["DROP", "DATABASE"]) || mysql_schema {
            for (name, _, last) in dropped_names(s, 2) {
                hits.push(Hit::new(0, last, format!("drops database `{name}` with every table in it")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::{check, hits};

    #[test]
    fn finds_database_drops() {
        check(
            "drop-database",
            &["DROP DATABASE shop", "drop database if exists `shop`"],
            &["CREATE DATABASE x", "SELECT 'drop database x'"],
        );
        assert_eq!(hits("drop-database", "DROP SCHEMA shop", Dialect::Mysql).len(), 1);
        assert!(hits("drop-database", "DROP SCHEMA shop", Dialect::Postgres).is_empty());
    }
}
