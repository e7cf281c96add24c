//! The blast radius of a step, read from its SQL with a real parser (`sqlparser`): which
//! statements remove or overwrite rows, of which table, chosen by which predicate. Pure: the
//! guard measures and keeps those rows on the live database (see [`crate::migrate::guard`]).
//!
//! A statement whose rows can be chosen exactly (`DELETE FROM t WHERE p`, `UPDATE t SET ...
//! WHERE p`, one table, no join) becomes a [`RowTarget`]: the rows `p` matches are copied just
//! before it runs. Anything that overwrites rows in a way that cannot be narrowed (`REPLACE`,
//! `ON CONFLICT DO UPDATE`, `ON DUPLICATE KEY UPDATE`, `MERGE`, joins, a data-modifying `WITH`)
//! protects the whole table; a statement that cannot be parsed protects every table it names.

pub use crate::model::row_target::{RowTarget, ValueChange, ValueTarget, Verb};
use dbguard_lint::Dialect;
use dbguard_lint::lexer::Kind;
use dbguard_lint::split::Statement;
use dbguard_lint::suppress::Suppression;
use sqlparser::ast::{
    Delete, FromTable, Insert, ObjectName, ObjectNamePart, OnConflictAction, OnInsert, SqliteOnConflict,
    Statement as Sql, TableFactor, TableObject, TableWithJoins, Update,
};

/// What a statement removes or overwrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Rows of one table chosen by a predicate: measured and copied just before it runs.
    Rows(RowTarget),
    /// A column's values an `ALTER TABLE` drops or converts: measured before the step (the
    /// table is kept whole unless none is lost).
    Values(ValueTarget),
    /// A whole table (normalised name): the rows it changes cannot be narrowed.
    Whole(String),
    /// A statement that changes rows but cannot be read: the words in it, so that every
    /// existing table it names is kept whole.
    Unknown(Vec<String>),
}

/// Statements on one table whose rows are copied one by one, at most: past that (a generated
/// data fix of thousands of `DELETE ... WHERE id = n`), one copy of the whole table costs less
/// than a snapshot table per statement.
pub(crate) const MAX_ROW_COPIES_PER_TABLE: usize = 32;

/// The targets of every statement of `sql` that removes or overwrites rows (statements that
/// do neither, or that the linter already makes the guard keep whole, yield nothing here).
pub(crate) fn targets(sql: &str, dialect: Dialect) -> Vec<Target> {
    let allows = dbguard_lint::suppress::parse(sql, dialect);
    let mut out = Vec::new();
    // Words of the earlier statements that change a table's shape, and of those that may write
    // (anything but a query): kept as the statements go, so that each lookup is one probe.
    let (mut reshaped, mut written) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    // Statement by statement as they are read (a seed of millions is never listed); where the
    // one before ended, for the allows written between them.
    let (mut i, mut from) = (0, 0);
    dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
        let st = &st;
        let first = st.first_keyword();
        // Whether the statement may write rows: adding a constraint or an index does not.
        let mut writes = true;
        if first == "ALTER" {
            match values(st.text, dialect) {
                Ok(vs) => {
                    // A new column reshapes the table even when all that is measured is its refusal.
                    writes = vs.is_empty()
                        || vs.iter().any(|v| match &v.change {
                            ValueChange::Rejects { constraint, .. } => constraint == NEW_NOT_NULL,
                            _ => true,
                        });
                    for mut v in vs {
                        (v.statement, v.line) = (i, st.line);
                        v.after_writes = written.contains(&v.table.to_lowercase());
                        out.push(Target::Values(v));
                    }
                }
                // Values cannot be measured: what the linter flags in it stays whole.
                Err(()) => out.push(Target::Unknown(words(st.text))),
            }
        } else if first == "CREATE" && st.text.to_ascii_lowercase().contains("unique") {
            if let Some(mut v) = unique_index(st.text, dialect) {
                writes = false;
                (v.statement, v.line) = (i, st.line);
                v.after_writes = written.contains(&v.table.to_lowercase());
                out.push(Target::Values(v));
            }
        } else if runs_block(st) {
            // What a block runs is not measured statement by statement (a `DELETE ... WHERE`
            // in a `DO` block, a loop deleting row by row): every table it names is kept whole.
            let lower = st.text.to_ascii_lowercase();
            const CHANGES: [&str; 11] = [
                "delete", "update", "truncate", "drop", "alter", "replace", "merge", "insert", "execute", "call",
                "rename",
            ];
            if CHANGES.iter().any(|w| lower.contains(w)) {
                out.push(Target::Unknown(words(st.text)));
            }
        } else if let Some(target) = target(st, dialect) {
            out.push(match target {
                // Rows chosen before the statement runs are the rows it changes only if
                // nothing earlier in the step reshaped the table: otherwise keep it whole.
                Target::Rows(mut r) => {
                    r.kept_whole |= reshaped.contains(&r.table.to_lowercase());
                    (r.statement, r.line) = (i, st.line);
                    r.after_writes = written.contains(&r.table.to_lowercase());
                    // No WHERE, or one that matches every row: the same allow lets it through.
                    (r.every_row_allowed, r.allow_without_reason) = allowed(&allows, from, st, r.verb.allow_rule());
                    Target::Rows(r)
                }
                other => other,
            });
        }
        if first != "SELECT" && writes {
            let w = words(st.text);
            if matches!(first.as_str(), "ALTER" | "DROP" | "RENAME" | "CREATE" | "TRUNCATE") {
                reshaped.extend(w.iter().cloned());
            }
            written.extend(w);
        }
        (i, from) = (i + 1, st.offset + st.text.len());
    });
    // Too many statements on one table: the whole table, once.
    let mut per_table: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for t in &out {
        if let Target::Rows(r) = t {
            *per_table.entry(r.table.clone()).or_default() += 1;
        }
    }
    out.into_iter()
        .map(|t| match t {
            Target::Rows(r) if per_table[&r.table] > MAX_ROW_COPIES_PER_TABLE => {
                Target::Rows(RowTarget { kept_whole: true, ..r })
            }
            other => other,
        })
        .collect()
}

/// Whether the statement is a block that runs statements of its own: PostgreSQL's `DO`,
/// MariaDB's `BEGIN NOT ATOMIC ... END` and top-level `IF`/`WHILE`/`LOOP`/`REPEAT`/`FOR`/
/// `CASE`, labelled ones (`l: LOOP`), `EXECUTE IMMEDIATE`.
fn runs_block(st: &Statement<'_>) -> bool {
    let lower = st.text.trim_start().to_ascii_lowercase();
    let mut words = lower.split(|c: char| c.is_whitespace() || c == ';').filter(|w| !w.is_empty());
    let (first, second) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    match first {
        "do" | "if" | "while" | "loop" | "repeat" | "for" | "case" => true,
        "begin" => second == "not",
        "execute" => second == "immediate",
        // `label: BEGIN ... END label`
        _ => first.ends_with(':') && ["begin", "loop", "while", "repeat", "for"].contains(&second),
    }
}

/// The routines `sql` may call, normalised (the last part of `other.purge(...)`, `CALL p`):
/// every name before a `(` outside DDL (which holds column lists and types), and after `CALL`.
/// What they run is read from the live database (see `guard`), since the text does not say.
pub(crate) fn called(sql: &str, dialect: Dialect) -> Vec<(String, String)> {
    const NOT_CALLS: [&str; 12] =
        ["values", "in", "exists", "any", "all", "some", "as", "on", "using", "into", "over", "filter"];
    let mut out: Vec<(String, String)> = Vec::new();
    // Statement by statement as they are read: a seed of millions is never listed.
    dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
        let first = st.first_keyword();
        if matches!(first.as_str(), "CREATE" | "ALTER" | "DROP") {
            return;
        }
        let s = dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect);
        // A `DO` block's body: what it `PERFORM`s or calls.
        for t in s.tokens.iter().filter(|t| t.kind == Kind::DollarString) {
            let text = t.text(st.text);
            for n in dollar_body(text).map(|b| called(b, dialect)).unwrap_or_default() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        for k in 0..s.tokens.len() {
            let call = s.tokens.get(k + 1).is_some_and(|t| t.kind == Kind::LParen) || (k > 0 && s.is(k - 1, "CALL"));
            if !call || !matches!(s.tokens[k].kind, Kind::Word | Kind::QuotedIdent) {
                continue;
            }
            // `other.purge(`: the name's qualifier, from the token before the dot (at `purge`) or
            // from the name itself (at `other`, after `CALL`).
            let Some((name, end)) = s.name(k) else { continue };
            // One token, as a name (unquoted; a bare word lowercased).
            let part = |i: usize| dbguard_lint::stmt::Stmt::new(s.tok(i), 0, dialect).name(0).map(|(q, _)| q);
            let qualifier = if k >= 2 && s.tok(k - 1) == "." {
                part(k - 2)
            } else if end > k + 1 {
                part(k)
            } else {
                None
            };
            let call = (qualifier.unwrap_or_default(), name);
            if !NOT_CALLS.contains(&call.1.as_str()) && !out.contains(&call) {
                out.push(call);
            }
        }
    });
    out
}

