//! The command line: argument parsing (clap) and printing. The behaviour is in `dbguard` and
//! in this crate's `config`, `scaffold` and `rust_lint`.
//!
//! [`main`] serves both `cargo dbguard` (migrations from a directory) and a project's own
//! migrator binary (`#[migration]` items linked into it), so that users type the same commands
//! either way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{self, Project};
use crate::scaffold::{self, Kind};
use crate::style::{BOLD, DIM, ERROR, OK, WARN, paint};
use anstream::{eprintln, println};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dbguard::{
    Backups, Database, DryRun, DumpPolicy, Error, FileBackupPolicy, Loader, Migrator, Plan, PrunePolicy, Repair,
    Report, RestoreOptions,
};

#[derive(Parser, Debug)]
#[command(
    name = "cargo dbguard",
    bin_name = "cargo dbguard",
    version,
    about = "Database migrations that cannot silently lose your data",
    after_help = "Configuration: flags > environment (DATABASE_URL, DBGUARD_MIGRATIONS) > .env > [package.metadata.dbguard] > defaults. See docs/cli.md."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Database URL (sqlite://file.db, postgres://..., mysql://...) [default: sqlite://dbguard.db in the project].
    #[arg(long, short = 'd', env = "DATABASE_URL", global = true, hide_env_values = true)]
    database: Option<String>,
    /// Directory of SQL migrations [default: migrations in the project].
    #[arg(long, short = 'm', env = "DBGUARD_MIGRATIONS", global = true, hide_env_values = true)]
    migrations: Option<PathBuf>,
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
    /// Seconds to wait for another runner's lock [default: 120].
    #[arg(long, global = true)]
    lock_timeout: Option<u64>,
    /// Environment tier: dev, staging or prod [default: prod when the database host is not local].
    #[arg(long = "env", env = "DBGUARD_ENV", global = true, hide_env_values = true)]
    tier: Option<String>,
    /// Confirms a destructive change to the production database with that name (non-interactive
    /// runs; a terminal asks instead).
    #[arg(long, value_name = "DATABASE-NAME", global = true)]
    confirm: Option<String>,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    color: ColorArg,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Set up the project: migrations/, [package.metadata.dbguard] in Cargo.toml, .env.example.
    Init {
        /// Also scaffold a migrator binary (src/bin/migrator.rs) for #[migration] items in
        /// src/migrations/; `up`, `down` and `status` then build and run it.
        #[arg(long)]
        rust: bool,
    },
    /// Scaffold the next migration (up, down, and a preserves line to fill in).
    New {
        /// What it does, in snake_case: add_users_email.
        name: String,
        /// SQL files (the default).
        #[arg(long, conflicts_with = "rust")]
        sql: bool,
        /// A Rust file with a #[migration] module, in src/migrations/.
        #[arg(long)]
        rust: bool,
    },
    /// Apply pending migrations (all, or up to --to).
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Show what would run (SQL, snapshots, counts, lint) and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Revert applied migrations newer than --to, newest first (--to 0 reverts everything).
    Down {
        /// Keep this version and everything before it.
        #[arg(long)]
        to: i64,
        /// Show what would run and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show every migration and its state.
    Status {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Record an existing database as being at VERSION without running anything.
    Baseline { version: i64 },
    /// Lint migrations for destructive SQL: SQL files and directories, and `#[migration]` items in
    /// Rust sources (default: the migrations directory and src/).
    Lint {
        /// SQL files, migration directories, Rust files or source directories.
        paths: Vec<PathBuf>,
        /// Also check SQL string literals passed to sqlx (`query`, `query!`, `.execute(...)`)
        /// anywhere in the Rust sources.
        #[arg(long)]
        rust_sql: bool,
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
    /// The database's health: version, pending, drift, dirty, required tables, row-count alerts.
    /// Exit 0 when healthy, 1 when degraded or critical.
    Check {
        /// A table that must exist and whose row count is watched (repeatable; default: the
        /// configured `critical-tables`).
        #[arg(long = "table", short = 't')]
        tables: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Rehearse the pending migrations (up, down, up again) on a scratch copy of the database
    ///
    /// Each up, then each down in reverse, then up again, comparing the schema at every step.
    /// Exit 1 when a down does not restore what its up found, or a step fails. The database
    /// itself is only read.
    Rehearse {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Drop the database, create it again and migrate it (dev and staging only; after a backup)
    ///
    /// Refused in prod whatever the flags.
    Reset,
    /// Check the project's safety setup and print a score, with what to do for each missing point
    ///
    /// Lint-clean migrations, a down for each, lint in CI, a recent verified backup, a writable
    /// audit log, a prod tier, and `preserves` on the critical tables. Exit 0 when all hold.
    Doctor {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Audited commands on this database (who ran what, when, with what outcome), newest first.
    History {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// Back up now: snapshots of the named tables, or (SQLite, no --table) the whole file.
    Backup {
        /// A table to snapshot (repeatable).
        #[arg(long = "table", short = 't')]
        tables: Vec<String>,
    },
    /// List, verify or prune backups.
    Backups {
        #[command(subcommand)]
        action: BackupsAction,
    },
    /// Restore a table from a snapshot (by id), or a SQLite database from a file backup.
    Restore {
        /// The snapshot id (`cargo dbguard backups list`).
        #[arg(required_unless_present = "file")]
        id: Option<i64>,
        /// A SQLite file backup to restore the whole database from.
        #[arg(long, conflicts_with = "id")]
        file: Option<PathBuf>,
        /// Restore into this table instead of the snapshot's source.
        #[arg(long)]
        into: Option<String>,
        /// Restore even though some snapshot columns no longer exist in the table.
        #[arg(long)]
        drop_unmapped_columns: bool,
        /// Show the column mapping and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
enum BackupsAction {
    /// Table snapshots (catalog) and SQLite file backups.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check snapshots (row count, content checksum) and file backups (integrity, counts).
    Verify {
        /// Only this snapshot.
        id: Option<i64>,
    },
    /// Remove old backups; the newest verified one of each table (and file) is always kept.
    Prune {
        /// Keep this many per table (and file backups).
        #[arg(long)]
        keep: Option<usize>,
        /// Remove those older than this many days.
        #[arg(long)]
        older_than_days: Option<i64>,
        /// Show what would be removed.
        #[arg(long)]
        dry_run: bool,
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// 2: the command could not run (bad input or configuration, unreachable database);
/// 1: it ran and refused or failed.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Load(_) | Error::BadUrl { .. } | Error::Connect { .. } => 2,
        _ => 1,
    }
}

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("{} {message}", paint(ERROR, "error:"));
    ExitCode::from(code)
}

/// Where the migrations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The project's migrations directory (`cargo dbguard`). Commands that run migrations are
    /// forwarded to the project's migrator binary when it has one.
    Directory,
    /// The `#[migration]` items linked into this binary (a project's migrator).
    Registry,
}

/// Runs the command line with the process's arguments.
///
/// A project's migrator binary is one line:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     dbguard_cli::app::main(dbguard_cli::app::Source::Registry)
/// }
/// ```
pub fn main(source: Source) -> ExitCode {
    // `cargo dbguard up` runs `cargo-dbguard dbguard up`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("dbguard") {
        args.remove(1);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    // The project and its .env come first: .env fills environment variables that clap reads.
    let project = match config::discover(&cwd) {
        Ok(p) => p,
        Err(e) => return fail(e, 2),
    };
    if let Err(e) = config::load_dotenv(&project.root) {
        return fail(e, 2);
    }
    let cli = Cli::parse_from(&args);
    anstream::ColorChoice::write_global(match cli.global.color {
        ColorArg::Auto => anstream::ColorChoice::Auto,
        ColorArg::Always => anstream::ColorChoice::Always,
        ColorArg::Never => anstream::ColorChoice::Never,
    });
    match &cli.command {
        Command::Lint { paths, rust_sql, format, dialect, warnings_as_errors, jobs } => {
            let opts = LintOptions {
                format: *format,
                dialect: *dialect,
                strict: *warnings_as_errors,
                jobs: *jobs,
                rust_sql: *rust_sql,
            };
            return lint(&cli.global, &project, paths, &opts);
        }
        Command::Init { rust } => {
            return match scaffold::init(&project.root, project.manifest.as_deref(), *rust) {
                Ok(done) => {
                    for p in &done.created {
                        println!("{} {}", paint(OK, "created"), p.display());
                    }
                    if let Some(m) = &done.configured {
                        println!("{} [metadata.dbguard] in {}", paint(OK, "added"), m.display());
                    }
                    if done.created.is_empty() && done.configured.is_none() {
                        println!("already set up: nothing to do");
                    }
                    println!(
                        "next: `cargo dbguard new create_users`, write up.sql and down.sql, then `cargo dbguard up`"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e, 2),
            };
        }
        Command::New { name, rust, .. } => {
            let dir = project.migrations(cli.global.migrations.as_deref());
            let kind = if *rust { Kind::Rust } else { Kind::Sql };
            return match scaffold::new_migration(&dir, &project.root.join("src/migrations"), name, kind) {
                Ok(files) => {
                    for f in &files {
                        println!("{} {}", paint(OK, "created"), f.display());
                    }
                    println!(
                        "next: write the {}, list the tables it must keep in `preserves`, then `cargo dbguard lint` and `cargo dbguard up --dry-run`",
                        if *rust { "UP and DOWN" } else { "up and the down" }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e, 2),
            };
        }
        Command::Restore { file: Some(file), .. } => return restore_file(&cli.global, &project, file),
        Command::Up { .. }
        | Command::Down { .. }
        | Command::Status { .. }
        | Command::Baseline { .. }
        | Command::Repair { .. }
        | Command::Check { .. }
        | Command::Rehearse { .. }
        | Command::Reset
            if source == Source::Directory && cli.global.migrations.is_none() =>
        {
            if let Some(migrator) = &project.migrator {
                return forward(migrator, &args[1..]);
            }
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}"), 2),
    };
    match runtime.block_on(run(cli, project, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, exit_code(&e)),
    }
}

/// Builds and runs the project's migrator binary with the same arguments.
fn forward(m: &config::MigratorBin, args: &[String]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&m.manifest)
        .args(["--bin", &m.bin, "--"])
        .args(args)
        .status();
    match status {
        Ok(s) => ExitCode::from(s.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(e) => fail(
            format!(
                "cannot run the project's migrator (`cargo run --bin {}` in {}): {e}\n  next: check that cargo is on PATH",
                m.bin,
                m.manifest.display()
            ),
            2,
        ),
    }
}

/// The tier from `--env`/`DBGUARD_ENV`, else the configuration; `None` leaves it to the URL.
/// The database to work on: `--database`/`DATABASE_URL`, else the one configured for the tier.
fn database_url(g: &Global, project: &Project) -> String {
    project.database(g.database.as_deref(), g.tier.as_ref().or(project.config.env.as_ref()).map(String::as_str))
}

fn tier(g: &Global, project: &Project) -> dbguard::Result<Option<dbguard::Tier>> {
    let Some(text) = g.tier.as_ref().or(project.config.env.as_ref()) else { return Ok(None) };
    dbguard::Tier::parse(text).map(Some).ok_or_else(|| {
        Error::Refused(format!("unknown environment tier `{text}`: use dev, staging or prod (--env, DBGUARD_ENV or `env` in the configuration)"))
    })
}

/// The tier and the masked URL, first thing, so that nobody changes the wrong database by
/// surprise. On stderr: stdout may be JSON.
fn banner(tier: dbguard::Tier, url: &str) {
    let style = match tier {
        dbguard::Tier::Prod => ERROR,
        dbguard::Tier::Staging => WARN,
        dbguard::Tier::Dev => OK,
    };
    eprintln!("{} {}", paint(style, format!("[{tier}]")), url);
}

/// Asks on the terminal for the database's name; true when it was typed exactly.
fn ask_confirmation(c: &dbguard::Confirmation) -> bool {
    use std::io::{BufRead, Write};
    eprintln!("{} this changes the production database `{}` ({}):", paint(ERROR, "careful:"), c.database, c.url);
    for w in &c.what {
        eprintln!("  - {w}");
    }
    eprint!("type the database name ({}) to go ahead, anything else aborts: ", c.database);
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == c.database
}

fn migrator(g: &Global, project: &Project, url: &str, source: Source) -> dbguard::Result<Migrator> {
    let c = &project.config;
    let kind = dbguard::BackendKind::from_url(url);
    let loader = Loader::new()
        .accept_legacy_downs(g.accept_legacy_downs || c.accept_legacy_downs == Some(true))
        .dialect(kind.map(|k| k.dialect()).unwrap_or_default());
    let migrations = match (source, &g.migrations) {
        (Source::Registry, None) => dbguard::registered()?,
        _ => loader.load(project.migrations(g.migrations.as_deref()))?,
    };
    let mut m = Migrator::new(migrations)?
        .allow_drift(g.allow_drift)
        .allow_missing(g.allow_missing)
        .allow_out_of_order(g.allow_out_of_order)
        .lock_timeout(std::time::Duration::from_secs(g.lock_timeout.or(c.lock_timeout).unwrap_or(120)));
    if let Some(t) = &c.table {
        m = m.table(t);
    }
    m = m.audit_file(project.root.join(c.audit_log.clone().unwrap_or_else(|| "dbguard-audit.jsonl".into())));
    if let Some(tier) = tier(g, project)? {
        m = m.tier(tier);
    }
    if let Some(name) = &g.confirm {
        m = m.confirm_production(name);
    }
    if let Some(keep) = c.file_backups {
        m = m.file_backups(FileBackupPolicy { enabled: keep > 0, keep: keep.max(1) });
    }
    if let Some(dir) = &c.dump_dir {
        m = m.dump_before_runs(DumpPolicy { dir: project.root.join(dir), program: None });
    }
    if let Some(tables) = &c.critical_tables {
        m = m.watch_tables(tables.iter().cloned());
    }
    Ok(m)
}

async fn run(cli: Cli, project: Project, source: Source) -> dbguard::Result<()> {
    let g = &cli.global;
    let url = database_url(g, &project);
    // Backups and restores need no migrations directory.
    let needs_migrations = !matches!(
        cli.command,
        Command::Backup { .. }
            | Command::Backups { .. }
            | Command::Restore { .. }
            | Command::History { .. }
            | Command::Doctor { .. }
    );
    if let Command::Doctor { format } = cli.command {
        return doctor(&project, &project.migrations(g.migrations.as_deref()), &url, format).await;
    }
    let migrator = if needs_migrations { Some(migrator(g, &project, &url, source)?) } else { None };
    // These two work on whole databases: no connection of ours may hold the original open.
    match (&cli.command, &migrator) {
        (Command::Rehearse { format }, Some(m)) => return rehearse(m, &url, *format).await,
        (Command::Reset, Some(m)) => {
            banner(m.tier_for_url(&url), &dbguard::mask_url(&url));
            let r = m.reset(&url).await?;
            if let Some(b) = &r.backup {
                println!("{} {}", paint(OK, "backed up to"), b.display());
            }
            println!(
                "{} {} and applied {} migrations",
                paint(OK, "re-created"),
                dbguard::mask_url(&url),
                r.report.applied.len()
            );
            return Ok(());
        }
        _ => {}
    }
    let mut db = Database::connect(&url).await?;
    banner(
        migrator.as_ref().map_or_else(
            || tier(g, &project).ok().flatten().unwrap_or(dbguard::Tier::for_url(db.url())),
            |m| m.tier_for(&db),
        ),
        db.url(),
    );
    // In production, a terminal asks for the confirmation a script passes with --confirm.
    let migrator = match (&cli.command, migrator) {
        (Command::Up { to, dry_run: false, .. }, Some(m)) if g.confirm.is_none() => {
            Some(confirmed_on_terminal(m, &mut db, async |m, db| m.dry_check_up(db, *to).await).await?)
        }
        (Command::Down { to, dry_run: false, .. }, Some(m)) if g.confirm.is_none() => {
            Some(confirmed_on_terminal(m, &mut db, async |m, db| m.dry_check_down(db, *to).await).await?)
        }
        (_, m) => m,
    };
    let backups = match &migrator {
        Some(m) => m.backups(),
        None => {
            let mut b = Backups::new();
            if let Some(t) = tier(g, &project)? {
                b = b.tier(t);
            }
            if let Some(c) = &g.confirm {
                b = b.confirm_production(c.clone());
            }
            b
        }
    };

    let m = || migrator.as_ref().expect("loaded for this command");
    match cli.command {
        Command::Up { to, dry_run: true, format } => print_dry_run(&m().dry_run_up(&mut db, to).await?, format),
        Command::Down { to, dry_run: true, format } => print_dry_run(&m().dry_run_down(&mut db, to).await?, format),
        Command::Up { to, format, .. } => {
            let (m, bar) = with_bar(m(), format);
            let report = m.up(&mut db, to).await;
            drop(bar);
            print_report(&report?, &db, format);
        }
        Command::Down { to, format, .. } => {
            let (m, bar) = with_bar(m(), format);
            let report = m.down(&mut db, to).await;
            drop(bar);
            print_report(&report?, &db, format);
        }
        Command::Status { format } => print_status(&m().status(&mut db).await?, format),
        Command::Baseline { version } => {
            let report = m().baseline(&mut db, version).await?;
            println!("recorded {} migrations as baseline at {version} on {}", report.applied.len(), db.url());
        }
        Command::Repair { version, mark_applied, .. } => {
            let action = if mark_applied { Repair::MarkApplied } else { Repair::Forget };
            m().repair(&mut db, version, action).await?;
            println!(
                "migration {version}: {}",
                if mark_applied { "marked applied" } else { "forgotten; it will run again" }
            );
        }
        Command::Backup { tables } => {
            if tables.is_empty() {
                let keep = project.config.file_backups.unwrap_or(10).max(1);
                let b = dbguard::file_backup::backup_now(&mut db, "manual", keep).await.map_err(|e| match e {
                    Error::Refused(_) => Error::Refused(format!(
                        "{} is not a SQLite file: name the tables to snapshot with `--table users --table orders`, or configure `dump-dir` for pg_dump/mysqldump dumps",
                        db.url()
                    )),
                    other => other,
                })?;
                println!("{} {} ({} tables, verified)", paint(OK, "backed up to"), b.path.display(), b.tables.len());
            }
            for t in tables {
                let s = backups.snapshot(&mut db, &t).await?;
                println!("{} {t}: snapshot {} ({}, {} rows)", paint(OK, "backed up"), s.id, s.location, s.row_count);
            }
        }
        Command::Backups { action } => backups_command(g, action, &backups, &mut db).await?,
        Command::Check { tables, format } => {
            let tables =
                if tables.is_empty() { project.config.critical_tables.clone().unwrap_or_default() } else { tables };
            let names: Vec<&str> = tables.iter().map(String::as_str).collect();
            let threshold = f64::from(project.config.alert_threshold.unwrap_or(5)) / 100.0;
            let health = m().check(&mut db, &names, &names, threshold).await?;
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&health).unwrap_or_default());
            } else {
                let style = match health.status {
                    dbguard::Status::Healthy => OK,
                    dbguard::Status::Degraded => WARN,
                    dbguard::Status::Critical => ERROR,
                };
                let current = health.current_version.map_or("none".into(), |v| v.to_string());
                let expected = health.expected_version.map_or("none".into(), |v| v.to_string());
                println!(
                    "{} at version {current} (this build: {expected})",
                    paint(style, format!("{:?}", health.status).to_lowercase())
                );
                for (t, n) in &health.row_counts {
                    println!("  {t}: {n} rows");
                }
                for msg in &health.messages {
                    println!("  {} {msg}", paint(style, "-"));
                }
            }
            if health.status != dbguard::Status::Healthy {
                db.close().await?;
                std::process::exit(1);
            }
        }
        Command::History { format } => {
            let entries = dbguard::audit::read(&mut db).await?;
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&entries).unwrap_or_default());
            } else {
                for e in &entries {
                    let style = if e.outcome == "ok" { OK } else { ERROR };
                    let migrations = e.migrations.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                    println!(
                        "{} {:<8} {:<22} {:<8} {} [{}] {}",
                        e.at,
                        e.tier,
                        e.command,
                        paint(style, &e.outcome),
                        e.by,
                        migrations,
                        e.message.as_deref().map(|m| m.lines().next().unwrap_or_default()).unwrap_or_default()
                    );
                }
                if entries.is_empty() {
                    println!("{}", paint(DIM, "no audited commands yet"));
                }
            }
        }
        Command::Restore { id: Some(id), into, drop_unmapped_columns, dry_run, .. } => {
            let opts = RestoreOptions { into, drop_unmapped_columns, dry_run };
            let r = asking(g, &backups, async |b| b.restore(&mut db, id, &opts).await).await?;
            let verb = if dry_run { "would restore" } else { "restored" };
            println!(
                "{} {} rows into {} from snapshot {} ({})",
                paint(OK, verb),
                r.rows,
                r.table,
                id,
                r.snapshot.location
            );
            println!("  columns copied: {}", r.mapped.join(", "));
            if !r.unmapped.is_empty() {
                println!("  {} {}", paint(WARN, "not restored (no longer in the table):"), r.unmapped.join(", "));
            }
            if !r.defaulted.is_empty() {
                println!("  left to their defaults: {}", r.defaulted.join(", "));
            }
            if let Some(p) = r.pre_restore {
                println!("  the table's previous rows are in snapshot {} ({})", p.id, p.location);
            }
        }
        Command::Restore { .. }
        | Command::Lint { .. }
        | Command::Init { .. }
        | Command::New { .. }
        | Command::Rehearse { .. }
        | Command::Doctor { .. }
        | Command::Reset => {
            unreachable!("handled before connecting")
        }
    }
    db.close().await
}

/// The migrator with a progress bar, for text output on a terminal.
/// Without one, the migrator itself: no copy of its migrations on the common path.
fn with_bar(m: &Migrator, format: Format) -> (std::borrow::Cow<'_, Migrator>, Option<crate::progress::Bar>) {
    use std::borrow::Cow;
    match (format == Format::Text).then(crate::progress::Bar::for_terminal).flatten() {
        Some(bar) => (Cow::Owned(m.clone().on_progress(bar.hook())), Some(bar)),
        None => (Cow::Borrowed(m), None),
    }
}

async fn doctor(project: &Project, migrations: &Path, url: &str, format: Format) -> dbguard::Result<()> {
    let r = crate::doctor::examine(project, migrations, url).await;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        for p in &r.points {
            let mark = if p.ok { paint(OK, "ok  ") } else { paint(ERROR, "MISS") };
            println!("{mark} {:<11} {}", p.name, p.detail);
            if !p.ok {
                println!("     {:<11} {} {}", "", paint(DIM, "fix:"), p.fix);
            }
        }
        let style = if r.score == r.total { OK } else { WARN };
        println!("safety score: {}", paint(style, format!("{}/{}", r.score, r.total)));
    }
    if r.score != r.total {
        std::process::exit(1);
    }
    Ok(())
}

async fn rehearse(m: &Migrator, url: &str, format: Format) -> dbguard::Result<()> {
    banner(m.tier_for_url(url), &dbguard::mask_url(url));
    let r = m.rehearse(url).await?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        for s in &r.steps {
            let down = match s.down_restores {
                Some(true) => paint(OK, "down restores"),
                Some(false) => paint(ERROR, "down does not restore"),
                None => paint(DIM, "down not rehearsed"),
            };
            let up = if s.up { paint(OK, "up") } else { paint(ERROR, "up failed") };
            println!("{:>16} {:<40} {up} ({} ms), {down}", s.version, s.name, s.up_ms);
        }
        for f in &r.findings {
            let style = if f.kind == dbguard::FindingKind::Irreversible { WARN } else { ERROR };
            println!("{} {} {}: {:?}", paint(style, "-"), f.version, f.name, f.kind);
            for d in &f.details {
                for line in d.lines() {
                    println!("      {line}");
                }
            }
        }
        let bad = r.findings.iter().filter(|f| f.kind != dbguard::FindingKind::Irreversible).count();
        println!(
            "rehearsed {} migrations on a scratch copy (dropped): {}",
            r.steps.len(),
            if bad == 0 { paint(OK, "every down restores its up") } else { paint(ERROR, format!("{bad} problem(s)")) }
        );
    }
    if !r.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

/// When stdin is a terminal and `check` says a confirmation is needed, asks for it; returns the
/// migrator confirmed, or an error saying nothing was changed.
async fn confirmed_on_terminal(
    m: Migrator,
    db: &mut Database,
    check: impl AsyncFnOnce(&Migrator, &mut Database) -> dbguard::Result<()>,
) -> dbguard::Result<Migrator> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(m);
    }
    match check(&m, db).await {
        Err(Error::ConfirmationRequired(c)) => {
            if ask_confirmation(&c) {
                Ok(m.confirm_production(c.database.clone()))
            } else {
                Err(Error::Refused(format!("aborted: that is not `{}`. nothing was changed.", c.database)))
            }
        }
        _ => Ok(m),
    }
}

