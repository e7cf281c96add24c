//! The command line's grammar (clap): every command, its arguments and the global flags. Parsed
//! once in [`crate::main`]; the flags are resolved into a [`crate::context::Ctx`].

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// `cargo dbguard`.
#[derive(Parser, Debug)]
#[command(
    name = "cargo dbguard",
    bin_name = "cargo dbguard",
    version,
    about = "Database migrations that cannot silently lose your data",
    after_help = "Configuration: flags > environment (DATABASE_URL, DBGUARD_MIGRATIONS, DBGUARD_ENV) > .env > [package.metadata.dbguard] > defaults. Relative SQLite paths and migration folders from the environment, .env or Cargo.toml start at the project root; from a flag, at the current directory. See docs/cli.md."
)]
pub struct Cli {
    /// Flags that apply to every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that apply to every command.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Database URL (sqlite://file.db, postgres://..., mysql://...); else DATABASE_URL, .env,
    /// the configuration, or sqlite://dbguard.db in the project.
    #[arg(long, short = 'd', global = true)]
    pub database: Option<String>,
    /// Directory of SQL migrations; else DBGUARD_MIGRATIONS, the configuration, or migrations/.
    #[arg(long, short = 'm', global = true)]
    pub migrations: Option<PathBuf>,
    /// Accept existing empty or placeholder down migrations as irreversible (adopting dbguard on
    /// a project with history).
    #[arg(long, global = true)]
    pub accept_legacy_downs: bool,
    /// Run even though applied migrations were edited since they ran.
    #[arg(long, global = true)]
    pub allow_drift: bool,
    /// Run even though applied migrations are missing from the directory.
    #[arg(long, global = true)]
    pub allow_missing: bool,
    /// Apply pending migrations that sort before the newest applied one.
    #[arg(long, global = true)]
    pub allow_out_of_order: bool,
    /// Seconds to wait for another runner's lock [default: 120].
    #[arg(long, global = true)]
    pub lock_timeout: Option<u64>,
    /// MySQL/MariaDB: when the runner holding the lock is gone (killed, its machine lost) but
    /// the server still runs its statement, end that statement instead of waiting; the
    /// migration it belonged to is then continued by this run.
    #[arg(long, global = true)]
    pub kill_stale_runner: bool,
    /// Environment tier: dev, staging or prod; else DBGUARD_ENV or `env` in the configuration.
    /// It can raise a database's tier, never lower it: a URL the configuration lists as prod, or
    /// a database on another host, is prod whatever this says.
    #[arg(long = "env", global = true)]
    pub tier: Option<String>,
    /// Confirms a destructive change to the production database with that name (non-interactive
    /// runs; a terminal asks instead).
    #[arg(long, value_name = "DATABASE-NAME", global = true)]
    pub confirm: Option<String>,
    /// No progress bar or progress lines on standard error (results, warnings and errors are
    /// printed as always).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Set up the project: migrations/, [package.metadata.dbguard] in Cargo.toml, .env.example,
    /// .gitignore entries for the database, its backups, dumps and lock files.
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
    /// Apply pending migrations (all, or up to --to). Creates a missing SQLite database, and says so.
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Show what would run (SQL, snapshots, counts, lint) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Allow an in-memory SQLite database (sqlite::memory:), which is gone when the command
        /// ends: to check that the migrations apply to an empty database.
        #[arg(long)]
        in_memory: bool,
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
    Baseline {
        version: i64,
        /// Show what would be recorded and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
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
        /// SQL dialect (default: the database URL's: `--database`, `DATABASE_URL`, the configuration, else the default sqlite://dbguard.db).
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
        /// Accept the current row counts as the ones later checks compare with (after a
        /// row-count alert was looked into and the rows went on purpose).
        #[arg(long)]
        acknowledge: bool,
        /// With --acknowledge: show the counts that would be accepted and change nothing.
        #[arg(long, requires = "acknowledge")]
        dry_run: bool,
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
    Reset {
        /// Show what would be dropped and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the project's safety setup and print a score, with what to do for each missing point
    ///
    /// Lint-clean migrations, a down for each, lint in CI, a recent verified backup, a writable
    /// audit log, a prod tier, and `preserves` on the critical tables. Exit 0 when all hold.
    Doctor {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Audited commands on this database (who ran what, when, with what outcome), newest first,
    /// from the audit file (which outlives resets and restores).
    History {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Resolve a dirty migration after finishing or undoing its changes by hand, or say whether
    /// the statement it stopped at ran.
    #[command(group(clap::ArgGroup::new("action").required(true)))]
    Repair {
        version: i64,
        /// Its changes are complete: record it as applied.
        #[arg(long, group = "action")]
        mark_applied: bool,
        /// Its changes are undone: forget it so that it runs again.
        #[arg(long, group = "action")]
        forget: bool,
        /// The statement it stopped at is complete (checked, or finished by hand): `up`
        /// continues after it.
        #[arg(long, group = "action")]
        statement_ran: bool,
        /// The statement it stopped at is undone or never ran: `up` runs it.
        #[arg(long, group = "action")]
        statement_not_run: bool,
        /// Check that the migration is dirty and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Back up now: snapshots of the named tables, or (SQLite, no --table) the whole file.
    Backup {
        /// A table to snapshot (repeatable).
        #[arg(long = "table", short = 't')]
        tables: Vec<String>,
        /// Show what would be copied and change nothing.
        #[arg(long)]
        dry_run: bool,
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
        /// Show what would be restored and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run one migration set over many databases: the targets of a fleet file
    ///
    /// Each target is a full guarded run (lock, snapshots, audit, tiers). Canaries run first
    /// and stop the rest if one fails; a failure stops targets not yet started unless
    /// --continue-on-failure. A production fleet needs `--confirm fleet:<file name>`. A re-run
    /// continues where a failed or interrupted run stopped. Exit 1 unless every target ran.
    Fleet {
        #[command(subcommand)]
        action: FleetAction,
        /// The fleet file (TOML, `[[target]]` tables with name, url, schema, tier, tags);
        /// default: `fleet` in the configuration.
        #[arg(long, global = true)]
        fleet: Option<PathBuf>,
        /// Targets run at once.
        #[arg(long, default_value_t = 1, global = true, value_parser = clap::value_parser!(u16).range(1..))]
        parallel: u16,
        /// Targets to run first (comma-separated names); if one fails, no other starts.
        #[arg(long, value_delimiter = ',', global = true)]
        canary: Vec<String>,
        /// Go on with the other targets after a failure (a failed canary still stops the run).
        #[arg(long, global = true)]
        continue_on_failure: bool,
        /// Only targets with this tag (repeatable).
        #[arg(long, global = true)]
        only: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
        format: Format,
    },
}

/// `fleet` subcommands.
#[derive(Subcommand, Debug, Clone, Copy)]
pub enum FleetAction {
    /// Apply pending migrations on every target.
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
        /// Show what would be applied on each target, and the blast radius measured now,
        /// without writing anything (no confirmation needed).
        #[arg(long)]
        dry_run: bool,
    },
    /// Revert every target to a version.
    Down {
        /// Keep this version and everything before it.
        #[arg(long)]
        to: i64,
    },
    /// Each target's version and pending migrations (read-only).
    Status,
    /// Each target's health (read-only); a critical target fails.
    Check,
    /// Rehearse the pending migrations on a scratch copy of each target.
    Rehearse,
}

/// `backups` subcommands.
#[derive(Subcommand, Debug)]
pub enum BackupsAction {
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

/// `lint --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    // Code frames for people.
    Text,
    // `{"findings": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

/// `lint --dialect`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialectArg {
    // PostgreSQL.
    Postgres,
    // MySQL and MariaDB.
    Mysql,
    // SQLite.
    Sqlite,
}

/// `--format` of the other commands.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    // For people.
    Text,
    // Stable keys (see docs/cli.md).
    Json,
}

/// `--color`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    // When stdout is a terminal and NO_COLOR is unset.
    Auto,
    // Always.
    Always,
    // Never.
    Never,
}

/// The whole grammar, for tests that walk every command.
pub fn command() -> clap::Command {
    Cli::command()
}
