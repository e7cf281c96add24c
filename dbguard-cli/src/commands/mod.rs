//! One file per command: each resolves nothing itself (the [`Ctx`] has it), calls the library,
//! and prints. The library's guarded path does every write; a command only chooses how the
//! database is opened (read-only for dry runs and reports).

mod backup;
mod backups;
mod baseline;
mod check;
mod doctor;
mod down;
mod fleet;
mod history;
mod init;
mod lint;
mod new;
mod rehearse;
mod repair;
mod reset;
mod restore;
mod status;
mod up;

use crate::Source;
use crate::cli::Command;
use crate::context::Ctx;
use crate::error::CliResult;

/// Runs `command`.
pub async fn run(ctx: &Ctx, command: Command) -> CliResult {
    if let Some(code) = forward(ctx, &command) {
        return Ok(code);
    }
    match command {
        Command::Init { rust } => init::run(ctx, rust),
        Command::New { name, rust, .. } => new::run(ctx, &name, rust),
        Command::Lint { paths, rust_sql, format, dialect, warnings_as_errors, jobs } => {
            let code =
                lint::run(ctx, &paths, &lint::Options { format, dialect, strict: warnings_as_errors, jobs, rust_sql })?;
            // Given a database, the lint measures what the pending migrations would destroy there.
            match ctx.global.database.is_some() {
                true => lint::measure(ctx, &paths, format, code).await,
                false => Ok(code),
            }
        }
        Command::Up { to, dry_run, in_memory, format } => up::run(ctx, to, dry_run, in_memory, format).await,
        Command::Down { to, dry_run, format } => down::run(ctx, to, dry_run, format).await,
        Command::Status { format } => status::run(ctx, format).await,
        Command::Baseline { version, dry_run } => baseline::run(ctx, version, dry_run).await,
        Command::Check { tables, acknowledge, dry_run, format } => {
            check::run(ctx, tables, acknowledge.then_some(dry_run), format).await
        }
        Command::Rehearse { format } => rehearse::run(ctx, format).await,
        Command::Reset { dry_run } => reset::run(ctx, dry_run).await,
        Command::Doctor { format } => doctor::run(ctx, format).await,
        Command::History { format } => history::run(ctx, format).await,
        Command::Repair { version, mark_applied, statement_ran, statement_not_run, dry_run, .. } => {
            let action = match (mark_applied, statement_ran, statement_not_run) {
                (true, ..) => dbguard::Repair::MarkApplied,
                (_, true, _) => dbguard::Repair::StatementRan,
                (_, _, true) => dbguard::Repair::StatementNotRun,
                _ => dbguard::Repair::Forget,
            };
            repair::run(ctx, version, action, dry_run).await
        }
        Command::Backup { tables, dry_run } => backup::run(ctx, &tables, dry_run).await,
        Command::Backups { action } => backups::run(ctx, action).await,
        Command::Restore { id: Some(id), into, drop_unmapped_columns, dry_run, .. } => {
            restore::table(ctx, id, into, drop_unmapped_columns, dry_run).await
        }
        Command::Restore { file: Some(file), dry_run, .. } => restore::file(ctx, &file, dry_run).await,
        Command::Restore { .. } => unreachable!("clap requires an id or --file"),
        Command::Fleet { action, fleet, parallel, canary, continue_on_failure, only, format } => {
            let opts = fleet::Options { file: fleet, parallel, canary, continue_on_failure, only, format };
            fleet::run(ctx, action, opts).await
        }
    }
}

/// Commands that run migrations are run by the project's migrator binary when its migrations
/// are `#[migration]` items (only that binary has them): `cargo run --bin migrator -- <args>`.
fn forward(ctx: &Ctx, command: &Command) -> Option<std::process::ExitCode> {
    let runs_migrations = matches!(
        command,
        Command::Up { .. }
            | Command::Down { .. }
            | Command::Status { .. }
            | Command::Baseline { .. }
            | Command::Repair { .. }
            | Command::Check { .. }
            | Command::Rehearse { .. }
            | Command::Reset { .. }
            | Command::Fleet { .. }
    );
    if !runs_migrations || ctx.source != Source::Directory || ctx.global.migrations.is_some() {
        return None;
    }
    let m = ctx.project.migrator.as_ref()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&m.manifest)
        .args(["--bin", &m.bin, "--"])
        .args(&ctx.args[1..])
        .status();
    Some(match status {
        Ok(s) => std::process::ExitCode::from(s.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(e) => crate::output::fail(&crate::error::CliError::usage(
            format!("cannot run the project's migrator (`cargo run --bin {}` in {}): {e}", m.bin, m.manifest.display()),
            "check that cargo is on PATH",
        )),
    })
}
