//! `lint`: exit 0 clean, 1 on error-level findings (or warnings with --warnings-as-errors), 2
//! when it could not run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dbguard::lint::Dialect;

use crate::output::lint as render;

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

pub fn run(ctx: &Ctx, paths: &[PathBuf], opts: &Options) -> CliResult {
    let dialect = match opts.dialect {
        Some(DialectArg::Postgres) => Dialect::Postgres,
        Some(DialectArg::Mysql) => Dialect::Mysql,
        Some(DialectArg::Sqlite) => Dialect::Sqlite,
        None => dbguard::BackendKind::from_url(&ctx.url).map_or(Dialect::Postgres, |k| k.dialect()),
    };
    let jobs = opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let lint_config = ctx.project.config.lint.clone().unwrap_or_default();
    let mut report = crate::lint_project::lint(&crate::lint_project::Inputs {
        paths,
        migrations: &ctx.migrations,
        src: &ctx.project.root.join("src"),
        dialect,
        jobs,
        config: &lint_config,
        rust_sql: opts.rust_sql,
    })?;
    // Code scanning and annotations place findings by paths relative to the repository.
    if matches!(opts.format, LintFormat::Sarif | LintFormat::Github) {
        let root = crate::lint_project::repository_root(&ctx.project.root);
        for f in &mut report.findings {
            let abs = crate::paths::absolute(&std::env::current_dir().unwrap_or_default(), Path::new(&f.file));
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
            let source = |f: &str| std::fs::read_to_string(f).ok();
            render::write_text(&mut out, &report.findings, &report.summary, &source, color)
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
