//! Splitting a migration file into statements with exact positions.
//!
//! The migrator runs statements one at a time so that a failure names the statement and its
//! line; the linter reports findings at statement positions. Splitting runs on the
//! [`lexer`](crate::lexer), so semicolons inside strings, comments, quoted identifiers and
//! dollar-quoted bodies never split. `BEGIN ... END` blocks (SQLite triggers, MySQL procedures,
//! `BEGIN ATOMIC`) stay whole, and MySQL client `DELIMITER` lines are honoured as the `mysql`
//! client does. One pass, linear in the input.

use crate::Dialect;
use crate::lexer::{Kind, Lexer, Token};

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
    /// False for text the lexer could not read to its end (an unterminated string, say): it is
    /// kept as one chunk, so that nothing is ever skipped.
    pub tokenized: bool,
    /// Set when the splitter lost track here: this "statement" may hold several, which the
    /// linter and the guards cannot see one by one (see [`Lost`]).
    pub lost: Option<Lost>,
}

/// Where and why the splitter lost track of statement boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The line where the trouble starts.
    pub line: usize,
    /// What it is.
    pub cause: LostCause,
}

/// Why the splitter lost track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostCause {
    /// A string, quoted name, comment or dollar-quoted body that never ends.
    Unterminated,
    /// A `BEGIN` (or `CASE`) block with no matching `END`.
    UnclosedBlock,
}

impl Lost {
    /// A sentence for messages.
    pub fn describe(&self) -> String {
        match self.cause {
            LostCause::Unterminated => {
                format!("a string, quoted name or comment that starts at line {} never ends", self.line)
            }
            LostCause::UnclosedBlock => format!("the block opened at line {} is never closed with END", self.line),
        }
    }
}

/// How sure the splitter is of a statement it hands on.
#[derive(Debug, Clone, Copy)]
enum Unsure {
    /// A statement ended by `;` (or the end of the text) on the token stream.
    No,
    /// Ended by a custom `DELIMITER`; not tokenized here.
    Custom,
    /// An unterminated token starts at this offset.
    Unterminated { at: usize },
    /// A block opened at this offset is never closed.
    UnclosedBlock { at: usize },
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
    for_each_statement(sql, dialect, (1, 1), &mut |st, _, _| out.push(st));
    out
}

/// Calls `f` with each statement of `sql`, in order, and the offset just after its delimiter
/// (`None` when the text ended before one): [`split`] without the list, so that a big
/// migration is read once, in memory bounded by its largest statement.
///
/// ```
/// use dbguard_lint::{Dialect, split::for_each};
/// let mut ends = Vec::new();
/// for_each("SELECT 1; -- one\nSELECT 2", Dialect::Sqlite, &mut |st, end| ends.push((st.text, end)));
/// assert_eq!(ends, [("SELECT 1", Some(9)), ("SELECT 2", None)]);
/// ```
pub fn for_each<'a>(sql: &'a str, dialect: Dialect, f: &mut dyn FnMut(Statement<'a>, Option<usize>)) {
    for_each_statement(sql, dialect, (1, 1), &mut |st, _, end| f(st, end));
}

/// Calls `sink` with each statement, in order, its significant tokens (offsets relative to the
/// statement's text; empty for statements that are not `tokenized`), and the offset just after
/// its delimiter (`None` when the text ended before one). `start` is the line and column of
/// `sql`'s first character, for text that continues a file. Streaming: memory stays bounded by
/// the largest statement, and the linter need not lex everything twice.
/// Returns where it stopped counting lines (the end of the last statement), so that a caller
/// that needs a later position need not count from the start again.
pub(crate) fn for_each_statement<'a>(
    sql: &'a str,
    dialect: Dialect,
    start: (usize, usize),
    sink: Sink<'_, 'a>,
) -> Positions<'a> {
    let mut pos = Positions { src: sql, byte: 0, line: start.0, column: start.1 };
    for seg in delimiter_segments(sql, dialect) {
        if seg.delimiter == ";" {
            split_tokens(sql, seg.start, seg.end, dialect, &mut pos, sink);
        } else {
            split_custom(sql, seg.start, seg.end, seg.delimiter, &mut pos, sink);
        }
    }
    pos
}

