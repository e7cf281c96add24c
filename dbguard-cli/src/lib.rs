//! The library behind `cargo dbguard`: project configuration and scaffolding. The binary
//! (`main.rs`) only parses arguments, calls this and `dbguard`, and prints.

pub mod config;
pub mod scaffold;
pub mod style;
