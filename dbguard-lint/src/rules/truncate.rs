//! `truncate`: `TRUNCATE` deletes every row of a table at once.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "truncate",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "TRUNCATE deletes every row of a table",
    help: "delete only the rows you mean with `DELETE ... WHERE`; if emptying the table is intended, allow it with a reason and dbguard snapshots it first",
    dialects: &[],
    verbs: &["TRUNCATE"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>) {
        if !s.starts(&["TRUNCATE"]) {
            return;
        }
        let mut i = if s.is(1, "TABLE") { 2 } else { 1 };
        if s.is(i, "ONLY") {
            i += 1;
        }
        while let Some((name, next)) = s.name(i) {
            if !cx.created.contains(&name) {
                hits.push(Hit::new(0, next - 1, format!("deletes every row of `{name}`")).on(name));
            }
            if s.tok(next) != "," {
                break;
            }
            i = next + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_truncates_but_not_trigger_events() {
        check(
            "truncate",
            &["TRUNCATE users", "TRUNCATE TABLE ONLY a, b RESTART IDENTITY"],
            &[
                "CREATE TRIGGER t BEFORE TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION f()",
                "SELECT truncate_me FROM t",
                "SELECT 'TRUNCATE users'",
            ],
        );
    }
}
