//! `repair`: resolve a dirty migration after finishing or undoing it by hand.

use std::process::ExitCode;

use anstream::println;
use dbguard::{OpenMode, Repair};

use crate::context::Ctx;
use crate::error::CliResult;

pub async fn run(ctx: &Ctx, version: i64, action: Repair, dry_run: bool) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let result = if dry_run {
        migrator.dry_run_repair(&mut db, version, action).await
    } else {
        migrator.repair(&mut db, version, action).await
    };
    db.close().await.ok();
    result?;
    let what = match action {
        Repair::MarkApplied => "recorded as applied",
        Repair::Forget => "forgotten; it will run again",
        Repair::StatementRan => "the statement it stopped at recorded as run: `cargo dbguard up` continues after it",
        Repair::StatementNotRun => "the statement it stopped at recorded as not run: `cargo dbguard up` runs it",
    };
    if dry_run {
        println!("migration {version} is dirty; a repair would leave it {what}. Nothing was changed");
    } else {
        println!("migration {version}: {what}");
    }
    Ok(ExitCode::SUCCESS)
}
