//! `baseline`: record an existing database as being at a version.

use std::process::ExitCode;

use anstream::println;
use dbguard::OpenMode;

use crate::context::Ctx;
use crate::error::CliResult;

pub async fn run(ctx: &Ctx, version: i64, dry_run: bool) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let result = if dry_run {
        migrator.dry_run_baseline(&mut db, version).await
    } else {
        migrator.baseline(&mut db, version).await
    };
    let url = db.url().to_string();
    db.close().await.ok();
    let report = result?;
    let verb = if dry_run { "would record" } else { "recorded" };
    println!("{verb} {} migrations as baseline at {version} on {url}", report.applied.len());
    Ok(ExitCode::SUCCESS)
}