/// Calls `f` with each statement of `sql` from byte `start`, a statement's first character
/// at line and column `at`, with offsets in all of `sql`: the statements a split of the whole
/// text gives from there, when nothing before `start` is pending (a top-level statement
/// boundary) and the delimiter is `;` (see [`crate::statements::Statements`]).
pub(crate) fn for_each_from<'a>(
    sql: &'a str,
    start: usize,
    at: (usize, usize),
    dialect: Dialect,
    f: &mut dyn FnMut(Statement<'a>),
) {
    let mut pos = Positions { src: sql, byte: start, line: at.0, column: at.1 };
    split_tokens(sql, start, sql.len(), dialect, &mut pos, &mut |st, _, _| f(st));
}

struct Segment<'a> {
    start: usize,
    end: usize,
    delimiter: &'a str,
}

/// Splits `text` on every top-level `;`, ignoring blocks: the fallback for text where the
/// splitter lost track of a block ([`LostCause::UnclosedBlock`]), so that the statements
/// after it are still seen. Returns each piece's offset in `text` and its text.
pub fn split_flat(text: &str, dialect: Dialect) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let (mut first, mut last_end) = (None, 0);
    for tok in Lexer::new(text, dialect) {
        match tok.kind {
            Kind::Whitespace | Kind::LineComment | Kind::BlockComment => {}
            Kind::Semicolon => {
                if let Some(f) = first.take() {
                    out.push((f, &text[f..last_end]));
                }
            }
            _ => {
                first.get_or_insert(tok.start);
                last_end = tok.end;
            }
        }
    }
    if let Some(f) = first {
        out.push((f, &text[f..last_end]));
    }
    out
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
            let is_directive = t.len() > 10 && t.is_char_boundary(10) && t[..10].eq_ignore_ascii_case("DELIMITER ");
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

type Sink<'s, 'a> = &'s mut dyn FnMut(Statement<'a>, &[Token], Option<usize>);

fn split_custom<'a>(sql: &'a str, start: usize, end: usize, delim: &str, pos: &mut Positions<'a>, sink: Sink<'_, 'a>) {
    let mut from = start;
    while from < end {
        let to = sql[from..end].find(delim).map_or(end, |i| from + i);
        let raw = &sql[from..to];
        let lead = raw.len() - skip_space_and_comments(raw).len();
        let text_end = from + lead + raw[lead..].trim_end().len();
        let terminated = (to < end).then_some(to + delim.len());
        emit(sql, from + lead, text_end, Unsure::Custom, terminated, pos, sink, &mut Vec::new());
        from = to + delim.len();
    }
}

fn split_tokens<'a>(
    sql: &'a str,
    start: usize,
    end: usize,
    dialect: Dialect,
    pos: &mut Positions<'a>,
    sink: Sink<'_, 'a>,
) {
    let mut lexer = Lexer::at(&sql[..end], start, dialect);
    let mut current: Vec<Token> = Vec::new(); // the statement's significant tokens, reused
    let mut first: Option<usize> = None; // start of the current statement's first token
    let mut last_end = 0; // end of its last significant token
    let mut depth = 0usize;
    // Where the outermost open block began, to say where the splitter lost track.
    let mut opened_at: Option<usize> = None;
    while let Some(tok) = lexer.next() {
        match tok.kind {
            Kind::Whitespace | Kind::LineComment | Kind::BlockComment => continue,
            // An executable comment's brackets: not for the rules, but part of the text.
            Kind::ExecMarker => {
                first.get_or_insert(tok.start);
                last_end = tok.end;
                continue;
            }
            Kind::Unterminated => {
                current.clear();
                emit(
                    sql,
                    first.unwrap_or(tok.start),
                    sql[..end].trim_end().len(),
                    Unsure::Unterminated { at: tok.start },
                    None,
                    pos,
                    sink,
                    &mut current,
                );
                return;
            }
            Kind::Semicolon if depth == 0 => {
                if let Some(f) = first.take() {
                    emit(sql, f, last_end, Unsure::No, Some(tok.end), pos, sink, &mut current);
                }
                continue;
            }
            Kind::Word => {
                let opens = opens_block(sql, &current, tok, depth, lexer.clone());
                if opens {
                    if depth == 0 {
                        opened_at = Some(tok.start);
                    }
                    depth += 1;
                } else if depth > 0
                    && tok.is_word(sql, "END")
                    && !is_qualified(sql, &current, lexer.clone())
                    && !closes_other_block(sql, lexer.clone())
                {
                    depth -= 1;
                }
            }
            _ => {}
        }
        first.get_or_insert(tok.start);
        last_end = tok.end;
        current.push(tok);
    }
    if let Some(f) = first {
        // A block still open at the end: everything after its start was taken as one
        // statement, which may hide statements from the linter and the guards. Say so.
        let unsure = match opened_at {
            Some(at) if depth > 0 => Unsure::UnclosedBlock { at },
            _ => Unsure::No,
        };
        emit(sql, f, last_end, unsure, None, pos, sink, &mut current);
    }
}

