//! Proc-macros for dbguard; use them through the `dbguard` crate.
