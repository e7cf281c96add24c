//! Recognising a `down` that only pretends to revert.
//!
//! A down migration that is empty, only comments, `SELECT 1`, or a `TODO` gives a false sense of
//! safety: the day it is needed, it does nothing. dbguard refuses such files unless they carry an
//! explicit `-- dbguard: irreversible = "reason"` marker.

use crate::Dialect;
use crate::lexer::{Kind, Lexer};
use crate::split::split;

/// Why a down is a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// No SQL at all: empty, or only comments (`-- Not reversible`).
    Empty,
    /// A `TODO`/`FIXME` or a `previous_revision_id`-style stand-in in the SQL itself.
    Todo,
    /// Only statements that do nothing (`SELECT 1;`).
    NoOp,
}

impl Placeholder {
    /// A sentence describing the problem.
    pub fn describe(self) -> &'static str {
        match self {
            Placeholder::Empty => "is empty or only comments",
            Placeholder::Todo => "is a placeholder (TODO/FIXME/previous_revision_id)",
            Placeholder::NoOp => "only runs statements that change nothing (like `SELECT 1`)",
        }
    }
}

const STAND_INS: &[&str] = &["TODO", "FIXME", "PREVIOUS_REVISION_ID", "DOWN_REVISION"];

/// Returns why `down` is a placeholder, or `None` for a real down.
///
/// ```
/// use dbguard_lint::{placeholder::{check, Placeholder}, Dialect};
/// assert_eq!(check("-- Not reversible\n", Dialect::Postgres), Some(Placeholder::Empty));
/// assert_eq!(check("SELECT 1;", Dialect::Postgres), Some(Placeholder::NoOp));
/// assert_eq!(check("DROP TABLE users; -- TODO: indexes", Dialect::Postgres), None);
/// ```
pub fn check(down: &str, dialect: Dialect) -> Option<Placeholder> {
    if obviously_real(down) {
        return None;
    }
    let statements = split(down, dialect);
    if statements.is_empty() {
        return Some(Placeholder::Empty);
    }
    let mut all_noop = true;
    for s in &statements {
        let code: Vec<_> = Lexer::new(s.text, dialect).filter(|t| !t.is_trivia()).collect();
        if code.iter().any(|t| t.kind == Kind::Word && STAND_INS.iter().any(|w| t.is_word(s.text, w))) {
            return Some(Placeholder::Todo);
        }
        let is_select_literal = matches!(code.as_slice(),
            [select, lit] if select.is_word(s.text, "SELECT") && matches!(lit.kind, Kind::Number | Kind::String));
        all_noop &= is_select_literal;
    }
    all_noop.then_some(Placeholder::NoOp)
}

/// A cheap pre-check that spares tokenizing the common case (every project loads all its downs
/// on every run): the first word is a statement keyword other than SELECT, and no stand-in word
/// appears anywhere in the text. Such a down has a statement, not all of them are no-ops, and it
/// cannot contain a stand-in token.
fn obviously_real(down: &str) -> bool {
    let first = crate::split::skip_space_and_comments(down);
    let word_len = first.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(first.len());
    if word_len == 0 || first[..word_len].eq_ignore_ascii_case("SELECT") {
        return false;
    }
    !has_stand_in(down.as_bytes())
}

/// Whether a stand-in word appears in `text`, whatever its case: upper-cased a window at a
/// time (an up file is checked too, and a seed file may be tens of megabytes).
fn has_stand_in(text: &[u8]) -> bool {
    const WINDOW: usize = 64 * 1024;
    let overlap = STAND_INS.iter().map(|s| s.len()).max().unwrap_or(0) - 1;
    let mut upper = Vec::with_capacity(WINDOW + overlap);
    let mut from = 0;
    while from < text.len() {
        let to = (from + WINDOW + overlap).min(text.len());
        upper.clear();
        upper.extend(text[from..to].iter().map(u8::to_ascii_uppercase));
        if STAND_INS.iter().any(|s| memchr::memmem::find(&upper, s.as_bytes()).is_some()) {
            return true;
        }
        from += WINDOW;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in across the edge of a window is found, in any case.
    #[test]
    fn stand_ins_are_found_in_big_texts() {
        for at in [0, 65_530, 65_533, 65_536, 200_000] {
            let mut text = "x".repeat(at);
            text.push_str("previous_revision_id");
            text.push_str(&"y".repeat(70_000));
            assert!(has_stand_in(text.as_bytes()), "{at}");
        }
        assert!(!has_stand_in("x".repeat(300_000).as_bytes()));
        assert!(!has_stand_in(b""));
    }

    #[test]
    fn fast_path_agrees_with_the_tokenizer() {
        for sql in [
            "DROP TABLE t;",
            "drop table todo_items;",
            "/* x */ ALTER TABLE t DROP COLUMN c;",
            "SELECT 1;",
            "-- a\n",
            "TODO",
            ";",
        ] {
            let full = {
                let statements = split(sql, Dialect::Postgres);
                statements.is_empty() || sql.to_ascii_uppercase().contains("TODO") || sql.starts_with("SELECT")
            };
            assert!(!(obviously_real(sql) && full), "{sql}: the fast path must never skip a suspicious text");
        }
        assert!(obviously_real("DROP TABLE t;"));
        assert_eq!(check("drop table todo_items;", Dialect::Postgres), None, "an identifier containing todo");
    }

    #[test]
    fn placeholders() {
        for (sql, want) in [
            ("", Placeholder::Empty),
            ("  \n/* nothing */\n-- Not reversible", Placeholder::Empty),
            ("TODO", Placeholder::Todo),
            ("SELECT previous_revision_id;", Placeholder::Todo),
            ("select 1; SELECT 'nothing';", Placeholder::NoOp),
        ] {
            assert_eq!(check(sql, Dialect::Postgres), Some(want), "{sql:?}");
        }
    }

    #[test]
    fn real_downs_pass_even_with_words_in_strings_and_identifiers() {
        for sql in [
            "DROP TABLE users;",
            "UPDATE t SET note = 'TODO';",
            "ALTER TABLE t DROP COLUMN \"todo\";",
            "SELECT 1; DROP TABLE t;",
        ] {
            assert_eq!(check(sql, Dialect::Postgres), None, "{sql}");
        }
    }
}
