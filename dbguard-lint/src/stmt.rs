//! A token view of one statement, with the helpers rules need.

use crate::Dialect;
use crate::lexer::{Kind, Lexer, Token};

/// One statement, as its significant tokens (no whitespace or comments).
pub struct Stmt<'a> {
    /// The statement's text.
    pub text: &'a str,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    /// Its significant tokens; offsets relative to `text`.
    pub tokens: Vec<Token>,
    /// The dialect.
    pub dialect: Dialect,
    /// Parenthesis depth before each token.
    depths: Vec<usize>,
    /// The table an `ALTER TABLE` changes and its top-level actions, read once for all the
    /// rules that ask (seven of them: reading it per rule cost an eighth of the linter's time).
    altered: std::cell::OnceCell<Option<Altered>>,
}

impl<'a> Stmt<'a> {
    /// Lexes a statement.
    pub fn new(text: &'a str, offset: usize, dialect: Dialect) -> Self {
        let tokens = Lexer::new(text, dialect).filter(|t| !t.is_trivia()).collect();
        Self::from_tokens(text, offset, tokens, dialect)
    }

    /// A statement from tokens already lexed (offsets relative to `text`).
    pub fn from_tokens(text: &'a str, offset: usize, tokens: Vec<Token>, dialect: Dialect) -> Self {
        let mut d = 0usize;
        let depths = tokens
            .iter()
            .map(|t| match t.kind {
                Kind::LParen => {
                    d += 1;
                    d - 1
                }
                Kind::RParen => {
                    d = d.saturating_sub(1);
                    d
                }
                _ => d,
            })
            .collect();
        Stmt { text, offset, tokens, dialect, depths, altered: std::cell::OnceCell::new() }
    }

    /// Whether token `i` is the unquoted keyword `kw`.
    pub fn is(&self, i: usize, kw: &str) -> bool {
        self.tokens.get(i).is_some_and(|t| t.is_word(self.text, kw))
    }

    /// Whether the tokens from `i` are the keywords `kws`, in order.
    pub fn seq(&self, i: usize, kws: &[&str]) -> bool {
        kws.iter().enumerate().all(|(k, kw)| self.is(i + k, kw))
    }

    /// Whether the statement starts with `kws`.
    pub fn starts(&self, kws: &[&str]) -> bool {
        self.seq(0, kws)
    }

