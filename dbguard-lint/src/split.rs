//! Splitting a migration file into statements with exact positions.
//!
//! The migrator runs statements one at a time so that a failure names the statement and its
//! line; the linter reports findings at statement positions. The tokenizer is sqlparser's, so
//! semicolons inside strings, comments, quoted identifiers and dollar-quoted bodies never split.
//! `BEGIN ... END` blocks (SQLite triggers, MySQL procedures, `BEGIN ATOMIC`) stay whole, and
//! MySQL client `DELIMITER` lines are honoured as the `mysql` client does.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::Dialect;

/// One statement of a SQL text. Positions are 1-based; `text` excludes the terminating
/// delimiter and surrounding whitespace and comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, as written.
    pub text: &'a str,
    /// Byte offset of `text` in the input.
    pub offset: usize,
    /// Line of the first character.
    pub line: usize,
    /// Column (in characters) of the first character.
    pub column: usize,
    /// Line of the last character.
    pub end_line: usize,
    /// Column of the character after the last one.
    pub end_column: usize,
    /// False when the tokenizer could not read this part (an unterminated string, say): the
    /// text is then one unsplit chunk, kept whole so that nothing is ever skipped.
    pub tokenized: bool,
}

impl Statement<'_> {
    /// The first word, uppercased (`CREATE`, `DROP`, ...), or empty.
    pub fn first_keyword(&self) -> String {
        self.keywords(1).pop().unwrap_or_default()
    }

    /// Up to `n` leading words of the statement, uppercased, skipping comments.
    pub fn keywords(&self, n: usize) -> Vec<String> {
        let mut rest = self.text;
        let mut out = Vec::new();
        while out.len() < n {
            rest = skip_space_and_comments(rest);
            let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if len == 0 {
                break;
            }
            out.push(rest[..len].to_ascii_uppercase());
            rest = &rest[len..];
        }
        out
    }
}

pub(crate) fn skip_space_and_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix("--") {
            s = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = s.strip_prefix("/*") {
            s = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            return s;
        }
    }
}

/// Splits `sql` into statements.
///
/// ```
/// use dbguard_lint::{split::split, Dialect};
/// let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- c;\nDROP TABLE \"a;b\";";
/// let stmts = split(sql, Dialect::Postgres);
/// assert_eq!(stmts.len(), 2);
/// assert_eq!(stmts[1].text, "DROP TABLE \"a;b\"");
/// assert_eq!(stmts[1].line, 3);
/// ```
pub fn split(sql: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    for seg in delimiter_segments(sql, dialect) {
        if seg.delimiter == ";" {
            split_tokens(sql, seg.start, seg.end, dialect, &mut out);
        } else {
            split_custom(sql, seg.start, seg.end, seg.delimiter, &mut out);
        }
    }
    out
}

struct Segment<'a> {
    start: usize,
    end: usize,
    delimiter: &'a str,
}

/// MySQL scripts may change the statement delimiter with a `DELIMITER $$` line (a client
/// command, never sent to the server). Other dialects have one segment.
fn delimiter_segments(sql: &str, dialect: Dialect) -> Vec<Segment<'_>> {
    let mut segs = Vec::new();
    let mut delimiter = ";";
    let mut start = 0;
    if dialect == Dialect::Mysql {
        let mut pos = 0;
        for line in sql.split_inclusive('\n') {
            let t = line.trim();
            let is_directive = t.len() > 10 && t[..10].eq_ignore_ascii_case("DELIMITER ");
            if is_directive {
                segs.push(Segment { start, end: pos, delimiter });
                delimiter = t[10..].trim();
                start = pos + line.len();
            }
            pos += line.len();
        }
    }
    segs.push(Segment { start, end: sql.len(), delimiter });
    segs
}

fn split_custom<'a>(sql: &'a str, start: usize, end: usize, delim: &str, out: &mut Vec<Statement<'a>>) {
    let mut from = start;
    while from < end {
        let to = sql[from..end].find(delim).map_or(end, |i| from + i);
        push_trimmed(sql, from, to, false, out);
        from = to + delim.len();
    }
}

fn split_tokens<'a>(sql: &'a str, start: usize, end: usize, dialect: Dialect, out: &mut Vec<Statement<'a>>) {
    let part = &sql[start..end];
    let parser_dialect = dialect.parser_dialect();
    let tokens = match Tokenizer::new(parser_dialect.as_ref(), part).with_unescape(false).tokenize_with_location() {
        Ok(t) => t,
        Err(_) => {
            // Never drop text we cannot read: hand it on whole.
            push_trimmed(sql, start, end, false, out);
            return;
        }
    };
    let mut cursor = Cursor::new(part);
    let offsets: Vec<usize> = tokens.iter().map(|t| start + cursor.offset(t)).collect();
    let next_offset = |i: usize| offsets.get(i + 1).copied().unwrap_or(end);

    let mut first: Option<usize> = None; // first significant token of the current statement
    let mut last = 0; // last significant token
    let mut depth = 0usize;
    for (i, tok) in tokens.iter().enumerate() {
        match &tok.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::SemiColon if depth == 0 => {
                if let Some(f) = first.take() {
                    push_trimmed(sql, offsets[f], next_offset(last), true, out);
                }
                continue;
            }
            Token::Word(w) => match w.keyword {
                // A leading BEGIN is a transaction statement; elsewhere it opens a block body.
                Keyword::BEGIN if first.is_some() && w.quote_style.is_none() => depth += 1,
                Keyword::CASE if w.quote_style.is_none() => depth += 1,
                Keyword::END if depth > 0 && w.quote_style.is_none() && !closes_other_block(&tokens[i + 1..]) => {
                    depth -= 1
                }
                _ => {}
            },
            _ => {}
        }
        first.get_or_insert(i);
        last = i;
    }
    if let Some(f) = first {
        push_trimmed(sql, offsets[f], next_offset(last), true, out);
    }
}

