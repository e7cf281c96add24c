//! The linter and the analyses the runtime guard relies on never panic, whatever the SQL; the
//! streaming linter finds what the in-memory one finds.
#![no_main]

use dbguard_lint::Dialect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
        let found = dbguard_lint::lint_sql("up.sql", sql, d);
        let streamed = dbguard_lint::lint_reader("up.sql", sql.as_bytes(), d).expect("reading from memory");
        assert_eq!(found.len(), streamed.len(), "the streaming linter agrees");
        let _ = dbguard_lint::guard_targets(sql, d);
        let _ = dbguard_lint::table_effects(sql, d);
        let _ = dbguard_lint::destroyed_tables(sql, d);
        let _ = dbguard_lint::unchecked_names(sql, d);
        let _ = dbguard_lint::transaction_statements(sql, d);
    }
});
