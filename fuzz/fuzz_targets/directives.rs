//! `-- dbguard:` directives: any text parses or is refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let _ = dbguard_lint::directives::parse(sql);
    let _ = dbguard_lint::suppress::parse(sql, dbguard_lint::Dialect::Postgres);
});
