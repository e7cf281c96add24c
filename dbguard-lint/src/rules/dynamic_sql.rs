//! `dynamic-sql`: `EXECUTE` of SQL built at run time inside a `DO` block: what it runs cannot
//! be checked before it runs.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::Dialect;
use crate::finding::Severity;
use crate::lexer::Kind;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "dynamic-sql",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "EXECUTE of SQL built at run time: it cannot be checked before it runs",
    help: "write the statements out, so that each is checked and what it destroys is snapshotted; if the SQL must be built at run time, allow it with a reason, and dbguard snapshots every existing table the block names (in identifiers or strings) before it runs",
    dialects: &[Dialect::Postgres],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _cx: &FileContext, hits: &mut Vec<Hit>) {
        if let Some((body, _)) = executed_body(s) {
            hits.push(Hit::new(0, body, "runs SQL built at run time (EXECUTE): what it does cannot be checked"));
        }
    }
}

/// The body of a `DO` block that runs `EXECUTE`: its token index in `s` and its text inside
/// the quotes. The runtime snapshots every existing table the body names.
pub(crate) fn executed_body<'s>(s: &'s Stmt) -> Option<(usize, &'s str)> {
    if !s.is(0, "DO") {
        return None;
    }
    let body = s.tokens.iter().position(|t| t.kind == Kind::DollarString || t.kind == Kind::String)?;
    let raw = s.tok(body);
    // Inside the quotes: `$tag$ ... $tag$` or `'...'`.
    let tag = raw.strip_prefix('$').map_or(1, |rest| rest.find('$').map_or(1, |i| i + 2));
    let text = raw.get(tag..raw.len().saturating_sub(tag)).unwrap_or_default();
    let executes = crate::lexer::Lexer::new(text, s.dialect).any(|t| t.is_word(text, "EXECUTE"));
    executes.then_some((body, text))
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::hits;

    #[test]
    fn finds_execute_in_do_blocks() {
        let sql = "DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'audit_log'; END $$;";
        assert_eq!(hits("dynamic-sql", sql, Dialect::Postgres).len(), 1);
        assert!(hits("dynamic-sql", "DO $$ BEGIN PERFORM 1; END $$;", Dialect::Postgres).is_empty());
        assert!(hits("dynamic-sql", "SELECT 'EXECUTE'", Dialect::Postgres).is_empty());
    }
}
