//! A step's SQL cut into the round trips of one transaction, without copying it.

use std::borrow::Cow;

/// A step run in one transaction, cut into batches: `BEGIN`, the step's text in pieces of
/// whole statements of about a limit (see [`crate::db::backend::Backend::batch_bytes`]), the
/// version row and `COMMIT`. The pieces are slices of the step's own text, comments and all,
/// each ending just after a statement's delimiter: a 50 MB step is never copied whole. A step
/// no bigger than the limit (or any step, without one) is one batch.
pub(crate) struct Batches<'a> {
    begin: &'a str,
    sql: &'a str,
    record: &'a str,
    /// Where each piece ends in `sql` (it starts where the one before ended) and how many
    /// statements it holds; empty when the step is one batch.
    pieces: Vec<(usize, usize)>,
}

impl<'a> Batches<'a> {
    /// Cuts `sql` for a transaction opened by `begin` and closed by `record` and `COMMIT`.
    pub fn new(
        begin: &'a str,
        sql: &'a str,
        record: &'a str,
        limit: Option<usize>,
        dialect: dbguard_lint::Dialect,
    ) -> Self {
        let mut pieces = Vec::new();
        if let Some(limit) = limit.filter(|l| sql.len() > *l) {
            // The piece being filled: where it starts, the end of its last statement, its count.
            let (mut start, mut end, mut n) = (0, 0, 0);
            dbguard_lint::split::for_each(sql, dialect, &mut |st, delimited| {
                let this_end = delimited.unwrap_or(st.offset + st.text.len());
                if n > 0 && this_end - start > limit {
                    pieces.push((end, n));
                    (start, n) = (end, 0);
                }
                end = this_end;
                n += 1;
            });
            // The last piece takes what follows its last statement (a closing comment, say).
            pieces.push((sql.len(), n));
        }
        Batches { begin, sql, record, pieces }
    }

    /// How many round trips.
    pub fn len(&self) -> usize {
        match self.pieces.len() {
            0 => 1,
            n => n + 2,
        }
    }

    /// The step's statements, counted where the step is cut (0 when it is one batch).
    pub fn statements(&self) -> usize {
        self.pieces.iter().map(|(_, n)| n).sum()
    }

    /// Each round trip's SQL, made as it is asked for, and the step's statements in it.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'a, str>, usize)> + '_ {
        let (begin, sql, record) = (self.begin, self.sql, self.record);
        // A newline before each `;`: the step may end in a `--` comment.
        let whole = self.pieces.is_empty().then(|| (format!("{begin};\n{sql}\n;\n{record};\nCOMMIT").into(), 0));
        let opening = (!self.pieces.is_empty()).then(|| (format!("{begin};\n").into(), 0));
        let closing = (!self.pieces.is_empty()).then(|| (format!("{record};\nCOMMIT").into(), 0));
        let starts = std::iter::once(0).chain(self.pieces.iter().map(|(end, _)| *end));
        let pieces = starts.zip(&self.pieces).map(move |(from, (to, n))| (Cow::Borrowed(&sql[from..*to]), *n));
        whole.into_iter().chain(opening).chain(pieces).chain(closing)
    }
}

#[cfg(test)]
mod tests {
    use dbguard_lint::Dialect;

    use super::Batches;

    /// What made a 10 MB step take 13 s on SQLite (and 50 MB never finish): the driver was
    /// handed the whole rest of the step for each statement. Batches stay bounded whatever the
    /// step's size, and keep every statement, in order, with the comments between them.
    #[test]
    fn batches_are_bounded_and_keep_every_statement() {
        let sql: String = (0..5000).map(|i| format!("INSERT INTO t VALUES ({i}, 'x'); -- row {i}\n")).collect();
        let b = Batches::new("BEGIN", &sql, "INSERT INTO v VALUES (1)", Some(4096), Dialect::Sqlite);
        assert!(b.len() > 40, "{}", b.len());
        assert_eq!(b.statements(), 5000, "each statement counted once, for progress");
        assert_eq!(b.iter().map(|(_, n)| n).sum::<usize>(), 5000);
        let texts: Vec<String> = b.iter().map(|(text, _)| text.into_owned()).collect();
        assert_eq!(texts.len(), b.len());
        assert!(texts.iter().all(|x| x.len() <= 4096), "a batch is at most the limit");
        assert_eq!(texts[0], "BEGIN;\n");
        assert_eq!(texts.last().unwrap(), "INSERT INTO v VALUES (1);\nCOMMIT");
        // The pieces are the step's text, cut after a statement's `;`.
        assert_eq!(texts[1..texts.len() - 1].concat(), sql);
        assert!(texts[1..texts.len() - 1].iter().all(|p| p.trim_end().ends_with(';') || p.contains("-- row")));
        let kept: Vec<_> =
            dbguard_lint::split::split(&texts.concat(), Dialect::Sqlite).iter().map(|s| s.text.to_string()).collect();
        assert_eq!(kept.len(), 5000 + 3, "BEGIN, every statement, the record, COMMIT");
        assert!(
            kept[1].starts_with("INSERT INTO t VALUES (0,") && kept[5000].starts_with("INSERT INTO t VALUES (4999,")
        );
        // Each piece on its own holds whole statements.
        for piece in &texts[1..texts.len() - 1] {
            let n = dbguard_lint::split::split(piece, Dialect::Sqlite).len();
            assert!(n > 0 && piece.matches("INSERT").count() == n, "{piece}");
        }
        // Small steps, and databases without a limit, go in one round trip.
        let one = Batches::new("BEGIN", "SELECT 1 -- c", "R", Some(4096), Dialect::Sqlite);
        assert_eq!((one.len(), one.iter().next().unwrap().0.as_ref()), (1, "BEGIN;\nSELECT 1 -- c\n;\nR;\nCOMMIT"));
        assert_eq!(Batches::new("BEGIN", &sql, "R", None, Dialect::Postgres).len(), 1);
        // A statement bigger than the limit is a piece of its own; the last takes the trailing text.
        let big = format!("SELECT 1;\nSELECT '{}';\nSELECT 2; -- end", "x".repeat(100));
        let b = Batches::new("BEGIN", &big, "R", Some(50), Dialect::Postgres);
        let texts: Vec<String> = b.iter().map(|(t, _)| t.into_owned()).collect();
        assert_eq!(texts[1..4].concat(), big);
        assert_eq!(texts[3], "\nSELECT 2; -- end");
        assert_eq!(b.statements(), 3);
    }
}
