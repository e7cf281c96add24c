//! `unparsed-sql`: text where the statement splitter lost track (an unterminated string or
//! comment, a block never closed), so that the statements after it may be hidden from the
//! linter and the guards. Applied by the engine.

use super::{Category, RuleInfo};
use crate::finding::{Finding, Severity};

/// The rule's description.
pub static INFO: RuleInfo = RuleInfo {
    id: "unparsed-sql",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "the rest of the file could not be split into statements, so it could not be checked",
    help: "close the string, comment or block; until then dbguard checks the text after it statement by statement as best it can, and at run time snapshots every existing table the text names before running it",
    dialects: &[],
    verbs: &[],
};

/// The finding for a place where the splitter lost track (see [`crate::split::Lost`]).
pub(crate) fn finding(file: &str, lost: &crate::split::Lost) -> Finding {
    let msg = format!(
        "could not check the rest of this file from line {}: {}, so the statements after it may be hidden from the checks",
        lost.line,
        lost.describe()
    );
    Finding::at(&INFO, file, (lost.line, 1), (lost.line, 1), msg)
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, lint_sql};

    #[test]
    fn an_unclosed_block_is_an_error_and_what_follows_is_still_checked() {
        let sql = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE c SET n = n + 1;\nDROP TABLE users;\nALTER TABLE orders DROP COLUMN total;";
        let f = lint_sql("up.sql", sql, Dialect::Sqlite);
        let rules: Vec<(&str, usize)> = f.iter().map(|f| (&*f.rule, f.line)).collect();
        assert!(rules.contains(&("unparsed-sql", 1)), "{rules:?}");
        assert!(rules.contains(&("drop-table", 3)) && rules.contains(&("drop-column", 4)), "{rules:?}");
        let msg = &f.iter().find(|f| f.rule == "unparsed-sql").unwrap().message;
        assert!(msg.contains("could not check the rest of this file from line 1"), "{msg}");
    }

    #[test]
    fn an_unterminated_string_is_an_error() {
        let f = lint_sql("up.sql", "SELECT 1;\nUPDATE t SET a = 'x;\nDROP TABLE users;", Dialect::Postgres);
        let u = f.iter().find(|f| f.rule == "unparsed-sql").expect("reported");
        assert_eq!(u.line, 2);
        assert!(u.message.contains("never ends"), "{}", u.message);
    }
}
