//! `set-not-null` (PostgreSQL): `SET NOT NULL` scans the whole table under an exclusive lock.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "set-not-null",
    severity: Severity::Warning,
    category: Category::LockSafety,
    summary: "SET NOT NULL scans the whole table while blocking reads and writes",
    help: "add `CHECK (col IS NOT NULL) NOT VALID`, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the check and skips the scan)",
    dialects: &[crate::Dialect::Postgres],
    verbs: &["ALTER"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        let Some((table, parts)) = altered_existing_table(s, cx) else { return };
        for part in parts {
            let i = part.start;
            if s.is(i, "ALTER") && part.clone().any(|j| s.seq(j, &["SET", "NOT", "NULL"])) {
                let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
                let column = s.name(c).map_or_else(String::new, |(c, _)| c);
                hits.push(Hit::new(
                    i,
                    part.end - 1,
                    format!("sets `{table}.{column}` NOT NULL with a full scan under lock"),
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
    fn finds_set_not_null() {
        assert_eq!(
            hits("set-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL", Dialect::Postgres).len(),
            1
        );
        assert!(
            hits("set-not-null", "ALTER TABLE users ALTER COLUMN email DROP NOT NULL", Dialect::Postgres).is_empty()
        );
    }
}
