//! `cargo dbguard`: the command line. Thin by design: it parses arguments, calls the `dbguard`
//! library and prints; the behaviour lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use dbguard::{Database, Error, Loader, Migrator, Plan, Repair, Report};

#[derive(Parser, Debug)]
#[command(
    name = "cargo dbguard",
    bin_name = "cargo dbguard",
    version,
    about = "Database migrations that cannot silently lose your data"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Database URL (sqlite://file.db, postgres://..., mysql://...).
    #[arg(
        long,
        short = 'd',
        env = "DATABASE_URL",
        default_value = "sqlite://dbguard.db",
        global = true,
        hide_env_values = true
    )]
    database: String,
    /// Directory of SQL migrations.
    #[arg(long, short = 'm', env = "DBGUARD_MIGRATIONS", default_value = "migrations", global = true)]
    migrations: PathBuf,
    /// Accept existing empty or placeholder down migrations as irreversible (adopting dbguard on
    /// a project with history).
    #[arg(long, global = true)]
    accept_legacy_downs: bool,
    /// Run even though applied migrations were edited since they ran.
    #[arg(long, global = true)]
    allow_drift: bool,
    /// Run even though applied migrations are missing from the directory.
    #[arg(long, global = true)]
    allow_missing: bool,
    /// Apply pending migrations that sort before the newest applied one.
    #[arg(long, global = true)]
    allow_out_of_order: bool,
    /// Seconds to wait for another runner's lock.
    #[arg(long, default_value_t = 120, global = true)]
    lock_timeout: u64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply pending migrations (all, or up to --to).
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Revert applied migrations newer than --to, newest first (--to 0 reverts everything).
    Down {
        /// Keep this version and everything before it.
        #[arg(long)]
        to: i64,
    },
    /// Show every migration and its state.
    Status {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Record an existing database as being at VERSION without running anything.
    Baseline { version: i64 },
    /// Lint migration files or directories for destructive SQL (default: the migrations directory).
    Lint {
        /// Files or migration directories.
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
        /// SQL dialect (default: from the database URL, else postgres).
        #[arg(long, value_enum)]
        dialect: Option<DialectArg>,
        /// Fail on warnings too.
        #[arg(long)]
        warnings_as_errors: bool,
        /// Threads (default: the number of CPUs).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Resolve a dirty migration after finishing or undoing its changes by hand.
    Repair {
        version: i64,
        /// Its changes are complete: record it as applied.
        #[arg(long, conflicts_with = "forget", required_unless_present = "forget")]
        mark_applied: bool,
        /// Its changes are undone: forget it so that it runs again.
        #[arg(long)]
        forget: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LintFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum DialectArg {
    Postgres,
    Mysql,
    Sqlite,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    // `cargo dbguard up` runs `cargo-dbguard dbguard up`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("dbguard") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Lint { paths, format, dialect, warnings_as_errors, jobs } = &cli.command {
        return lint(&cli.global, paths, *format, *dialect, *warnings_as_errors, *jobs);
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2: the command could not run (bad input, unreachable database); 1: it ran and refused or failed.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Load(_) | Error::BadUrl { .. } | Error::Connect { .. } => 2,
        _ => 1,
    }
}

async fn run(cli: Cli) -> dbguard::Result<()> {
    let g = &cli.global;
    let kind = dbguard::BackendKind::from_url(&g.database);
    let loader =
        Loader::new().accept_legacy_downs(g.accept_legacy_downs).dialect(kind.map(|k| k.dialect()).unwrap_or_default());
    let migrator = Migrator::new(loader.load(&g.migrations)?)?
        .allow_drift(g.allow_drift)
        .allow_missing(g.allow_missing)
        .allow_out_of_order(g.allow_out_of_order)
        .lock_timeout(std::time::Duration::from_secs(g.lock_timeout));
    let mut db = Database::connect(&g.database).await?;
    match cli.command {
        Command::Up { to } => {
            let report = migrator.up(&mut db, to).await?;
            print_report(&report, &db);
            if !report.applied.is_empty() {
                print_status(&report.plan, Format::Text);
            }
        }
        Command::Down { to } => {
            let report = migrator.down(&mut db, to).await?;
            print_report(&report, &db);
        }
        Command::Status { format } => print_status(&migrator.status(&mut db).await?, format),
        Command::Baseline { version } => {
            let report = migrator.baseline(&mut db, version).await?;
            println!("recorded {} migrations as baseline at {version} on {}", report.applied.len(), db.url());
        }
        Command::Lint { .. } => unreachable!("lint runs without a database"),
        Command::Repair { version, mark_applied, .. } => {
            let action = if mark_applied { Repair::MarkApplied } else { Repair::Forget };
            migrator.repair(&mut db, version, action).await?;
            println!(
                "migration {version}: {}",
                if mark_applied { "marked applied" } else { "forgotten; it will run again" }
            );
        }
    }
    db.close().await
}

/// `lint`: exit 0 clean, 1 error-level findings (or warnings with --warnings-as-errors),
/// 2 when it could not run.
fn lint(
    g: &Global,
    paths: &[PathBuf],
    format: LintFormat,
    dialect: Option<DialectArg>,
    strict: bool,
    jobs: Option<usize>,
) -> ExitCode {
    use dbguard::lint::{Dialect, render};
    let dialect = match dialect {
        Some(DialectArg::Postgres) => Dialect::Postgres,
        Some(DialectArg::Mysql) => Dialect::Mysql,
        Some(DialectArg::Sqlite) => Dialect::Sqlite,
        None => dbguard::BackendKind::from_url(&g.database).map_or(Dialect::Postgres, |k| k.dialect()),
    };
    let paths = if paths.is_empty() { vec![g.migrations.clone()] } else { paths.to_vec() };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report = match dbguard::lint_paths(&paths, dialect, jobs, &dbguard::lint::LintConfig::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        LintFormat::Text => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
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
    if let Err(e) = written.and_then(|()| out.flush()) {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(2);
    }
    if dbguard::lint::fails(&report.findings, strict) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn print_report(report: &Report, db: &Database) {
    for s in &report.applied {
        println!("applied  {} {} ({} ms)", s.version, s.name, s.duration_ms);
    }
    for s in &report.reverted {
        println!("reverted {} {} ({} ms)", s.version, s.name, s.duration_ms);
    }
    let (a, r) = (report.applied.len(), report.reverted.len());
    match (a, r) {
        (0, 0) => {
            let newest = report.plan.current_version().map_or("none".to_string(), |v| v.to_string());
            println!(
                "nothing to do: {} is up to date ({} migrations, newest {newest})",
                db.url(),
                report.plan.entries.len()
            )
        }
        (a, 0) => println!("applied {a} migration{} to {}", plural(a), db.url()),
        (_, r) => println!("reverted {r} migration{} on {}", plural(r), db.url()),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_status(plan: &Plan, format: Format) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if format == Format::Json {
        let json = serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let _ = writeln!(out, "{json}");
        return;
    }
    let _ = writeln!(out, "{:<20} {:<10} {:<14} {:<26} name", "version", "state", "checksum", "applied at");
    for e in &plan.entries {
        let state = e.state.as_str();
        let checksum = e.checksum.as_deref().or(e.applied.as_ref().map(|r| r.checksum.as_str())).unwrap_or("");
        let at = e.applied.as_ref().map_or("", |r| r.applied_at.as_str());
        let _ = writeln!(
            out,
            "{:<20} {:<10} {:<14} {:<26} {}",
            e.version,
            state,
            &checksum[..checksum.len().min(12)],
            at,
            e.name
        );
    }
}
