//! The library behind `cargo dbguard`: project configuration and scaffolding. The binary
//! (`main.rs`) only parses arguments, calls this and `dbguard`, and prints.

pub mod app;
pub mod config;
pub mod doctor;
pub mod progress;
pub mod rust_lint;
pub mod scaffold;
pub mod style;