/// The tables `sql` inserts into (`INSERT [OR x] [IGNORE] [INTO] name`), normalised: what
/// their triggers run is read from the live database. One pass over the bytes, so that a seed
/// file of any size costs little; a word inside a string or comment may add a name that is no
/// table, which is harmless (only the tables that have triggers are looked at).
pub(crate) fn inserted(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let skip_space = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    let word_end = |mut j: usize| {
        while j < b.len() && word(b[j]) {
            j += 1;
        }
        j
    };
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let at = i;
        i += 1;
        // `INSERT`, and PostgreSQL's `COPY t FROM` and MySQL's `LOAD DATA ... INTO TABLE t`,
        // which fire the same triggers.
        let len = match b[at] | 0x20 {
            b'i' if b[at..].len() >= 6 && b[at..at + 6].eq_ignore_ascii_case(b"insert") => 6,
            b'i' if b[at..at + 4].eq_ignore_ascii_case(b"into") && {
                let t = skip_space(at + 4);
                t > at + 4 && b.len() >= t + 5 && b[t..t + 5].eq_ignore_ascii_case(b"table")
            } =>
            {
                skip_space(at + 4) + 5 - at
            }
            b'c' if b[at..at + 4].eq_ignore_ascii_case(b"copy") => 4,
            _ => continue,
        };
        if (at > 0 && word(b[at - 1])) || b.get(at + len).is_some_and(|c| word(*c)) {
            continue;
        }
        // The modifiers between INSERT and the table.
        let mut j = skip_space(at + len);
        loop {
            let k = word_end(j);
            match sql[j..k].to_ascii_lowercase().as_str() {
                "or" => j = skip_space(word_end(skip_space(k))),
                "into" | "ignore" | "low_priority" | "delayed" | "high_priority" => j = skip_space(k),
                _ => break,
            }
        }
        // `schema.table`, each part bare or quoted: the last part.
        let mut last = None;
        loop {
            let (part, next) = match b.get(j) {
                Some(&q @ (b'"' | b'`' | b'[')) => {
                    let close = if q == b'[' { b']' } else { q };
                    match b[j + 1..].iter().position(|&c| c == close) {
                        Some(len) => (sql[j + 1..j + 1 + len].to_string(), j + len + 2),
                        None => break,
                    }
                }
                Some(_) => {
                    let k = word_end(j);
                    if k == j {
                        break;
                    }
                    (sql[j..k].to_lowercase(), k)
                }
                None => break,
            };
            last = Some(part);
            j = skip_space(next);
            if b.get(j) != Some(&b'.') {
                break;
            }
            j = skip_space(j + 1);
        }
        if let Some(name) = last
            && !out.contains(&name)
        {
            out.push(name);
        }
        i = j.max(i);
    }
    out
}

/// Every word written just before a `(` in `sql` (`wipef()`, `DEFAULT f()`, `CHECK (g(x) > 0)`,
/// in any statement, DDL included), lowercased, each once, with the word before it when a `.`
/// joins them (`other.f(`): the names a step may call, `(qualifier, name)`. One pass over the
/// bytes; they are compared with the routines the database has (most are tables, types and
/// keywords), whose bodies are then read.
pub(crate) fn call_candidates(sql: &str) -> Vec<(String, String)> {
    const NOT: [&str; 12] =
        ["values", "in", "exists", "any", "all", "some", "as", "on", "using", "into", "over", "and"];
    let b = sql.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let mut out: Vec<(String, String)> = Vec::new();
    for (at, _) in b.iter().enumerate().filter(|(_, c)| **c == b'(') {
        let mut end = at;
        while end > 0 && b[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        let (start, stop) = match end.checked_sub(1).map(|i| b[i]) {
            Some(q @ (b'"' | b'`')) => match b[..end - 1].iter().rposition(|&c| c == q) {
                Some(open) => (open + 1, end - 1),
                None => continue,
            },
            _ => {
                let mut start = end;
                while start > 0 && word(b[start - 1]) {
                    start -= 1;
                }
                (start, end)
            }
        };
        if start == stop || b[start].is_ascii_digit() {
            continue;
        }
        let name = sql[start..stop].to_lowercase();
        // `other.f(`, `"Other".f(`: the qualifier.
        let before = if b[start..stop].first() == Some(&b'"') { start - 1 } else { start };
        let before = if stop < end { start - 1 } else { before };
        let mut q = String::new();
        if before > 0 && b[before - 1] == b'.' {
            let qend = before - 1;
            let mut qstart = qend;
            if qend > 0 && (b[qend - 1] == b'"' || b[qend - 1] == b'`') {
                let quote = b[qend - 1];
                if let Some(open) = b[..qend - 1].iter().rposition(|&c| c == quote) {
                    q = sql[open + 1..qend - 1].to_lowercase();
                }
            } else {
                while qstart > 0 && word(b[qstart - 1]) {
                    qstart -= 1;
                }
                q = sql[qstart..qend].to_lowercase();
            }
        }
        let candidate = (q, name);
        if !NOT.contains(&candidate.1.as_str()) && !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// What is between a dollar-quoted string's tags (`$x$ body $x$`).
fn dollar_body(text: &str) -> Option<&str> {
    let start = text.find('$').and_then(|a| text[a + 1..].find('$').map(|b| a + b + 2))?;
    let end = text[start..].rfind('$').and_then(|e| text[start..start + e].rfind('$'))?;
    Some(&text[start..start + end])
}

/// The tables `sql` renames, `(from, to)` in statement order, normalised: `ALTER TABLE a
/// RENAME TO b`, `RENAME TABLE a TO b, c TO d` (MySQL). A table renamed and then dropped or
/// emptied under its new name is the old one's rows.
pub(crate) fn renames(sql: &str, dialect: Dialect) -> Vec<(String, String)> {
    let mut out = Vec::new();
    dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
        let first = st.first_keyword();
        if first != "ALTER" && first != "RENAME" {
            return;
        }
        let s = dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect);
        if s.starts(&["RENAME", "TABLE"]) {
            let mut k = 2;
            while let Some((from, next)) = s.name(k) {
                let Some((to, after)) = s.name(next + 1).filter(|_| s.is(next, "TO")) else { break };
                out.push((from, to));
                if s.tok(after) != "," {
                    break;
                }
                k = after + 1;
            }
        } else if let Some(a) = s.altered()
            && let Some(at) =
                (a.from..s.tokens.len()).find(|&k| s.is(k, "RENAME") && (s.is(k + 1, "TO") || s.is(k + 1, "AS")))
            && let Some((to, _)) = s.name(at + 2)
        {
            out.push((a.table.clone(), to));
        }
    });
    out
}

/// Where a statement that moves the connection's unqualified names sends them (see
/// [`moves`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Moves {
    /// To these schemas (databases), in order, normalised (`"$user"` kept as `$user`); empty:
    /// to none at all (`set_config('search_path', '', false)`, as pg_dump writes).
    To(Vec<String>),
    /// Back to the connection's own path (`SET search_path TO DEFAULT`, `RESET search_path`).
    Back,
    /// Somewhere the text does not say (a computed value, a `DO` block setting it).
    Unreadable,
}

