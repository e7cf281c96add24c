//! `cargo dbguard`. Everything is in the library: [`dbguard_cli::app`].

fn main() -> std::process::ExitCode {
    dbguard_cli::app::main(dbguard_cli::app::Source::Directory)
}