/// Runs `f`; in production on a terminal, when it asks for a confirmation, asks for the
/// database's name and runs it again confirmed (the library refuses before writing anything).
async fn asking<T>(
    g: &Global,
    backups: &Backups,
    mut f: impl AsyncFnMut(&Backups) -> dbguard::Result<T>,
) -> dbguard::Result<T> {
    use std::io::IsTerminal;
    match f(backups).await {
        Err(Error::ConfirmationRequired(c)) if g.confirm.is_none() && std::io::stdin().is_terminal() => {
            if ask_confirmation(&c) {
                f(&backups.clone().confirm_production(c.database.clone())).await
            } else {
                Err(Error::Refused(format!("aborted: that is not `{}`. nothing was changed.", c.database)))
            }
        }
        other => other,
    }
}

async fn backups_command(
    g: &Global,
    action: BackupsAction,
    backups: &Backups,
    db: &mut Database,
) -> dbguard::Result<()> {
    let file = dbguard::sqlite_file(db.url());
    match action {
        BackupsAction::List { format } => {
            let snapshots = backups.list(db).await?;
            let files = match &file {
                Some(f) => dbguard::file_backup::list(f)?,
                None => Vec::new(),
            };
            if format == Format::Json {
                let json = serde_json::json!({ "snapshots": snapshots, "files": files });
                println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
                return Ok(());
            }
            println!(
                "{}",
                paint(
                    BOLD,
                    format!(
                        "{:<5} {:<24} {:<9} {:<12} {:>10} {:<9} {:<26} table",
                        "id", "source", "version", "reason", "rows", "verified", "taken at"
                    )
                )
            );
            for s in &snapshots {
                let v = s.migration_version.map_or("-".to_string(), |v| v.to_string());
                let verified = if s.checksum.is_some() { paint(OK, "yes      ") } else { paint(DIM, "not yet  ") };
                println!(
                    "{:<5} {:<24} {:<9} {:<12} {:>10} {verified} {:<26} {}",
                    s.id, s.source_table, v, s.reason, s.row_count, s.created_at, s.location
                );
            }
            if snapshots.is_empty() {
                println!("{}", paint(DIM, "no table snapshots"));
            }
            for f in &files {
                let verified = if f.verified { paint(OK, "verified") } else { paint(WARN, "unverified") };
                println!("file  {} {:<10} {verified} {} bytes", f.path.display(), f.reason, f.bytes);
            }
        }
        BackupsAction::Verify { id } => {
            let results = match id {
                Some(id) => vec![backups.verify(db, id).await?],
                None => backups.verify_all(db).await?,
            };
            let mut bad = 0;
            for v in &results {
                match &v.problem {
                    None => println!(
                        "{} snapshot {} of {} ({} rows)",
                        paint(OK, "ok  "),
                        v.snapshot.id,
                        v.snapshot.source_table,
                        v.snapshot.row_count
                    ),
                    Some(p) => {
                        bad += 1;
                        println!(
                            "{} snapshot {} of {}: {p}",
                            paint(ERROR, "BAD "),
                            v.snapshot.id,
                            v.snapshot.source_table
                        );
                    }
                }
            }
            if id.is_none()
                && let Some(f) = &file
            {
                for b in dbguard::file_backup::list(f)? {
                    match dbguard::file_backup::verify(&b).await {
                        Ok(None) => println!("{} {}", paint(OK, "ok  "), b.path.display()),
                        Ok(Some(p)) => {
                            bad += 1;
                            println!("{} {}: {p}", paint(ERROR, "BAD "), b.path.display());
                        }
                        Err(e) => {
                            bad += 1;
                            println!("{} {}: {e}", paint(ERROR, "BAD "), b.path.display());
                        }
                    }
                }
            }
            if bad > 0 {
                return Err(Error::Refused(format!(
                    "{bad} backup(s) failed verification (listed above)\n  next: do not rely on them; take a fresh backup with `cargo dbguard backup`"
                )));
            }
        }
        BackupsAction::Prune { keep, older_than_days, dry_run } => {
            if keep.is_none() && older_than_days.is_none() {
                return Err(Error::Refused(
                    "say what to prune: `--keep N` and/or `--older-than-days D`; nothing was removed".into(),
                ));
            }
            let policy = PrunePolicy { keep, older_than: older_than_days.map(dbguard::ChronoDuration::days), dry_run };
            let verb = if dry_run { "would remove" } else { "removed" };
            for s in asking(g, backups, async |b| b.prune(db, &policy).await).await? {
                println!("{verb} snapshot {} of {} ({})", s.id, s.source_table, s.created_at);
            }
            if let Some(f) = &file {
                for p in dbguard::file_backup::prune_by(f, &policy)? {
                    println!("{verb} {}", p.display());
                }
            }
        }
    }
    Ok(())
}