    /// The text of token `i`.
    pub fn tok(&self, i: usize) -> &'a str {
        self.tokens.get(i).map_or("", |t| t.text(self.text))
    }

    /// Parenthesis depth of each token (a parenthesis has the depth outside it).
    pub fn depths(&self) -> &[usize] {
        &self.depths
    }

    /// The first token at parenthesis depth 0, at or after `from`, that is the keyword `kw`.
    pub fn find_top(&self, from: usize, kw: &str) -> Option<usize> {
        let depths = self.depths();
        (from..self.tokens.len()).find(|&i| depths[i] == 0 && self.is(i, kw))
    }

    /// The index of the statement's main verb: the first token, or after a `WITH` list of
    /// common table expressions, the first top-level SELECT/INSERT/UPDATE/DELETE/MERGE.
    pub fn main_verb(&self) -> usize {
        if !self.is(0, "WITH") {
            return 0;
        }
        let depths = self.depths();
        (1..self.tokens.len())
            .find(|&i| {
                depths[i] == 0 && ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"].iter().any(|k| self.is(i, k))
            })
            .unwrap_or(0)
    }

    /// The statements in the `WITH` list's common table expressions (`x AS (DELETE ...)`),
    /// each as a statement of its own: a data-modifying CTE runs like a top-level one.
    pub fn cte_statements(&self) -> Vec<Stmt<'a>> {
        if !self.is(0, "WITH") {
            return Vec::new();
        }
        let depths = self.depths();
        let end = self.main_verb();
        let mut out = Vec::new();
        let mut i = 1;
        while i < end {
            // `AS [NOT] [MATERIALIZED] (` opens a body, at depth 0.
            if depths[i] == 0
                && self.tokens[i].kind == Kind::LParen
                && (self.is(i - 1, "AS") || self.is(i - 1, "MATERIALIZED"))
            {
                let close = (i + 1..self.tokens.len()).find(|&j| depths[j] == 0 && self.tokens[j].kind == Kind::RParen);
                let Some(close) = close else { break };
                if close > i + 1 {
                    out.push(self.sub(i + 1, close));
                }
                i = close;
            }
            i += 1;
        }
        out
    }

    /// MariaDB's `SET STATEMENT var = value [, ...] FOR <statement>`: the statement it runs,
    /// which the rules and the guards must see as if written alone.
    ///
    /// ```
    /// use dbguard_lint::{Dialect, stmt::Stmt};
    /// let s = Stmt::new("SET STATEMENT max_statement_time = 60 FOR DROP TABLE keep", 0, Dialect::Mysql);
    /// assert_eq!(s.set_statement_body().unwrap().text, "DROP TABLE keep");
    /// ```
    pub fn set_statement_body(&self) -> Option<Stmt<'a>> {
        if !self.starts(&["SET", "STATEMENT"]) {
            return None;
        }
        let depths = self.depths();
        let at = (2..self.tokens.len()).find(|&i| depths[i] == 0 && self.is(i, "FOR"))?;
        (at + 1 < self.tokens.len()).then(|| self.sub(at + 1, self.tokens.len()))
    }

    /// Tokens `from..to` as a statement of their own.
    pub fn sub(&self, from: usize, to: usize) -> Stmt<'a> {
        let (start, end) = (self.tokens[from].start, self.tokens[to - 1].end);
        let tokens =
            self.tokens[from..to].iter().map(|t| Token { start: t.start - start, end: t.end - start, ..*t }).collect();
        Stmt::from_tokens(&self.text[start..end], self.offset + start, tokens, self.dialect)
    }

    /// Whether the `WHERE` at token `w` keeps every row whatever the data: `true`, `1`,
    /// `1 = 1`, `2 > 1`, `'a' = 'a'`, `id = id`, `NULL IS NULL`, `NOT false`, any of them
    /// `OR`-ed with anything, `AND`-ed together, in parentheses. (A condition that holds for
    /// every row of the data at hand, `id > 0`, takes the data to know: see `dbguard up --dry-run`.)
    pub fn where_is_always_true(&self, w: usize) -> bool {
        let depths = self.depths();
        let end = (w + 1..self.tokens.len())
            .find(|&i| {
                depths[i] == 0 && ["RETURNING", "ORDER", "LIMIT", "GROUP", "HAVING"].iter().any(|k| self.is(i, k))
            })
            .unwrap_or(self.tokens.len());
        let lower: Vec<String> = (w + 1..end).map(|i| self.tok(i).to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        always_true(&l)
    }

    /// A possibly qualified name starting at token `i` (`a`, `"A"`, `s.t`, `` `db`.`t` ``):
    /// its last part normalised (quotes removed; unquoted names lowercased, as PostgreSQL folds
    /// them) and the index after it. `None` if token `i` is not a name.
    pub fn name(&self, i: usize) -> Option<(String, usize)> {
        let mut j = i;
        let mut last = None;
        loop {
            let t = self.tokens.get(j)?;
            let part = match t.kind {
                Kind::Word => t.text(self.text).to_ascii_lowercase(),
                Kind::QuotedIdent | Kind::String if t.end - t.start >= 2 => unquote(t.text(self.text)),
                _ => return last.map(|n| (n, j)),
            };
            last = Some(part);
            j += 1;
            if self.tok(j) == "." {
                j += 1;
            } else {
                return last.map(|n| (n, j));
            }
        }
    }

    /// Where the table of the `DELETE` or `UPDATE` at token `v` is named: after MySQL's
    /// modifiers (`LOW_PRIORITY`, `QUICK`, `IGNORE`: never the table, `UPDATE IGNORE t` writes
    /// `t`), SQLite's `OR <conflict>`, `FROM` and PostgreSQL's `ONLY`.
    ///
    /// ```
    /// use dbguard_lint::{stmt::Stmt, Dialect};
    /// let s = Stmt::new("DELETE LOW_PRIORITY QUICK IGNORE FROM t", 0, Dialect::Mysql);
    /// assert_eq!(s.name(s.dml_table_at(0)).unwrap().0, "t");
    /// let s = Stmt::new("UPDATE OR IGNORE t SET a = 1", 0, Dialect::Sqlite);
    /// assert_eq!(s.name(s.dml_table_at(0)).unwrap().0, "t");
    /// ```
    pub fn dml_table_at(&self, v: usize) -> usize {
        let delete = self.is(v, "DELETE");
        let modifiers: &[&str] =
            if delete { &["LOW_PRIORITY", "QUICK", "IGNORE"] } else { &["LOW_PRIORITY", "IGNORE"] };
        let mut i = v + 1;
        while modifiers.iter().any(|k| self.is(i, k)) {
            i += 1;
        }
        if !delete && self.is(i, "OR") {
            i += 2;
        }
        if delete && self.is(i, "FROM") {
            i += 1;
        }
        if self.is(i, "ONLY") {
            i += 1;
        }
        i
    }

    /// Like [`Stmt::name`], with the part before the last when the name is qualified
    /// (`other.users` gives `other`; `db.other.users` too): the schema or database it names.
    pub fn qualified_name(&self, i: usize) -> Option<(Option<String>, String, usize)> {
        let (last, next) = self.name(i)?;
        let qualifier = (next >= i + 3 && self.tok(next - 2) == ".").then(|| self.part(next - 3)).flatten();
        Some((qualifier, last, next))
    }

    /// Every qualified name in the statement, wherever it is (`s.t`, `"S"."T"`,
    /// `` `db`.`t` ``, `c.s.t`): the part before the last and the last, normalised as
    /// [`Stmt::name`] does. Column references (`u.id`) are among them: the caller keeps the
    /// pairs whose last part is a table it cares about.
    pub fn qualified_names(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for i in 1..self.tokens.len().saturating_sub(1) {
            if self.tok(i) != "." || self.tok(i + 2) == "." {
                continue;
            }
            if let (Some(q), Some(n)) = (self.part(i - 1), self.part(i + 1))
                && !out.iter().any(|(a, b)| *a == q && *b == n)
            {
                out.push((q, n));
            }
        }
        out
    }

    /// Token `i` as one part of a name, normalised; `None` when it is not a name.
    fn part(&self, i: usize) -> Option<String> {
        let t = self.tokens.get(i)?;
        match t.kind {
            Kind::Word => Some(t.text(self.text).to_ascii_lowercase()),
            Kind::QuotedIdent | Kind::String if t.end - t.start >= 2 => Some(unquote(t.text(self.text))),
            _ => None,
        }
    }

    /// What an `ALTER TABLE [IF EXISTS] [ONLY] name ...` statement changes; `None` for any
    /// other statement.
    pub fn altered(&self) -> Option<&Altered> {
        self.altered
            .get_or_init(|| {
                if !self.starts(&["ALTER", "TABLE"]) {
                    return None;
                }
                let mut i = 2;
                if self.seq(i, &["IF", "EXISTS"]) {
                    i += 2;
                }
                if self.is(i, "ONLY") {
                    i += 1;
                }
                let (table, from) = self.name(i)?;
                Some(Altered { table, from, parts: self.top_level_parts(from) })
            })
            .as_ref()
    }

    /// Splits the tokens from `from` to the end into top-level comma-separated parts
    /// (the actions of an `ALTER TABLE`), as index ranges.
    pub fn top_level_parts(&self, from: usize) -> Vec<std::ops::Range<usize>> {
        let depths = self.depths();
        let mut parts = Vec::new();
        let mut start = from;
        for (i, depth) in depths.iter().enumerate().skip(from) {
            if *depth == 0 && self.tok(i) == "," {
                parts.push(start..i);
                start = i + 1;
            }
        }
        if start < self.tokens.len() {
            parts.push(start..self.tokens.len());
        }
        parts
    }

    /// Byte range in the file covering tokens `first..=last`.
    pub fn span(&self, first: usize, last: usize) -> (usize, usize) {
        let last = last.min(self.tokens.len().saturating_sub(1));
        let start = self.tokens.get(first).map_or(0, |t| t.start);
        let end = self.tokens.get(last).map_or(self.text.len(), |t| t.end);
        (self.offset + start, self.offset + end.max(start))
    }
}

