//! What `cargo dbguard lint` lints: which of the paths given hold SQL and which Rust (by
//! default the migrations directory and `src/`), linted, and the reports merged into one.

use std::path::{Path, PathBuf};

use dbguard::lint::{Dialect, LintConfig, Summary};

use crate::error::CliError;

/// What to lint.
pub struct Inputs<'a> {
    /// SQL files, migration directories, Rust files or source directories (empty: the
    /// defaults).
    pub paths: &'a [PathBuf],
    /// The migrations directory (a default).
    pub migrations: &'a Path,
    /// The Rust sources (a default).
    pub src: &'a Path,
    /// The SQL dialect.
    pub dialect: Dialect,
    /// Threads.
    pub jobs: usize,
    /// The configuration's `lint` settings.
    pub config: &'a LintConfig,
    /// Also check SQL string literals passed to sqlx in the Rust sources.
    pub rust_sql: bool,
}

/// Lints the SQL and Rust inputs; one report, sorted, counted over every file.
pub fn lint(i: &Inputs<'_>) -> Result<dbguard::LintReport, CliError> {
    let mut findings = Vec::new();
    let summary = lint_each(i, &mut |batch, _| findings.extend_from_slice(batch))?;
    Ok(dbguard::LintReport { findings, summary })
}

/// Lints the SQL and Rust inputs, handing the findings to `sink` as they come (SQL first, in
/// file order, then Rust; see `dbguard::lint_paths_each`); returns the counts over every file.
pub fn lint_each(
    i: &Inputs<'_>,
    sink: &mut dyn FnMut(&[dbguard::lint::Finding], Option<dbguard::lint::Lines<'_>>),
) -> Result<Summary, CliError> {
    let (mut sql_paths, mut rust_files) = (Vec::new(), Vec::new());
    if i.paths.is_empty() {
        // The migrations directory must exist unless the project has Rust sources.
        if i.migrations.exists() || !i.src.is_dir() {
            sql_paths.push(i.migrations.to_path_buf());
        }
        rust_files = crate::rust_lint::rust_files(i.src);
    }
    for p in i.paths {
        let rust = crate::rust_lint::rust_files(p);
        if !p.exists() || p.is_file() && rust.is_empty() || p.is_dir() && (has_sql(p) || rust.is_empty()) {
            sql_paths.push(p.clone());
        }
        rust_files.extend(rust);
    }
    let mut summary = if sql_paths.is_empty() {
        Summary::default()
    } else {
        dbguard::lint_paths_each(&sql_paths, i.dialect, i.jobs, i.config, sink)?
    };
    if !rust_files.is_empty() {
        let r = crate::rust_lint::lint_rust(&rust_files, i.dialect, i.rust_sql)
            .map_err(|e| CliError::usage(e.to_string(), "fix the Rust file so that it parses"))?;
        let found = i.config.apply(r.findings);
        let s = Summary::of(&found, r.files);
        sink(&found, None);
        summary = Summary {
            errors: summary.errors + s.errors,
            warnings: summary.warnings + s.warnings,
            files: summary.files + s.files,
        };
    }
    Ok(summary)
}

/// Whether a directory holds SQL files (at its top or one level down, as migrations do).
fn has_sql(dir: &Path) -> bool {
    let sql = |d: &Path| {
        std::fs::read_dir(d).into_iter().flatten().flatten().any(|e| e.path().extension().is_some_and(|x| x == "sql"))
    };
    sql(dir) || std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| e.path().is_dir() && sql(&e.path()))
}

/// The repository root: the nearest directory at or above `from` with a `.git`, else `from`.
pub fn repository_root(from: &Path) -> PathBuf {
    from.ancestors().find(|d| d.join(".git").exists()).unwrap_or(from).to_path_buf()
}
