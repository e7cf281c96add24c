//! `backup`: snapshots of named tables, or (SQLite, no --table) a whole-file backup.

use std::process::ExitCode;

use anstream::println;
use dbguard::OpenMode;

use crate::context::Ctx;
use crate::error::CliResult;

use crate::output::style::{OK, paint};

pub async fn run(ctx: &Ctx, tables: &[String], dry_run: bool) -> CliResult {
    ctx.banner();
    // Long snapshots and file backups say where they are (a bar, or lines on a pipe).
    let progress = ctx.progress();
    let backups = progress.attach_backups(ctx.backups());
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    let file = tables.is_empty();
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let result = if dry_run {
        backups.dry_run_back_up(&mut db, &names, file).await
    } else {
        backups.back_up(&mut db, &names, file).await
    };
    drop(progress);
    db.close().await.ok();
    let r = result?;
    if dry_run {
        for s in &r.snapshots {
            println!("would snapshot {} ({} rows)", s.source_table, s.row_count);
        }
        if let Some(d) = &r.file_into {
            println!("would back up the database file into {}", d.display());
        }
        println!("nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(b) = &r.file {
        println!("{} {} ({} tables, verified)", paint(OK, "backed up to"), b.path.display(), b.tables.len());
    }
    for s in &r.snapshots {
        println!(
            "{} {}: snapshot {} ({}, {} rows)",
            paint(OK, "backed up"),
            s.source_table,
            s.id,
            s.location,
            s.row_count
        );
    }
    Ok(ExitCode::SUCCESS)
}
