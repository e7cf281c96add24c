//! The linter's findings, as text for people (code frames), JSON, SARIF 2.1.0 and GitHub
//! Actions annotations. Here, in the command line, rather than in `dbguard-lint`: the
//! `#[migration]` macro uses the linter, and no user's build should compile renderers for it.
//!
//! Every format writes as it goes and costs the same per finding whatever the file's size:
//! the text renderer hands each code frame only the lines of its finding.

mod github;
mod json;
mod sarif;
mod text;

pub use github::{github, github_line};
pub use json::{JsonStream, json, write_json};
pub use sarif::{SarifStream, sarif};
pub use text::{TextStream, summary_line, text, write_text};
