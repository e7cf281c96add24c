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
    summary: "SQL that is only known when it runs (EXECUTE in a DO block, PREPARE, CALL): it cannot be checked before it runs",
    help: "write the statements out, so that each is checked and what it destroys is snapshotted; if the SQL must be built at run time, allow it with a reason: dbguard then snapshots every existing table the SQL names (in identifiers or strings), or every table when it cannot tell which (SQL built from expressions, a procedure call)",
    dialects: &[],
    verbs: &["DO", "PREPARE", "EXECUTE", "CALL"],
};

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _cx: &FileContext, hits: &mut Vec<Hit>) {
        let unknown = |what: &str| Some(crate::Cascade::Unknown(what.to_string()));
        if s.dialect == Dialect::Postgres
            && let Some((body, text)) = executed_body(s)
        {
            let built = executed_sql(text, s.dialect).iter().any(Option::is_none);
            let mut hit = Hit::new(0, body, "runs SQL built at run time (EXECUTE): what it does cannot be checked");
            if built {
                hit.cascade = unknown("every table: SQL that EXECUTE builds from expressions at run time");
            }
            hits.push(hit);
        } else if s.is(0, "PREPARE") || s.seq(0, &["EXECUTE", "IMMEDIATE"]) {
            let what = if s.is(0, "PREPARE") {
                "prepares SQL to run later (PREPARE)"
            } else {
                "runs SQL given as a value (EXECUTE IMMEDIATE)"
            };
            let mut hit = Hit::new(0, s.tokens.len() - 1, format!("{what}: what it does cannot be checked"));
            if prepared_text(s).is_none() {
                hit.cascade = unknown("every table: SQL taken from a variable or an expression");
            }
            hits.push(hit);
        } else if s.is(0, "CALL") {
            let mut hit =
                Hit::new(0, s.tokens.len() - 1, "calls a stored procedure: what its body does cannot be checked here");
            hit.cascade = match s.name(1) {
                // The runtime reads its body from the database; every table when it cannot.
                Some((name, _)) => Some(crate::Cascade::Routine(name)),
                None => unknown("every table: a stored procedure's body (CALL)"),
            };
            hits.push(hit);
        }
    }
}

/// The body of a `DO` block that runs `EXECUTE`: its token index in `s` and its text inside
/// the quotes. The runtime snapshots every existing table the body names.
pub(crate) fn executed_body<'s>(s: &'s Stmt) -> Option<(usize, &'s str)> {
    if !s.is(0, "DO") {
        return None;
    }
    let (body, text) = do_body(s)?;
    let executes = crate::lexer::Lexer::new(text, s.dialect).any(|t| t.is_word(text, "EXECUTE"));
    executes.then_some((body, text))
}

/// A `DO` block's body: its token index and its text inside the quotes (`$tag$ ... $tag$`, or
/// `'...'` with its doubled quotes as they are).
pub(crate) fn do_body<'s>(s: &'s Stmt) -> Option<(usize, &'s str)> {
    let body = s.tokens.iter().position(|t| t.kind == Kind::DollarString || t.kind == Kind::String)?;
    let raw = s.tok(body);
    let tag = raw.strip_prefix('$').map_or(1, |rest| rest.find('$').map_or(1, |i| i + 2));
    Some((body, raw.get(tag..raw.len().saturating_sub(tag)).unwrap_or_default()))
}

/// What each `EXECUTE` in a PL/pgSQL body runs: the SQL when it is string literals joined by
/// `||` (known before it runs), `None` when it is built from anything else (a variable,
/// `format(...)`, a query): then no one can tell which tables it touches.
pub(crate) fn executed_sql(body: &str, dialect: Dialect) -> Vec<Option<String>> {
    let toks: Vec<_> = crate::lexer::Lexer::new(body, dialect).filter(|t| !t.is_trivia()).collect();
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if !t.is_word(body, "EXECUTE") {
            continue;
        }
        let mut sql = String::new();
        let mut known = true;
        let mut j = i + 1;
        while let Some(t) = toks.get(j) {
            let text = t.text(body);
            if t.kind == Kind::Semicolon || t.is_word(body, "INTO") || t.is_word(body, "USING") {
                break;
            }
            match t.kind {
                Kind::String if plain_string(body, &toks, j) => sql.push_str(&crate::stmt::unquote(text)),
                Kind::DollarString => {
                    let tag = text[1..].find('$').map_or(1, |i| i + 2);
                    sql.push_str(text.get(tag..text.len().saturating_sub(tag)).unwrap_or_default());
                }
                Kind::Punct if text == "|" => {}
                _ => known = false,
            }
            j += 1;
        }
        out.push((known && !sql.is_empty()).then_some(sql));
    }
    out
}

