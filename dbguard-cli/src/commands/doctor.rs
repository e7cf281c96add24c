//! `doctor`: the project's safety score.

use std::process::ExitCode;

use anstream::println;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::report::json;
use crate::output::style::{DIM, ERROR, OK, WARN, paint};

pub async fn run(ctx: &Ctx, format: Format) -> CliResult {
    let r = crate::doctor::examine(&ctx.project, &ctx.migrations, &ctx.url).await;
    if format == Format::Json {
        json(&r);
    } else {
        for p in &r.points {
            let mark = if p.ok { paint(OK, "ok  ") } else { paint(ERROR, "MISS") };
            println!("{mark} {:<11} {}", p.name, p.detail);
            if !p.ok {
                println!("     {:<11} {} {}", "", paint(DIM, "fix:"), p.fix);
            }
        }
        let style = if r.score == r.total { OK } else { WARN };
        println!("safety score: {}", paint(style, format!("{}/{}", r.score, r.total)));
    }
    Ok(if r.score == r.total { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
