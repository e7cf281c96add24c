//! `fleet`: one migration set over the targets of a fleet file.

use std::path::PathBuf;
use std::process::ExitCode;

use anstream::{eprintln, println};
use dbguard::{Fleet, FleetFile, FleetOp, TargetStatus};

use crate::cli::{FleetAction, Format};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::report::json;
use crate::output::style::{DIM, ERROR, OK, WARN, paint};
use crate::paths::resolve_sqlite;

/// The flags of `fleet`.
pub struct Options {
    pub file: Option<PathBuf>,
    pub parallel: u16,
    pub canary: Vec<String>,
    pub continue_on_failure: bool,
    pub only: Vec<String>,
    pub format: Format,
}

pub async fn run(ctx: &Ctx, action: FleetAction, o: Options) -> CliResult {
    if ctx.global.database.is_some() {
        return Err(CliError::usage(
            "`--database` does not apply to `fleet`: its targets are the fleet file's",
            "drop -d/--database, or run `cargo dbguard -d URL up` for one database",
        ));
    }
    let file = load(ctx, o.file.as_deref())?;
    let migrator = ctx.migrator()?;
    let mut fleet = Fleet::new(file)
        .parallel(o.parallel.into())
        .canary(o.canary)
        .halt_on_failure(!o.continue_on_failure)
        .only(o.only);
    if let Some(c) = &ctx.global.confirm {
        fleet = fleet.confirm(c);
    }
    let op = match action {
        FleetAction::Up { to, dry_run: true } => FleetOp::DryRunUp(to),
        FleetAction::Up { to, dry_run: false } => FleetOp::Up(to),
        FleetAction::Down { to } => FleetOp::Down(to),
        FleetAction::Status => FleetOp::Status,
        FleetAction::Check => FleetOp::Check,
        FleetAction::Rehearse => FleetOp::Rehearse,
    };
    if o.format == Format::Text {
        let n = fleet.selected()?.len();
        eprintln!("{}", paint(DIM, format!("fleet: {n} target(s), {} at a time", o.parallel)));
        // A line per target as it ends, so that a CI log shows where a long fleet run is.
        fleet = fleet.on_target(|t, done, total| {
            let how = match &t.status {
                TargetStatus::Ok => "ok",
                TargetStatus::Failed(_) => "failed",
                TargetStatus::Skipped(_) => "skipped",
            };
            let width = total.to_string().len();
            eprintln!("[{done:>width$}/{total}] {} {how} ({} ms)", t.name, t.duration_ms);
        });
    }
    let writes = matches!(op, FleetOp::Up(_) | FleetOp::Down(_));
    let report = fleet.run(&migrator, op).await?;
    if o.format == Format::Json {
        json(&report);
    } else {
        print(&report, writes);
    }
    Ok(if report.all_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The fleet file given, else the configuration's `fleet`; relative SQLite paths start at the
/// file's directory (the project root for the configuration), never the current directory.
fn load(ctx: &Ctx, path: Option<&std::path::Path>) -> Result<FleetFile, CliError> {
    let var = |k: &str| std::env::var(k).ok();
    let (mut file, base) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                CliError::usage(
                    format!("cannot read the fleet file {}: {e}", p.display()),
                    "check the path given to --fleet",
                )
            })?;
            let name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
            let dir = std::path::absolute(p).ok().and_then(|a| a.parent().map(PathBuf::from));
            (FleetFile::parse(&text, &name, &var)?, dir.unwrap_or_else(|| ctx.project.root.clone()))
        }
        None => {
            let spec = ctx.project.config.fleet.clone().ok_or_else(|| {
                CliError::usage(
                    "no fleet: neither --fleet FILE nor `fleet` in the configuration",
                    "write a fleet file with [[target]] tables (name, url) and pass --fleet FILE",
                )
            })?;
            let name = ctx
                .project
                .manifest
                .as_deref()
                .and_then(|m| m.file_name())
                .map_or_else(|| "Cargo.toml".to_string(), |n| n.to_string_lossy().into_owned());
            (FleetFile::from_spec(spec, &name, &var)?, ctx.project.root.clone())
        }
    };
    for t in &mut file.targets {
        t.url = resolve_sqlite(&t.url, &base);
    }
    Ok(file)
}

fn print(r: &dbguard::FleetReport, writes: bool) {
    println!("{:<20} {:<10} {:<9} {:>9} {:>9}  {}", "target", "version", "status", "time", "snapshots", "note");
    for t in &r.targets {
        let version = match &t.outcome {
            Some(o) if o.before != o.after => format!("{}→{}", v(o.before), v(o.after)),
            Some(o) => v(o.after),
            None => "-".into(),
        };
        let (status, note) = match &t.status {
            // Padded before painting: colour codes would count in the width.
            TargetStatus::Ok => {
                (paint(OK, "ok       "), t.outcome.as_ref().map(|o| o.note.clone()).unwrap_or_default())
            }
            TargetStatus::Failed(e) => (paint(ERROR, "failed   "), e.lines().next().unwrap_or_default().to_string()),
            TargetStatus::Skipped(why) => (paint(WARN, "skipped  "), why.clone()),
        };
        let name = if t.canary { format!("{} (canary)", t.name) } else { t.name.clone() };
        let snapshots = t.outcome.as_ref().map_or(0, |o| o.snapshots);
        println!("{name:<20} {version:<10} {status} {:>7}ms {snapshots:>9}  {note}", t.duration_ms);
    }
    let (ok, failed, skipped) = r.counts();
    println!("{ok} ok, {failed} failed, {skipped} skipped");
    for t in r.targets.iter().filter(|t| matches!(t.status, TargetStatus::Failed(_))) {
        if let TargetStatus::Failed(e) = &t.status {
            eprintln!("\n{} {} ({}):\n{e}", paint(ERROR, "failed:"), t.name, t.url);
        }
    }
    if failed > 0 && writes {
        // Each failure's own advice names the single-database command; in a fleet, the fleet's.
        eprintln!(
            "\n{} fix what failed, then run the same `cargo dbguard fleet ...` command again (not `cargo dbguard up` on each): every target continues where it stopped",
            paint(WARN, "next:")
        );
    } else if failed > 0 {
        // A read (status, check, rehearse, a dry run) changed nothing: there is nothing to continue.
        eprintln!(
            "\n{} fix what failed (nothing was changed), then run the same `cargo dbguard fleet ...` command again to check",
            paint(WARN, "next:")
        );
    }
    if let Some(why) = r.halted.as_ref().filter(|_| skipped > 0) {
        eprintln!(
            "\n{} {why}: the targets not yet started were skipped; run the same command again to continue",
            paint(WARN, "halted:")
        );
    }
}

fn v(version: Option<i64>) -> String {
    version.map_or("none".into(), |v| v.to_string())
}