/// Whether a routine's or trigger's body runs SQL built at run time (`EXECUTE format(...)`,
/// `EXECUTE v`, `PREPARE s FROM @sql`): which tables it touches, no one can tell before it runs.
///
/// ```
/// use dbguard_lint::{Dialect, builds_sql};
/// assert!(builds_sql("BEGIN EXECUTE format('DELETE FROM %I', TG_ARGV[0]); END", Dialect::Postgres));
/// assert!(!builds_sql("BEGIN EXECUTE 'DELETE FROM cart'; END", Dialect::Postgres));
/// assert!(builds_sql("BEGIN PREPARE s FROM @q; EXECUTE s; END", Dialect::Mysql));
/// ```
pub fn builds_sql(body: &str, dialect: Dialect) -> bool {
    if executed_sql(body, dialect).iter().any(Option::is_none) {
        return true;
    }
    let toks: Vec<_> = crate::lexer::Lexer::new(body, dialect).filter(|t| !t.is_trivia()).collect();
    (0..toks.len()).filter(|&i| toks[i].is_word(body, "PREPARE")).any(|i| {
        let from = (i + 1..toks.len())
            .take_while(|&j| toks[j].kind != Kind::Semicolon)
            .find(|&j| toks[j].is_word(body, "FROM"));
        from.is_none_or(|f| toks.get(f + 1).is_none_or(|t| t.kind != Kind::String || !plain_string(body, &toks, f + 1)))
    })
}

/// The SQL of `PREPARE name FROM 'literal'` or `EXECUTE IMMEDIATE 'literal'`; `None` when it
/// comes from a variable or an expression.
pub(crate) fn prepared_text(s: &Stmt) -> Option<String> {
    let at = if s.seq(0, &["EXECUTE", "IMMEDIATE"]) { 2 } else { (1..s.tokens.len()).find(|&i| s.is(i, "FROM"))? + 1 };
    let t = s.tokens.get(at)?;
    (t.kind == Kind::String && at + 1 == s.tokens.len() && plain_string(s.text, &s.tokens, at))
        .then(|| crate::stmt::unquote(s.tok(at)))
}

/// Whether string token `i` reads as its text: quoted plainly, with no backslash (an escape in
/// MySQL and in PostgreSQL's `E'...'`) and no prefix stuck to it (`x'...'` hex, `U&'...'`,
/// `_utf8mb4'...'`). Anything else spells what it holds in a way not read here.
fn plain_string(text: &str, toks: &[crate::lexer::Token], i: usize) -> bool {
    let t = toks[i];
    let s = t.text(text);
    let stuck = i > 0 && toks[i - 1].end == t.start;
    (s.starts_with('\'') || s.starts_with('"')) && !s.contains('\\') && !stuck
}

