//! `up`: apply pending migrations.

use std::process::ExitCode;

use anstream::{eprintln, println};
use dbguard::{Database, OpenMode};

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::report;
use crate::output::style::{DIM, OK, paint};

pub async fn run(ctx: &Ctx, to: Option<i64>, dry_run: bool, in_memory: bool, format: Format) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    if dry_run {
        // A dry run never creates the database: a missing SQLite file is planned against an
        // empty database in memory, which is what `up` would create.
        let missing = dbguard::sqlite_file(&ctx.url).filter(|f| !f.exists());
        let mut db = match &missing {
            Some(_) => Database::open("sqlite::memory:", OpenMode::ReadOnly).await?,
            None => ctx.open(OpenMode::ReadOnly, in_memory).await?,
        };
        if let Some(f) = &missing {
            say(format, &format!("{} does not exist yet: `up` would create it, empty", f.display()));
        }
        let plan = migrator.dry_run_up(&mut db, to).await;
        db.close().await.ok();
        let plan = plan?;
        report::dry_run(&plan, format);
        return Ok(report::stops(&plan));
    }
    let mut db = ctx.open(OpenMode::CreateIfMissing, in_memory).await?;
    if db.created() {
        // The file as the driver opened it (the URL's path percent-decoded).
        let file = dbguard::sqlite_file(db.url()).map_or_else(|| db.url().to_string(), |f| f.display().to_string());
        say(format, &format!("{} {file}: a new, empty database", paint(OK, "created")));
    }
    let bar = (format == Format::Text).then(|| ctx.progress());
    let migrator = match &bar {
        Some(r) => r.attach(migrator),
        None => migrator,
    };
    let result = migrator.up(&mut db, to).await;
    drop(bar);
    let url = db.url().to_string();
    db.close().await.ok();
    report::run(&result?, &url, dbguard::Direction::Up, format);
    Ok(ExitCode::SUCCESS)
}

/// A line for people: on stdout in text, on stderr when stdout is JSON.
fn say(format: Format, line: &str) {
    match format {
        Format::Text => println!("{line}"),
        Format::Json => eprintln!("{}", paint(DIM, line)),
    }
}
