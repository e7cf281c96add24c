//! `down`: revert applied migrations.

use std::process::ExitCode;

use dbguard::OpenMode;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::report;

pub async fn run(ctx: &Ctx, to: i64, dry_run: bool, format: Format) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    if dry_run {
        let mut db = ctx.open(OpenMode::ReadOnly, false).await?;
        let plan = migrator.dry_run_down(&mut db, to).await;
        db.close().await.ok();
        let plan = plan?;
        report::dry_run(&plan, format);
        return Ok(report::stops(&plan));
    }
    let mut db = ctx.open(OpenMode::Existing, false).await?;
    let bar = (format == Format::Text).then(|| ctx.progress());
    let migrator = match &bar {
        Some(r) => r.attach(migrator),
        None => migrator,
    };
    let result = migrator.down(&mut db, to).await;
    drop(bar);
    let url = db.url().to_string();
    db.close().await.ok();
    report::run(&result?, &url, dbguard::Direction::Down, format);
    Ok(ExitCode::SUCCESS)
}
