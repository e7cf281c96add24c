//! `lint`: exit 0 clean, 1 on error-level findings (or warnings with --warnings-as-errors), 2
//! when it could not run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dbguard::lint::{Dialect, Summary, render};

use crate::cli::{ColorArg, DialectArg, LintFormat};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `lint`'s options.
pub struct Options {
    pub format: LintFormat,
    pub dialect: Option<DialectArg>,
    pub strict: bool,
    pub jobs: Option<usize>,
    pub rust_sql: bool,
}

/// Whether a directory holds SQL files (at its top or one level down, as migrations do).
fn has_sql(dir: &Path) -> bool {
    let sql = |d: &Path| {
        std::fs::read_dir(d).into_iter().flatten().flatten().any(|e| e.path().extension().is_some_and(|x| x == "sql"))
    };
    sql(dir) || std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| e.path().is_dir() && sql(&e.path()))
}

/// The repository root: the nearest directory at or above `from` with a `.git`, else `from`.
fn repository_root(from: &Path) -> PathBuf {
    from.ancestors().find(|d| d.join(".git").exists()).unwrap_or(from).to_path_buf()
}

pub fn run(ctx: &Ctx, paths: &[PathBuf], opts: &Options) -> CliResult {
    let dialect = match opts.dialect {
        Some(DialectArg::Postgres) => Dialect::Postgres,
        Some(DialectArg::Mysql) => Dialect::Mysql,
        Some(DialectArg::Sqlite) => Dialect::Sqlite,
        None => dbguard::BackendKind::from_url(&ctx.url).map_or(Dialect::Postgres, |k| k.dialect()),
    };
    // Which paths hold SQL and which Rust. With none given: the migrations directory (which
    // must exist unless the project has Rust sources) and src/.
    let (mut sql_paths, mut rust_files) = (Vec::new(), Vec::new());
    if paths.is_empty() {
        let src = ctx.project.root.join("src");
        if ctx.migrations.exists() || !src.is_dir() {
            sql_paths.push(ctx.migrations.clone());
        }
        rust_files = crate::rust_lint::rust_files(&src);
    }
    for p in paths {
        let rust = crate::rust_lint::rust_files(p);
        if !p.exists() || p.is_file() && rust.is_empty() || p.is_dir() && (has_sql(p) || rust.is_empty()) {
            sql_paths.push(p.clone());
        }
        rust_files.extend(rust);
    }
    let jobs = opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let lint_config = ctx.project.config.lint.clone().unwrap_or_default();
    let mut report = if sql_paths.is_empty() {
        dbguard::LintReport::default()
    } else {
        dbguard::lint_paths(&sql_paths, dialect, jobs, &lint_config)?
    };
    if !rust_files.is_empty() {
        let r = crate::rust_lint::lint_rust(&rust_files, dialect, opts.rust_sql)
            .map_err(|e| CliError::usage(e.to_string(), "fix the Rust file so that it parses"))?;
        let files = report.summary.files + r.files;
        report.findings.extend(lint_config.apply(r.findings));
        report.summary = Summary::of(&report.findings, files);
    }
    // Code scanning and annotations place findings by paths relative to the repository.
    if matches!(opts.format, LintFormat::Sarif | LintFormat::Github) {
        let root = repository_root(&ctx.project.root);
        for f in &mut report.findings {
            let abs = crate::context::absolute(&std::env::current_dir().unwrap_or_default(), Path::new(&f.file));
            if let Ok(rel) = abs.strip_prefix(&root) {
                f.file = rel.display().to_string();
            }
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match opts.format {
        LintFormat::Text => {
            use std::io::IsTerminal;
            let color = match ctx.global.color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            let text =
                render::text(&report.findings, &report.summary, &|f: &str| std::fs::read_to_string(f).ok(), color);
            out.write_all(text.as_bytes())
        }
        LintFormat::Json => {
            render::write_json(&mut out, &report.findings, &report.summary).and_then(|()| writeln!(out))
        }
        LintFormat::Sarif => writeln!(out, "{}", render::sarif(&report.findings)),
        LintFormat::Github => report.findings.iter().try_for_each(|f| out.write_all(render::github_line(f).as_bytes())),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::usage(format!("cannot write the report: {e}"), "check where standard output goes"))?;
    Ok(if dbguard::lint::fails(&report.findings, opts.strict) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
