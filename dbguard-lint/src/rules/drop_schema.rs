//! `drop-schema`: `DROP SCHEMA` (PostgreSQL) deletes every table in a schema.

use super::{Category, FileContext, Hit, RuleInfo, dropped_names};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-schema",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DROP SCHEMA deletes a schema and, with CASCADE, every table in it",
    help: "drop the schema's tables one by one in migrations that say why, or keep the schema",
    dialects: &[crate::Dialect::Postgres, crate::Dialect::Sqlite],
    verbs: &["DROP"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _: &FileContext, hits: &mut Vec<Hit>) {
        if s.starts(&["DROP", "SCHEMA"]) {
            for (name, _, last) in dropped_names(s, 2) {
                hits.push(Hit::new(0, last, format!("drops schema `{name}` and what is in it")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::hits;

    #[test]
    fn finds_schema_drops() {
        assert_eq!(hits("drop-schema", "DROP SCHEMA IF EXISTS audit CASCADE", Dialect::Postgres).len(), 1);
        assert!(hits("drop-schema", "CREATE SCHEMA audit", Dialect::Postgres).is_empty());
        assert!(hits("drop-schema", "DROP SCHEMA audit", Dialect::Mysql).is_empty(), "drop-database reports it there");
    }
}
