//! `add-foreign-key-without-not-valid` (PostgreSQL): adding a foreign key checks every row while
//! holding a lock on both tables.

use super::{Category, FileContext, Hit, RuleInfo, altered_existing_table};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "add-foreign-key-without-not-valid",
    severity: Severity::Warning,
    category: Category::LockSafety,
    summary: "ADD FOREIGN KEY validates every row while blocking writes to both tables",
    help: "add it with NOT VALID, then `ALTER TABLE ... VALIDATE CONSTRAINT` in a later migration",
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
            let fk = s.is(i, "ADD") && part.clone().any(|j| s.seq(j, &["FOREIGN", "KEY"]) || s.is(j, "REFERENCES"));
            let not_valid = part.clone().any(|j| s.seq(j, &["NOT", "VALID"]));
            if fk && !not_valid {
                hits.push(Hit::new(
                    i,
                    part.end - 1,
                    format!("adds a foreign key on `{table}` and validates every row under lock"),
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
    fn finds_validating_foreign_keys() {
        let rule = "add-foreign-key-without-not-valid";
        let bad = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)";
        assert_eq!(hits(rule, bad, Dialect::Postgres).len(), 1);
        assert!(hits(rule, &format!("{bad} NOT VALID"), Dialect::Postgres).is_empty());
        assert!(hits(rule, bad, Dialect::Mysql).is_empty());
    }
}
