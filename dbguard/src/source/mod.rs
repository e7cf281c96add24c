//! Where migrations come from: a directory of SQL files (or the same embedded at compile
//! time), and `#[migration]` items registered in the binary; and linting them from disk.

pub mod lint;
pub mod loader;
pub mod registry;
