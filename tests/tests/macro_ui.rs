//! The `#[migration]` compile errors (ui/fail: each `.stderr` is the reviewed message) and
//! programs that must compile and run (ui/pass).

#[test]
fn migration_macro_compile_errors_and_passes() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
