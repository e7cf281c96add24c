//! `add-column-volatile-default` (PostgreSQL): a column added with a volatile default
//! (`random()`, `gen_random_uuid()`, `clock_timestamp()`) rewrites the whole table under lock.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "add-column-volatile-default",
    severity: Severity::Warning,
    category: Category::LockSafety,
    summary: "ADD COLUMN with a volatile DEFAULT rewrites the table while blocking it",
    help: "add the column without a default (or with a constant one), then backfill in batches",
    dialects: &[crate::Dialect::Postgres],
    verbs: &["ALTER"],
};

const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
];

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        let Some((table, parts)) = altered_existing_table(s, cx) else { return };
        for part in parts {
            let i = part.start;
            let Some(d) = part.clone().find(|&j| s.is(j, "DEFAULT")) else { continue };
            if s.is(i, "ADD") && (d + 1..part.end).any(|j| VOLATILE.iter().any(|f| s.is(j, f))) {
                hits.push(Hit::new(
                    i,
                    part.end - 1,
                    format!("adds a column to `{table}` with a volatile default: the table is rewritten"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::hits;

    #[test]
    fn finds_volatile_defaults() {
        let rule = "add-column-volatile-default";
        assert_eq!(
            hits(rule, "ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid()", Dialect::Postgres).len(),
            1
        );
        assert!(hits(rule, "ALTER TABLE t ADD COLUMN created timestamptz DEFAULT now()", Dialect::Postgres).is_empty());
    }
}
