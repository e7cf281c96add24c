//! Running the rules over files and migrations.

use std::collections::HashSet;

use crate::finding::{Cascade, Finding, Severity};
use crate::lexer::Kind;
use crate::rules::{self, FileContext, Hit, RuleInfo};
use crate::split::{LostCause, for_each_statement, split, split_flat};
use crate::stmt::Stmt;
use crate::suppress::{self, Suppression};
use crate::{Dialect, directives};

/// Lints one SQL file: every statement against every rule for its dialect, then inline
/// suppressions. Findings are sorted by position.
///
/// ```
/// use dbguard_lint::{lint_sql, Dialect};
/// let findings = lint_sql("up.sql", "ALTER TABLE users DROP COLUMN email;", Dialect::Postgres);
/// assert_eq!(findings[0].rule, "drop-column");
/// assert_eq!((findings[0].line, findings[0].column), (1, 19));
/// ```
pub fn lint_sql(file: &str, sql: &str, dialect: Dialect) -> Vec<Finding> {
    let mut linter = Linter::new(file, dialect);
    linter.feed(sql, true);
    linter.finish()
}

/// The tables `sql` destroys or rewrites (drops, truncates, empties, overwrites, drops a column
/// of, changes a column type of), each with the rule that found it, in statement order and
/// without repeats. Suppressions are ignored: an allowed `DROP TABLE` still destroys the table,
/// and the runtime snapshots what these name before running the SQL.
///
/// ```
/// use dbguard_lint::{destroyed_tables, Dialect};
/// let t = destroyed_tables("-- dbguard:allow drop-table reason=\"merged\"\nDROP TABLE legacy; DELETE FROM Users;", Dialect::Postgres);
/// assert_eq!(t, [("drop-table".to_string(), "legacy".to_string()), ("delete-without-where".to_string(), "users".to_string())]);
/// ```
pub fn destroyed_tables(sql: &str, dialect: Dialect) -> Vec<(String, String)> {
    guard_targets(sql, dialect).destroyed
}

/// Everything the runtime must protect before running `sql`, from one pass of the linter:
/// see [`destroyed_tables`], [`unchecked_names`] and [`Cascade`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardTargets {
    /// The tables destroyed or rewritten, each with the rule that found it.
    pub destroyed: Vec<(String, String)>,
    /// Names in text that could not be checked statement by statement.
    pub unchecked: Vec<String>,
    /// Objects dropped with CASCADE, whose dependent tables lose columns or rows.
    pub cascades: Vec<Cascade>,
}

/// What the runtime must protect before running `sql`.
///
/// ```
/// use dbguard_lint::{guard_targets, Cascade, Dialect};
/// let t = guard_targets("DROP TYPE mood CASCADE; TRUNCATE audit;", Dialect::Postgres);
/// assert_eq!(t.cascades, [Cascade::Type("mood".into())]);
/// assert_eq!(t.destroyed, [("truncate".to_string(), "audit".to_string())]);
/// ```
pub fn guard_targets(sql: &str, dialect: Dialect) -> GuardTargets {
    let mut linter = Linter::new("", dialect);
    linter.guards = true;
    linter.feed(sql, true);
    let mut out = GuardTargets::default();
    for f in linter.found {
        if let Some(table) = f.table
            && !out.destroyed.iter().any(|(r, t)| *r == f.rule && *t == table)
        {
            out.destroyed.push((f.rule.into_owned(), table));
        }
        if let Some(c) = f.cascade
            && !out.cascades.contains(&c)
        {
            out.cascades.push(c);
        }
    }
    if let Some(why) = linter.everything
        && !out.cascades.iter().any(|c| matches!(c, Cascade::Unknown(_)))
    {
        out.cascades.push(Cascade::Unknown(why));
    }
    out.unchecked = linter.unchecked;
    out.unchecked.sort();
    out.unchecked.dedup();
    out
}

/// The names (lowercased words and unquoted identifiers) in the parts of `sql` the splitter
/// lost track of (an unterminated string, a block never closed), and in the bodies of `DO`
/// blocks that `EXECUTE` SQL built at run time (strings included). What hides there cannot be
/// classified, so the runtime snapshots every existing table among them before running it.
///
/// ```
/// use dbguard_lint::{unchecked_names, Dialect};
/// assert!(unchecked_names("DROP TABLE a;", Dialect::Postgres).is_empty());
/// let names = unchecked_names("UPDATE users SET note = 'never closed; DELETE FROM orders;", Dialect::Postgres);
/// assert!(names.contains(&"users".to_string()) && names.contains(&"orders".to_string()), "{names:?}");
/// // SQL built at run time names its tables in strings.
/// let names = unchecked_names("DO $$ BEGIN EXECUTE 'TRUNCATE ' || 'audit_log'; END $$;", Dialect::Postgres);
/// assert!(names.contains(&"audit_log".to_string()), "{names:?}");
/// ```
pub fn unchecked_names(sql: &str, dialect: Dialect) -> Vec<String> {
    guard_targets(sql, dialect).unchecked
}