/// Whether statement `s` (whose first keyword is `first`) moves the connection's unqualified
/// names elsewhere, and where: `USE db`, `SET [SESSION|LOCAL] search_path {TO|=} ...`, `SET
/// SCHEMA 'x'`, `RESET search_path`/`RESET ALL`, `set_config('search_path', ...)`, and a `DO`
/// or `CALL` whose text sets the path. A function's own `SET search_path` clause (`CREATE
/// FUNCTION ... SET search_path = x`) applies inside the function only and is not a move.
pub(crate) fn moves(s: &dbguard_lint::stmt::Stmt<'_>, first: &str) -> Option<Moves> {
    let list = |from: usize| {
        let mut out = Vec::new();
        let mut k = from;
        while let Some((name, next)) = s.name(k) {
            if name.contains(',') {
                return Moves::Unreadable;
            }
            out.push(name);
            if s.tok(next) != "," {
                return if next == s.tokens.len() { Moves::To(out) } else { Moves::Unreadable };
            }
            k = next + 1;
        }
        Moves::Unreadable
    };
    match first {
        "USE" => Some(list(1)),
        "RESET" => (s.is(1, "search_path") || s.is(1, "ALL")).then_some(Moves::Back),
        "SET" => {
            let mut k = 1;
            while s.is(k, "SESSION") || s.is(k, "LOCAL") {
                k += 1;
            }
            if s.is(k, "SCHEMA") {
                return Some(list(k + 1));
            }
            // `search_path` or `"search_path"`: the same setting.
            let setting = s.name(k).filter(|(n, next)| n.eq_ignore_ascii_case("search_path") && *next == k + 1);
            if !(setting.is_some() && (s.is(k + 1, "TO") || s.tok(k + 1) == "=")) {
                return None;
            }
            Some(if s.is(k + 2, "DEFAULT") && k + 3 == s.tokens.len() { Moves::Back } else { list(k + 2) })
        }
        // `UPDATE pg_settings SET setting = ... WHERE name = 'search_path'`.
        "UPDATE" => {
            let lower = s.text.to_ascii_lowercase();
            (lower.contains("pg_settings") && lower.contains("search_path")).then_some(Moves::Unreadable)
        }
        // MySQL's dynamic SQL: `EXECUTE IMMEDIATE 'USE other'`, `PREPARE s FROM 'USE other'`.
        "EXECUTE" | "PREPARE"
            if s.tokens.iter().any(|t| {
                t.kind == Kind::String && {
                    let inner = dbguard_lint::stmt::unquote(t.text(s.text));
                    let inner = inner.trim_start();
                    inner.len() > 3
                        && inner[..3].eq_ignore_ascii_case("use")
                        && !inner[3..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                }
            }) =>
        {
            Some(Moves::Unreadable)
        }
        "SELECT" | "DO" | "CALL" | "EXECUTE" | "PERFORM" => {
            let lower = s.text.to_ascii_lowercase();
            if !lower.contains("search_path") {
                return None;
            }
            // `SELECT [pg_catalog.]set_config('search_path', '<list>', <local>)`.
            let call = (0..s.tokens.len()).find(|&k| {
                s.is(k, "set_config") && s.tok(k + 1) == "(" && s.name(k + 2).is_some_and(|(n, _)| n == "search_path")
            });
            if let Some(k) = call {
                let value = s.tokens.get(k + 4).filter(|t| t.kind == Kind::String && s.tok(k + 3) == ",");
                return Some(match value.map(|t| t.text(s.text)) {
                    Some(v) if v.starts_with('\'') => {
                        let v = dbguard_lint::stmt::unquote(v);
                        let names: Option<Vec<String>> = v
                            .split(',')
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .map(|n| match n.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
                                Some(q) if !q.contains('"') => Some(q.to_string()),
                                Some(_) => None,
                                None => Some(n.to_ascii_lowercase()),
                            })
                            .collect();
                        names.map_or(Moves::Unreadable, Moves::To)
                    }
                    _ => Moves::Unreadable,
                });
            }
            sets_path_inside(&lower).then_some(Moves::Unreadable)
        }
        _ => None,
    }
}

/// The schema a `CREATE SCHEMA` statement creates (`CREATE SCHEMA [IF NOT EXISTS] name`, or
/// `CREATE SCHEMA AUTHORIZATION role`, named for the role); `None` for any other statement.
pub(crate) fn created_schema(s: &dbguard_lint::stmt::Stmt<'_>) -> Option<String> {
    if !(s.is(0, "CREATE") && s.is(1, "SCHEMA")) {
        return None;
    }
    let k = if s.seq(2, &["IF", "NOT", "EXISTS"]) { 5 } else { 2 };
    let k = if s.is(k, "AUTHORIZATION") { k + 1 } else { k };
    s.name(k).map(|(n, _)| n)
}

/// The table a `CREATE [GLOBAL|LOCAL] TEMP[ORARY] TABLE` statement creates (normalised):
/// for the rest of the connection it hides a table of the same name, dbguard's own included.
pub(crate) fn created_temporary(s: &dbguard_lint::stmt::Stmt<'_>) -> Option<String> {
    if !s.is(0, "CREATE") {
        return None;
    }
    let mut k = 1;
    if s.seq(k, &["OR", "REPLACE"]) {
        k += 2;
    }
    if s.is(k, "GLOBAL") || s.is(k, "LOCAL") {
        k += 1;
    }
    if !(s.is(k, "TEMP") || s.is(k, "TEMPORARY")) {
        return None;
    }
    k += 1;
    if s.is(k, "UNLOGGED") {
        k += 1;
    }
    if !s.is(k, "TABLE") {
        return None;
    }
    k += 1;
    if s.seq(k, &["IF", "NOT", "EXISTS"]) {
        k += 3;
    }
    s.name(k).map(|(n, _)| n)
}

/// Whether text the guard cannot read token by token (a `DO` body, SQL in a string) sets the
/// search path: `SET [LOCAL|SESSION] search_path` or `set_config('search_path'` in it.
fn sets_path_inside(lower: &str) -> bool {
    lower.contains("set_config") || {
        let words: Vec<&str> =
            lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        words.windows(2).any(|w| w[1] == "search_path" && matches!(w[0], "set" | "local" | "session"))
    }
}

/// Whether statement `i` is allowed `rule` by a suppression in the comments before it (after
/// the previous statement) or for the whole file: `(with a reason, only without one)`.
fn allowed(allows: &[Suppression], from: usize, st: &Statement<'_>, rule: &str) -> (bool, bool) {
    let applies = |a: &&Suppression| {
        a.rules.iter().any(|x| x == rule) && (a.file || (from..st.offset + st.text.len()).contains(&a.start))
    };
    let with_reason = allows.iter().filter(applies).any(|a| a.reason.is_some());
    (with_reason, !with_reason && allows.iter().any(|a| applies(&a)))
}

/// A table named with a schema (or database) in front, as written in a step: when it is
/// another schema's, its rows are beyond the snapshots (they keep the current schema's
/// tables), so the guard checks on the live database whether it holds any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Qualified {
    /// The statement's index in the step, and its line.
    pub statement: usize,
    pub line: usize,
    /// The schema or database named, and the table (normalised as the guard names tables).
    pub qualifier: String,
    pub table: String,
    /// `-- dbguard:allow outside-schema reason="..."` before it, or for the file.
    pub allowed: bool,
    /// The qualifier is a database an earlier statement of the step attaches (SQLite's
    /// `ATTACH ... AS other`): nothing there can be looked at before the step runs.
    pub attached: bool,
}

/// What a step reaches beyond the tables of the schema it migrates, read from its text (see
/// [`reach`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reach {
    /// Every qualified name in the statements that may change rows (column references such
    /// as `u.id` included: the guard keeps those naming a table it protects).
    pub names: Vec<Qualified>,
    /// The first statement (index, line) that makes unqualified names resolve elsewhere (`SET
    /// search_path`, `USE`, `ATTACH`).
    pub moves: Option<(usize, usize)>,
    /// The schemas (databases) those statements move names to, when each could be read
    /// (`SET search_path TO a, b`, `USE a`, `ATTACH ... AS a`); `None`: anywhere.
    pub moved_to: Option<Vec<String>>,
    /// Schemas (databases) the step drops (`DROP SCHEMA`, `DROP DATABASE`): the name, the
    /// statement, its line, and whether an allow with a reason is before it.
    pub dropped_schemas: Vec<(String, usize, usize, bool)>,
    /// The step attaches another database (SQLite `ATTACH`).
    pub attaches: bool,
    /// An allow of `outside-schema` with a reason is somewhere in the step (for text the guard
    /// cannot read statement by statement, such as a `DO` block).
    pub allowed_anywhere: bool,
}

