//! `transaction-control`: `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, ... inside a migration
//! that dbguard runs in a transaction.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "transaction-control",
    severity: Severity::Error,
    category: Category::Migration,
    summary: "a transaction statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...) inside a migration that runs in a transaction",
    help: "remove it: dbguard runs each migration in one transaction, and a COMMIT inside commits half of it, so that a failure after it can no longer be rolled back; if the migration must commit in parts (CREATE INDEX CONCURRENTLY, batched backfills), mark it `-- dbguard: no-transaction`",
    dialects: &[],
    verbs: &[],
};

pub struct Rule;

/// The statements that start, end or split a transaction, by their leading words.
const CONTROL: &[&[&str]] = &[
    &["BEGIN"],
    &["START", "TRANSACTION"],
    &["COMMIT"],
    &["END"],
    &["ROLLBACK"],
    &["ABORT"],
    &["SAVEPOINT"],
    &["RELEASE"],
    &["PREPARE", "TRANSACTION"],
    &["XA"],
];

/// The leading words of `s` when it controls the transaction.
pub(crate) fn control_words(s: &Stmt) -> Option<String> {
    // `BEGIN ATOMIC ... END` is a function body, MariaDB's `BEGIN NOT ATOMIC ... END` a
    // compound statement run on its own: neither is a transaction.
    if s.starts(&["BEGIN", "ATOMIC"]) || s.starts(&["BEGIN", "NOT", "ATOMIC"]) {
        return None;
    }
    // `END IF`, `END LOOP` (PL/pgSQL inside DO blocks) close blocks; only a bare `END` or
    // `END TRANSACTION`/`END WORK` ends the transaction.
    if s.is(0, "END") && s.tokens.len() > 1 && !s.is(1, "TRANSACTION") && !s.is(1, "WORK") {
        return None;
    }
    let kws = CONTROL.iter().find(|k| s.starts(k))?;
    Some(kws.join(" "))
}

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        if cx.no_transaction {
            return;
        }
        if let Some(words) = control_words(s) {
            let n = words.split(' ').count();
            hits.push(Hit::new(
                0,
                n - 1,
                format!(
                    "`{words}` inside a migration that runs in a transaction: what runs before it is committed, and a failure after it can no longer be rolled back"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_transaction_statements() {
        check(
            "transaction-control",
            &[
                "BEGIN",
                "begin transaction",
                "START TRANSACTION",
                "COMMIT",
                "commit work",
                "END",
                "ROLLBACK",
                "ROLLBACK TO SAVEPOINT a",
                "SAVEPOINT a",
                "RELEASE SAVEPOINT a",
                "CREATE TABLE t (id int); COMMIT; DROP TABLE t",
            ],
            &[
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
                "SELECT 'COMMIT'",
                "UPDATE t SET begin = 1 WHERE id = 2",
                "-- dbguard: no-transaction\nCOMMIT",
                "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            ],
        );
    }
}