/// The tables `sql` creates and drops (or renames away and to), in statement order, as the
/// linter reads them: for following which tables exist through a run of migrations.
///
/// ```
/// use dbguard_lint::{table_effects, Dialect};
/// let (created, dropped) = table_effects("CREATE TABLE a (id int); ALTER TABLE b RENAME TO c; DROP TABLE d;", Dialect::Postgres);
/// assert_eq!((created, dropped), (vec!["a".to_string(), "c".to_string()], vec!["b".to_string(), "d".to_string()]));
/// ```
pub fn table_effects(sql: &str, dialect: Dialect) -> (Vec<String>, Vec<String>) {
    let (mut created, mut dropped) = (Vec::new(), Vec::new());
    // As the statements are read: a seed of millions is never listed.
    crate::split::for_each(sql, dialect, &mut |st, _| {
        let e = effects(&Stmt::new(st.text, st.offset, dialect));
        created.extend(e.created_tables);
        created.extend(e.ensured_tables);
        dropped.extend(e.dropped_tables);
    });
    (created, dropped)
}

/// The statements of `sql` that start, end or split a transaction (`BEGIN`, `COMMIT`,
/// `ROLLBACK`, `SAVEPOINT`, ...), with their lines: a migration that dbguard runs in a
/// transaction must have none (the loader refuses them).
///
/// ```
/// use dbguard_lint::{transaction_statements, Dialect};
/// let found = transaction_statements("CREATE TABLE t (id int);\nCOMMIT;\nDROP TABLE u;", Dialect::Postgres);
/// assert_eq!(found, [(2, "COMMIT".to_string())]);
/// ```
pub fn transaction_statements(sql: &str, dialect: Dialect) -> Vec<(usize, String)> {
    // Most migrations name none of the words at all: a byte scan, and no splitting.
    const WORDS: [&[u8]; 10] =
        [b"begin", b"start", b"commit", b"end", b"rollback", b"abort", b"savepoint", b"release", b"prepare", b"xa"];
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let named = sql.as_bytes().split(|c| !is_word(*c)).any(|w| WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)));
    if !named {
        return Vec::new();
    }
    split(sql, dialect)
        .iter()
        .filter_map(|st| rules::control_words(&Stmt::new(st.text, st.offset, dialect)).map(|w| (st.line, w)))
        .collect()
}

/// Lints SQL read from `reader` without holding the whole text: it is read in chunks and each
/// statement is linted once its delimiter has been read. MySQL text is read whole, since a
/// `DELIMITER` line changes how everything after it splits.
pub fn lint_reader(file: &str, reader: impl std::io::Read, dialect: Dialect) -> std::io::Result<Vec<Finding>> {
    let mut linter = Linter::new(file, dialect);
    let mut text = String::new();
    let mut input = Utf8Reader::new(reader);
    loop {
        let eof = !input.read_into(&mut text, 1)?;
        if eof || dialect != Dialect::Mysql {
            let consumed = linter.feed(&text, eof);
            text.drain(..consumed);
        }
        if eof {
            return Ok(linter.finish());
        }
    }
}

/// The text a batch of streamed findings points into: whole lines, from `first_line`, covering
/// every line of every finding in the batch (see [`lint_reader_each`]).
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    /// Whole lines of the file.
    pub text: &'a str,
    /// The 1-based line number of the first.
    pub first_line: usize,
}

