//! The `#[migration]` compile errors: each `ui/fail/*.stderr` is the reviewed message. The
//! cases name the macro from this crate, so that checking them builds only the macro's own
//! dependencies, not a database driver (the programs that must compile and run are tests of
//! the `tests` crate: `macro_registry_*.rs`).

#[test]
fn migration_macro_compile_errors() {
    trybuild::TestCases::new().compile_fail("ui/fail/*.rs");
}
