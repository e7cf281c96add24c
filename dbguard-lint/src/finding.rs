//! What the linter reports.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; does not fail `cargo dbguard lint` unless `--warnings-as-errors`.
    Warning,
    /// Loses data or breaks a safety rule: fails the lint, and the `#[migration]` macro refuses
    /// it unless allowed with a reason.
    Error,
}

/// One problem found in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's kebab-case id, e.g. `drop-table`. (Borrowed from the rule: a large run
    /// has many findings, and this, `help` and `docs` need no copy each.)
    pub rule: Cow<'static, str>,
    /// Error or warning.
    pub severity: Severity,
    /// The file (as given to the linter).
    pub file: String,
    /// 1-based line of the start of the offending part.
    pub line: usize,
    /// 1-based column (in characters) of its start.
    pub column: usize,
    /// Line of its end.
    pub end_line: usize,
    /// Column just after its end.
    pub end_column: usize,
    /// What is wrong, with names.
    pub message: String,
    /// The safer way.
    pub help: Cow<'static, str>,
    /// The rule's documentation page.
    pub docs: Cow<'static, str>,
    /// The table the statement destroys or rewrites, for rules that have one (the runtime
    /// snapshots it before the migration runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The column it drops or changes, for rules that have one (`drop-column`): how a down
    /// that drops the column its up added is told apart, without reading the message.
    #[serde(skip)]
    pub column_name: Option<String>,
    /// The object whose dependents a `DROP ... CASCADE` destroys (`drop-cascade`): the runtime
    /// looks up the tables among them in the live database.
    #[serde(skip)]
    pub cascade: Option<Cascade>,
}

impl std::fmt::Display for Cascade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cascade::Type(n) => write!(f, "type `{n}`"),
            Cascade::Extension(n) => write!(f, "extension `{n}`"),
            Cascade::Collation(n) => write!(f, "collation `{n}`"),
            Cascade::Schema(n) => write!(f, "types and collations of schema `{n}`"),
            Cascade::Routine(n) => {
                write!(f, "every table: the body of the stored procedure `{n}` (CALL), unless it is read")
            }
            Cascade::Owned(roles) => write!(f, "every object owned by `{}`", roles.join("`, `")),
            Cascade::Unknown(what) => f.write_str(what),
        }
    }
}

/// An object dropped with `CASCADE`, by what the runtime can find depending on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cascade {
    /// A type or domain: the tables with columns of it (or of arrays and domains over it).
    Type(String),
    /// An extension: the tables with columns of its types.
    Extension(String),
    /// A collation: the columns that use it.
    Collation(String),
    /// A schema dropped with `CASCADE`: besides its tables, the columns elsewhere of its types,
    /// domains and collations.
    Schema(String),
    /// A stored procedure called (`CALL p()`, its name without schema): what its body does is
    /// read from the database when the step runs; when it cannot be, every table is at stake.
    Routine(String),
    /// Everything the roles own (`DROP OWNED BY a, b`): their tables, in every schema.
    Owned(Vec<String>),
    /// Anything else that columns may depend on (a function, a collation, an operator...),
    /// described for messages: the runtime cannot tell which tables, so it protects them all.
    Unknown(String),
}

impl Finding {
    /// A finding of `info` at a position (line, column) to another, not tied to a statement
    /// rule's tokens: the migration-level and suppression rules.
    pub(crate) fn at(
        info: &'static crate::rules::RuleInfo,
        file: &str,
        pos: (usize, usize),
        end: (usize, usize),
        message: String,
    ) -> Finding {
        Finding {
            rule: info.id.into(),
            severity: info.severity,
            file: file.to_string(),
            line: pos.0,
            column: pos.1,
            end_line: end.0,
            end_column: end.1,
            message,
            help: info.help.into(),
            docs: info.docs_static().into(),
            table: None,
            column_name: None,
            cascade: None,
        }
    }
}

/// Counts of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Error-level findings.
    pub errors: usize,
    /// Warning-level findings.
    pub warnings: usize,
    /// Files linted.
    pub files: usize,
}

impl Summary {
    /// Counts `findings` over `files` files.
    pub fn of(findings: &[Finding], files: usize) -> Self {
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        Summary { errors, warnings: findings.len() - errors, files }
    }
}