/// What `sql` reaches beyond the current schema's tables.
pub(crate) fn reach(sql: &str, dialect: Dialect) -> Reach {
    let allows = dbguard_lint::suppress::parse(sql, dialect);
    let mut out = Reach {
        allowed_anywhere: allows.iter().any(|a| a.reason.is_some() && a.rules.iter().any(|r| r == "outside-schema")),
        ..Reach::default()
    };
    let mut attached: Vec<String> = Vec::new();
    // As in `targets`: read as they come, with where the one before ended.
    let (mut next, mut next_from) = (0, 0);
    dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
        let st = &st;
        let (i, from) = (next, next_from);
        (next, next_from) = (i + 1, st.offset + st.text.len());
        let (first, lower) = (st.first_keyword(), st.text.to_ascii_lowercase());
        let stmt = || dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect);
        if first == "ATTACH" {
            out.attaches = true;
            let s = stmt();
            if let Some(alias) = (1..s.tokens.len()).rev().find_map(|k| s.name(k).filter(|_| s.is(k - 1, "AS"))) {
                attached.push(alias.0);
            }
        }
        if first == "DROP" {
            let s = stmt();
            if s.is(1, "SCHEMA") || s.is(1, "DATABASE") {
                let ok = ["drop-schema", "drop-database", "outside-schema"]
                    .iter()
                    .any(|rule| allowed(&allows, from, st, rule).0);
                let mut k = if s.seq(2, &["IF", "EXISTS"]) { 4 } else { 2 };
                while let Some((name, next)) = s.name(k) {
                    out.dropped_schemas.push((name, i, st.line, ok));
                    if s.tok(next) != "," {
                        break;
                    }
                    k = next + 1;
                }
            }
        }
        // (`SET @n := (SELECT ... WHERE table_schema = DATABASE())` moves nothing.)
        if matches!(first.as_str(), "USE" | "ATTACH")
            || (first == "SET" && moves(&stmt(), &first).is_some())
            || lower.contains("search_path")
        {
            out.moves.get_or_insert((i, st.line));
            // Where names go after it, as far as it says: `$user` and `DEFAULT` depend on
            // the connection, read as anywhere.
            let s = stmt();
            let to = if first == "ATTACH" {
                (1..s.tokens.len()).rev().find_map(|k| s.name(k).filter(|_| s.is(k - 1, "AS"))).map(|n| vec![n.0])
            } else {
                match moves(&s, &first) {
                    Some(Moves::To(v)) if !v.is_empty() && !v.iter().any(|n| n.starts_with('$')) => Some(v),
                    _ => None,
                }
            };
            out.moved_to = match (std::mem::take(&mut out.moved_to), to) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                (None, Some(b)) if out.moves == Some((i, st.line)) => Some(b),
                _ => None,
            };
        }
        let any = |ws: &[&str]| ws.iter().any(|w| lower.contains(w));
        let changes = match first.as_str() {
            // `CREATE OR REPLACE TABLE` (MariaDB) drops the table it replaces.
            "SELECT" | "CREATE" | "WITH" => any(&["delete", "update", "merge", "insert", "replace"]),
            "INSERT" => any(&["conflict", "duplicate", "replace"]),
            _ => true,
        };
        if !changes {
            return;
        }
        let s = stmt();
        let mut names = s.qualified_names();
        // SQL in strings: a `DO` block's or a function's body, a statement to `PREPARE`.
        for t in s.tokens.iter().filter(|t| matches!(t.kind, Kind::DollarString | Kind::String)) {
            let text = t.text(st.text);
            let body = match t.kind {
                Kind::DollarString => dollar_body(text),
                _ => text.get(1..text.len().saturating_sub(1)),
            };
            let sql_like = |b: &&str| {
                let l = b.to_ascii_lowercase();
                b.contains('.')
                    && ["delete", "update", "insert", "merge", "replace", "truncate", "drop"]
                        .iter()
                        .any(|w| l.contains(w))
            };
            if let Some(body) = body.filter(sql_like) {
                for pair in dbguard_lint::stmt::Stmt::new(body, 0, dialect).qualified_names() {
                    if !names.contains(&pair) {
                        names.push(pair);
                    }
                }
            }
        }
        let allowed = !names.is_empty() && allowed(&allows, from, st, "outside-schema").0;
        out.names.extend(names.into_iter().map(|(qualifier, table)| Qualified {
            statement: i,
            line: st.line,
            // SQLite compares schema names case-insensitively, quoted or not.
            attached: attached.iter().any(|a| a.eq_ignore_ascii_case(&qualifier)),
            qualifier,
            table,
            allowed,
        }));
    });
    out
}

/// The values the actions of an `ALTER TABLE` drop or convert; `Err` when it cannot be read
/// (or names another schema's table): then every table it names is kept whole.
/// What a new `NOT NULL` column without a default refuses on PostgreSQL: every row there.
const NEW_NOT_NULL: &str = "NOT NULL (a new column without a DEFAULT)";

