//! The compile-time checks: a real down, no destructive SQL unless allowed with a reason, and
//! preserved tables that the migration does not itself drop.

use proc_macro2::Span;

use crate::args::{Args, At};
use dbguard_lint::{Dialect, Severity};

/// Combines errors so that the user sees them all in one build.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// An empty, comment-only or placeholder down.
pub fn down_is_real(sql: &str, span: Span, dialect: Dialect, errors: &mut Errors) {
    if let Some(kind) = dbguard_lint::placeholder::check(sql, dialect) {
        errors.push(syn::Error::new(
            span,
            format!(
                "the down {}: it would report success and revert nothing\n  help: write the SQL that reverts the up, or, if it truly cannot be reverted, `down = irreversible(\"reason\")` in the attribute",
                kind.describe()
            ),
        ));
    }
}

/// Error-level lint findings in the up, unless allowed with a reason in the attribute; and
/// allowances that match nothing (they would hide the next destructive edit).
pub fn up_is_safe(sql: &str, span: Span, what: &str, args: &Args, dialect: Dialect, errors: &mut Errors) {
    let findings = dbguard_lint::lint_sql(what, sql, dialect);
    let mut used = vec![false; args.allow.len()];
    for f in findings.iter().filter(|f| f.severity == Severity::Error) {
        if let Some(i) = args.allow.iter().position(|(rule, _)| *rule == f.rule) {
            used[i] = true;
            continue;
        }
        let statement = statement_at(sql, f.line);
        errors.push(syn::Error::new(
            span,
            format!(
                "destructive SQL in the up: `{}` at line {} of {what}: {}\n    {statement}\n  help: {}\n  help: if this is intended, allow it with a reason: `allow({} = \"why the data may go\")`",
                f.rule,
                f.line,
                f.message,
                f.help,
                f.rule.replace('-', "_")
            ),
        ));
    }
    for ((rule, reason), used) in args.allow.iter().zip(used) {
        if !used {
            errors.push(syn::Error::new(
                reason.span,
                format!(
                    "`allow({})` matches nothing in the up; remove it, so that it cannot hide a later destructive edit",
                    rule.replace('-', "_")
                ),
            ));
        }
    }
}

fn statement_at(sql: &str, line: usize) -> String {
    let text = sql.lines().nth(line.saturating_sub(1)).unwrap_or_default().trim();
    let mut s: String = text.chars().take(120).collect();
    if s.len() < text.len() {
        s.push_str(" ...");
    }
    s
}

/// A preserved table that the up drops: the migration contradicts itself.
pub fn preserves_survive(sql: &str, preserves: &[At<String>], dialect: Dialect, errors: &mut Errors) {
    for (rule, table) in dbguard_lint::destroyed_tables(sql, dialect) {
        if rule != "drop-table" && rule != "truncate" {
            continue;
        }
        if let Some(p) = preserves.iter().find(|p| p.value.eq_ignore_ascii_case(&table)) {
            errors.push(syn::Error::new(
                p.span,
                format!(
                    "`{}` is declared preserved, but the up {} it: the migration contradicts itself\n  help: remove it from `preserves` if its rows may go (and allow the `{}` with a reason), or keep the table",
                    p.value,
                    if rule == "drop-table" { "drops" } else { "truncates" },
                    rule.replace('-', "_")
                ),
            ));
        }
    }
}
