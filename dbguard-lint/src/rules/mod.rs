//! The lint rules: one file per rule, each with its tests, and a page in `docs/rules/<id>.md`.

use std::collections::HashSet;

use crate::Dialect;
use crate::finding::Severity;
use crate::stmt::Stmt;

mod add_column_volatile_default;
mod add_foreign_key_without_not_valid;
mod add_not_null_column_without_default;
mod alter_column_type;
mod alter_ignore;
mod create_index_not_concurrently;
mod delete_without_where;
pub(crate) mod down_does_not_revert;
mod drop_cascade;
pub(crate) mod drop_column;
mod drop_database;
mod drop_schema;
mod drop_table;
mod drop_view;
pub(crate) mod duplicate_version;
pub(crate) mod dynamic_sql;
pub(crate) mod malformed_directive;
pub(crate) mod missing_down;
mod outside_schema;
pub(crate) mod placeholder_down;
mod recreate_table;
mod rename_column;
mod rename_table;
mod set_not_null;
pub(crate) mod suppression_without_reason;
mod transaction_control;
mod truncate;
pub(crate) mod unknown_rule;
pub(crate) mod unparsed_sql;
pub(crate) mod unused_suppression;
mod update_without_where;

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Rows or whole tables can be lost.
    DataLoss,
    /// Running application code breaks.
    Compatibility,
    /// PostgreSQL takes a lock that blocks reads or writes for long.
    LockSafety,
    /// The migration itself is incomplete.
    Migration,
    /// A problem with a suppression comment.
    Suppression,
}

/// A rule's description.
#[derive(Debug, serde::Serialize)]
pub struct RuleInfo {
    /// Kebab-case id, used in suppressions and configuration.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Category.
    pub category: Category,
    /// One line: what it finds.
    pub summary: &'static str,
    /// The safer way.
    pub help: &'static str,
    /// Dialects it applies to (empty: all).
    #[serde(skip)]
    pub dialects: &'static [Dialect],
    /// The statement's first words it can find anything in (empty: any statement): the others
    /// are not handed to it, which spares most rules most statements.
    #[serde(skip)]
    pub verbs: &'static [&'static str],
}

impl RuleInfo {
    /// The documentation page of this rule, relative to the repository.
    pub fn docs(&self) -> String {
        format!("docs/rules/{}.md", self.id)
    }

    /// [`RuleInfo::docs`], built once for all rules, so findings can borrow it.
    pub(crate) fn docs_static(&self) -> &'static str {
        use std::collections::HashMap;
        use std::sync::OnceLock;
        static PAGES: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
        let pages = PAGES.get_or_init(|| all().into_iter().map(|r| (r.id, r.docs())).collect());
        pages.get(self.id).map_or("docs/rules/README.md", String::as_str)
    }

    /// Whether the rule applies to `dialect`.
    pub fn applies_to(&self, dialect: Dialect) -> bool {
        self.dialects.is_empty() || self.dialects.contains(&dialect)
    }

    /// Whether a statement starting with the word `first` (empty: not a word) may concern it.
    pub fn may_concern(&self, first: &str) -> bool {
        self.verbs.is_empty() || self.verbs.iter().any(|v| v.eq_ignore_ascii_case(first))
    }
}

/// What a rule found in a statement: tokens `first..=last` of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// First offending token.
    pub first: usize,
    /// Last offending token.
    pub last: usize,
    /// The message, naming what is affected.
    pub message: String,
    /// The table destroyed or rewritten, if any.
    pub table: Option<String>,
    /// The column dropped or changed, if any.
    pub column: Option<String>,
    /// The object dropped with CASCADE, if any.
    pub cascade: Option<crate::Cascade>,
}

impl Hit {
    pub(crate) fn new(first: usize, last: usize, message: impl Into<String>) -> Self {
        Hit { first, last, message: message.into(), table: None, column: None, cascade: None }
    }

