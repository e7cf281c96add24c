//! `check`: the database's health; `--acknowledge` accepts the current row counts.

use std::process::ExitCode;

use anstream::println;
use dbguard::{Health, OpenMode, Status};

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

use crate::output::report::json;
use crate::output::style::{ERROR, OK, WARN, paint};

/// `acknowledge`: `Some(dry_run)` to accept the current row counts.
pub async fn run(ctx: &Ctx, tables: Vec<String>, acknowledge: Option<bool>, format: Format) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let tables =
        if tables.is_empty() { ctx.project.config.critical_tables.clone().unwrap_or_default() } else { tables };
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    // Never creates the database: a missing one is the most critical finding of all.
    let mode = if acknowledge == Some(true) { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = match ctx.open(mode, false).await {
        Ok(db) => db,
        Err(CliError::Dbguard(e @ dbguard::Error::DatabaseMissing { .. })) => {
            let mut health = Health::unreachable(ctx.tier().tier.as_str(), &ctx.masked_url(), e.to_string());
            health.expected_version = migrator.migrations().last().map(|m| m.version());
            print(&health, format);
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e),
    };
    if let Some(dry_run) = acknowledge {
        let counts = if dry_run {
            migrator.dry_run_acknowledge(&mut db, &names).await
        } else {
            migrator.acknowledge(&mut db, &names).await
        };
        db.close().await.ok();
        let counts = counts?;
        if counts.is_empty() {
            println!(
                "nothing to accept: no table is watched; name them (`cargo dbguard check --acknowledge --table users`) or set `critical-tables` in the configuration; nothing was changed"
            );
        }
        for (t, n) in &counts {
            if dry_run {
                println!("would accept {t}: {n} rows as what `check` compares with; nothing was changed");
            } else {
                println!("{} {t}: {n} rows are now what `check` compares with", paint(OK, "accepted"));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let threshold = f64::from(ctx.project.config.alert_threshold.unwrap_or(5)) / 100.0;
    let health = migrator.check(&mut db, &names, &names, threshold).await;
    db.close().await.ok();
    let health = health?;
    print(&health, format);
    Ok(if health.status == Status::Healthy { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print(health: &Health, format: Format) {
    if format == Format::Json {
        return json(health);
    }
    let style = match health.status {
        Status::Healthy => OK,
        Status::Degraded => WARN,
        Status::Critical => ERROR,
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
