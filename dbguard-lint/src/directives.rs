//! `-- dbguard: ...` directives in the leading comment lines of a migration file.
//!
//! ```sql
//! -- dbguard: preserves = users, orders
//! -- dbguard: no-transaction
//! CREATE INDEX CONCURRENTLY ...
//! ```
//! and, in a `down.sql` that cannot undo its `up`, an explicit marker with a reason:
//! `-- dbguard: irreversible = "the dropped column's data is gone"`.
//! Lint suppressions (`-- dbguard:allow ...`) share the prefix and are left to the linter.

/// The directives found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// Tables whose rows the migration must keep.
    pub preserves: Vec<String>,
    /// Tables whose row count must not change at all (a subset of nothing else: listed apart).
    pub preserves_exactly: Vec<String>,
    /// Columns whose values must stay exactly as they were (`preserves = users(email, name)`),
    /// by table; the table is in `preserves` (or `preserves_exactly`) too.
    pub preserves_values: Vec<(String, Vec<String>)>,
    /// Run outside a transaction.
    pub no_transaction: bool,
    /// The down cannot revert the up, for this reason.
    pub irreversible: Option<String>,
    /// The up is empty on purpose, for this reason (an empty up is refused otherwise).
    pub empty: Option<String>,
}

/// A directive that could not be read: its 1-based line and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong and how to write it.
    pub message: String,
}

/// The directive keys, for error messages.
pub const KEYS: &[&str] = &[
    "preserves = a, b",
    "preserves-exactly = a, b",
    "no-transaction",
    "irreversible = \"reason\"",
    "empty = \"reason\"",
];

/// Reads directives from the comment lines at the top of `sql` (stops at the first line of SQL).
/// A comment anywhere that looks meant as a directive but is not read as one (`-- DBGUARD:`,
/// `-- dbguard :`, `/* dbguard: ... */`, or after the first statement) is an error: a
/// directive that silently does nothing would turn a guard off.
///
/// ```
/// use dbguard_lint::directives::parse;
/// let d = parse("-- dbguard: preserves = users, \"Orders\"\n-- dbguard: no-transaction\nSELECT 1;").unwrap();
/// assert_eq!(d.preserves, ["users", "Orders"]);
/// assert!(d.no_transaction);
/// ```
pub fn parse(sql: &str) -> Result<Directives, DirectiveError> {
    let d = parse_leading(sql)?;
    check_stray(sql)?;
    Ok(d)
}

