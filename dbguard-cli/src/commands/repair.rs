//! `repair`: resolve a dirty migration after finishing or undoing it by hand.

use std::process::ExitCode;

use anstream::println;
use dbguard::{OpenMode, Repair};

use crate::context::Ctx;
use crate::error::CliResult;

pub async fn run(ctx: &Ctx, version: i64, mark_applied: bool, dry_run: bool) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let action = if mark_applied { Repair::MarkApplied } else { Repair::Forget };
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let result = if dry_run {
        migrator.dry_run_repair(&mut db, version, action).await
    } else {
        migrator.repair(&mut db, version, action).await
    };
    db.close().await.ok();
    result?;
    let what = if mark_applied { "marked applied" } else { "forgotten; it will run again" };
    if dry_run {
        println!("migration {version} is dirty and would be {what}; nothing was changed");
    } else {
        println!("migration {version}: {what}");
    }
    Ok(ExitCode::SUCCESS)
}