/// `END IF`, `END LOOP`, ... close blocks that did not open with BEGIN or CASE.
fn closes_other_block(rest: &[TokenWithSpan]) -> bool {
    let next = rest.iter().find(|t| !matches!(t.token, Token::Whitespace(_)));
    matches!(next, Some(TokenWithSpan { token: Token::Word(w), .. })
        if w.quote_style.is_none() && ["IF", "LOOP", "WHILE", "REPEAT", "FOR"].iter().any(|k| w.value.eq_ignore_ascii_case(k)))
}

/// Pushes `sql[from..to]` without surrounding whitespace and comments, if anything is left.
fn push_trimmed<'a>(sql: &'a str, from: usize, to: usize, tokenized: bool, out: &mut Vec<Statement<'a>>) {
    let raw = &sql[from..to];
    let lead = raw.len() - skip_space_and_comments(raw).len();
    let text = raw[lead..].trim_end();
    if text.is_empty() {
        return;
    }
    let offset = from + lead;
    let (line, column) = line_col(sql, offset);
    let (end_line, end_column) = line_col(sql, offset + text.len());
    out.push(Statement { text, offset, line, column, end_line, end_column, tokenized });
}

/// 1-based line and character column of a byte offset.
pub fn line_col(sql: &str, offset: usize) -> (usize, usize) {
    let before = &sql[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// Turns the tokenizer's line/column locations into byte offsets, moving forward only, so a
/// whole file costs one pass even when it is a single long line.
struct Cursor<'a> {
    text: &'a str,
    byte: usize,
    line: u64,
    column: u64,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, byte: 0, line: 1, column: 1 }
    }

    fn offset(&mut self, tok: &TokenWithSpan) -> usize {
        let target = tok.span.start;
        if target.line == 0 {
            return self.text.len(); // EOF and synthetic tokens carry an empty location
        }
        while self.line < target.line {
            match self.text[self.byte..].find('\n') {
                Some(i) => {
                    self.byte += i + 1;
                    self.line += 1;
                    self.column = 1;
                }
                None => return self.text.len(),
            }
        }
        let mut chars = self.text[self.byte..].char_indices();
        while self.column < target.column {
            match chars.next() {
                Some((_, c)) => {
                    self.column += 1;
                    self.byte += c.len_utf8();
                }
                None => break,
            }
        }
        self.byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, d: Dialect) -> Vec<&str> {
        split(sql, d).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn semicolons_in_strings_comments_and_identifiers_do_not_split() {
        let sql = "INSERT INTO t VALUES ('a;b', E'c\\';d'); -- x;y\n/* p; /* nested; */ q; */ SELECT \"x;y\" FROM t";
        assert_eq!(texts(sql, Dialect::Postgres), ["INSERT INTO t VALUES ('a;b', E'c\\';d')", "SELECT \"x;y\" FROM t"]);
        let my = "INSERT INTO `a;b` VALUES ('x\\';y'); # c;\nSELECT 1";
        assert_eq!(texts(my, Dialect::Mysql), ["INSERT INTO `a;b` VALUES ('x\\';y')", "SELECT 1"]);
    }

    #[test]
    fn dollar_quoted_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  DELETE FROM t;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;";
        let s = texts(sql, Dialect::Postgres);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].ends_with("LANGUAGE plpgsql"));
        assert_eq!(s[1], "DO $$ BEGIN PERFORM 1; END $$");
    }

    #[test]
    fn trigger_bodies_with_case_stay_whole() {
        let sql = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE u SET n = CASE WHEN 1 THEN 2 END;\n  DELETE FROM v;\nEND;\nBEGIN;\nSELECT 1;\nCOMMIT;";
        let s = texts(sql, Dialect::Sqlite);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(s[0].starts_with("CREATE TRIGGER") && s[0].ends_with("END"));
        assert_eq!(&s[1..], ["BEGIN", "SELECT 1", "COMMIT"]);
    }

    #[test]
    fn mysql_procedures_with_end_if_and_delimiter() {
        let sql = "DELIMITER $$\nCREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END$$\nDELIMITER ;\nSELECT 3;";
        assert_eq!(
            texts(sql, Dialect::Mysql),
            ["CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END", "SELECT 3"]
        );
        let no_delim = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(no_delim, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn positions_are_exact_with_multibyte_text() {
        let sql = "-- héllo\n  SELECT 'ü';\n\tDROP TABLE x ;";
        let s = split(sql, Dialect::Postgres);
        assert_eq!((s[0].line, s[0].column, s[0].text), (2, 3, "SELECT 'ü'"));
        assert_eq!((s[1].line, s[1].column, s[1].end_line, s[1].end_column), (3, 2, 3, 14));
        assert_eq!(&sql[s[1].offset..s[1].offset + s[1].text.len()], "DROP TABLE x");
    }

    #[test]
    fn unreadable_text_is_kept_not_skipped() {
        let sql = "SELECT 1; SELECT 'unterminated";
        let s = split(sql, Dialect::Postgres);
        assert_eq!(s.len(), 1);
        assert!(!s[0].tokenized);
        assert_eq!(s[0].text, sql);
    }

    #[test]
    fn comment_only_text_has_no_statements() {
        assert!(split("-- nothing\n/* here */\n", Dialect::Sqlite).is_empty());
        assert_eq!(split("/* a */ DROP TABLE t", Dialect::Sqlite)[0].keywords(2), ["DROP", "TABLE"]);
    }
}