fn values(text: &str, dialect: Dialect) -> Result<Vec<ValueTarget>, ()> {
    use sqlparser::ast::{AlterColumnOperation, AlterTableOperation as Op};
    let mut parsed = sqlparser::parser::Parser::parse_sql(parser_dialect(dialect).as_ref(), text).map_err(|_| ())?;
    let Some(Sql::AlterTable(alter)) = parsed.pop() else { return Ok(Vec::new()) };
    let Some(table) = normalise(&alter.name).filter(|_| alter.name.0.len() == 1) else {
        return Err(());
    };
    let column =
        |id: &sqlparser::ast::Ident| if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() };
    let mut out = Vec::new();
    let mut push = |c: &sqlparser::ast::Ident, change: ValueChange| {
        out.push(ValueTarget {
            statement: 0,
            line: 0,
            table: table.clone(),
            column: column(c),
            change,
            after_writes: false,
        })
    };
    let relation = alter.name.to_string();
    for op in &alter.operations {
        match op {
            Op::AddConstraint { constraint, not_valid: false } => {
                use sqlparser::ast::TableConstraint as C;
                let (cols, constraint, condition) = match constraint {
                    C::Unique(u) => {
                        let cols = index_columns(&u.columns, dialect);
                        let nulls_equal = matches!(u.nulls_distinct, sqlparser::ast::NullsDistinctOption::NotDistinct);
                        let n = u.columns.len();
                        let condition = duplicates(&relation, &cols, n, None, nulls_equal);
                        (cols.clone(), format!("UNIQUE ({cols})"), condition)
                    }
                    C::PrimaryKey(k) => {
                        let cols = index_columns(&k.columns, dialect);
                        let nulls: Vec<String> = cols.split(", ").map(|c| format!(" OR {c} IS NULL")).collect();
                        let condition =
                            format!("{}{}", duplicates(&relation, &cols, k.columns.len(), None, false), nulls.concat());
                        (cols.clone(), format!("PRIMARY KEY ({cols})"), condition)
                    }
                    C::Check(c) if c.enforced != Some(false) => {
                        (String::new(), format!("CHECK ({})", c.expr), format!("NOT ({})", c.expr))
                    }
                    _ => continue,
                };
                let column = sqlparser::ast::Ident::new(cols);
                push(&column, ValueChange::Rejects { constraint, condition });
            }
            // PostgreSQL fills a new column with NULL, or its DEFAULT: `NOT NULL` without one
            // fails on a table with rows (MySQL fills in the type's own default instead).
            Op::AddColumn { column_def: d, if_not_exists: false, .. } if dialect == Dialect::Postgres => {
                use sqlparser::ast::ColumnOption as O;
                let options = || d.options.iter().map(|o| &o.option);
                // `DEFAULT NULL` fills nothing.
                let null = |e: &sqlparser::ast::Expr| e.to_string().eq_ignore_ascii_case("NULL");
                let fills = options().any(|o| match o {
                    O::Default(e) => !null(e),
                    O::Generated { .. } | O::Identity(_) => true,
                    _ => false,
                }) || d.data_type.to_string().to_ascii_uppercase().contains("SERIAL");
                let not_null = options().any(|o| matches!(o, O::NotNull | O::PrimaryKey(_)));
                if not_null && !fills {
                    let constraint = NEW_NOT_NULL.to_string();
                    push(&d.name, ValueChange::Rejects { constraint, condition: "1 = 1".into() });
                }
            }
            Op::AlterColumn { column_name, op: AlterColumnOperation::SetNotNull } => {
                let condition = format!("{column_name} IS NULL");
                push(column_name, ValueChange::Rejects { constraint: "NOT NULL".into(), condition });
            }
            Op::DropColumn { column_names, .. } => column_names.iter().for_each(|c| push(c, ValueChange::Drop)),
            Op::AlterColumn { column_name, op: AlterColumnOperation::SetDataType { data_type, using, .. } } => push(
                column_name,
                ValueChange::Convert { to: data_type.to_string(), using: using.as_ref().map(ToString::to_string) },
            ),
            Op::ModifyColumn { col_name: c, data_type, options, .. }
            | Op::ChangeColumn { old_name: c, data_type, options, .. } => {
                // A character set converts the values too (`日本` to latin1 is `??`): it is part of
                // the conversion measured; a collation cannot be cast to, so the count fails and
                // the table is kept whole.
                let mut to = data_type.to_string();
                if options.iter().any(|o| matches!(o, sqlparser::ast::ColumnOption::NotNull)) {
                    push(c, ValueChange::NullsReplaced);
                }
                for o in options {
                    if let sqlparser::ast::ColumnOption::CharacterSet(_) | sqlparser::ast::ColumnOption::Collation(_) =
                        o
                    {
                        to.push_str(&format!(" {o}"));
                    }
                }
                push(c, ValueChange::Convert { to, using: None })
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The columns of an index or key, as SQL (`a, "B"`).
fn index_columns(columns: &[sqlparser::ast::IndexColumn], dialect: Dialect) -> String {
    let part = |c: &sqlparser::ast::IndexColumn| {
        let text = c.column.expr.to_string();
        // MySQL's `name(10)` is a key on the first 10 characters (a function needs `((...))`).
        let prefix = text.split_once('(').and_then(|(name, rest)| {
            let n = rest.strip_suffix(')')?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| format!("LEFT({name}, {n})"))
        });
        match prefix {
            Some(p) if dialect == Dialect::Mysql => p,
            _ => text,
        }
    };
    columns.iter().map(part).collect::<Vec<_>>().join(", ")
}

/// The condition on `relation`'s rows that holds for those sharing their `cols` (SQL, `n` of
/// them) with another row (where `filter` holds, for a partial index): what a new UNIQUE
/// refuses. Rows with a NULL among them are never equal, as the constraint sees them, unless
/// it says `NULLS NOT DISTINCT` (PostgreSQL): then NULLs are equal too.
fn duplicates(relation: &str, cols: &str, n: usize, filter: Option<&str>, nulls_equal: bool) -> String {
    let (where_, and) = match filter {
        Some(f) => (format!(" WHERE {f}"), format!(" AND ({f})")),
        None => (String::new(), String::new()),
    };
    let groups = format!("SELECT {cols} FROM {relation}{where_} GROUP BY {cols} HAVING COUNT(*) > 1");
    if !nulls_equal {
        return format!("({cols}) IN ({groups}){and}");
    }
    // The groups' columns renamed, so that `cols` inside means the outer row's.
    let aliases = (1..=n).map(|i| format!("dbguard_c{i}")).collect::<Vec<_>>().join(", ");
    format!(
        "EXISTS (SELECT 1 FROM ({groups}) AS dbguard_dup ({aliases}) WHERE ROW({aliases}) IS NOT DISTINCT FROM ROW({cols})){and}"
    )
}

/// `CREATE UNIQUE INDEX ... ON t (cols)`: the rows the index would refuse.
fn unique_index(text: &str, dialect: Dialect) -> Option<ValueTarget> {
    let mut parsed = sqlparser::parser::Parser::parse_sql(parser_dialect(dialect).as_ref(), text).ok()?;
    let Some(Sql::CreateIndex(ix)) = parsed.pop() else { return None };
    if !ix.unique || ix.table_name.0.len() != 1 {
        return None;
    }
    let cols = index_columns(&ix.columns, dialect);
    let relation = ix.table_name.to_string();
    let predicate = ix.predicate.as_ref().map(ToString::to_string);
    Some(ValueTarget {
        statement: 0,
        line: 0,
        table: normalise(&ix.table_name)?,
        column: cols.clone(),
        change: ValueChange::Rejects {
            constraint: format!("UNIQUE ({cols})"),
            condition: duplicates(
                &relation,
                &cols,
                ix.columns.len(),
                predicate.as_deref(),
                ix.nulls_distinct == Some(false),
            ),
        },
        after_writes: false,
    })
}

/// The target of one statement.
fn target(st: &Statement<'_>, dialect: Dialect) -> Option<Target> {
    let text = st.text;
    let first = st.first_keyword();
    let changes_rows = matches!(first.as_str(), "DELETE" | "UPDATE" | "INSERT" | "REPLACE" | "MERGE" | "WITH");
    // A plain INSERT (the bulk of a seeding migration) overwrites nothing: parsed only when
    // its text can say otherwise.
    let may_overwrite = || {
        let lower = text.to_ascii_lowercase();
        ["conflict", "duplicate", "replace"].iter().any(|w| lower.contains(w))
    };
    if !changes_rows || first == "INSERT" && !may_overwrite() {
        return None;
    }
    // MySQL's `LOW_PRIORITY`, `QUICK`, `IGNORE` choose no rows, and the parser does not know
    // them all (`UPDATE IGNORE t` read as table `ignore`): blanked for it.
    let stmt = dbguard_lint::stmt::Stmt::new(text, 0, dialect);
    let blanked = match first.as_str() {
        "DELETE" | "UPDATE" => {
            let mut b: Option<String> = None;
            for t in stmt.tokens.iter().take(stmt.dml_table_at(0)).skip(1) {
                let w = t.text(text);
                if ["LOW_PRIORITY", "QUICK", "IGNORE"].iter().any(|k| w.eq_ignore_ascii_case(k)) {
                    b.get_or_insert_with(|| text.to_string()).replace_range(t.start..t.end, &" ".repeat(w.len()));
                }
            }
            b
        }
        _ => None,
    };
    let parsed =
        sqlparser::parser::Parser::parse_sql(parser_dialect(dialect).as_ref(), blanked.as_deref().unwrap_or(text));
    let unknown = || Some(Target::Unknown(words(text)));
    let statement = match parsed {
        Ok(mut v) if v.len() == 1 => v.remove(0),
        _ => return unknown(),
    };
    // The table the parser found must be the one the statement names: a modifier it does not
    // know (`UPDATE IGNORE t` read as table `ignore`, alias `t`) would keep nothing.
    let named = || stmt.name(stmt.dml_table_at(0)).map(|(n, _)| n);
    let checked = |t: Option<Target>| match t {
        Some(Target::Rows(RowTarget { ref table, .. }) | Target::Whole(ref table))
            if named().as_ref() != Some(table) =>
        {
            unknown()
        }
        None => unknown(),
        other => other,
    };
    match statement {
        Sql::Delete(d) => checked(delete(&d)),
        Sql::Update(u) => checked(update(&u, dialect)),
        Sql::Insert(i) => insert(&i, text),
        Sql::Merge(m) => match &m.table {
            TableFactor::Table { name, .. } => Some(Target::Whole(normalise(name)?)),
            _ => unknown(),
        },
        // `WITH x AS (DELETE ...) SELECT ...`: a data-modifying CTE. A plain query changes nothing.
        Sql::Query(q) if q.with.is_some() && has_dml_word(text) => unknown(),
        _ => None,
    }
}

fn delete(d: &Delete) -> Option<Target> {
    let from = match &d.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    // `DELETE t1, t2 FROM ...` (MySQL), `USING`, joins: every table named is kept whole.
    if !d.tables.is_empty() || d.using.is_some() || from.len() != 1 || !from[0].joins.is_empty() {
        return None;
    }
    // `LIMIT n` changes some of the rows the condition matches: which ones, only the statement
    // knows. (`ORDER BY` alone changes them all, in some order.)
    let narrow = d.limit.is_none();
    single(&from[0], d.selection.as_ref(), Verb::Delete, narrow, Vec::new())
}

fn update(u: &Update, dialect: Dialect) -> Option<Target> {
    if u.from.is_some() || !u.table.joins.is_empty() {
        return None;
    }
    // SQLite's `UPDATE OR REPLACE` deletes the rows whose keys the new values take: not only
    // the rows it updates change.
    if matches!(u.or, Some(SqliteOnConflict::Replace)) {
        let TableFactor::Table { name, .. } = &u.table.relation else { return None };
        return Some(Target::Whole(normalise(name)?));
    }
    // `SET t.a = 1` (MySQL, SQLite) names the table's column; on PostgreSQL `SET c.x = 1` sets
    // a field of the composite column `c`, and a qualifier that is not the table's own name
    // or alias is no column of it: such a row cannot be counted, so the table is kept whole.
    let own = |q: &str| {
        let TableFactor::Table { name, alias, .. } = &u.table.relation else { return false };
        normalise(name).is_some_and(|t| t.eq_ignore_ascii_case(q))
            || alias.as_ref().is_some_and(|a| a.name.value.eq_ignore_ascii_case(q))
    };
    let countable = u.assignments.iter().all(|a| match &a.target {
        sqlparser::ast::AssignmentTarget::ColumnName(n) => match &n.0[..] {
            [_] => true,
            [ObjectNamePart::Identifier(q), _] => dialect != Dialect::Postgres && own(&q.value),
            _ => false,
        },
        sqlparser::ast::AssignmentTarget::Tuple(_) => true,
    });
    if !countable {
        return None;
    }
    // `SET a = DEFAULT` is no value that can be compared: counted like a function's result.
    let is_default = |v: &sqlparser::ast::Expr| matches!(v, sqlparser::ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"));
    // `SET a = 'x'`: only the rows where `a` is not already 'x' are overwritten.
    let constants = u.assignments.iter().all(|a| {
        matches!(a.target, sqlparser::ast::AssignmentTarget::ColumnName(_))
            && matches!(a.value, sqlparser::ast::Expr::Value(_))
    });
    // Compared byte for byte: a case-insensitive collation (or `citext`) calls `'X'` and
    // `'x'` equal, yet the UPDATE changes one into the other. Equal values that print
    // differently (`1.0`, `1`) are counted as changed: kept for nothing, never lost.
    let distinct = |c: String, v: String| match dialect {
        Dialect::Postgres => format!("CAST({c} AS TEXT) IS DISTINCT FROM CAST({v} AS TEXT)"),
        Dialect::Mysql => format!("NOT (BINARY {c} <=> BINARY {v})"),
        Dialect::Sqlite => format!("CAST({c} AS BLOB) IS NOT CAST({v} AS BLOB)"),
    };
    // A row loses something when a non-NULL value in it is overwritten by another (an
    // expression that calls a function is assumed to change it): a backfill of NULLs loses
    // nothing.
    let columns_only =
        u.assignments.iter().all(|a| matches!(a.target, sqlparser::ast::AssignmentTarget::ColumnName(_)));
    let destroys = columns_only.then(|| {
        u.assignments
            .iter()
            .map(|a| {
                let (c, v) = (a.target.to_string(), a.value.to_string());
                if calls_functions(&v) || is_default(&a.value) {
                    format!("{c} IS NOT NULL")
                } else {
                    format!("{c} IS NOT NULL AND {}", distinct(c.clone(), v))
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    });
    let changes = constants.then(|| {
        u.assignments
            .iter()
            .map(|a| distinct(a.target.to_string(), a.value.to_string()))
            .collect::<Vec<_>>()
            .join(" OR ")
    });
    let narrow = u.limit.is_none();
    let assigned = u
        .assignments
        .iter()
        .flat_map(|a| match &a.target {
            sqlparser::ast::AssignmentTarget::ColumnName(n) => normalise(n).into_iter().collect::<Vec<_>>(),
            sqlparser::ast::AssignmentTarget::Tuple(ns) => ns.iter().filter_map(normalise).collect(),
        })
        .collect();
    let mut target = single(&u.table, u.selection.as_ref(), Verb::Update, narrow, assigned)?;
    if let Target::Rows(r) = &mut target {
        r.destroys = destroys;
    }
    if let (Target::Rows(r), Some(changes)) = (&mut target, changes) {
        r.predicate = format!("({}) AND ({changes})", r.predicate);
    }
    Some(target)
}

/// One table, with or without a predicate: its rows when the predicate chooses the same rows
/// when evaluated again just before the statement, else the whole table.
fn single(
    t: &TableWithJoins,
    selection: Option<&sqlparser::ast::Expr>,
    verb: Verb,
    narrow: bool,
    assigned: Vec<String>,
) -> Option<Target> {
    let TableFactor::Table { name, args: None, .. } = &t.relation else { return None };
    let table = normalise(name)?;
    let predicate = selection.map(ToString::to_string);
    // A schema-qualified table is kept whole: snapshots and restores name tables of the
    // current schema.
    let qualified = name.0.len() > 1;
    // No WHERE: every row. An UPDATE keeps, like one with a condition, only what it
    // overwrites; a DELETE keeps the whole table (see `guard`). Either is checked, just before
    // it runs, like `WHERE 1 = 1`: refused without the allow when the table has rows.
    let no_where = predicate.is_none();
    let predicate = predicate.or_else(|| Some("1 = 1".to_string()));
    Some(match predicate {
        Some(p) if narrow && !qualified && !calls_functions(&p) => Target::Rows(RowTarget {
            statement: 0,
            line: 0,
            table,
            relation: t.relation.to_string(),
            predicate: p,
            verb,
            assigned,
            after_writes: false,
            every_row_allowed: false,
            allow_without_reason: false,
            no_where,
            kept_whole: no_where && verb == Verb::Delete,
            destroys: None,
        }),
        _ => Target::Whole(table),
    })
}

/// Whether a condition calls a function other than a few pure ones: `random()`,
/// `clock_timestamp()`, `nextval()` or a user's function may choose other rows when evaluated
/// a second time (the copy, then the statement), so such a statement keeps the whole table.
fn calls_functions(predicate: &str) -> bool {
    const NOT_CALLS: [&str; 24] = [
        "in", "exists", "and", "or", "not", "any", "all", "some", "values", "select", "where", "is", "like", "between",
        "when", "then", "else", "case", "on", "from", "as", "array", "row", "interval",
    ];
    const PURE: [&str; 8] = ["cast", "coalesce", "lower", "upper", "length", "abs", "nullif", "trim"];
    let b = predicate.as_bytes();
    (0..b.len()).filter(|&i| b[i] == b'(').any(|i| {
        let before = predicate[..i].trim_end();
        let word: String = before.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let word: String = word.chars().rev().collect::<String>().to_lowercase();
        let quoted_call = before.ends_with('"') || before.ends_with('`');
        quoted_call || (!word.is_empty() && !NOT_CALLS.contains(&word.as_str()) && !PURE.contains(&word.as_str()))
    })
}

/// `REPLACE`, `INSERT OR REPLACE`, `ON CONFLICT DO UPDATE`, `ON DUPLICATE KEY UPDATE`
/// overwrite existing rows; a plain INSERT (or `DO NOTHING`) does not.
fn insert(i: &Insert, text: &str) -> Option<Target> {
    let overwrites = i.replace_into
        || matches!(i.or, Some(SqliteOnConflict::Replace))
        || match &i.on {
            Some(OnInsert::DuplicateKeyUpdate(_)) => true,
            Some(OnInsert::OnConflict(c)) => matches!(c.action, OnConflictAction::DoUpdate(_)),
            _ => false,
        };
    if !overwrites {
        return None;
    }
    match &i.table {
        TableObject::TableName(name) => normalise(name).map(Target::Whole),
        _ => Some(Target::Unknown(words(text))),
    }
}

/// Whether a statement may delete or overwrite rows by its words: an `INSERT` only when it
/// may overwrite (`ON CONFLICT`, `ON DUPLICATE KEY`, `REPLACE`), since inserting loses nothing.
fn has_dml_word(text: &str) -> bool {
    let w = words(text);
    let has = |k: &str| w.iter().any(|x| x == k);
    ["delete", "update", "merge", "replace"].iter().any(|k| has(k))
        || has("insert") && ["conflict", "duplicate"].iter().any(|k| has(k))
}

/// The identifier-like words of `text`, lowercased, quotes removed.
pub(crate) fn words(text: &str) -> Vec<String> {
    // Kept unique as they are read: a whole seed's text repeats the same few words millions
    // of times.
    let out: std::collections::HashSet<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect();
    let mut out: Vec<String> = out.into_iter().collect();
    out.sort();
    out
}

/// The last part of a name, as the guard names tables: quoted parts as written, unquoted
/// ones lowercased (PostgreSQL folds them; MySQL and SQLite compare them case-insensitively).
fn normalise(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(id) => {
            Some(if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() })
        }
        _ => None,
    }
}

fn parser_dialect(dialect: Dialect) -> Box<dyn sqlparser::dialect::Dialect> {
    match dialect {
        Dialect::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
        Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(sql: &str, d: Dialect) -> RowTarget {
        match targets(sql, d).as_slice() {
            [Target::Rows(r)] => r.clone(),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn deletes_and_updates_with_a_predicate_are_narrowed_to_their_rows() {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let r = rows("DELETE FROM users WHERE id > 0", d);
            assert_eq!((r.table.as_str(), r.predicate.as_str(), r.verb), ("users", "id > 0", Verb::Delete));
            let r = rows("CREATE TABLE x (a INT);\nUPDATE Users SET email = NULL WHERE created_at < '2020-01-01'", d);
            assert_eq!((r.table.as_str(), r.statement, r.line, r.verb), ("users", 1, 2, Verb::Update));
            assert!(r.predicate.starts_with("(created_at < '2020-01-01') AND ("), "{}", r.predicate);
        }
        let r = rows("DELETE FROM users AS u WHERE u.id IN (SELECT user_id FROM bans)", Dialect::Postgres);
        assert_eq!((r.table.as_str(), r.relation.as_str()), ("users", "users AS u"));
        let r = rows("DELETE FROM \"Users\" WHERE id = 1", Dialect::Postgres);
        assert_eq!(r.table, "Users");
    }

    #[test]
    fn the_names_before_a_parenthesis_are_call_candidates() {
        let sql = "INSERT INTO base VALUES (wipef() + 10, 1);\nALTER TABLE t ADD COLUMN z INT DEFAULT \"Zap\" ();\n\
                   SET @x = g (1) + other.h(2) + \"Sch\".\"K\"(3);";
        let found = call_candidates(sql);
        let found: Vec<(&str, &str)> = found.iter().map(|(q, n)| (q.as_str(), n.as_str())).collect();
        assert_eq!(found, [("", "wipef"), ("", "zap"), ("", "g"), ("other", "h"), ("sch", "k")]);
    }

    #[test]
    fn the_tables_inserted_into_are_found_in_one_pass() {
        let sql = "INSERT INTO orders VALUES (1);\ninsert ignore into `Audit` (a) VALUES ('insert into nope');\n\
                   INSERT OR REPLACE INTO main.\"Log\" SELECT 1; INSERT INTO orders VALUES (2); reinserted; INSERT";
        assert_eq!(inserted(sql), ["orders", "Audit", "nope", "Log"]);
        assert!(inserted("CREATE TABLE insertions (id INT)").is_empty());
        assert_eq!(inserted("COPY orders (id) FROM '/tmp/o.csv'; COPY (SELECT 1) TO STDOUT"), ["orders"]);
        assert_eq!(inserted("LOAD DATA INFILE '/tmp/f.tsv' IGNORE INTO TABLE `Base` (id)"), ["Base"]);
    }

    #[test]
    fn what_cannot_be_narrowed_is_kept_whole_and_nothing_passes() {
        let whole = |sql: &str, d: Dialect| targets(sql, d);
        assert_eq!(whole("REPLACE INTO users VALUES (1, 'a')", Dialect::Mysql), [Target::Whole("users".into())]);
        assert_eq!(
            whole("INSERT INTO users (id) VALUES (1) ON DUPLICATE KEY UPDATE id = 2", Dialect::Mysql),
            [Target::Whole("users".into())]
        );
        assert_eq!(
            whole("INSERT INTO users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2", Dialect::Postgres),
            [Target::Whole("users".into())]
        );
        assert_eq!(whole("INSERT OR REPLACE INTO users VALUES (1)", Dialect::Sqlite), [Target::Whole("users".into())]);
        // No WHERE: every row, checked like `WHERE 1 = 1` (the guard keeps the table whole).
        assert!(matches!(&whole("DELETE FROM users", Dialect::Postgres)[..],
            [Target::Rows(r)] if r.no_where && r.predicate == "1 = 1" && !r.every_row_allowed));
        assert!(
            matches!(&whole("-- dbguard:allow delete-without-where reason=\"x\"\nDELETE FROM users", Dialect::Postgres)[..],
            [Target::Rows(r)] if r.every_row_allowed)
        );
        assert_eq!(whole("DELETE FROM users LIMIT 3", Dialect::Mysql), [Target::Whole("users".into())]);
        // ORDER BY without LIMIT changes every row it matches: measured like any other.
        assert!(matches!(&whole("DELETE FROM users WHERE id > 0 ORDER BY id", Dialect::Mysql)[..],
            [Target::Rows(r)] if r.predicate == "id > 0"));
        assert!(matches!(&whole("UPDATE users SET name = 'k' ORDER BY id", Dialect::Mysql)[..],
            [Target::Rows(r)] if r.no_where));
        assert_eq!(
            whole("UPDATE users SET a = o.a FROM orgs o WHERE o.id = users.org", Dialect::Postgres)[0],
            Target::Unknown(words("UPDATE users SET a = o.a FROM orgs o WHERE o.id = users.org"))
        );
        let Target::Unknown(w) =
            &whole("WITH x AS (DELETE FROM users WHERE id > 0 RETURNING *) SELECT 1", Dialect::Postgres)[0]
        else {
            panic!()
        };
        assert!(w.contains(&"users".to_string()));
        // Rows chosen before the step are not those seen after the table changed shape: kept
        // whole, and still checked just before it runs.
        assert!(matches!(
            &whole("ALTER TABLE users ADD COLUMN x INT; DELETE FROM users WHERE x IS NULL", Dialect::Postgres)[..],
            [Target::Rows(r)] if r.kept_whole && r.statement == 1 && r.predicate == "x IS NULL"
        ));
        // What a second evaluation could choose differently, or only some of the matches, or
        // another schema's table: kept whole.
        for (sql, d) in [
            ("DELETE FROM users WHERE random() < 0.5", Dialect::Postgres),
            ("DELETE FROM users WHERE abs(random()) % 2 = 0", Dialect::Sqlite),
            ("UPDATE users SET a = 1 WHERE id = \"f\"(id)", Dialect::Postgres),
            ("DELETE FROM users WHERE active = 1 ORDER BY id DESC LIMIT 3", Dialect::Mysql),
            ("UPDATE users SET name = 'x' WHERE active = 2 ORDER BY id LIMIT 2", Dialect::Mysql),
            ("DELETE FROM other.users WHERE active = 5", Dialect::Postgres),
        ] {
            assert_eq!(whole(sql, d), [Target::Whole("users".into())], "{sql}");
        }
        // A composite column's field (PostgreSQL), a qualifier that is not the table's: never
        // counted as rows.
        for (sql, d) in [
            ("UPDATE users SET addr.city = 'x' WHERE id = 1", Dialect::Postgres),
            ("UPDATE users SET users.name = 'x' WHERE id = 1", Dialect::Postgres),
            ("UPDATE users SET other.name = 'x' WHERE id = 1", Dialect::Mysql),
        ] {
            assert!(matches!(&whole(sql, d)[..], [Target::Whole(_) | Target::Unknown(_)]), "{sql}");
        }
        // Pure functions and subqueries still narrow; a count after a write is flagged.
        let r = rows(
            "DELETE FROM users WHERE lower(email) IN (SELECT email FROM bans) AND CAST(id AS TEXT) = '1'",
            Dialect::Postgres,
        );
        assert!(!r.after_writes);
        let r = rows("UPDATE users SET id = id + 100, name = 'x' WHERE id = 4", Dialect::Sqlite);
        assert_eq!(
            (r.assigned.as_slice(), r.predicate.as_str()),
            (["id".to_string(), "name".to_string()].as_slice(), "id = 4")
        );
        // The table's own name or alias before a column (MySQL, SQLite) is that column.
        for sql in ["UPDATE users SET users.name = 'x' WHERE id = 1", "UPDATE users u SET u.name = 'x' WHERE id = 1"] {
            let r = rows(sql, Dialect::Mysql);
            assert_eq!(r.assigned, ["name".to_string()], "{sql}");
        }
        // `DEFAULT` is no value to compare with: every non-NULL value it replaces counts.
        let r = rows("UPDATE users SET status = DEFAULT WHERE id > 4", Dialect::Postgres);
        assert_eq!((r.predicate.as_str(), r.destroys.as_deref()), ("id > 4", Some("status IS NOT NULL")));
        // Constants: only the rows they change.
        let r = rows("UPDATE users SET email = NULL, \"Name\" = 'x' WHERE id > 4", Dialect::Postgres);
        assert_eq!(
            r.predicate,
            "(id > 4) AND (CAST(email AS TEXT) IS DISTINCT FROM CAST(NULL AS TEXT) OR CAST(\"Name\" AS TEXT) IS DISTINCT FROM CAST('x' AS TEXT))"
        );
        assert_eq!(
            rows("UPDATE t SET a = 1 WHERE b", Dialect::Mysql).predicate,
            "(b) AND (NOT (BINARY a <=> BINARY 1))"
        );
        assert_eq!(
            rows("UPDATE t SET a = 1 WHERE b", Dialect::Sqlite).predicate,
            "(b) AND (CAST(a AS BLOB) IS NOT CAST(1 AS BLOB))"
        );
        let Target::Rows(r) =
            &whole("UPDATE users SET active = 7 WHERE id = 1; DELETE FROM users WHERE active = 7", Dialect::Sqlite)[1]
        else {
            panic!()
        };
        assert!(r.after_writes);
        // The values an ALTER TABLE drops or converts.
        let v: Vec<_> =
            whole("ALTER TABLE Orders DROP COLUMN Note, ALTER COLUMN amount TYPE numeric(10,0)", Dialect::Postgres)
                .into_iter()
                .map(|t| match t {
                    Target::Values(v) => (v.table, v.column, v.change),
                    other => panic!("{other:?}"),
                })
                .collect();
        assert_eq!(
            v,
            [
                ("orders".into(), "note".into(), ValueChange::Drop),
                ("orders".into(), "amount".into(), ValueChange::Convert { to: "NUMERIC(10,0)".into(), using: None })
            ]
        );
        // A new NOT NULL column without a default: every row refuses it, on PostgreSQL only.
        let added = whole("ALTER TABLE t ADD COLUMN d INT NOT NULL", Dialect::Postgres);
        assert!(
            matches!(&added[..], [Target::Values(v)] if v.change == ValueChange::Rejects {
            constraint: NEW_NOT_NULL.into(), condition: "1 = 1".into() }),
            "{added:?}"
        );
        for refused in ["ADD COLUMN d INT NOT NULL DEFAULT NULL", "ADD COLUMN d INT PRIMARY KEY"] {
            assert_eq!(whole(&format!("ALTER TABLE t {refused}"), Dialect::Postgres).len(), 1, "{refused}");
        }
        for filled in ["ADD COLUMN d INT NOT NULL DEFAULT 0", "ADD COLUMN d BIGSERIAL NOT NULL", "ADD COLUMN d INT"] {
            assert!(whole(&format!("ALTER TABLE t {filled}"), Dialect::Postgres).is_empty(), "{filled}");
        }
        assert!(whole("ALTER TABLE t ADD COLUMN d INT NOT NULL", Dialect::Mysql).is_empty());
        let Target::Values(m) = &whole("ALTER TABLE t MODIFY COLUMN name VARCHAR(10)", Dialect::Mysql)[0] else {
            panic!()
        };
        assert_eq!(m.change, ValueChange::Convert { to: "VARCHAR(10)".into(), using: None });
        // An allow with a reason before the statement (or for the file) lets it change every row.
        let allowed = |sql: &str| match &whole(sql, Dialect::Postgres)[..] {
            [.., Target::Rows(r)] => r.every_row_allowed,
            other => panic!("{other:?}"),
        };
        assert!(!allowed("DELETE FROM users WHERE id > 0"));
        assert!(allowed("-- dbguard:allow delete-without-where reason=\"reset\"\nDELETE FROM users WHERE id > 0"));
        assert!(!allowed("-- dbguard:allow delete-without-where\nDELETE FROM users WHERE id > 0"), "no reason");
        assert!(!allowed(
            "-- dbguard:allow delete-without-where reason=\"x\"\nDELETE FROM a WHERE id > 0;\nDELETE FROM users WHERE id > 0"
        ));
        assert!(allowed(
            "-- dbguard:allow-file update-without-where reason=\"x\"\nSELECT 1;\nUPDATE users SET a = 1 WHERE id > 0"
        ));
        // Thousands of single-row fixes on one table: one copy of the table, not one per statement.
        let many: String =
            (0..=MAX_ROW_COPIES_PER_TABLE).map(|i| format!("DELETE FROM users WHERE id = {i};\n")).collect();
        assert!(whole(&many, Dialect::Sqlite).iter().all(|t| matches!(t, Target::Rows(r) if r.kept_whole)));
        let few: String =
            (0..MAX_ROW_COPIES_PER_TABLE).map(|i| format!("DELETE FROM users WHERE id = {i};\n")).collect();
        assert!(whole(&few, Dialect::Sqlite).iter().all(|t| matches!(t, Target::Rows(r) if !r.kept_whole)));
        // The parser's table must be the one the statement names (`UPDATE IGNORE t` was read
        // as table `ignore`): otherwise every name in it is kept.
        for sql in
            ["UPDATE IGNORE users SET a = 1 WHERE id = 2", "UPDATE LOW_PRIORITY IGNORE users SET a = 1 WHERE id = 2"]
        {
            assert!(
                matches!(&whole(sql, Dialect::Mysql)[..], [Target::Rows(r)] if r.table == "users" && r.predicate.starts_with("(id = 2)")),
                "{sql}"
            );
        }
        assert!(matches!(&whole("DELETE LOW_PRIORITY QUICK IGNORE FROM users", Dialect::Mysql)[..],
            [Target::Rows(r)] if r.table == "users" && r.no_where));
        assert_eq!(
            whole("UPDATE OR REPLACE users SET name = 'b' WHERE id = 1", Dialect::Sqlite),
            [Target::Whole("users".into())]
        );
        // A block runs statements of its own: every name in it is kept.
        for (sql, d) in [
            ("DO $$ BEGIN DELETE FROM users WHERE id = 1; END $$", Dialect::Postgres),
            ("BEGIN NOT ATOMIC DELETE FROM users WHERE id = 1; END", Dialect::Mysql),
            ("WHILE 1 DO DELETE FROM users WHERE id = 1; END WHILE", Dialect::Mysql),
        ] {
            assert!(matches!(&whole(sql, d)[..], [Target::Unknown(w)] if w.contains(&"users".to_string())), "{sql}");
        }
        // A name the parser reads another way than the statement says: every name is kept.
        assert!(matches!(&whole("WITH x AS (SELECT 1) DELETE FROM users WHERE id = 1", Dialect::Postgres)[..],
            [Target::Unknown(w)] if w.contains(&"users".to_string())));
        // An INSERT that names a conflict, a duplicate or a replace is read; a plain one is not.
        assert!(whole("INSERT INTO users (id, updated_at) VALUES (1, 'x')", Dialect::Postgres).is_empty());
        // Plain inserts and reads change nothing.
        assert!(
            whole(
                "INSERT INTO users VALUES (1); SELECT * FROM users; WITH a AS (SELECT 1) SELECT * FROM a",
                Dialect::Postgres
            )
            .is_empty()
        );
        // Tables named with a schema, wherever they are, and the statements that move names.
        let r = reach(
            "SELECT * FROM other.a;\nDELETE FROM b.users u WHERE u.id IN (SELECT id FROM \"X\".bans);\nSET search_path TO b;\n\
             ATTACH 'f.db' AS \"Arch\";\nUPDATE arch.t SET a = 1;\nDROP SCHEMA IF EXISTS old, older CASCADE",
            Dialect::Postgres,
        );
        let q: Vec<_> =
            r.names.iter().map(|q| (q.statement, q.qualifier.as_str(), q.table.as_str(), q.attached)).collect();
        assert_eq!(
            q,
            [(1, "b", "users", false), (1, "u", "id", false), (1, "X", "bans", false), (4, "arch", "t", true)]
        );
        assert_eq!(r.moves, Some((2, 3)));
        assert_eq!(r.moved_to, Some(vec!["b".to_string(), "Arch".to_string()]));
        for (sql, d, to) in [
            ("SET LOCAL search_path = other, \"Public\";", Dialect::Postgres, Some(vec!["other", "Public"])),
            ("USE `shop`", Dialect::Mysql, Some(vec!["shop"])),
            ("SELECT set_config('search_path', 'x', false)", Dialect::Postgres, Some(vec!["x"])),
            ("SET search_path TO DEFAULT", Dialect::Postgres, None),
            ("SET search_path TO \"$user\", public", Dialect::Postgres, None),
        ] {
            let r = reach(sql, d);
            assert_eq!(r.moved_to, to.map(|v| v.iter().map(|s| s.to_string()).collect()), "{sql}");
        }
        // What a move says, as `up` reads it before anything runs.
        let read = |sql: &str| {
            let st = &dbguard_lint::split::split(sql, Dialect::Postgres)[0];
            moves(&dbguard_lint::stmt::Stmt::new(st.text, 0, Dialect::Postgres), &st.first_keyword())
        };
        let to = |v: &[&str]| Some(Moves::To(v.iter().map(|s| s.to_string()).collect()));
        assert_eq!(read("SET search_path = \"$user\", public"), to(&["$user", "public"]));
        assert_eq!(read("SET SESSION search_path TO DEFAULT"), Some(Moves::Back));
        assert_eq!(read("RESET ALL"), Some(Moves::Back));
        assert_eq!(read("SELECT pg_catalog.set_config('search_path', '', false)"), to(&[]));
        assert_eq!(read("SELECT set_config('search_path', ' \"A\" , b', true)"), to(&["A", "b"]));
        assert_eq!(read("SELECT set_config('search_path', $1, false)"), Some(Moves::Unreadable));
        assert_eq!(read("DO $$ BEGIN EXECUTE 'SET LOCAL search_path = x'; END $$"), Some(Moves::Unreadable));
        assert_eq!(read("DO $$ BEGIN RAISE NOTICE '%', current_setting('search_path'); END $$"), None);
        assert_eq!(read("CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = a AS 'SELECT 1'"), None);
        assert_eq!(read("SET search_path TO a, b c"), Some(Moves::Unreadable));
        assert_eq!(read("SET \"search_path\" TO a"), to(&["a"]));
        assert_eq!(read("SET search_path_x TO a"), None);
        assert_eq!(read("EXECUTE IMMEDIATE ' use `x`'"), Some(Moves::Unreadable));
        assert_eq!(read("PREPARE s FROM 'USE x'"), Some(Moves::Unreadable));
        assert_eq!(read("PREPARE s FROM 'UPDATE users SET a = 1'"), None);
        assert_eq!(read("UPDATE pg_settings SET setting = 'a' WHERE name = 'search_path'"), Some(Moves::Unreadable));
        let made = |sql: &str| created_schema(&dbguard_lint::stmt::Stmt::new(sql, 0, Dialect::Postgres));
        assert_eq!(made("CREATE SCHEMA IF NOT EXISTS \"App\""), Some("App".into()));
        assert_eq!(made("CREATE SCHEMA AUTHORIZATION bob"), Some("bob".into()));
        assert_eq!(made("CREATE TABLE app (id INT)"), None);
        let temp = |sql: &str| created_temporary(&dbguard_lint::stmt::Stmt::new(sql, 0, Dialect::Postgres));
        assert_eq!(temp("CREATE TEMP TABLE dbguard_schema_version (LIKE x)"), Some("dbguard_schema_version".into()));
        assert_eq!(temp("CREATE GLOBAL TEMPORARY TABLE IF NOT EXISTS \"T\" (id INT)"), Some("T".into()));
        assert_eq!(temp("CREATE TABLE t (id INT)"), None);
        // MySQL's "add the column if it is missing" reads `table_schema`: it moves nothing.
        let probe = "SET @e := (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE())";
        assert_eq!(reach(probe, Dialect::Mysql).moves, None);
        assert_eq!(reach("SET SCHEMA 'x'", Dialect::Postgres).moves, Some((0, 1)));
        let dropped: Vec<_> = r.dropped_schemas.iter().map(|(n, i, _, ok)| (n.as_str(), *i, *ok)).collect();
        assert_eq!(dropped, [("old", 5, false), ("older", 5, false)]);
        assert!(!r.allowed_anywhere);
        let r = reach("-- dbguard:allow outside-schema reason=\"x\"\nDELETE FROM o.t", Dialect::Mysql);
        assert!(r.names[0].allowed && r.allowed_anywhere);
        let r = reach("DO $x$ BEGIN DELETE FROM o.t; END $x$;\nPREPARE s FROM 'DELETE FROM p.u'", Dialect::Postgres);
        let q: Vec<_> = r.names.iter().map(|q| (q.qualifier.as_str(), q.table.as_str())).collect();
        assert_eq!(q, [("o", "t"), ("p", "u")]);
        assert_eq!(
            renames(
                "ALTER TABLE users RENAME TO tmp;\nRENAME TABLE a TO b, c TO d;\nALTER TABLE t RENAME COLUMN x TO y",
                Dialect::Mysql
            ),
            [("users".into(), "tmp".into()), ("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        let calls = called(
            "SELECT other.purge(1), count(*) FROM t WHERE id IN (1);\nCALL pp;\nCALL \"Sch\".zap();\nCREATE TABLE x (a NUMERIC(10, 2))",
            Dialect::Postgres,
        );
        let calls: Vec<(&str, &str)> = calls.iter().map(|(q, n)| (q.as_str(), n.as_str())).collect();
        assert_eq!(calls, [("other", "purge"), ("", "count"), ("", "pp"), ("Sch", "zap")]);
        let r = reach("CREATE OR REPLACE TABLE o.t (id INT)", Dialect::Mysql);
        assert_eq!(r.names[0].qualifier, "o");
        // What cannot be parsed keeps every table it names.
        assert!(
            matches!(&whole("DELETE FROM users WHERE ))", Dialect::Postgres)[0], Target::Unknown(w) if w.contains(&"users".to_string()))
        );
    }
}
