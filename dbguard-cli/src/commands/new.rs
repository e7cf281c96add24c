//! `new`: scaffold the next migration.

use std::process::ExitCode;

use anstream::println;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::style::{OK, paint};
use crate::scaffold::{self, Kind};

pub fn run(ctx: &Ctx, name: &str, rust: bool) -> CliResult {
    let kind = if rust { Kind::Rust } else { Kind::Sql };
    let files = scaffold::new_migration(&ctx.migrations, &ctx.project.root.join("src/migrations"), name, kind)?;
    for f in &files {
        println!("{} {}", paint(OK, "created"), f.display());
    }
    println!(
        "next: write the {}, list the tables it must keep in `preserves`, then `cargo dbguard lint` and `cargo dbguard up --dry-run`",
        if rust { "UP and DOWN" } else { "up and the down" }
    );
    Ok(ExitCode::SUCCESS)
}