/// Like [`lint_reader`], but hands the findings to `sink` as they become final, in the same
/// order, each batch with the lines it points into, and keeps none: memory stays bounded by the
/// largest statement (or line) whatever the file's size. Only for text without lint
/// suppressions (`dbguard:allow`), which may sit anywhere and change findings before them:
/// the caller checks (see `dbguard::lint_paths_each`).
///
/// ```
/// use dbguard_lint::{lint_reader_each, Dialect};
/// let sql = "SELECT 1;\nDROP TABLE a; DROP TABLE b;\n";
/// let mut seen = Vec::new();
/// lint_reader_each("up.sql", sql.as_bytes(), Dialect::Postgres, &mut |found, lines| {
///     for f in found {
///         let line = lines.text.lines().nth(f.line - lines.first_line).unwrap();
///         seen.push((f.rule.to_string(), line.to_string()));
///     }
/// })
/// .unwrap();
/// assert_eq!(seen[1], ("drop-table".to_string(), "DROP TABLE a; DROP TABLE b;".to_string()));
/// ```
pub fn lint_reader_each(
    file: &str,
    reader: impl std::io::Read,
    dialect: Dialect,
    sink: &mut dyn FnMut(&[Finding], Lines<'_>),
) -> std::io::Result<()> {
    let mut linter = Linter::new(file, dialect);
    // `text` starts at a line start (line `text_line`); `text[keep..]` is not linted yet.
    let (mut text, mut keep, mut text_line) = (String::new(), 0usize, 1usize);
    let mut input = Utf8Reader::new(reader);
    let mut held: Vec<Finding> = Vec::new(); // found, waiting for the rest of their last line
    loop {
        let eof = !input.read_into(&mut text, text_line)?;
        if eof || dialect != Dialect::Mysql {
            let consumed = linter.feed(&text[keep..], eof);
            held.append(&mut linter.take_found());
            // Statements come in order and do not overlap: sorting a batch sorts the file.
            held.sort_unstable_by(by_position);
            // A finding is final once its last line is whole in `text`.
            let whole_lines = text_line + newlines(&text) - usize::from(!eof);
            let ready = if eof { held.len() } else { held.partition_point(|f| f.end_line <= whole_lines) };
            if ready > 0 {
                sink(&held[..ready], Lines { text: &text, first_line: text_line });
                held.drain(..ready);
            }
            // Keep from the start of the line the next statement starts on, and what the
            // held findings point into.
            let upto = keep + consumed;
            let line_start = text[..upto].rfind('\n').map_or(0, |i| i + 1);
            let mut cut = line_start;
            if let Some(first) = held.first() {
                let mut at = 0;
                for _ in text_line..first.line {
                    at = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                }
                cut = cut.min(at);
            }
            text_line += newlines(&text[..cut]);
            text.drain(..cut);
            keep = upto - cut;
        }
        if eof {
            return Ok(());
        }
    }
}

/// Text read in chunks and checked as UTF-8; a character cut by a chunk's end waits for the
/// rest of it.
struct Utf8Reader<R> {
    reader: R,
    pending: Vec<u8>,
    chunk: Vec<u8>,
}

impl<R: std::io::Read> Utf8Reader<R> {
    fn new(reader: R) -> Self {
        Utf8Reader { reader, pending: Vec::new(), chunk: vec![0; 64 * 1024] }
    }

    /// Appends the next chunk to `text` (which starts on line `first_line`, for the error);
    /// `false` at the end of the input.
    fn read_into(&mut self, text: &mut String, first_line: usize) -> std::io::Result<bool> {
        let n = self.reader.read(&mut self.chunk)?;
        self.pending.extend_from_slice(&self.chunk[..n]);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(t) => t.len(),
            Err(e) if e.error_len().is_none() && n > 0 => e.valid_up_to(),
            Err(e) => {
                let line = first_line + newlines(text) + newlines_in(&self.pending[..e.valid_up_to()]);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("not UTF-8 (around line {line} of the part still unread)"),
                ));
            }
        };
        text.push_str(std::str::from_utf8(&self.pending[..valid]).expect("checked above"));
        self.pending.drain(..valid);
        Ok(n > 0)
    }
}

/// The order findings are reported in: by position, then rule and message.
fn by_position(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.line, a.column, &a.rule, &a.message).cmp(&(b.line, b.column, &b.rule, &b.message))
}

fn newlines_in(bytes: &[u8]) -> usize {
    crate::split::count(bytes, |b| b == b'\n')
}

/// The number of `\n` in `s` (`str::matches` would call memchr once per line).
fn newlines(s: &str) -> usize {
    newlines_in(s.as_bytes())
}

/// A suppression comment and the line and column of its start and end.
struct Placed {
    sup: Suppression,
    start: (usize, usize),
    end: (usize, usize),
}

