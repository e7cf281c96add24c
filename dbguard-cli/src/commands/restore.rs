//! `restore <ID>` (a table from a snapshot) and `restore --file <BACKUP>` (a SQLite database
//! from a file backup).

use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use dbguard::{OpenMode, RestoreOptions};

use crate::context::Ctx;
use crate::error::CliResult;

use crate::output::style::{OK, WARN, paint};

pub async fn table(ctx: &Ctx, id: i64, into: Option<String>, drop_unmapped_columns: bool, dry_run: bool) -> CliResult {
    ctx.banner();
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let opts = RestoreOptions { into, drop_unmapped_columns, dry_run };
    // A restore of millions of rows says where it is (a bar, or lines on a pipe).
    let progress = ctx.progress();
    let r = progress.attach_backups(ctx.backups()).restore(&mut db, id, &opts).await;
    drop(progress);
    db.close().await.ok();
    let r = r?;
    let verb = if dry_run { "would restore" } else { "restored" };
    let into = if r.created { format!("{} (a new table)", r.table) } else { r.table.clone() };
    let rows = if r.rows == 1 { "row" } else { "rows" };
    if r.snapshot.holds_values() {
        let verb = if dry_run { "would write back" } else { "wrote back" };
        let (n, loc) = (r.rows, &r.snapshot.location);
        println!("{} the values of {n} {rows} of {into}, by key, from snapshot {id} ({loc})", paint(OK, verb));
    } else {
        println!("{} {} {rows} into {into} from snapshot {} ({})", paint(OK, verb), r.rows, id, r.snapshot.location);
    }
    println!("  columns copied: {}", r.mapped.join(", "));
    if !r.unmapped.is_empty() {
        println!("  {} {}", paint(WARN, "not restored (no longer in the table):"), r.unmapped.join(", "));
    }
    if !r.defaulted.is_empty() {
        println!("  left to their defaults: {}", r.defaulted.join(", "));
    }
    if let Some(p) = r.pre_restore {
        let rows = if p.row_count == 1 { "row" } else { "rows" };
        let which = if p.holds_some_rows() { format!("{rows} with those keys") } else { format!("previous {rows}") };
        let what = if r.snapshot.holds_values() { "overwrote the values of" } else { "replaced" };
        println!("  it {what} the table's {} {which}, kept in snapshot {} ({})", p.row_count, p.id, p.location);
    }
    if dry_run {
        println!("nothing was changed");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn file(ctx: &Ctx, backup: &Path, dry_run: bool) -> CliResult {
    ctx.banner();
    // A bare name is a backup's name as `backups list` shows it; a path is relative to where
    // the command runs (absolute in messages and the audit log).
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = crate::paths::absolute(&cwd, backup);
    let backup = if backup.components().count() > 1 { path.as_path() } else { backup };
    let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
    let mut db = ctx.open(mode, false).await?;
    let progress = ctx.progress();
    let backups = progress.attach_backups(ctx.backups());
    if dry_run {
        let b = backups.dry_run_restore_file(&mut db, backup).await;
        db.close().await.ok();
        let b = b?;
        println!(
            "would restore {} from {} (taken {}, verified); nothing was changed",
            ctx.masked_url(),
            b.path.display(),
            b.created_at
        );
        return Ok(ExitCode::SUCCESS);
    }
    let r = backups.restore_file(&mut db, backup).await;
    drop(progress);
    db.close().await.ok();
    let r = r?;
    println!("{} {} from {}", paint(OK, "restored"), r.restored.source.display(), r.restored.path.display());
    println!("  the database as it was before is in {}", r.pre_restore.path.display());
    Ok(ExitCode::SUCCESS)
}
