//! The splitter never panics, and every statement it returns is the text at its offset, in
//! order, without overlaps: nothing is invented, nothing is read twice.
#![no_main]

use dbguard_lint::Dialect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
        let mut end = 0;
        for st in dbguard_lint::split::split(sql, d) {
            assert!(st.offset >= end, "statements in order, not overlapping");
            assert_eq!(&sql[st.offset..st.offset + st.text.len()], st.text, "the text at its offset");
            end = st.offset + st.text.len();
            let _ = st.first_keyword();
        }
    }
});