/// Lints a file fed in pieces: the engine behind [`lint_sql`] and [`lint_reader`].
struct Linter<'f> {
    file: &'f str,
    dialect: Dialect,
    cx: FileContext,
    /// Absolute start of every statement, to know which statement a suppression covers.
    starts: Vec<usize>,
    /// The statements that change rows (`DELETE`, `UPDATE`, `WITH`): an allow of
    /// `delete-without-where` or `update-without-where` before one is used at run time, when
    /// its condition, measured, matches every row.
    changes_rows: HashSet<u32>,
    /// Findings, and the statement each belongs to.
    found: Vec<Finding>,
    found_in: Vec<u32>,
    /// Suppressions, with absolute ranges.
    sups: Vec<Placed>,
    /// Names in text the splitter lost track of: tables the guards must treat as destroyed.
    unchecked: Vec<String>,
    /// Whether `unchecked` is wanted (by the guards; the lint output does not use it).
    guards: bool,
    /// Why every table must be protected, when names cannot be read at all (a function body
    /// that builds its SQL, or spells it with escapes).
    everything: Option<String>,
    /// Absolute offset, line and column of the next byte not linted yet.
    consumed: usize,
    line: usize,
    column: usize,
}

impl<'f> Linter<'f> {
    fn new(file: &'f str, dialect: Dialect) -> Self {
        Self::with_context(file, dialect, FileContext::default())
    }

    fn with_context(file: &'f str, dialect: Dialect, cx: FileContext) -> Self {
        Linter {
            file,
            dialect,
            cx,
            starts: Vec::new(),
            changes_rows: HashSet::new(),
            found: Vec::new(),
            found_in: Vec::new(),
            sups: Vec::new(),
            unchecked: Vec::new(),
            guards: false,
            everything: None,
            consumed: 0,
            line: 1,
            column: 1,
        }
    }

