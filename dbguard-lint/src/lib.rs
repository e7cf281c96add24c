//! The SQL engine shared by dbguard's runtime, proc-macros and command line.
//!
//! Pure: text in, results out, no I/O. This crate holds what must behave identically at compile
//! time (in `#[migration]`), in CI (`cargo dbguard lint`) and at deploy (the migrator):
//!
//! - [`split`]: statements with exact positions, on a real SQL tokenizer;
//! - [`version`]: migration names and the order they run in;
//! - [`checksum`]: line-ending-proof checksums for drift detection;
//! - [`directives`]: `-- dbguard: ...` comments;
//! - [`placeholder`]: downs that only pretend to revert;
//! - the linter: [`lint_sql`], [`lint_migration`] and the [`rules`], one file per rule.

#![warn(missing_docs)]

pub mod checksum;
pub mod config;
mod dialect;
pub mod directives;
mod engine;
mod finding;
pub mod lexer;
pub mod placeholder;
mod position;
pub mod rules;
pub mod split;
pub mod statements;
pub mod stmt;
pub mod suppress;
pub mod version;

pub use config::LintConfig;
pub use dialect::Dialect;
pub use engine::{
    GuardTargets, Lines, MigrationFiles, destroyed_tables, duplicate_versions, fails, guard_targets, lint_migration,
    lint_reader, lint_reader_each, lint_sql, table_effects, transaction_statements, unchecked_names,
};
pub use finding::{Cascade, Finding, Severity, Summary};
pub use rules::dynamic_sql::builds_sql;
