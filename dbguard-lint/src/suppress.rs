//! Inline suppressions: `-- dbguard:allow <rule>[, <rule>] reason="..."` before a statement,
//! `-- dbguard:allow-file <rule> reason="..."` anywhere for the whole file.

use crate::Dialect;
use crate::lexer::{Kind, Lexer};

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Byte range of the comment.
    pub start: usize,
    /// End of the comment.
    pub end: usize,
    /// The rule ids it names.
    pub rules: Vec<String>,
    /// Its reason, if it gives a non-empty one.
    pub reason: Option<String>,
    /// `allow-file`: for the whole file.
    pub file: bool,
}

/// Every suppression comment in `sql`.
pub fn parse(sql: &str, dialect: Dialect) -> Vec<Suppression> {
    if !sql.contains("dbguard:allow") {
        return Vec::new(); // the common case: no need to lex the file again
    }
    Lexer::new(sql, dialect)
        .filter(|t| matches!(t.kind, Kind::LineComment | Kind::BlockComment))
        .filter_map(|t| {
            let text = t.text(sql);
            let at = text.find("dbguard:allow")?;
            let rest = &text[at + "dbguard:allow".len()..];
            let (file, rest) = match rest.strip_prefix("-file") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            // `dbguard:allows x`, `dbguard:allow: x` are no allows (the directives check says so).
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let rest = rest.trim_end_matches("*/");
            let (rules_part, reason) = match rest.find("reason=") {
                Some(i) => {
                    let r = rest[i + "reason=".len()..].trim();
                    let r = r.strip_prefix('"').map_or(r, |r| r.split('"').next().unwrap_or(""));
                    (&rest[..i], Some(r.trim().to_string()).filter(|r| !r.is_empty()))
                }
                None => (rest, None),
            };
            let rules =
                rules_part.split([',', ' ', '\t']).map(str::trim).filter(|r| !r.is_empty()).map(String::from).collect();
            Some(Suppression { start: t.start, end: t.end, rules, reason, file })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_and_reasons() {
        let s =
            parse("-- dbguard:allow drop-column, drop-table reason=\"moved to contacts\"\nSELECT 1", Dialect::Postgres);
        assert_eq!(s[0].rules, ["drop-column", "drop-table"]);
        assert_eq!(s[0].reason.as_deref(), Some("moved to contacts"));
        assert!(!s[0].file);
        let f = parse("/* dbguard:allow-file truncate */", Dialect::Postgres);
        assert!(f[0].file && f[0].reason.is_none());
        assert!(parse("SELECT '-- dbguard:allow x'", Dialect::Postgres).is_empty(), "inside a string");
    }
}