    /// Lints the statements of `text` (the file from the first byte not linted yet) that are
    /// complete: all of them at `eof`, otherwise those whose delimiter is in `text`. Returns how
    /// many bytes of `text` were linted; the rest must be fed again, with more after it.
    fn feed(&mut self, text: &str, eof: bool) -> usize {
        let dialect = self.dialect;
        if self.consumed == 0 {
            // Directives are the file's first lines, so the first piece fed has them.
            self.cx.no_transaction = directives::parse(text).is_ok_and(|d| d.no_transaction);
        }
        let mut cut = if eof { text.len() } else { 0 };
        let (base_offset, file, guards) = (self.consumed, self.file, self.guards);
        let (cx, starts, changes_rows, found, found_in, unchecked, everything) = (
            &mut self.cx,
            &mut self.starts,
            &mut self.changes_rows,
            &mut self.found,
            &mut self.found_in,
            &mut self.unchecked,
            &mut self.everything,
        );
        let counted = for_each_statement(text, dialect, (self.line, self.column), &mut |st, toks, terminated| {
            if !eof {
                match terminated {
                    Some(end) => cut = end,
                    None => return, // not complete yet: fed again with the next chunk
                }
            }
            let k = starts.len() as u32;
            let offset = base_offset + st.offset;
            starts.push(offset);
            if matches!(st.first_keyword().as_str(), "DELETE" | "UPDATE" | "WITH") {
                changes_rows.insert(k);
            }
            let base = Base { text: st.text, offset, line: st.line, column: st.column };
            if let Some(lost) = st.lost {
                // The splitter lost track here: say so, then check what follows as well as can
                // be, statement by statement, and remember every name in it for the guards.
                found.push(rules::unparsed_sql::finding(file, &lost));
                found_in.push(k);
            }
            let from = found.len();
            let mut run = |s: &Stmt, cx: &FileContext| {
                let first = s.tokens.first().filter(|t| t.kind == Kind::Word).map_or("", |t| t.text(s.text));
                for rule in rules::statement_rules() {
                    let info = rule.info();
                    if !info.applies_to(dialect) || !info.may_concern(first) {
                        continue;
                    }
                    let mut hits = Vec::new();
                    rule.check(s, cx, &mut hits);
                    for h in hits {
                        found.push(finding(file, base, info, s, h));
                        found_in.push(k);
                    }
                }
            };
            if let Some(lost) = st.lost {
                if guards {
                    unchecked.extend(names_in(st.text, dialect, false));
                }
                if lost.cause == LostCause::UnclosedBlock {
                    for (at, piece) in split_flat(st.text, dialect) {
                        let s = Stmt::new(piece, offset + at, dialect);
                        run(&s, cx);
                        remember(&s, cx);
                    }
                    return;
                }
            }
            let s = if st.tokenized {
                Stmt::from_tokens(st.text, offset, toks.to_vec(), dialect)
            } else {
                Stmt::new(st.text, offset, dialect)
            };
            run(&s, cx);
            // MariaDB's `SET STATEMENT ... FOR <statement>` runs the statement after `FOR`:
            // checked as if written alone, and every table it names kept by the guards (the
            // runtime's own analysis reads statements by their first word).
            if let Some(inner) = s.set_statement_body() {
                run(&inner, cx);
                if guards {
                    unchecked.extend(names_in(inner.text, dialect, true));
                }
            }
            // A versioned executable comment (`/*!80000 ... */`) runs only on a server at least
            // that new: what runs depends on the server, so both readings are checked.
            let other_reading = crate::lexer::without_versioned_comments(st.text, dialect);
            if let Some(alt) = &other_reading {
                run(&Stmt::new(alt, offset, dialect), cx);
            }
            // MariaDB's compound statements (`BEGIN NOT ATOMIC ... END`, a top-level `IF`,
            // `WHILE`, `LOOP`, `REPEAT`) run their statements now: each is checked too, and the
            // guards keep every table they name.
            if dialect == Dialect::Mysql && is_compound(&s) {
                for inner in block_statements(s.text, s.offset, dialect) {
                    run(&inner, cx);
                }
                if guards {
                    unchecked.extend(names_in(s.text, dialect, true));
                }
            }
            // DO blocks run their statements now; function and trigger bodies run later, if ever.
            if s.is(0, "DO") {
                for inner in do_block_statements(&s) {
                    run(&inner, cx);
                }
                // SQL built at run time names its tables in strings: take every word.
                if guards && let Some((_, body)) = rules::dynamic_sql::executed_body(&s) {
                    unchecked.extend(names_in(body, dialect, true));
                    for sql in rules::dynamic_sql::executed_sql(body, dialect).into_iter().flatten() {
                        unchecked.extend(names_in(&sql, dialect, true));
                    }
                }
            }
            if guards && (s.is(0, "PREPARE") || s.seq(0, &["EXECUTE", "IMMEDIATE"])) {
                match rules::dynamic_sql::prepared_text(&s) {
                    Some(sql) => unchecked.extend(names_in(&sql, dialect, true)),
                    // From a variable, a hex literal: what it runs cannot be read here.
                    None => {
                        everything.get_or_insert_with(|| {
                            "every table: SQL prepared from text that cannot be read here (a variable, a hex literal)".into()
                        });
                    }
                }
            }
            // A block spelled with escapes (`DO E'... \x6eotes ...'`), or a name (`U&"\006eotes"`):
            // the names it means cannot be read from its text.
            if guards
                && ((s.is(0, "DO") && rules::dynamic_sql::opaque_strings(st.text, dialect))
                    || (dialect == Dialect::Postgres && st.text.to_ascii_lowercase().contains("u&\"")))
            {
                everything.get_or_insert_with(|| "every table: SQL that spells its names with escapes".into());
            }
            // A function, procedure or trigger made here may run in this same migration
            // (`SELECT f()`, an INSERT that fires it): the tables its body destroys are
            // protected as if the body ran now.
            if guards && s.is(0, "CREATE") && routine_destroys(&s) {
                unchecked.extend(names_in(st.text, dialect, true));
                // SQL the body builds, or spells with escapes, names no table we can read.
                // (A `$$` body is one token: its words are looked for in the text.)
                if st.text.to_ascii_uppercase().contains("EXECUTE")
                    || rules::dynamic_sql::opaque_strings(st.text, dialect)
                {
                    everything.get_or_insert_with(|| {
                        "every table: a function or trigger body that builds its SQL or spells it with escapes".into()
                    });
                }
            }
            if other_reading.is_some() {
                // What both readings found, once.
                let mut i = from;
                while i < found.len() {
                    if found[from..i].contains(&found[i]) {
                        found.remove(i);
                        found_in.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            remember(&s, cx);
        });
        // Suppression comments in the part linted, with their positions.
        let region = &text[..cut];
        let mut pos = crate::split::Positions { src: region, byte: 0, line: self.line, column: self.column };
        for mut sup in suppress::parse(region, dialect) {
            let (start, end) = (pos.at(sup.start), pos.at(sup.end));
            sup.start += base_offset;
            sup.end += base_offset;
            self.sups.push(Placed { sup, start, end });
        }
        // Where the next piece starts: counted on from where the splitter stopped counting,
        // unless that was past the cut (a statement left for the next piece).
        (self.line, self.column) = if pos.byte == 0 && counted.byte <= cut {
            crate::split::Positions { src: region, ..counted }.at(cut)
        } else {
            pos.at(cut)
        };
        self.consumed += cut;
        cut
    }

    /// The findings so far, for a caller that streams them (no suppressions to apply).
    fn take_found(&mut self) -> Vec<Finding> {
        self.found_in.clear();
        self.starts.clear();
        std::mem::take(&mut self.found)
    }

    /// Applies the suppressions and returns the findings sorted by position.
    fn finish(self) -> Vec<Finding> {
        let Linter { file, starts, changes_rows, found, found_in, sups, .. } = self;
        let target = |s: &Suppression| starts.partition_point(|&o| o < s.end) as u32;
        let mut used: HashSet<(usize, String)> = HashSet::new();
        let mut k = found_in.into_iter();
        let mut out = found;
        if !sups.is_empty() {
            out.retain(|f| {
                let stmt = k.next().unwrap_or_default();
                let by = sups.iter().position(|Placed { sup: s, .. }| {
                    s.reason.is_some() && s.rules.iter().any(|r| *r == f.rule) && (s.file || target(s) == stmt)
                });
                if let Some(i) = by {
                    used.insert((i, f.rule.to_string()));
                }
                by.is_none()
            });
        }
        for (i, Placed { sup: s, start: pos, end }) in sups.iter().enumerate() {
            out.extend(rules::suppression_without_reason::check(s, file, *pos, *end));
            for r in &s.rules {
                match rules::unknown_rule::check(r, file, *pos, *end) {
                    Some(unknown) => out.push(unknown),
                    None if s.reason.is_some() => {
                        let runtime = matches!(r.as_str(), "delete-without-where" | "update-without-where")
                            && !s.file
                            && changes_rows.contains(&target(s));
                        let used = runtime || used.contains(&(i, r.clone()));
                        out.extend(rules::unused_suppression::check(r, used, file, *pos, *end));
                    }
                    None => {}
                }
            }
        }
        // Unstable: no scratch buffer; the key is complete enough to be deterministic.
        out.sort_unstable_by(by_position);
        out
    }
}

/// Where a statement starts, for positions of findings inside it.
#[derive(Clone, Copy)]
struct Base<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    column: usize,
}

impl Base<'_> {
    /// Line and column of byte `offset` (in the file) inside this statement: a scan of the
    /// statement only, so no index of the whole file is kept.
    fn at(&self, offset: usize) -> (usize, usize) {
        let (mut line, mut column) = (self.line, self.column);
        for c in self.text[..offset.saturating_sub(self.offset).min(self.text.len())].chars() {
            if c == '\n' {
                (line, column) = (line + 1, 1);
            } else {
                column += 1;
            }
        }
        (line, column)
    }
}

/// Builds a finding from a rule's hit.
fn finding(file: &str, base: Base, info: &'static RuleInfo, s: &Stmt, h: Hit) -> Finding {
    let (start, end) = s.span(h.first, h.last);
    let (line, column) = base.at(start);
    let (end_line, end_column) = base.at(end);
    Finding {
        rule: info.id.into(),
        severity: info.severity,
        file: file.to_string(),
        line,
        column,
        end_line,
        end_column,
        message: h.message,
        help: info.help.into(),
        docs: info.docs_static().into(),
        table: h.table,
        column_name: h.column,
        cascade: h.cascade,
    }
}

/// Whether `s` (a `CREATE ...`) makes a function, procedure or trigger whose body has a word
/// that destroys or rewrites rows or tables.
fn routine_destroys(s: &Stmt) -> bool {
    let head = s.tokens.len().min(12);
    let routine = (1..head).any(|i| ["FUNCTION", "PROCEDURE", "TRIGGER"].iter().any(|k| s.is(i, k)));
    routine && {
        let upper = s.text.to_ascii_uppercase();
        ["DELETE", "TRUNCATE", "DROP", "UPDATE", "REPLACE", "ALTER", "EXECUTE"].iter().any(|w| upper.contains(w))
    }
}

/// The statements inside `DO $$ ... $$`: each starts after the body's start, a `;`, or a
/// PL/pgSQL block word (BEGIN, THEN, ELSE, LOOP), and ends at the next `;`.
fn do_block_statements<'a>(s: &Stmt<'a>) -> Vec<Stmt<'a>> {
    // `$$ ... $$`, or a quoted body `'...'` (its statements are read the same way).
    let Some(body) = s.tokens.iter().find(|t| matches!(t.kind, Kind::DollarString | Kind::String)) else {
        return Vec::new();
    };
    let raw = body.text(s.text);
    let tag = raw.strip_prefix('$').map_or(1, |rest| rest.find('$').map_or(1, |i| i + 2));
    if raw.len() < 2 * tag {
        return Vec::new();
    }
    block_statements(&raw[tag..raw.len() - tag], s.offset + body.start + tag, s.dialect)
}

