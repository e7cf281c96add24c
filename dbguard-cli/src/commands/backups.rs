//! `backups list | verify | prune`.

use std::process::ExitCode;

use anstream::println;
use dbguard::{OpenMode, PrunePolicy};

use crate::cli::{BackupsAction, Format};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

use crate::output::report::json;
use crate::output::style::{BOLD, DIM, ERROR, OK, WARN, paint};

pub async fn run(ctx: &Ctx, action: BackupsAction) -> CliResult {
    ctx.banner();
    let backups = ctx.backups();
    match action {
        BackupsAction::List { format } => {
            let mut db = ctx.open(OpenMode::ReadOnly, false).await?;
            let all = backups.list_all(&mut db).await;
            db.close().await.ok();
            let all = all?;
            if format == Format::Json {
                json(&all);
                return Ok(ExitCode::SUCCESS);
            }
            // Columns as wide as what they hold (`pre-restore-rows`, long table names).
            let width =
                |f: fn(&dbguard::SnapshotInfo) -> usize, min: usize| all.snapshots.iter().map(f).fold(min, usize::max);
            let (sw, rw) = (width(|s| s.source_table.len(), 24), width(|s| s.reason.len(), 12));
            println!(
                "{}",
                paint(
                    BOLD,
                    format!(
                        "{:<5} {:<sw$} {:<9} {:<rw$} {:>10} {:<9} {:<26} table",
                        "id", "source", "version", "reason", "rows", "verified", "taken at"
                    )
                )
            );
            for s in &all.snapshots {
                let v = s.migration_version.map_or("-".to_string(), |v| v.to_string());
                let verified = if s.checksum.is_some() { paint(OK, "yes      ") } else { paint(DIM, "not yet  ") };
                println!(
                    "{:<5} {:<sw$} {:<9} {:<rw$} {:>10} {verified} {:<26} {}",
                    s.id, s.source_table, v, s.reason, s.row_count, s.created_at, s.location
                );
            }
            if all.snapshots.is_empty() {
                println!("{}", paint(DIM, "no table snapshots"));
            }
            for t in &all.leftovers {
                println!(
                    "{} {t}: an incomplete snapshot an interrupted run left (`cargo dbguard backups prune --keep N` removes it)",
                    paint(WARN, "left ")
                );
            }
            for f in &all.files {
                let verified = if f.incomplete {
                    paint(WARN, "(an interrupted run left it half-written; `prune` removes it)")
                } else if f.verified {
                    paint(OK, "verified")
                } else {
                    paint(WARN, "unverified")
                };
                println!("file  {} {:<10} {verified} {} bytes", f.path.display(), f.reason, f.bytes);
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupsAction::Verify { id } => {
            // Verifying records a snapshot's checksum the first time: the database must exist.
            let mut db = ctx.open(OpenMode::Existing, false).await?;
            let snapshots = match id {
                Some(id) => backups.verify(&mut db, id).await.map(|v| vec![v]),
                None => backups.verify_all(&mut db).await,
            };
            let files = if id.is_none() { backups.verify_files(&db).await } else { Ok(Vec::new()) };
            let leftovers =
                if id.is_none() { backups.list_all(&mut db).await.map(|l| l.leftovers) } else { Ok(Vec::new()) };
            db.close().await.ok();
            for t in leftovers? {
                println!(
                    "{} {t}: an incomplete snapshot an interrupted run left; not a backup (`cargo dbguard backups prune --keep N` removes it)",
                    paint(WARN, "left")
                );
            }
            let mut bad = 0;
            for v in snapshots? {
                match &v.problem {
                    None => println!(
                        "{} snapshot {} of {} ({} rows)",
                        paint(OK, "ok  "),
                        v.snapshot.id,
                        v.snapshot.source_table,
                        v.snapshot.row_count
                    ),
                    Some(p) => {
                        bad += 1;
                        println!(
                            "{} snapshot {} of {}: {p}",
                            paint(ERROR, "BAD "),
                            v.snapshot.id,
                            v.snapshot.source_table
                        );
                    }
                }
            }
            for f in files? {
                match &f.problem {
                    None => println!("{} {}", paint(OK, "ok  "), f.backup.path.display()),
                    // Not a backup, and never offered as one: named, not failed.
                    Some(p) if f.backup.incomplete => {
                        println!("{} {}: {p}", paint(WARN, "left"), f.backup.path.display())
                    }
                    Some(p) => {
                        bad += 1;
                        println!("{} {}: {p}", paint(ERROR, "BAD "), f.backup.path.display());
                    }
                }
            }
            if bad > 0 {
                return Err(CliError::Failed(format!(
                    "{bad} backup(s) failed verification (listed above)\n  next: do not rely on them; take a fresh backup with `cargo dbguard backup`"
                )));
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupsAction::Prune { keep, older_than_days, dry_run } => {
            if keep.is_none() && older_than_days.is_none() {
                return Err(CliError::usage(
                    "say what to prune; nothing was removed",
                    "`cargo dbguard backups prune --keep N` and/or `--older-than-days D` (add `--dry-run` to see what would go)",
                ));
            }
            let policy = PrunePolicy { keep, older_than: older_than_days.map(dbguard::ChronoDuration::days), dry_run };
            let mode = if dry_run { OpenMode::ReadOnly } else { OpenMode::Existing };
            let mut db = ctx.open(mode, false).await?;
            let pruned = backups.prune_all(&mut db, &policy).await;
            db.close().await.ok();
            let pruned = pruned?;
            let verb = if dry_run { "would remove" } else { "removed" };
            for s in &pruned.snapshots {
                println!("{verb} snapshot {} of {} ({})", s.id, s.source_table, s.created_at);
            }
            for p in &pruned.files {
                println!("{verb} {}", p.display());
            }
            for t in &pruned.leftovers {
                println!("{verb} {t} (an incomplete snapshot an interrupted run left)");
            }
            if pruned.snapshots.is_empty() && pruned.files.is_empty() && pruned.leftovers.is_empty() {
                println!("nothing to prune");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