/// Whether `text` holds a string that is not plain (see `plain_string`): its words cannot be
/// taken for the names it spells.
pub(crate) fn opaque_strings(text: &str, dialect: Dialect) -> bool {
    let toks: Vec<_> = crate::lexer::Lexer::new(text, dialect).filter(|t| !t.is_trivia()).collect();
    (0..toks.len()).any(|i| toks[i].kind == Kind::String && !plain_string(text, &toks, i))
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

    #[test]
    fn sql_known_only_at_run_time_protects_every_table() {
        use crate::{Cascade, guard_targets};
        let unknown =
            |sql: &str, d: Dialect| guard_targets(sql, d).cascades.iter().any(|c| matches!(c, Cascade::Unknown(_)));
        // Literals joined by || are known: their names are protected, not everything.
        let known = "DO $$ BEGIN EXECUTE 'TRUNCATE ' || 'oth' || 'er'; END $$;";
        assert!(!unknown(known, Dialect::Postgres));
        assert!(guard_targets(known, Dialect::Postgres).unchecked.contains(&"other".to_string()));
        assert!(unknown("DO $$ BEGIN EXECUTE format('TRUNCATE %I', 'x'); END $$;", Dialect::Postgres));
        assert!(unknown("DO $$ DECLARE t text := 'x'; BEGIN EXECUTE 'TRUNCATE ' || t; END $$;", Dialect::Postgres));
        // MySQL: PREPARE from a literal names its tables; from a variable, every table.
        let p = guard_targets("PREPARE s FROM 'DROP TABLE users'; EXECUTE s;", Dialect::Mysql);
        assert!(p.unchecked.contains(&"users".to_string()) && p.cascades.is_empty(), "{p:?}");
        assert!(unknown("PREPARE s FROM @sql; EXECUTE s;", Dialect::Mysql));
        // Spelled so that its names cannot be read: hex, escapes, Unicode-escaped names.
        assert!(unknown("PREPARE s FROM x'44454C455445'; EXECUTE s;", Dialect::Mysql));
        assert!(unknown("EXECUTE IMMEDIATE 0x44454C455445;", Dialect::Mysql));
        assert!(unknown("DO E'BEGIN DELETE FROM \\x6eotes WHERE id > 1; END';", Dialect::Postgres));
        assert!(unknown("DO U&'BEGIN DELETE FROM \\006eotes WHERE id > 1; END';", Dialect::Postgres));
        assert!(unknown("DELETE FROM U&\"\\006eotes\" WHERE id > 1;", Dialect::Postgres));
        assert!(!unknown("DO $$ BEGIN DELETE FROM notes WHERE id > 1; END $$;", Dialect::Postgres));
        // A procedure called: its body, read when it runs.
        assert_eq!(
            guard_targets("CALL app.purge_old(1);", Dialect::Mysql).cascades,
            [Cascade::Routine("purge_old".into())]
        );
        let i = guard_targets("EXECUTE IMMEDIATE 'TRUNCATE other';", Dialect::Mysql);
        assert!(i.unchecked.contains(&"other".to_string()) && i.cascades.is_empty(), "{i:?}");
        assert!(unknown("EXECUTE IMMEDIATE CONCAT('TRUNCATE ', 'other');", Dialect::Mysql));
        // A routine created in the migration may be run by it: its body's tables are protected.
        let f = guard_targets(
            "CREATE FUNCTION zap() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE other; END $$; SELECT zap();",
            Dialect::Postgres,
        );
        assert!(f.unchecked.contains(&"other".to_string()), "{f:?}");
        let d = guard_targets("DO $$ BEGIN EXECUTE 'TRUNC' || 'ATE oth' || 'er'; END $$;", Dialect::Postgres);
        assert!(d.unchecked.contains(&"other".to_string()), "{d:?}");
        // Strings spelled with escapes or prefixes are not read for names: every table.
        assert!(unknown("DO $$ BEGIN EXECUTE E'TRUNCATE oth\\x65r'; END $$;", Dialect::Postgres));
        assert!(unknown("EXECUTE IMMEDIATE 'TRUNCATE oth\\er';", Dialect::Mysql));
        assert!(unknown("EXECUTE IMMEDIATE x'5452554E43415445206F74686572';", Dialect::Mysql));
        for routine in [
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE ' || 'oth' || 'er'; RETURN 1; END $$; SELECT f();",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS E'DELETE FROM oth\\x65r RETURNING 1'; SELECT f();",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS U&'DELETE FROM oth\\0065r RETURNING 1'; SELECT f();",
        ] {
            assert!(unknown(routine, Dialect::Postgres), "{routine}");
        }
        // A plain body names its tables, and protects only those.
        let plain =
            guard_targets("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM other';", Dialect::Postgres);
        assert!(plain.unchecked.contains(&"other".to_string()) && plain.cascades.is_empty(), "{plain:?}");
        for d in [Dialect::Postgres, Dialect::Mysql] {
            let t = guard_targets("CALL purge_users();", d);
            assert_eq!(t.cascades, [Cascade::Routine("purge_users".into())]);
            assert_eq!(hits("dynamic-sql", "CALL purge_users()", d).len(), 1);
        }
    }
}
