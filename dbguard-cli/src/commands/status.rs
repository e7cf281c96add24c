//! `status`: every migration and its state. Read-only: a missing database is reported, never
//! created.

use std::process::ExitCode;

use dbguard::OpenMode;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::report;

pub async fn run(ctx: &Ctx, format: Format) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let mut db = ctx.open(OpenMode::ReadOnly, false).await?;
    let plan = migrator.status(&mut db).await;
    db.close().await.ok();
    report::status(&plan?, format);
    Ok(ExitCode::SUCCESS)
}