/// The table an `ALTER TABLE` changes and its actions.
pub struct Altered {
    /// The table's name, normalised as [`Stmt::name`] does.
    pub table: String,
    /// The index of the first action's first token.
    pub from: usize,
    /// The top-level comma-separated actions, as token ranges.
    pub parts: Vec<std::ops::Range<usize>>,
}

/// Removes identifier or string quotes, undoubling embedded quotes.
pub fn unquote(s: &str) -> String {
    let (open, close) = match s.as_bytes().first() {
        Some(b'[') => ('[', ']'),
        Some(&q) => (q as char, q as char),
        None => return String::new(),
    };
    let inner = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)).unwrap_or(s);
    if open == close { inner.replace(&format!("{close}{close}"), &close.to_string()) } else { inner.to_string() }
}

/// Whether a condition (lowercased tokens) holds for every row, whatever the data.
fn always_true(t: &[&str]) -> bool {
    let t = without_outer_parens(t);
    let or = top_level_split(t, "or");
    if or.len() > 1 {
        return or.iter().any(|a| always_true(a));
    }
    let and = top_level_split(t, "and");
    if and.len() > 1 {
        return and.iter().all(|a| always_true(a));
    }
    let number = |x: &str| x.parse::<f64>().ok();
    let string = |x: &str| (x.len() >= 2 && x.starts_with('\'') && x.ends_with('\'')).then(|| x.to_string());
    match t {
        ["true"] | ["not", "false"] | ["null", "is", "null"] => true,
        [n] => number(n).is_some_and(|v| v != 0.0),
        [a, op @ .., b] if !op.is_empty() && op.iter().all(|o| o.chars().all(|c| "=<>!".contains(c))) => {
            let op = op.concat();
            // `id = id` keeps every row but those with a NULL id: close enough to all of them.
            if a == b && matches!(op.as_str(), "=" | "==" | "<=" | ">=" | "<=>") {
                return true;
            }
            let ord = match (number(a), number(b)) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => match (string(a), string(b)) {
                    (Some(x), Some(y)) => Some(x.cmp(&y)),
                    _ => None,
                },
            };
            ord.is_some_and(|o| match op.as_str() {
                "=" | "==" | "<=>" => o.is_eq(),
                "<>" | "!=" => o.is_ne(),
                "<" => o.is_lt(),
                "<=" => o.is_le(),
                ">" => o.is_gt(),
                ">=" => o.is_ge(),
                _ => false,
            })
        }
        _ => false,
    }
}

