//! `cargo dbguard`: the command line over the `dbguard` library, in cargo's shape: the grammar
//! in [`cli`], the flags resolved once into a [`context::Ctx`], one file per command in
//! `commands/`, everything printed from `output/`. The project's configuration ([`config`]),
//! scaffolding ([`scaffold`]), `doctor`'s checklist and the linting of Rust sources are this
//! crate's own small library; everything else is `dbguard`'s.
//!
//! A project whose migrations are `#[migration]` items runs the same command line from its own
//! migrator binary, which links them in:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     dbguard_cli::main(dbguard_cli::Source::Registry)
//! }
//! ```

pub mod cli;
mod commands;
pub mod config;
pub mod context;
pub mod doctor;
pub mod error;
pub mod lint_project;
pub mod output;
pub mod paths;
pub mod rust_lint;
pub mod scaffold;

use std::process::ExitCode;

use clap::Parser;

/// Where the migrations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The project's migrations directory (`cargo dbguard`). Commands that run migrations are
    /// forwarded to the project's migrator binary when it has one.
    Directory,
    /// The `#[migration]` items linked into this binary (a project's migrator).
    Registry,
}

/// Runs the command line with the process's arguments; the only place that turns an outcome
/// into an exit code.
pub fn main(source: Source) -> ExitCode {
    // `cargo dbguard up` runs `cargo-dbguard dbguard up`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("dbguard") {
        args.remove(1);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    // The project and its .env come first: .env fills environment variables read below.
    let project = match config::discover(&cwd) {
        Ok(p) => p,
        Err(e) => return output::fail(&e.into()),
    };
    let from_dotenv = match config::load_dotenv(&project.root) {
        Ok(keys) => keys,
        Err(e) => return output::fail(&e.into()),
    };
    let parsed = cli::Cli::parse_from(&args);
    anstream::ColorChoice::write_global(match parsed.global.color {
        cli::ColorArg::Auto => anstream::ColorChoice::Auto,
        cli::ColorArg::Always => anstream::ColorChoice::Always,
        cli::ColorArg::Never => anstream::ColorChoice::Never,
    });
    let ctx = match context::Ctx::resolve(parsed.global, project, source, args, &cwd, &from_dotenv) {
        Ok(c) => c,
        Err(e) => return output::fail(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return output::fail(&error::CliError::usage(format!("cannot start the async runtime: {e}"), "try again"));
        }
    };
    match runtime.block_on(commands::run(&ctx, parsed.command)) {
        Ok(code) => code,
        Err(e) => output::fail(&e),
    }
}

/// The entry point under its earlier name (`dbguard_cli::app::main`), for migrator binaries
/// scaffolded before the command line was reorganised.
#[doc(hidden)]
pub mod app {
    pub use crate::{Source, main};
}
