//! `lint`: exit 0 clean, 1 on error-level findings (or warnings with --warnings-as-errors), 2
//! when it could not run.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dbguard::lint::{Dialect, Finding};

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
    let inputs = crate::lint_project::Inputs {
        paths,
        migrations: &ctx.migrations,
        src: &ctx.project.root.join("src"),
        dialect,
        jobs,
        config: &lint_config,
        rust_sql: opts.rust_sql,
    };
    // Code scanning and annotations place findings by paths relative to the repository.
    let root = crate::lint_project::repository_root(&ctx.project.root);
    let cwd = std::env::current_dir().unwrap_or_default();
    let relative = |f: &Finding| {
        let mut f = f.clone();
        if let Ok(rel) = crate::paths::absolute(&cwd, Path::new(&f.file)).strip_prefix(&root) {
            f.file = rel.display().to_string();
        }
        f
    };
    let color = match ctx.global.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // Each format writes as the findings come (SARIF too: the log around the results first).
    // The first write error is kept and reported once the run ends.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed: Option<std::io::Error> = None;
    let mut keep = |r: std::io::Result<()>| {
        if let Err(e) = r {
            failed.get_or_insert(e);
        }
    };
    let source = |f: &str| std::fs::read_to_string(f).ok();
    let summary = match opts.format {
        LintFormat::Text => {
            let mut t = render::TextStream::new(&mut out, color);
            let s =
                crate::lint_project::lint_each(&inputs, &mut |batch, lines| keep(t.findings(batch, lines, &source)))?;
            keep(t.finish(&s));
            s
        }
        LintFormat::Json => {
            let mut j = render::JsonStream::new(&mut out);
            let s = crate::lint_project::lint_each(&inputs, &mut |batch, _| keep(j.findings(batch)))?;
            keep(j.finish(&s).and_then(|()| writeln!(out)));
            s
        }
        LintFormat::Github => crate::lint_project::lint_each(&inputs, &mut |batch, _| {
            keep(batch.iter().try_for_each(|f| out.write_all(render::github_line(&relative(f)).as_bytes())))
        })?,
        LintFormat::Sarif => {
            let mut sarif = render::SarifStream::new(&mut out);
            let s = crate::lint_project::lint_each(&inputs, &mut |batch, _| {
                keep(sarif.findings(&batch.iter().map(relative).collect::<Vec<_>>()))
            })?;
            keep(sarif.finish().and_then(|()| writeln!(out)));
            s
        }
    };
    keep(out.flush());
    if let Some(e) = failed {
        return Err(write_error(e));
    }
    let fails = summary.errors > 0 || opts.strict && summary.warnings > 0;
    Ok(if fails { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `lint --database URL`: the blast radius of each pending migration, measured on that
/// database (read-only), after the findings; exit 1 when one would be stopped by `up` (a
/// condition that matches every row without the allow). Text on standard output; for the
/// machine formats, on standard error, so that their document stays whole.
pub async fn measure(ctx: &Ctx, paths: &[PathBuf], format: LintFormat, code: ExitCode) -> CliResult {
    // `lint DIR --database URL`: the migrations measured are those linted, unless `-m` says.
    let mut ctx = ctx.clone();
    if let [dir] = paths
        && ctx.global.migrations.is_none()
        && matches!(ctx.source, crate::Source::Directory)
        && dir.is_dir()
    {
        ctx.migrations = crate::paths::absolute(&std::env::current_dir().unwrap_or_default(), dir);
    }
    let migrator = ctx.migrator()?;
    let mut db = ctx.open(dbguard::OpenMode::ReadOnly, false).await?;
    let plan = migrator.dry_run_up(&mut db, None).await;
    db.close().await.ok();
    let plan = plan?;
    let mut lines = vec![format!("blast radius of the pending migrations, measured on {}:", ctx.masked_url())];
    for step in &plan.steps {
        for r in &step.radius {
            lines.push(format!("  {} {}: {}", step.version, step.name, crate::output::report::radius(r)));
        }
        // What is not measured row by row (no WHERE, a TRUNCATE, a DROP, what cannot be read)
        // is copied whole first: never "nothing".
        for t in &step.snapshots {
            lines.push(format!(
                "  {} {}: {t}: not measured row by row; every row is copied first (a snapshot of the whole table)",
                step.version, step.name
            ));
        }
    }
    let stops = &plan.stops;
    lines.extend(stops.iter().map(|s| format!("  `up` would stop: {s}")));
    if lines.len() == 1 {
        lines.push(format!(
            "  nothing now: {} pending migration(s) delete, overwrite, drop or convert none of the data there is now (tables they make and fill themselves are measured when they run)",
            plan.steps.len()
        ));
    }
    let text = lines.join("\n");
    match format {
        LintFormat::Text => println!("{text}"),
        _ => eprintln!("{text}"),
    }
    Ok(if stops.is_empty() { code } else { ExitCode::from(1) })
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::usage(format!("cannot write the report: {e}"), "check where standard output goes")
}