/// Whether the word `tok` opens a block whose `;`s do not end the statement: `BEGIN` in a
/// trigger, procedure, function or event body (or `BEGIN ATOMIC`), a nested `BEGIN` inside
/// one, and `CASE` inside one (its `END` must not close the body). Outside a body, a `CASE`
/// expression holds no `;`, and `begin`/`case` may be column names (`s.case`, `SET begin = 1`).
fn opens_block(sql: &str, before: &[Token], tok: Token, depth: usize, rest: Lexer<'_>) -> bool {
    // Only BEGIN and CASE open blocks: every other word is settled without lexing ahead.
    if !(tok.is_word(sql, "CASE") || tok.is_word(sql, "BEGIN")) || is_qualified(sql, before, rest.clone()) {
        return false;
    }
    if tok.is_word(sql, "CASE") {
        // `END CASE` closes the CASE its END already counted.
        return depth > 0 && !before.last().is_some_and(|t| t.is_word(sql, "END"));
    }
    if before.is_empty() {
        // A leading BEGIN is a transaction statement, unless it is MariaDB's compound
        // statement `BEGIN NOT ATOMIC ... END`, whose `;`s are its own.
        let mut next = rest.into_iter().filter(|t| !t.is_trivia());
        return next.next().is_some_and(|t| t.is_word(sql, "NOT"))
            && next.next().is_some_and(|t| t.is_word(sql, "ATOMIC"));
    }
    if depth > 0 {
        return true;
    }
    let next: Option<Token> = rest.into_iter().find(|t| !t.is_trivia());
    if next.is_some_and(|t| t.is_word(sql, "ATOMIC")) {
        return true;
    }
    // `CREATE [OR REPLACE] [DEFINER = x] [TEMP] TRIGGER|PROCEDURE|FUNCTION|EVENT ... BEGIN`,
    // or `ALTER EVENT ... DO BEGIN`.
    let starts = |kw: &str| before.first().is_some_and(|t| t.is_word(sql, kw));
    (starts("CREATE") || starts("ALTER"))
        && before
            .iter()
            .take(12)
            .any(|t| ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"].iter().any(|k| t.is_word(sql, k)))
}

/// Whether the word just read is part of a qualified name (`s.case`, `t.end`, `begin.x`), so
/// an identifier and not a keyword.
fn is_qualified(sql: &str, before: &[Token], rest: Lexer<'_>) -> bool {
    let dot = |t: &Token| t.kind == Kind::Punct && t.text(sql) == ".";
    before.last().is_some_and(dot) || rest.into_iter().find(|t| !t.is_trivia()).is_some_and(|t| dot(&t))
}

/// `END IF`, `END LOOP`, ... close blocks that did not open with BEGIN or CASE.
fn closes_other_block(sql: &str, rest: Lexer<'_>) -> bool {
    let next: Option<Token> = rest.into_iter().find(|t| !t.is_trivia());
    next.is_some_and(|t| ["IF", "LOOP", "WHILE", "REPEAT", "FOR"].iter().any(|k| t.is_word(sql, k)))
}

/// Hands `sql[from..to]` and its tokens (made relative to it) to the sink, and clears them.
#[allow(clippy::too_many_arguments)] // the splitter's state, passed down one level
fn emit<'a>(
    sql: &'a str,
    from: usize,
    to: usize,
    unsure: Unsure,
    terminated: Option<usize>,
    pos: &mut Positions<'a>,
    sink: Sink<'_, 'a>,
    tokens: &mut Vec<Token>,
) {
    if to > from {
        let (line, column) = pos.at(from);
        let tokenized = matches!(unsure, Unsure::No | Unsure::UnclosedBlock { .. });
        let lost = match unsure {
            Unsure::No | Unsure::Custom => None,
            Unsure::Unterminated { at } => Some(Lost { line: pos.at(at.max(from)).0, cause: LostCause::Unterminated }),
            Unsure::UnclosedBlock { at } => {
                Some(Lost { line: pos.at(at.max(from)).0, cause: LostCause::UnclosedBlock })
            }
        };
        let (end_line, end_column) = pos.at(to);
        for t in tokens.iter_mut() {
            (t.start, t.end) = (t.start - from, t.end - from);
        }
        let st = Statement { text: &sql[from..to], offset: from, line, column, end_line, end_column, tokenized, lost };
        sink(st, tokens, terminated);
    }
    tokens.clear();
}

