//! `cargo dbguard`. Everything is in the library: [`dbguard_cli::main`].

fn main() -> std::process::ExitCode {
    dbguard_cli::main(dbguard_cli::Source::Directory)
}