fn restore_file(g: &Global, project: &Project, backup: &Path) -> ExitCode {
    let url = database_url(g, project);
    let Some(db_file) = dbguard::sqlite_file(&url) else {
        return fail(format!("--file restores a SQLite database; {} is not one", dbguard::mask_url(&url)), 2);
    };
    let found = match dbguard::file_backup::list(&db_file) {
        Ok(all) => all.into_iter().find(|b| b.path == backup || b.path.file_name() == Some(backup.as_os_str())),
        Err(e) => return fail(e, 1),
    };
    let Some(b) = found else {
        return fail(
            format!(
                "{} is not a backup of {}\n  next: `cargo dbguard backups list` shows them",
                backup.display(),
                db_file.display()
            ),
            2,
        );
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}"), 2),
    };
    match runtime.block_on(dbguard::file_backup::restore(&url, &b)) {
        Ok(r) => {
            println!("{} {} from {}", paint(OK, "restored"), db_file.display(), r.restored.path.display());
            println!("  the database as it was before is in {}", r.pre_restore.path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, exit_code(&e)),
    }
}

struct LintOptions {
    format: LintFormat,
    dialect: Option<DialectArg>,
    strict: bool,
    jobs: Option<usize>,
    rust_sql: bool,
}

/// Whether a directory holds SQL files (at its top or one level down, as migrations do).
fn has_sql(dir: &Path) -> bool {
    let sql = |d: &Path| {
        std::fs::read_dir(d).into_iter().flatten().flatten().any(|e| e.path().extension().is_some_and(|x| x == "sql"))
    };
    sql(dir) || std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| e.path().is_dir() && sql(&e.path()))
}