/// Whether `s` is a MariaDB compound statement run where it stands.
fn is_compound(s: &Stmt) -> bool {
    s.starts(&["BEGIN", "NOT", "ATOMIC"]) || ["IF", "WHILE", "LOOP", "REPEAT", "CASE"].iter().any(|k| s.is(0, k))
}

/// The statements of a procedural block's text (`inner`, at `base` in the file): each starts
/// after the block's start, a `;`, or a block word (BEGIN, THEN, ELSE, LOOP, DO, REPEAT), and
/// ends at the next `;`.
fn block_statements(inner: &str, base: usize, dialect: Dialect) -> Vec<Stmt<'_>> {
    let block = Stmt::new(inner, base, dialect);
    let mut out = Vec::new();
    let mut start: Option<usize> = Some(0);
    // Inside a control head (`IF cond THEN`, `WHILE cond LOOP`): no statement until it ends.
    let mut in_head = false;
    for (i, t) in block.tokens.iter().enumerate() {
        let word = |k: &[&str]| k.iter().any(|k| block.is(i, k));
        if t.kind == Kind::Semicolon {
            if let Some(from) = start.take().filter(|&f| f < i && !in_head) {
                let text = &inner[block.tokens[from].start..block.tokens[i - 1].end];
                out.push(Stmt::new(text, base + block.tokens[from].start, dialect));
            }
            (start, in_head) = (Some(i + 1), false);
        } else if in_head && word(&["THEN", "LOOP", "DO"]) {
            (start, in_head) = (Some(i + 1), false);
        } else if start == Some(i)
            && word(&["BEGIN", "NOT", "ATOMIC", "THEN", "ELSE", "LOOP", "REPEAT", "DECLARE", "EXCEPTION"])
        {
            start = Some(i + 1);
        } else if start == Some(i) && word(&["IF", "ELSIF", "WHILE", "FOR", "WHEN"]) {
            (start, in_head) = (None, true);
        }
    }
    out.retain(|st| !st.tokens.is_empty());
    out
}