/// `t` without parentheses that enclose all of it.
fn without_outer_parens<'t, 's>(mut t: &'t [&'s str]) -> &'t [&'s str] {
    while t.len() >= 2 && t[0] == "(" && t[t.len() - 1] == ")" {
        let mut depth = 0usize;
        let closes_at_end = t.iter().enumerate().all(|(i, x)| {
            match *x {
                "(" => depth += 1,
                ")" => depth -= 1,
                _ => {}
            }
            depth > 0 || i == t.len() - 1
        });
        if !closes_at_end {
            break;
        }
        t = &t[1..t.len() - 1];
    }
    t
}

/// `t` split at the word `word` outside parentheses.
fn top_level_split<'t, 's>(t: &'t [&'s str], word: &str) -> Vec<&'t [&'s str]> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, x) in t.iter().enumerate() {
        match *x {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            w if depth == 0 && w == word => {
                parts.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&t[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_main_verbs() {
        let s = Stmt::new("DROP TABLE public.\"Users\", `x`", 0, Dialect::Postgres);
        assert_eq!(s.name(2), Some(("Users".to_string(), 5)));
        let w = Stmt::new("WITH old AS (SELECT id FROM t WHERE x) DELETE FROM t USING old", 0, Dialect::Postgres);
        assert!(w.is(w.main_verb(), "DELETE"));
        assert_eq!(w.find_top(0, "WHERE"), None, "the WHERE is inside the CTE");
        let parts = Stmt::new("ALTER TABLE t DROP a, ADD b numeric(10, 2)", 0, Dialect::Postgres).top_level_parts(3);
        assert_eq!(parts.len(), 2);
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[x y]"), "x y");
    }
}
