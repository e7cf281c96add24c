//! `history`: the audited commands on this database, newest first, from the audit file (the
//! record of truth, which outlives resets and file restores); from the database's own copy
//! when there is no file.

use std::process::ExitCode;

use anstream::{eprintln, println};
use dbguard::OpenMode;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;

use crate::output::report::json;
use crate::output::style::{DIM, ERROR, OK, WARN, paint};

pub async fn run(ctx: &Ctx, format: Format) -> CliResult {
    ctx.banner();
    let mut entries = dbguard::audit::read_file(&ctx.audit_file, &ctx.url)?;
    if entries.is_empty() && !ctx.audit_file.exists() {
        eprintln!(
            "{}",
            paint(DIM, format!("no audit file at {}: reading the database's own copy", ctx.audit_file.display()))
        );
        let mut db = ctx.open(OpenMode::ReadOnly, false).await?;
        entries = dbguard::audit::read(&mut db).await?;
        db.close().await.ok();
    }
    if format == Format::Json {
        json(&entries);
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        let style = match e.outcome.as_str() {
            "ok" => OK,
            "interrupted" => WARN,
            _ => ERROR,
        };
        let migrations = e.migrations.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        println!(
            "{} {:<8} {:<22} {:<11} {} [{}] {}",
            e.at,
            e.tier,
            e.command,
            paint(style, &e.outcome),
            e.by,
            migrations,
            e.message.as_deref().map(|m| m.lines().next().unwrap_or_default()).unwrap_or_default()
        );
    }
    if entries.is_empty() {
        println!("{}", paint(DIM, "no audited commands yet"));
    }
    Ok(ExitCode::SUCCESS)
}