/// Records what a statement creates and drops, for the statements after it.
fn remember(s: &Stmt, cx: &mut FileContext) {
    // Only these change which tables exist; most statements are none of them.
    let changes = s.is(0, "CREATE")
        || s.is(0, "DROP")
        || s.is(0, "RENAME")
        || s.is(0, "ALTER") && s.tokens.iter().any(|t| t.is_word(s.text, "RENAME"));
    if !changes {
        return;
    }
    let e = effects(s);
    for t in e.created_tables {
        cx.dropped.remove(&t);
        cx.created.insert(t);
    }
    for t in e.dropped_tables {
        cx.created.remove(&t);
        cx.dropped.insert(t);
    }
}

/// What one statement creates or drops (tables, and columns as `table.column`).
#[derive(Default)]
pub(crate) struct Effects {
    pub created_tables: Vec<String>,
    /// `CREATE TABLE IF NOT EXISTS`: there afterwards, but perhaps not new (and not empty).
    pub ensured_tables: Vec<String>,
    pub dropped_tables: Vec<String>,
    pub added_columns: Vec<String>,
    pub dropped_columns: Vec<String>,
}

fn effects(s: &Stmt) -> Effects {
    let mut e = Effects::default();
    if s.is(0, "CREATE") {
        if let Some(t) = (1..4).find(|&i| s.is(i, "TABLE")) {
            // `IF NOT EXISTS` may find the table there, rows and all: it is not new.
            match s.seq(t + 1, &["IF", "NOT", "EXISTS"]) {
                true => e.ensured_tables.extend(s.name(t + 4).map(|(n, _)| n)),
                false => e.created_tables.extend(s.name(t + 1).map(|(n, _)| n)),
            }
        }
    } else if s.starts(&["DROP", "TABLE"]) {
        e.dropped_tables.extend(rules::dropped_names(s, 2).into_iter().map(|(n, _, _)| n));
    } else if s.starts(&["RENAME", "TABLE"]) {
        // MySQL: RENAME TABLE a TO b, c TO d
        let mut i = 2;
        while let Some((from, next)) = s.name(i) {
            let Some((to, after)) = s.is(next, "TO").then(|| s.name(next + 1)).flatten() else { break };
            e.dropped_tables.push(from);
            e.created_tables.push(to);
            if s.tok(after) != "," {
                break;
            }
            i = after + 1;
        }
    } else if let Some((table, from)) = rules::alter_table(s)
        && s.seq(from, &["RENAME", "TO"])
        && let Some((to, _)) = s.name(from + 2)
    {
        e.dropped_tables.push(table);
        e.created_tables.push(to);
    } else if let Some(altered) = s.altered() {
        let table = &altered.table;
        for part in altered.parts.iter().cloned() {
            let i = part.start;
            let c = if s.is(i + 1, "COLUMN") { i + 2 } else { i + 1 };
            let c = if s.seq(c, &["IF", "EXISTS"]) || s.seq(c, &["IF", "NOT"]) {
                c + if s.is(c + 1, "NOT") { 3 } else { 2 }
            } else {
                c
            };
            let column = s.name(c).map(|(n, _)| format!("{table}.{n}"));
            if rules::adds_column(s, i) {
                e.added_columns.extend(column);
            } else if s.is(i, "DROP") && (s.is(i + 1, "COLUMN") || !s.is(i + 1, "CONSTRAINT")) {
                e.dropped_columns.extend(column);
            }
        }
    }
    e
}

