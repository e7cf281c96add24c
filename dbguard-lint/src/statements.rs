//! A text's statements, read a window at a time: what a runner that goes through a big step
//! statement by statement needs (the count, the statement at an index, the ones after it)
//! without the list of them all, which for a seed of millions of `INSERT`s is bigger than the
//! text.

use crate::Dialect;
use crate::split::{Statement, for_each, split};

/// Statements per window.
const WINDOW: usize = 4096;

/// The statements of a text, as [`split`] gives them, held a window at a time.
///
/// One pass counts them and notes where every window starts; a window is split again from
/// there when asked for. A statement boundary at the top level leaves the splitter with
/// nothing pending, so splitting from it gives what splitting the whole text gives. Text
/// where that is not so is held whole: MySQL's `DELIMITER` lines (the delimiter in force is
/// state), and a text where the splitter lost track.
///
/// ```
/// use dbguard_lint::{statements::Statements, Dialect};
/// let mut s = Statements::new("SELECT 1;\nSELECT 2;\nSELECT 3", Dialect::Postgres);
/// assert_eq!(s.len(), 3);
/// assert_eq!((s.get(1).text, s.get(1).line), ("SELECT 2", 2));
/// ```
pub struct Statements<'a> {
    sql: &'a str,
    dialect: Dialect,
    window: usize,
    /// Where each window starts: its first statement's offset, line and column.
    marks: Vec<(usize, usize, usize)>,
    total: usize,
    /// The window held, and the index of its first statement.
    held: Vec<Statement<'a>>,
    held_from: usize,
    whole: bool,
    own_transactions: bool,
}

impl<'a> Statements<'a> {
    /// Reads `sql` once, counting its statements.
    pub fn new(sql: &'a str, dialect: Dialect) -> Self {
        Self::with_window(sql, dialect, WINDOW)
    }

    /// As [`Statements::new`], `window` statements at a time (small ones in tests).
    pub fn with_window(sql: &'a str, dialect: Dialect, window: usize) -> Self {
        let window = window.max(1);
        let (mut marks, mut total, mut lost, mut own_transactions) = (Vec::new(), 0, false, false);
        for_each(sql, dialect, &mut |st, _| {
            if total % window == 0 {
                marks.push((st.offset, st.line, st.column));
            }
            lost |= st.lost.is_some();
            total += 1;
            // The first letter first: a seed's INSERTs cost no keyword each.
            let first = st.text.bytes().next().map(|b| b.to_ascii_uppercase());
            if !own_transactions && matches!(first, Some(b'B' | b'S' | b'C' | b'R' | b'E' | b'-' | b'/' | b'#')) {
                own_transactions = matches!(
                    st.first_keyword().as_str(),
                    "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "END" | "SAVEPOINT" | "RELEASE"
                );
            }
        });
        let delimiters = dialect == Dialect::Mysql
            && sql.lines().any(|l| {
                let t = l.trim_start().as_bytes();
                t.len() > 10 && t[..10].eq_ignore_ascii_case(b"DELIMITER ")
            });
        let whole = total <= window || lost || delimiters;
        let held = if whole { split(sql, dialect) } else { Vec::new() };
        Statements { sql, dialect, window, marks, total, held, held_from: 0, whole, own_transactions }
    }

    /// How many statements.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether a statement opens, ends or marks a transaction itself (`BEGIN`, `START
    /// TRANSACTION`, `COMMIT`, `ROLLBACK`, `END`, `SAVEPOINT`, `RELEASE`).
    pub fn own_transactions(&self) -> bool {
        self.own_transactions
    }

    /// Statement `k` (from 0). Panics past the end, as indexing does.
    pub fn get(&mut self, k: usize) -> Statement<'a> {
        assert!(k < self.total, "statement {k} of {}", self.total);
        self.hold(k);
        self.held[k - self.held_from].clone()
    }

    /// Statement `k` and those after it in the same window (at least one).
    pub fn from(&mut self, k: usize) -> &[Statement<'a>] {
        assert!(k < self.total, "statement {k} of {}", self.total);
        self.hold(k);
        &self.held[k - self.held_from..]
    }

    /// The texts of statements `0..n`, in order, read window by window.
    pub fn texts(&mut self, n: usize) -> impl Iterator<Item = &'a str> + '_ {
        (0..n.min(self.total)).map(move |k| self.get(k).text)
    }

    fn hold(&mut self, k: usize) {
        if self.whole || (self.held_from..self.held_from + self.held.len()).contains(&k) {
            return;
        }
        let w = k / self.window;
        let (start, line, column) = self.marks[w];
        let end = self.marks.get(w + 1).map_or(self.sql.len(), |m| m.0);
        self.held.clear();
        crate::split::for_each_from(&self.sql[..end], start, (line, column), self.dialect, &mut |st| {
            self.held.push(st)
        });
        self.held_from = w * self.window;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_split(sql: &str, dialect: Dialect) {
        let whole = split(sql, dialect);
        for window in [1, 2, 3, 7] {
            let mut s = Statements::with_window(sql, dialect, window);
            assert_eq!(s.len(), whole.len());
            // In order, backwards, and by the window.
            let got: Vec<_> = (0..s.len()).map(|k| s.get(k)).collect();
            assert_eq!(got, whole, "window {window}");
            let back: Vec<_> = (0..s.len()).rev().map(|k| s.get(k)).collect();
            assert!(back.iter().rev().eq(whole.iter()), "window {window}, backwards");
            if !whole.is_empty() {
                assert_eq!(s.from(0)[0], whole[0]);
            }
        }
    }

    #[test]
    fn windows_give_what_the_whole_split_gives() {
        same_as_split("", Dialect::Postgres);
        same_as_split("SELECT 1", Dialect::Postgres);
        same_as_split(
            "-- c\nCREATE TABLE a (id INT);\n\n  INSERT INTO a VALUES (1); /* x */ INSERT INTO a VALUES ('é;');\nCREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;\nUPDATE a SET id = 2 WHERE id = 1;\n",
            Dialect::Postgres,
        );
        same_as_split(
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.id = 1; END;\nINSERT INTO a VALUES (1);\nSELECT 'x;y';\nSELECT 2",
            Dialect::Mysql,
        );
        same_as_split(
            "SELECT 1;\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\nSELECT 2;",
            Dialect::Mysql,
        );
        same_as_split("SELECT 1;\nSELECT 'never ends;\nSELECT 2;", Dialect::Sqlite);
        let seed: String = (0..50).map(|i| format!("INSERT INTO s VALUES ({i}, 'n{i}');\n")).collect();
        same_as_split(&seed, Dialect::Sqlite);
    }

    /// Every migration of a real project, split by windows and whole, agrees.
    #[test]
    fn windows_agree_on_a_real_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/cratesio");
        let Ok(dirs) = std::fs::read_dir(&root) else {
            assert!(std::env::var_os("CI").is_none(), "the corpus is missing at {}", root.display());
            eprintln!("skipped: no corpus at {}", root.display());
            return;
        };
        let mut n = 0;
        for dir in dirs.flatten() {
            for file in ["up.sql", "down.sql"] {
                if let Ok(sql) = std::fs::read_to_string(dir.path().join(file)) {
                    same_as_split(&sql, Dialect::Postgres);
                    n += 1;
                }
            }
        }
        assert!(n > 100, "read {n} files");
    }
}