/// `lint`: exit 0 clean, 1 error-level findings (or warnings with --warnings-as-errors),
/// 2 when it could not run.
fn lint(g: &Global, project: &Project, paths: &[PathBuf], opts: &LintOptions) -> ExitCode {
    use dbguard::lint::{Dialect, Summary, render};
    let url = database_url(g, project);
    let dialect = match opts.dialect {
        Some(DialectArg::Postgres) => Dialect::Postgres,
        Some(DialectArg::Mysql) => Dialect::Mysql,
        Some(DialectArg::Sqlite) => Dialect::Sqlite,
        None => dbguard::BackendKind::from_url(&url).map_or(Dialect::Postgres, |k| k.dialect()),
    };
    // Which paths hold SQL and which Rust. With none given: the migrations directory (which
    // must exist unless the project has Rust sources) and src/.
    let (mut sql_paths, mut rust_files) = (Vec::new(), Vec::new());
    if paths.is_empty() {
        let migrations = project.migrations(g.migrations.as_deref());
        let src = project.root.join("src");
        if migrations.exists() || !src.is_dir() {
            sql_paths.push(migrations);
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
    let lint_config = project.config.lint.clone().unwrap_or_default();
    let mut report = if sql_paths.is_empty() {
        dbguard::LintReport::default()
    } else {
        match dbguard::lint_paths(&sql_paths, dialect, jobs, &lint_config) {
            Ok(r) => r,
            Err(e) => return fail(e, 2),
        }
    };
    if !rust_files.is_empty() {
        match crate::rust_lint::lint_rust(&rust_files, dialect, opts.rust_sql) {
            Ok(r) => {
                let files = report.summary.files + r.files;
                report.findings.extend(lint_config.apply(r.findings));
                report.summary = Summary::of(&report.findings, files);
            }
            Err(e) => return fail(e, 2),
        }
    }
    let format = opts.format;
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match format {
        LintFormat::Text => {
            use std::io::IsTerminal;
            let color = match g.color {
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
    if let Err(e) = written.and_then(|()| out.flush()) {
        return fail(format!("cannot write the report: {e}"), 2);
    }
    if dbguard::lint::fails(&report.findings, opts.strict) { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn print_report(report: &Report, db: &Database, format: Format) {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
        return;
    }
    if let Some(b) = &report.file_backup {
        println!("{} {}", paint(DIM, "backed up to"), b.path.display());
    }
    if let Some(d) = &report.dump {
        println!("{} {}", paint(DIM, "dumped to"), d.display());
    }
    for s in &report.snapshots {
        let v = s.migration_version.map_or(String::new(), |v| format!(" before {v}"));
        println!(
            "{} {} ({} rows, {}){v}: snapshot {}",
            paint(DIM, "snapshot"),
            s.source_table,
            s.row_count,
            s.reason,
            s.id
        );
    }
    for s in &report.applied {
        println!(
            "{} {} {} {}",
            paint(OK, "applied "),
            s.version,
            s.name,
            paint(DIM, format!("({} ms)", s.duration_ms))
        );
    }
    for s in &report.reverted {
        println!(
            "{} {} {} {}",
            paint(WARN, "reverted"),
            s.version,
            s.name,
            paint(DIM, format!("({} ms)", s.duration_ms))
        );
    }
    if !report.counts.is_empty() {
        let counts: Vec<String> = report.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("{} {}", paint(DIM, "row counts recorded:"), counts.join(", "));
    }
    if let Some(f) = &report.fingerprint {
        println!("{} {}", paint(DIM, "schema fingerprint recorded:"), &f[..f.len().min(16)]);
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
        (a, 0) => println!(
            "{} {a} migration{} to {} ({} snapshot{})",
            paint(OK, "applied"),
            plural(a),
            db.url(),
            report.snapshots.len(),
            plural(report.snapshots.len())
        ),
        (_, r) => println!("{} {r} migration{} on {}", paint(WARN, "reverted"), plural(r), db.url()),
    }
}

fn print_dry_run(run: &DryRun, format: Format) {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(run).unwrap_or_default());
        return;
    }
    println!("{}", paint(BOLD, format!("dry run of `{}`: nothing will be changed", run.direction)));
    if run.steps.is_empty() {
        println!("nothing to do");
        return;
    }
    if let Some(d) = &run.file_backup {
        println!("would back up the database file into {}", d.display());
    }
    if let Some(d) = &run.dump {
        println!("would dump the database into {}", d.display());
    }
    for s in &run.steps {
        let tx = if s.transactional { "" } else { " (no transaction)" };
        println!(
            "\n{} {} {} {}{tx}",
            paint(BOLD, run.direction.as_str()),
            s.version,
            s.name,
            paint(DIM, format!("[{}]", s.location))
        );
        for t in &s.snapshots {
            println!("  would snapshot {t}");
        }
        for (t, n) in &s.preserved_counts {
            println!("  would check {t} keeps its {n} rows");
        }
        for f in &s.findings {
            let style = if f.severity == dbguard::lint::Severity::Error { ERROR } else { WARN };
            println!(
                "  {} {} line {}: {}",
                paint(style, format!("{:?}", f.severity).to_lowercase()),
                f.rule,
                f.line,
                f.message
            );
        }
        match (&s.sql, s.kind) {
            (Some(sql), _) => {
                for line in sql.lines() {
                    println!("    {}", paint(DIM, line));
                }
            }
            (None, kind) => println!("    {}", paint(DIM, format!("({} step)", kind.as_str()))),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_status(plan: &Plan, format: Format) {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
        return;
    }
    println!(
        "{}",
        paint(BOLD, format!("{:<20} {:<10} {:<14} {:<26} name", "version", "state", "checksum", "applied at"))
    );
    for e in &plan.entries {
        let state = e.state.as_str();
        let style = match state {
            "applied" | "baseline" => OK,
            "pending" => WARN,
            _ => ERROR,
        };
        let checksum = e.checksum.as_deref().or(e.applied.as_ref().map(|r| r.checksum.as_str())).unwrap_or("");
        let at = e.applied.as_ref().map_or("", |r| r.applied_at.as_str());
        println!(
            "{:<20} {} {:<14} {:<26} {}",
            e.version,
            paint(style, format!("{state:<10}")),
            &checksum[..checksum.len().min(12)],
            at,
            e.name
        );
    }
}
