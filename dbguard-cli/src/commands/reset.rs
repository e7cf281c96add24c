//! `reset`: drop the database, create it again and migrate it (dev and staging only).

use std::process::ExitCode;

use anstream::println;

use crate::context::Ctx;
use crate::error::CliResult;

use crate::output::style::{OK, paint};

pub async fn run(ctx: &Ctx, dry_run: bool) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    // The library opens the database itself: no connection of ours may hold it open.
    if dry_run {
        let r = migrator.dry_run_reset(&ctx.url).await?;
        println!(
            "would drop {} ({} tables: {}), create it again and apply {} migrations; nothing was changed",
            ctx.masked_url(),
            r.dropped_tables.len(),
            r.dropped_tables.join(", "),
            migrator.migrations().len()
        );
        if let Some(b) = &r.backup {
            println!("would back up to {} first", b.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let progress = ctx.progress();
    let r = progress.attach(migrator).reset(&ctx.url).await;
    drop(progress);
    let r = r?;
    if let Some(b) = &r.backup {
        println!("{} {}", paint(OK, "backed up to"), b.display());
    }
    println!("{} {} and applied {} migrations", paint(OK, "re-created"), ctx.masked_url(), r.report.applied.len());
    Ok(ExitCode::SUCCESS)
}
