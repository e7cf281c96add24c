//! Where a migration that cannot run in one transaction stands, statement by statement: kept in
//! its version-table row as each statement commits, so that after a crash (or a failed
//! statement) the next `up` knows exactly which statements ran and continues from the next one.
//! Pure: written and read as JSON, matched against the migration's text.

use dbguard_lint::split::Statement;
use sha2::{Digest, Sha256};

use crate::model::direction::Direction;

/// A migration's progress, as recorded in the version table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResumePoint {
    /// The direction that was running.
    pub direction: Direction,
    /// How many statements have committed (the next one to run, from 0).
    pub done: usize,
    /// How many statements the step had.
    pub total: usize,
    /// A checksum of the statements that committed, so that a file edited since (to fix the
    /// statement that failed) is resumed only if what already ran is unchanged.
    pub prefix: String,
    /// A statement that commits itself (DDL) was running: the schema's fingerprint just before
    /// it. A schema still the same means it never ran; a changed one, that it did.
    pub in_flight: Option<String>,
    /// The statement in flight failed and the schema changed all the same: it ran in part, and
    /// only a person can tell how to go on.
    pub failed_partway: bool,
    /// The statement's first line and text (shortened), to name it.
    pub next_statement: Option<(usize, String)>,
    /// The preserved tables' counts (and value checksums) before the step started: kept here
    /// because a resumed run cannot count them again.
    pub counted: serde_json::Value,
}

impl ResumePoint {
    /// The point before the first of `statements`, with the preserved tables' counts.
    pub(crate) fn start(direction: Direction, statements: &[Statement<'_>], counted: serde_json::Value) -> Self {
        let mut p = ResumePoint {
            direction,
            done: 0,
            total: statements.len(),
            prefix: prefix_checksum(&[]),
            in_flight: None,
            failed_partway: false,
            next_statement: None,
            counted,
        };
        p.name_next(statements);
        p
    }

    /// One more statement committed.
    pub(crate) fn advance(&mut self, statements: &[Statement<'_>]) {
        self.done += 1;
        let texts: Vec<&str> = statements[..self.done].iter().map(|s| s.text).collect();
        self.prefix = prefix_checksum(&texts);
        self.name_next(statements);
    }

    fn name_next(&mut self, statements: &[Statement<'_>]) {
        self.next_statement = statements.get(self.done).map(|s| (s.line, shorten(s.text)));
    }

    /// The JSON kept in the version table.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a resume point serialises")
    }

    /// Reads a recorded point; `None` for text this build cannot read (then the migration is
    /// not resumed: it stays dirty, which is the safe reading).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// Whether `statements` (the step as it is now) may continue from this point: the same
    /// direction, and the statements that ran unchanged.
    pub fn continues(&self, direction: Direction, statements: &[&str]) -> bool {
        self.direction == direction
            && !self.failed_partway
            && self.done <= statements.len()
            && prefix_checksum(&statements[..self.done]) == self.prefix
    }

    /// The statement it stopped at, for people: `statement 4 of 7 (line 12: DROP TABLE users)`.
    pub fn describe(&self) -> String {
        let n = self.done + 1;
        match &self.next_statement {
            Some((line, text)) => format!("statement {n} of {} (line {line}: {text})", self.total),
            None => format!("statement {n} of {}", self.total),
        }
    }
}

/// A checksum of statements in order (each one's text, trimmed, and its length, so that no two
/// lists collide by moving text between statements).
pub fn prefix_checksum(statements: &[&str]) -> String {
    let mut h = Sha256::new();
    for s in statements {
        let s = s.trim();
        h.update(s.len().to_le_bytes());
        h.update(s.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A statement shortened to its first line, for messages.
pub(crate) fn shorten(text: &str) -> String {
    let first = text.trim().lines().next().unwrap_or_default();
    if first.chars().count() > 60 { format!("{}...", first.chars().take(60).collect::<String>()) } else { first.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(done: usize, statements: &[&str]) -> ResumePoint {
        ResumePoint {
            direction: Direction::Up,
            done,
            total: statements.len(),
            prefix: prefix_checksum(&statements[..done]),
            in_flight: None,
            failed_partway: false,
            next_statement: Some((3, shorten(statements[done]))),
            counted: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_point_survives_the_round_trip_through_the_version_table() {
        let p = point(1, &["CREATE TABLE a (id INT)", "DROP TABLE b"]);
        assert_eq!(ResumePoint::parse(&p.to_json()), Some(p.clone()));
        assert_eq!(p.describe(), "statement 2 of 2 (line 3: DROP TABLE b)");
        assert_eq!(ResumePoint::parse("{not json"), None, "unreadable text is no resume point");
    }

    #[test]
    fn a_step_continues_only_if_what_ran_is_unchanged() {
        let ran = ["CREATE TABLE a (id INT)", "INSERT INTO a VALUES (1)", "DROP TABLE b"];
        let p = point(2, &ran);
        assert!(p.continues(Direction::Up, &ran));
        // The failing statement fixed: what ran is the same, so it goes on.
        assert!(p.continues(Direction::Up, &["CREATE TABLE a (id INT)", "INSERT INTO a VALUES (1)", "DROP TABLE c"]));
        // A statement that already ran edited: no.
        assert!(!p.continues(Direction::Up, &["CREATE TABLE a (id BIGINT)", "INSERT INTO a VALUES (1)", "X"]));
        // Text moved between statements: no.
        assert!(!p.continues(Direction::Up, &["CREATE TABLE a (id INT)INSERT INTO a", "VALUES (1)", "X"]));
        // Fewer statements than ran, the other direction, or a statement that ran in part: no.
        assert!(!p.continues(Direction::Up, &ran[..1]));
        assert!(!p.continues(Direction::Down, &ran));
        assert!(!ResumePoint { failed_partway: true, ..p }.continues(Direction::Up, &ran));
    }

    #[test]
    fn advancing_keeps_the_checksum_of_what_ran() {
        let sql = "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nDROP TABLE b;";
        let st = dbguard_lint::split::split(sql, dbguard_lint::Dialect::Mysql);
        let mut p = ResumePoint::start(Direction::Up, &st, serde_json::Value::Null);
        assert_eq!((p.done, p.describe()), (0, "statement 1 of 3 (line 1: CREATE TABLE a (id INT))".to_string()));
        p.advance(&st);
        p.advance(&st);
        let texts: Vec<&str> = st.iter().map(|s| s.text).collect();
        assert!(p.continues(Direction::Up, &texts));
        assert_eq!(p.describe(), "statement 3 of 3 (line 3: DROP TABLE b)");
        p.advance(&st);
        assert_eq!((p.done, p.next_statement.clone()), (3, None));
    }

    #[test]
    fn long_statements_are_shortened_on_one_line() {
        assert_eq!(shorten("  DROP TABLE users;\n-- more"), "DROP TABLE users;");
        assert!(shorten(&"x".repeat(100)).ends_with("...") && shorten(&"x".repeat(100)).len() == 63);
    }
}
