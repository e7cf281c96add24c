//! The lexer reads any text to its end, in every dialect, and its tokens cover it in order.
#![no_main]

use dbguard_lint::Dialect;
use dbguard_lint::lexer::Lexer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
        let n = Lexer::new(sql, d).count();
        assert!(n <= sql.len() + 1, "no more tokens than bytes");
    }
});