    pub(crate) fn on(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// A hit made on `inner` (a part of `outer`, from [`Stmt::sub`]), as a hit on `outer`.
    pub(crate) fn inside(mut self, outer: &Stmt, inner: &Stmt) -> Self {
        let shift = (inner.offset - outer.offset, 0);
        let at = |i: usize| {
            let start = inner.tokens.get(i).map_or(0, |t| t.start) + shift.0;
            outer.tokens.iter().position(|t| t.start == start).unwrap_or(0)
        };
        (self.first, self.last) = (at(self.first), at(self.last));
        self
    }

    pub(crate) fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

/// What earlier statements of the same file did: rules about existing tables skip tables the
/// file itself creates, and `recreate-table` pairs a DROP with a later CREATE.
#[derive(Debug, Default)]
pub struct FileContext {
    /// The file runs outside a transaction (`-- dbguard: no-transaction`).
    pub no_transaction: bool,
    /// Tables created earlier in the file.
    pub created: HashSet<String>,
    /// Tables dropped earlier in the file.
    pub dropped: HashSet<String>,
}

/// A statement-level rule.
pub trait Rule: Sync {
    /// Its description.
    fn info(&self) -> &'static RuleInfo;
    /// Adds what it finds in `s` to `hits`.
    fn check(&self, s: &Stmt, cx: &FileContext, hits: &mut Vec<Hit>);
}

static STATEMENT_RULES: [&dyn Rule; 23] = [
    &drop_table::Rule,
    &drop_database::Rule,
    &drop_schema::Rule,
    &truncate::Rule,
    &delete_without_where::Rule,
    &update_without_where::Rule,
    &drop_column::Rule,
    &recreate_table::Rule,
    &alter_column_type::Rule,
    &alter_ignore::Rule,
    &drop_view::Rule,
    &drop_view::MATERIALIZED,
    &rename_table::Rule,
    &rename_column::Rule,
    &add_not_null_column_without_default::Rule,
    &create_index_not_concurrently::Rule,
    &add_foreign_key_without_not_valid::Rule,
    &set_not_null::Rule,
    &add_column_volatile_default::Rule,
    &transaction_control::Rule,
    &drop_cascade::Rule,
    &dynamic_sql::Rule,
    &outside_schema::Rule,
];

/// Every statement-level rule.
pub fn statement_rules() -> &'static [&'static dyn Rule] {
    &STATEMENT_RULES
}

/// Migration-level and suppression rules (their descriptions; the engine applies them).
pub mod migration {
    pub use super::down_does_not_revert::INFO as DOWN_DOES_NOT_REVERT;
    pub use super::duplicate_version::INFO as DUPLICATE_VERSION;
    pub use super::malformed_directive::INFO as MALFORMED_DIRECTIVE;
    pub use super::missing_down::INFO as MISSING_DOWN;
    pub use super::placeholder_down::INFO as PLACEHOLDER_DOWN;
    pub use super::suppression_without_reason::INFO as SUPPRESSION_WITHOUT_REASON;
    pub use super::unknown_rule::INFO as UNKNOWN_RULE;
    pub use super::unparsed_sql::INFO as UNPARSED_SQL;
    pub use super::unused_suppression::INFO as UNUSED_SUPPRESSION;

    use super::RuleInfo;

    /// All of them.
    pub static ALL: [&RuleInfo; 9] = [
        &UNPARSED_SQL,
        &MALFORMED_DIRECTIVE,
        &MISSING_DOWN,
        &PLACEHOLDER_DOWN,
        &DUPLICATE_VERSION,
        &DOWN_DOES_NOT_REVERT,
        &SUPPRESSION_WITHOUT_REASON,
        &UNKNOWN_RULE,
        &UNUSED_SUPPRESSION,
    ];
}

/// Every rule's description, statement-level and migration-level.
pub fn all() -> Vec<&'static RuleInfo> {
    statement_rules().iter().map(|r| r.info()).chain(migration::ALL.iter().copied()).collect()
}

/// A rule's description by id.
pub fn info(id: &str) -> Option<&'static RuleInfo> {
    all().into_iter().find(|r| r.id == id)
}

pub(crate) use transaction_control::control_words;

/// For rules that name the table an `ALTER TABLE [IF EXISTS] [ONLY] name` statement changes:
/// the table and the index of the first action.
pub(crate) fn alter_table(s: &Stmt) -> Option<(String, usize)> {
    s.altered().map(|a| (a.table.clone(), a.from))
}

/// Whether the ALTER TABLE action at token `i` adds a column (`ADD [COLUMN] c ...`), not a
/// constraint or an index.
pub(crate) fn adds_column(s: &Stmt, i: usize) -> bool {
    s.is(i, "ADD")
        && !["CONSTRAINT", "INDEX", "KEY", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK"].iter().any(|k| s.is(i + 1, k))
}

/// For rules about changing existing tables: the table an `ALTER TABLE` changes and its
/// top-level actions, unless the same file created the table (it holds no data yet).
pub(crate) fn altered_existing_table<'s>(
    s: &'s Stmt,
    cx: &FileContext,
) -> Option<(&'s str, &'s [std::ops::Range<usize>])> {
    let a = s.altered()?;
    (!cx.created.contains(&a.table)).then_some((a.table.as_str(), a.parts.as_slice()))
}

/// The names after `from` in `DROP <kind> [IF EXISTS] a, b [CASCADE]`, with their token ranges.
/// A name that cannot be read still yields one entry (the rest of the statement), so that a
/// DROP is never skipped for want of a name.
pub(crate) fn dropped_names(s: &Stmt, from: usize) -> Vec<(String, usize, usize)> {
    let mut i = from;
    if s.seq(i, &["IF", "EXISTS"]) {
        i += 2;
    }
    let mut out = Vec::new();
    while let Some((name, next)) = s.name(i) {
        out.push((name, i, next - 1));
        if s.tok(next) != "," {
            break;
        }
        i = next + 1;
    }
    if out.is_empty() {
        let last = s.tokens.len().saturating_sub(1);
        out.push((s.text[s.tokens.get(i).map_or(s.text.len(), |t| t.start)..].trim().to_string(), i, last));
    }
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::{Dialect, lint_sql};

    /// The messages of `rule`'s findings in `sql`.
    pub fn hits(rule: &str, sql: &str, dialect: Dialect) -> Vec<String> {
        lint_sql("test.sql", sql, dialect).into_iter().filter(|f| f.rule == rule).map(|f| f.message).collect()
    }

    /// Asserts `rule` fires on every `bad` and on no `good` statement, in all three dialects.
    pub fn check(rule: &str, bad: &[&str], good: &[&str]) {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            for sql in bad {
                assert!(!hits(rule, sql, d).is_empty(), "{rule} should fire on {sql:?} ({d:?})");
            }
            for sql in good {
                assert!(hits(rule, sql, d).is_empty(), "{rule} should not fire on {sql:?} ({d:?})");
            }
        }
    }
}
