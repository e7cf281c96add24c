//! The project's migrator: `cargo dbguard up|down|status` build and run this binary, which holds
//! every `#[migration]` in src/migrations/ (they register themselves when linked in).

#[path = "../migrations/mod.rs"]
mod migrations;

fn main() -> std::process::ExitCode {
    dbguard_cli::main(dbguard_cli::Source::Registry)
}