/// How many bytes of `bytes` satisfy `is`, in blocks the compiler vectorises (a plain
/// `filter().count()` does not, and line counting is among the linter's hottest loops).
pub(crate) fn count(bytes: &[u8], is: impl Fn(u8) -> bool) -> usize {
    let mut blocks = bytes.chunks_exact(64);
    let mut n = 0;
    for block in &mut blocks {
        n += block.iter().map(|&b| u8::from(is(b))).sum::<u8>() as usize;
    }
    n + blocks.remainder().iter().filter(|&&b| is(b)).count()
}

/// Line and column of byte offsets requested in increasing order: one pass over the input in
/// all, even when it is a single long line.
pub(crate) struct Positions<'a> {
    pub src: &'a str,
    pub byte: usize,
    pub line: usize,
    pub column: usize,
}

impl<'a> Positions<'a> {
    pub fn at(&mut self, offset: usize) -> (usize, usize) {
        debug_assert!(offset >= self.byte, "positions are requested in order");
        // Bytes, not chars: a column counts characters, i.e. bytes that do not continue one
        // (0b10xx_xxxx). The hottest loop of the linter after the lexer.
        let bytes = &self.src.as_bytes()[self.byte..offset];
        let chars = |b: &[u8]| b.len() - count(b, |b| b & 0xC0 == 0x80);
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.line += count(bytes, |b| b == b'\n');
                self.column = 1 + chars(&bytes[last + 1..]);
            }
            None => self.column += chars(bytes),
        }
        self.byte = offset;
        (self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_in_blocks_counts_every_byte() {
        let text: Vec<u8> = (0..1000u32).map(|i| if i % 7 == 0 { b'\n' } else { (i % 251) as u8 }).collect();
        for len in [0, 1, 63, 64, 65, 200, 1000] {
            let b = &text[..len];
            assert_eq!(count(b, |c| c == b'\n'), b.iter().filter(|&&c| c == b'\n').count(), "{len}");
        }
        let mut pos = Positions { src: "ab\ncdé\nfgh", byte: 0, line: 1, column: 1 };
        // é is two bytes and one column.
        assert_eq!((pos.at(1), pos.at(5), pos.at(7), pos.at(11)), ((1, 2), (2, 3), (2, 4), (3, 4)));
    }

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
    fn a_mariadb_compound_statement_is_one_statement() {
        let sql = "BEGIN NOT ATOMIC\n  DELETE FROM t WHERE id = 1;\n  IF 1 THEN SELECT 2; END IF;\nEND;\nBEGIN;\nSELECT 3;\nCOMMIT;";
        assert_eq!(
            texts(sql, Dialect::Mysql),
            [
                "BEGIN NOT ATOMIC\n  DELETE FROM t WHERE id = 1;\n  IF 1 THEN SELECT 2; END IF;\nEND",
                "BEGIN",
                "SELECT 3",
                "COMMIT"
            ]
        );
        let case = "BEGIN NOT ATOMIC\n  CASE WHEN 1 THEN SELECT 1; ELSE SELECT 2; END CASE;\nEND;\nSELECT 3";
        assert_eq!(texts(case, Dialect::Mysql).len(), 2, "{:?}", texts(case, Dialect::Mysql));
        let control = crate::transaction_statements(sql, Dialect::Mysql);
        assert_eq!(control, [(5, "BEGIN".to_string()), (7, "COMMIT".to_string())]);
    }

    #[test]
    fn mysql_executable_comments_stay_in_the_statement() {
        let sql = "/*!40101 SET NAMES utf8 */;\nCREATE TABLE t3 (id INT) /*!50100 ENGINE=MyISAM */;\nDELETE FROM t WHERE id = 9 /*! OR 1=1 */;";
        assert_eq!(
            texts(sql, Dialect::Mysql),
            [
                "/*!40101 SET NAMES utf8 */",
                "CREATE TABLE t3 (id INT) /*!50100 ENGINE=MyISAM */",
                "DELETE FROM t WHERE id = 9 /*! OR 1=1 */"
            ]
        );
        // A plain comment is still left out, and PostgreSQL has no executable comments.
        assert_eq!(texts("SELECT 1 /* x */;", Dialect::Mysql), ["SELECT 1"]);
        assert_eq!(texts("SELECT 1 /*! x */;", Dialect::Postgres), ["SELECT 1"]);
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
    fn keywords_used_as_names_do_not_open_blocks() {
        for (sql, d) in [
            ("UPDATE t SET a = s.case FROM s;\nALTER TABLE t DROP COLUMN b;\nDROP TABLE u;", Dialect::Postgres),
            ("CREATE TABLE t (begin INT, \"end\" INT);\nUPDATE t SET begin = 1;\nDROP TABLE u;", Dialect::Postgres),
            ("SELECT t.end, t.begin, t.case FROM t;\nDELETE FROM t WHERE id = 1;\nDROP TABLE u;", Dialect::Mysql),
            (
                "UPDATE t SET a = CASE WHEN b THEN 1 ELSE 2 END;\nSELECT case.x FROM t AS \"case\";\nDROP TABLE u;",
                Dialect::Sqlite,
            ),
        ] {
            let s = split(sql, d);
            assert_eq!(s.len(), 3, "{sql:?}: {s:?}");
            assert!(s.iter().all(|st| st.lost.is_none()), "{s:?}");
            assert_eq!(s[2].text, "DROP TABLE u");
        }
    }

    #[test]
    fn an_unclosed_block_is_reported_and_split_flat() {
        let sql = "SELECT 1;\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  DELETE FROM v;\nDROP TABLE users;\nALTER TABLE t DROP COLUMN c;";
        let s = split(sql, Dialect::Sqlite);
        assert_eq!(s.len(), 2, "{s:?}");
        let lost = s[1].lost.expect("the splitter says it lost track");
        assert_eq!((lost.line, lost.cause), (2, LostCause::UnclosedBlock));
        let flat: Vec<&str> = split_flat(s[1].text, Dialect::Sqlite).into_iter().map(|(_, t)| t).collect();
        assert_eq!(flat[1..], ["DROP TABLE users", "ALTER TABLE t DROP COLUMN c"]);
        assert!(flat[0].starts_with("CREATE TRIGGER") && flat[0].ends_with("DELETE FROM v"));
        let unterminated = split("SELECT 1;\nSELECT 'oops;\nDROP TABLE x;", Dialect::Postgres);
        assert_eq!(unterminated[1].lost.map(|l| (l.line, l.cause)), Some((2, LostCause::Unterminated)));
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
        let sql = "SELECT 1; SELECT 'unterminated; DROP TABLE x;";
        let s = split(sql, Dialect::Postgres);
        assert_eq!(s.len(), 2);
        assert!(s[0].tokenized && !s[1].tokenized);
        assert_eq!(s[1].text, "SELECT 'unterminated; DROP TABLE x;");
    }

    #[test]
    fn tokens_handed_back_equal_lexing_each_statement() {
        let sqls = [
            "SELECT 1; DROP TABLE \"a;b\"; /* c */ DELETE FROM t WHERE x = 'y;z'",
            "CREATE TRIGGER t BEGIN UPDATE a SET b = CASE WHEN 1 THEN 2 END; END; SELECT 'x",
            "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nSELECT 2;",
        ];
        for sql in sqls {
            for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                let mut seen = Vec::new();
                for_each_statement(sql, d, (1, 1), &mut |s, t, _| {
                    if s.tokenized {
                        let fresh: Vec<Token> = Lexer::new(s.text, d).filter(|t| !t.is_trivia()).collect();
                        assert_eq!(t, fresh.as_slice(), "{sql:?} {d:?}");
                    } else {
                        assert!(t.is_empty());
                    }
                    seen.push(s);
                });
                assert_eq!(seen, split(sql, d));
            }
        }
    }

    #[test]
    fn linear_on_many_statements_in_one_line() {
        // Quadratic position tracking would take minutes here.
        let sql = "SELECT 1;".repeat(200_000);
        let s = split(&sql, Dialect::Postgres);
        assert_eq!(s.len(), 200_000);
        assert_eq!((s[199_999].line, s[199_999].column), (1, 9 * 199_999 + 1));
    }

    #[test]
    fn comment_only_text_has_no_statements() {
        assert!(split("-- nothing\n/* here */\n", Dialect::Sqlite).is_empty());
        assert_eq!(split("/* a */ DROP TABLE t", Dialect::Sqlite)[0].keywords(2), ["DROP", "TABLE"]);
    }
}