/// One migration's files, for [`lint_migration`].
#[derive(Debug, Clone, Copy)]
pub struct MigrationFiles<'a> {
    /// The up file's name and text.
    pub up: (&'a str, &'a str),
    /// The down file's name and text, if there is one.
    pub down: Option<(&'a str, &'a str)>,
}

/// Lints a migration: its up (every rule), its down (what the up created may be dropped
/// there), and the pair: a missing or placeholder down, and a down that does not drop what
/// the up creates.
pub fn lint_migration(files: MigrationFiles<'_>, dialect: Dialect) -> Vec<Finding> {
    let (up_file, up_sql) = files.up;
    let mut out = lint_sql(up_file, up_sql, dialect);
    out.extend(rules::malformed_directive::check(up_file, up_sql));
    if let Some((down_file, down_sql)) = files.down {
        out.extend(rules::malformed_directive::check(down_file, down_sql));
    }
    let up_effects: Vec<(usize, Effects)> =
        split(up_sql, dialect).iter().map(|st| (st.offset, effects(&Stmt::new(st.text, st.offset, dialect)))).collect();
    let Some((down_file, down_sql)) = files.down else {
        out.push(rules::missing_down::check(up_file));
        return out;
    };
    let irreversible = directives::parse(down_sql).is_ok_and(|d| d.irreversible.is_some());
    if irreversible {
        return out;
    }
    if let Some(placeholder) = rules::placeholder_down::check(down_file, down_sql, dialect) {
        out.push(placeholder);
        return out;
    }
    // The down may drop what the up created.
    let mut cx = FileContext::default();
    for (_, e) in &up_effects {
        cx.created.extend(e.created_tables.iter().cloned());
    }
    let added: HashSet<&String> = up_effects.iter().flat_map(|(_, e)| &e.added_columns).collect();
    let mut down_linter = Linter::with_context(down_file, dialect, cx);
    down_linter.feed(down_sql, true);
    let down_effects: Vec<Effects> =
        split(down_sql, dialect).iter().map(|st| effects(&Stmt::new(st.text, st.offset, dialect))).collect();
    // Dropping a column the up added is its revert, not data loss.
    let reverts = |f: &Finding| {
        let column = f.table.as_ref().zip(f.column_name.as_ref()).map(|(t, c)| format!("{t}.{c}"));
        f.rule == rules::drop_column::INFO.id && column.is_some_and(|c| added.contains(&c))
    };
    out.extend(down_linter.finish().into_iter().filter(|f| !reverts(f)));
    out.extend(rules::down_does_not_revert::check(up_file, up_sql, &up_effects, &down_effects));
    out
}

/// `duplicate-version` findings for migrations (version, file) that share a version.
pub fn duplicate_versions(migrations: &[(i64, &str)]) -> Vec<Finding> {
    rules::duplicate_version::check(migrations)
}

/// Whether any finding is an error (or any at all, with `warnings_as_errors`).
pub fn fails(findings: &[Finding], warnings_as_errors: bool) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error || warnings_as_errors)
}

/// The words and quoted names of `text`, lowercased (unquoted) or as written (quoted), each
/// once: the candidates for tables it may touch. Read with a plain scan, since the lexer is
/// what could not make sense of this text.
fn names_in(text: &str, dialect: Dialect, strings: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in crate::lexer::Lexer::new(text, dialect) {
        let name = match t.kind {
            Kind::Word => t.text(text).to_ascii_lowercase(),
            Kind::QuotedIdent => crate::stmt::unquote(t.text(text)),
            // Whatever an unterminated token (or, for SQL built at run time, a string) hides,
            // it may name tables: take its words too.
            Kind::Unterminated | Kind::String | Kind::DollarString if strings || t.kind == Kind::Unterminated => {
                out.extend(
                    t.text(text)
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
                        .map(str::to_ascii_lowercase),
                );
                continue;
            }
            _ => continue,
        };
        out.push(name);
    }
    out.sort();
    out.dedup();
    out
}
