//! `rehearse`: up, down and up again on a scratch copy of the database.

use std::process::ExitCode;

use anstream::println;
use dbguard::FindingKind;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::plural;
use crate::output::report::json;
use crate::output::style::{DIM, ERROR, OK, WARN, paint};

pub async fn run(ctx: &Ctx, format: Format) -> CliResult {
    let migrator = ctx.migrator()?;
    ctx.banner();
    let progress = (format == Format::Text).then(|| ctx.progress());
    let migrator = match &progress {
        Some(r) => r.attach(migrator),
        None => migrator,
    };
    // The library copies the database itself; no connection of ours may hold it open.
    let r = migrator.rehearse(&ctx.url).await;
    drop(progress);
    let r = r?;
    if format == Format::Json {
        json(&r);
    } else {
        if r.from_empty {
            println!(
                "{} {} does not exist yet: rehearsing from an empty database",
                paint(WARN, "note:"),
                ctx.masked_url()
            );
        }
        for s in &r.steps {
            let down = match s.down_restores {
                Some(true) => paint(OK, "down restores"),
                Some(false) => paint(ERROR, "down does not restore"),
                None => paint(DIM, "down not rehearsed"),
            };
            let up = if s.up { paint(OK, "up") } else { paint(ERROR, "up failed") };
            println!("{:>16} {:<40} {up} ({} ms), {down}", s.version, s.name, s.up_ms);
            for r in &s.radius {
                println!("{:>16} blast radius {}", "", crate::output::report::radius(r));
            }
        }
        for f in &r.findings {
            let style = if f.kind == FindingKind::Irreversible { WARN } else { ERROR };
            println!("{} {} {}: {}", paint(style, "-"), f.version, f.name, f.kind.describe());
            for d in &f.details {
                for line in d.lines() {
                    println!("      {line}");
                }
            }
        }
        let bad = r.findings.iter().filter(|f| f.kind != FindingKind::Irreversible).count();
        let n = r.steps.len();
        println!(
            "rehearsed {n} migration{} on a scratch copy (dropped): {}",
            plural(n),
            if bad == 0 {
                paint(OK, "every down restores its up")
            } else {
                paint(ERROR, format!("{bad} problem{}", plural(bad)))
            }
        );
    }
    Ok(if r.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