/// `a, b(c, d)` split at the commas outside parentheses.
fn split_top_level(v: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in v.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// One item of a `preserves` list: `users` or `users(email, name)`, quotes removed.
///
/// ```
/// use dbguard_lint::directives::preserved_item;
/// assert_eq!(preserved_item("users").unwrap(), ("users".to_string(), vec![]));
/// assert_eq!(preserved_item(" \"Users\" ( email , `name` ) ").unwrap(), ("Users".into(), vec!["email".into(), "name".into()]));
/// assert!(preserved_item("users(").is_err() && preserved_item("users()").is_err() && preserved_item("").is_err());
/// ```
pub fn preserved_item(item: &str) -> Result<(String, Vec<String>), String> {
    let unquote = |s: &str| s.trim().trim_matches(['"', '`', '\'']).to_string();
    let item = item.trim();
    let (table, columns) = match item.split_once('(') {
        None => (unquote(item), Vec::new()),
        Some((table, rest)) => {
            let inner = rest.trim_end().strip_suffix(')').ok_or("a `(` without its `)`")?;
            if inner.contains(['(', ')']) {
                return Err("parentheses inside the column list".into());
            }
            let columns: Vec<String> = inner.split(',').map(unquote).collect();
            if columns.iter().any(String::is_empty) {
                return Err("an empty column name".into());
            }
            (unquote(table), columns)
        }
    };
    if table.is_empty() {
        return Err("an empty table name".into());
    }
    Ok((table, columns))
}

/// Every comment that looks meant as a directive must be one that [`parse_leading`] reads.
fn check_stray(sql: &str) -> Result<(), DirectiveError> {
    use crate::lexer::{Kind, Lexer};
    let sql = sql.trim_start_matches('\u{feff}');
    // MySQL's `#` comments are not directives (the PostgreSQL lexer below reads `#` as code).
    for (i, l) in sql.lines().enumerate() {
        if let Some(rest) = l.trim_start().strip_prefix('#')
            && strip_prefix_ignore_case(rest.trim_start(), "dbguard").is_some_and(|r| r.trim_start().starts_with(':'))
        {
            return Err(DirectiveError {
                line: i + 1,
                message: if rest.trim_start()[7..].trim_start()[1..]
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("allow")
                {
                    format!(
                        "`{}` is not read as an allow: write it as a line comment: `-- dbguard:allow <rule> reason=\"...\"`",
                        l.trim()
                    )
                } else {
                    format!(
                        "`{}` is not read as a directive: write it exactly as `-- dbguard: <directive>` (a `--` comment)",
                        l.trim()
                    )
                },
            });
        }
    }
    let mut seen_code = false;
    let mut line = 1;
    for t in Lexer::new(sql, crate::Dialect::Postgres) {
        let text = t.text(sql);
        match t.kind {
            Kind::LineComment | Kind::BlockComment => {
                // Wherever `dbguard:` sits in a comment (`--- dbguard:`, `-- -- dbguard:`, a
                // `-- dbguard:` line inside a block comment), it looks meant as a directive.
                // `-- -- dbguard: ...` is a directive commented out on purpose (the scaffold
                // writes its examples so): not a typo of one.
                let commented_out = text
                    .strip_prefix("--")
                    .filter(|r| r.starts_with(char::is_whitespace))
                    .map(str::trim_start)
                    .is_some_and(|r| r.strip_prefix("--").is_some_and(|r| r.starts_with(char::is_whitespace)));
                if t.kind == Kind::LineComment && commented_out {
                    line += text.matches('\n').count();
                    continue;
                }
                let lower = text.to_ascii_lowercase();
                let Some(rest) = lower
                    .match_indices("dbguard")
                    .map(|(i, _)| &text[i + 7..])
                    .find(|r| r.trim_start().starts_with(':'))
                else {
                    line += text.matches('\n').count();
                    continue;
                };
                let rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix(':') {
                    let after = after.trim_start();
                    let exact = t.kind == Kind::LineComment && text.starts_with("-- dbguard:")
                        || text.starts_with("--dbguard:");
                    // Suppressions (`-- dbguard:allow ...`) may sit anywhere; the linter reads
                    // them exactly so written. A look-alike anywhere is an error, never ignored.
                    let allow_like = after.to_ascii_lowercase().starts_with("allow");
                    let exact_allow = ["-- dbguard:allow", "--dbguard:allow"].iter().any(|p| {
                        text.strip_prefix(p)
                            .map(|r| r.strip_prefix("-file").unwrap_or(r))
                            .is_some_and(|r| r.starts_with(char::is_whitespace))
                    });
                    if allow_like && exact_allow && t.kind == Kind::LineComment {
                        line += text.matches('\n').count();
                        continue;
                    }
                    let (what, fix) = if allow_like {
                        (
                            "is not read as an allow",
                            "write it as a line comment: `-- dbguard:allow <rule> reason=\"...\"`",
                        )
                    } else if !exact {
                        (
                            "is not read as a directive",
                            "write it exactly as `-- dbguard: <directive>` (lowercase, a line comment)",
                        )
                    } else if seen_code {
                        (
                            "comes after the first statement, where directives are not read",
                            "move it to the comment lines at the top of the file",
                        )
                    } else {
                        line += text.matches('\n').count();
                        continue;
                    };
                    return Err(DirectiveError { line, message: format!("`{}` {what}: {fix}", text.trim()) });
                }
            }
            Kind::Whitespace => {}
            _ => seen_code = true,
        }
        line += text.matches('\n').count();
    }
    Ok(())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// The directives in the comments before the first statement: line comments are read, block
/// comments (a licence or ticket header) skipped, so a directive under one still counts.
fn parse_leading(sql: &str) -> Result<Directives, DirectiveError> {
    use crate::lexer::{Kind, Lexer};
    let sql = sql.trim_start_matches('\u{feff}');
    let mut d = Directives::default();
    let mut line = 1;
    for tok in Lexer::new(sql, crate::Dialect::Postgres) {
        let text = tok.text(sql);
        let here = line;
        line += text.matches('\n').count();
        match tok.kind {
            Kind::Whitespace | Kind::BlockComment => continue,
            Kind::LineComment => {}
            _ => break,
        }
        let t = text.trim();
        let Some(comment) = t.strip_prefix("--") else {
            continue;
        };
        let Some(body) = comment.trim_start().strip_prefix("dbguard:") else {
            continue;
        };
        if body.starts_with("allow") {
            continue; // a lint suppression, read by the linter
        }
        let err = |message: String| DirectiveError { line: here, message };
        let (key, value) = match body.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (body.trim(), None),
        };
        match (key, value) {
            (key @ ("preserves" | "preserves-exactly"), Some(v)) => {
                let mut tables = Vec::new();
                for item in split_top_level(v) {
                    let (table, columns) = preserved_item(item).map_err(|why| {
                        err(format!(
                            "`{key}` cannot read `{}`: {why}; write `-- dbguard: {key} = users(email, name), orders`",
                            item.trim()
                        ))
                    })?;
                    if !columns.is_empty() {
                        d.preserves_values.push((table.clone(), columns));
                    }
                    tables.push(table);
                }
                if key == "preserves" { d.preserves.extend(tables) } else { d.preserves_exactly.extend(tables) }
            }
            ("no-transaction", None) => d.no_transaction = true,
            (key @ ("irreversible" | "empty"), Some(v)) => {
                let reason = v.trim_matches('"').trim();
                if reason.is_empty() {
                    return Err(err(format!("`{key}` needs a reason: `-- dbguard: {key} = \"why\"`")));
                }
                if key == "empty" {
                    d.empty = Some(reason.to_string())
                } else {
                    d.irreversible = Some(reason.to_string())
                }
            }
            _ => {
                // `-- dbguard: allow x` is an allow written like a directive.
                let word = t.split(|c: char| !c.is_ascii_alphanumeric() && c != '-').next().unwrap_or_default();
                if word == "allow" || word == "allow-file" {
                    return Err(err(format!(
                        "`{t}` is an allow written with a space: write it `-- dbguard:{word} <rule> reason=\"...\"` (no space after the colon)"
                    )));
                }
                return Err(err(format!(
                    "unknown or malformed directive `{t}`; the directives are: {} (and the lint allows `-- dbguard:allow <rule> reason=\"...\"`)",
                    KEYS.iter().map(|k| format!("`-- dbguard: {k}`")).collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_stop_at_the_first_statement() {
        let d = parse("-- header\n\n-- dbguard: preserves = a\nSELECT 1;\n").unwrap();
        assert_eq!(d.preserves, ["a"]);
        // One after it would be silently ignored: refused instead.
        let e = parse("-- dbguard: preserves = a\nSELECT 1;\n-- dbguard: no-transaction\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("-- x\n-- dbguard: preserve = users\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("preserves = a, b"), "{}", e.message);
        assert_eq!(parse("-- dbguard: preserves = a,,b").unwrap_err().line, 1);
        let v = parse(
            "-- dbguard: preserves = users(email, name), orders\n-- dbguard: preserves-exactly = t(a)\nSELECT 1;",
        )
        .unwrap();
        assert_eq!(v.preserves, ["users", "orders"]);
        assert_eq!(v.preserves_exactly, ["t"]);
        assert_eq!(
            v.preserves_values,
            [("users".to_string(), vec!["email".to_string(), "name".to_string()]), ("t".into(), vec!["a".into()])]
        );
        let e = parse("-- dbguard: preserves = users(email\nSELECT 1;").unwrap_err();
        assert!(e.message.contains("without its `)`"), "{}", e.message);
        assert!(parse("-- dbguard: irreversible = \"\"").is_err());
    }

    #[test]
    fn look_alikes_are_errors_not_silence() {
        for (sql, line) in [
            ("-- DBGUARD: preserves = users\nDELETE FROM users WHERE id > 0;", 1),
            ("-- dbguard : preserves = users\nSELECT 1;", 1),
            ("/* dbguard: preserves = users */\nSELECT 1;", 1),
            ("SELECT 1;\n-- dbguard: preserves = users\nDELETE FROM users;", 2),
            ("--  Dbguard:preserves=users\nSELECT 1;", 1),
            ("--- dbguard: preserves = users\nSELECT 1;", 1),
            ("---- dbguard: preserves = users\nSELECT 1;", 1),
            ("-- --dbguard: preserves = users\nSELECT 1;", 1),
            ("/*\n-- dbguard: preserves = users\n*/\nSELECT 1;", 1),
        ] {
            let e = parse(sql).unwrap_err();
            assert_eq!(e.line, line, "{sql:?}: {}", e.message);
        }
        // An allow misspelled as a directive, or in a block comment: the error shows the form.
        for sql in [
            "-- dbguard: allow delete-without-where reason=\"x\"\nDELETE FROM t;",
            "/* dbguard:allow delete-without-where reason=\"x\" */\nDELETE FROM t;",
            "SELECT 1;\n-- dbguard: allow delete-without-where reason=\"x\"\nDELETE FROM t;",
            "SELECT 1;\n-- DBGUARD:allow delete-without-where reason=\"x\"\nDELETE FROM t;",
            "SELECT 1;\n-- dbguard :allow delete-without-where reason=\"x\"\nDELETE FROM t;",
            "SELECT 1;\n-- dbguard:allows delete-without-where reason=\"x\"\nDELETE FROM t;",
            "SELECT 1;\n-- dbguard:allow: delete-without-where reason=\"x\"\nDELETE FROM t;",
            "SELECT 1;\n# dbguard: allow delete-without-where reason=\"x\"\nDELETE FROM t;",
        ] {
            let e = parse(sql).unwrap_err();
            assert!(e.message.contains("`-- dbguard:allow <rule> reason="), "{sql:?}: {}", e.message);
        }
        // Suppressions may sit anywhere, and other comments mentioning dbguard are fine.
        parse("SELECT 1;\n-- dbguard:allow drop-table reason=\"x\"\nDROP TABLE t;").unwrap();
        parse("-- migrated by dbguard, see the docs\nSELECT 1;").unwrap();
        // A directive commented out on purpose, as the scaffold's examples are.
        assert_eq!(parse("-- -- dbguard: preserves = users\nSELECT 1;").unwrap(), Directives::default());
    }

    #[test]
    fn a_block_comment_header_does_not_hide_directives() {
        let d =
            parse("/* Ticket 123: purge test users */\n-- dbguard: preserves = users\nDELETE FROM users WHERE id > 0;")
                .unwrap();
        assert_eq!(d.preserves, ["users"]);
        let d =
            parse("/* licence\n   text */ -- dbguard: no-transaction\n-- dbguard: preserves = a\nSELECT 1;").unwrap();
        assert!(d.no_transaction && d.preserves == ["a"]);
        // Errors keep their line under a multi-line header.
        assert_eq!(parse("/*\n\n*/\n-- dbguard: preserve = users\n").unwrap_err().line, 4);
        // `#` comments (MySQL) are refused, not ignored.
        assert_eq!(parse("# dbguard: preserves = users\nDELETE FROM users;").unwrap_err().line, 1);
        assert_eq!(parse("SELECT 1;\n  #DBGUARD: preserves = users").unwrap_err().line, 2);
    }

    #[test]
    fn irreversible_and_suppressions() {
        let d = parse("-- dbguard:allow drop-column reason=\"x\"\n-- dbguard: irreversible = \"data gone\"").unwrap();
        assert_eq!(d.irreversible.as_deref(), Some("data gone"));
    }
}
