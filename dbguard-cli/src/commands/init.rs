//! `init`: set up the project.

use std::process::ExitCode;

use anstream::println;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::style::{OK, paint};

pub fn run(ctx: &Ctx, rust: bool) -> CliResult {
    let ignore = crate::scaffold::configured_data(&ctx.project.config);
    let done = crate::scaffold::init(&ctx.project.root, ctx.project.manifest.as_deref(), rust, &ignore)?;
    for p in &done.created {
        println!("{} {}", paint(OK, "created"), p.display());
    }
    if let Some((m, section)) = &done.configured {
        println!("{} [{section}] in {}", paint(OK, "added"), m.display());
    }
    if !done.ignored.is_empty() {
        println!(
            "{} {} to {}",
            paint(OK, "added"),
            done.ignored.join(", "),
            ctx.project.root.join(".gitignore").display()
        );
    }
    if done.created.is_empty() && done.configured.is_none() && done.ignored.is_empty() {
        println!("already set up: nothing to do");
    }
    println!("next: `cargo dbguard new create_users`, write up.sql and down.sql, then `cargo dbguard up`");
    Ok(ExitCode::SUCCESS)
}
