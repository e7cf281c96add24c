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
    /// A short checksum of each statement that committed, to name the one edited since: of
    /// the first [`NAMED`] only, so that the point written with every commit stays small in a
    /// seed file of 500,000 statements (an edit further on is still caught by `prefix`).
    #[serde(default)]
    pub sums: Vec<String>,
    /// A statement that commits itself (DDL) was running: the state of each object just before
    /// it, by table. See [`judge`] for what tells whether it ran.
    pub in_flight: Option<States>,
    /// The statement in flight writes a table that keeps no transaction (MyISAM, Aria): what
    /// it wrote stays whether it finished or not, and an unchanged schema says nothing.
    #[serde(default)]
    pub in_flight_untransactional: bool,
    /// The statement in flight failed and the schema changed all the same: it ran in part, and
    /// only a person can tell how to go on.
    pub failed_partway: bool,
    /// The statement's first line and text (shortened), to name it.
    pub next_statement: Option<(usize, String)>,
    /// The preserved tables' counts (and value checksums) before the step started: kept here
    /// because a resumed run cannot count them again.
    pub counted: serde_json::Value,
    /// The row guard found rows lost and put them back from snapshots: the step's other changes
    /// stand, and a person must look at them (it is never continued).
    #[serde(default)]
    pub restored_by_guard: bool,
    /// Set when the run that continues it judged the statement in flight: whether it had run.
    #[serde(skip)]
    pub judged_ran: Option<bool>,
    /// The statement it stopped at reads differently in the file now (fixed since): the file's
    /// text is what `next_statement` shows, and what runs next.
    #[serde(skip)]
    pub edited_since: bool,
    /// The checksum of the statements so far, kept running so that each statement costs its
    /// own length, not the whole prefix's (a 500,000-statement migration was quadratic).
    #[serde(skip)]
    pub(crate) running: RunningSum,
}

/// [`prefix_checksum`] of the first `len` statements, kept open for the next one.
#[derive(Clone, Default)]
pub(crate) struct RunningSum(Option<(usize, Sha256)>);

impl std::fmt::Debug for RunningSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunningSum")
    }
}

// A cache of `prefix`: never a difference between two points.
impl PartialEq for RunningSum {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for RunningSum {}

/// Each object's state (a short hash of its schema lines and identity), by the lower-case name
/// of the table it belongs to (functions and types by their own name).
pub type States = std::collections::BTreeMap<String, String>;

/// What the state before a statement and the state now say about whether it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InFlight {
    /// It ran (and committed): continue after it.
    Ran,
    /// It did not run (or running it again changes nothing): run it.
    NotRun,
    /// dbguard cannot tell; why, and what to do.
    Unknown(String),
}

impl ResumePoint {
    /// The point before the first of `statements`, with the preserved tables' counts.
    #[cfg(test)]
    pub(crate) fn start(direction: Direction, statements: &[Statement<'_>], counted: serde_json::Value) -> Self {
        Self::begin(direction, statements.len(), statements.first(), counted)
    }

    /// [`ResumePoint::start`] for a step of `total` statements whose first is `first`.
    pub(crate) fn begin(
        direction: Direction,
        total: usize,
        first: Option<&Statement<'_>>,
        counted: serde_json::Value,
    ) -> Self {
        let mut p = ResumePoint {
            direction,
            done: 0,
            total,
            prefix: prefix_checksum(&[]),
            sums: Vec::new(),
            in_flight: None,
            in_flight_untransactional: false,
            failed_partway: false,
            next_statement: None,
            counted,
            restored_by_guard: false,
            judged_ran: None,
            edited_since: false,
            running: RunningSum(Some((0, sum_of(Sha256::new(), std::iter::empty())))),
        };
        p.name_next(first);
        p
    }

    /// One more statement committed.
    pub(crate) fn advance(&mut self, statements: &[Statement<'_>]) {
        if !self.has_running_sum() {
            self.catch_up(statements[..self.done].iter().map(|s| s.text));
        }
        self.advance_by(statements[self.done].text, statements.get(self.done + 1));
    }

    /// Whether the running checksum of what ran is there: a point read back from the version
    /// table has none until [`ResumePoint::catch_up`] rebuilds it.
    pub(crate) fn has_running_sum(&self) -> bool {
        self.running.0.as_ref().is_some_and(|(len, _)| *len == self.done)
    }

    /// Rebuilds the running checksum from the texts of the statements that ran, in order.
    pub(crate) fn catch_up<'t>(&mut self, ran: impl Iterator<Item = &'t str>) {
        self.running.0 = Some((self.done, sum_of(Sha256::new(), ran)));
    }

    /// One more statement committed, `text`, followed by `next` (`None` at the end): for a
    /// step read a window at a time. The running checksum must be there (see
    /// [`ResumePoint::catch_up`]).
    pub(crate) fn advance_by(&mut self, text: &str, next: Option<&Statement<'_>>) {
        let (len, mut h) = match self.running.0.take() {
            Some((len, h)) if len == self.done => (len, h),
            _ => unreachable!("advance_by without the running checksum: catch_up first"),
        };
        h = sum_of(h, std::iter::once(text));
        self.done += 1;
        self.prefix = hex(h.clone().finalize().as_slice());
        self.running.0 = Some((len + 1, h));
        if self.sums.len() < NAMED {
            self.sums.push(prefix_checksum(&[text])[..16].to_string());
        }
        self.name_next(next);
    }

    fn name_next(&mut self, next: Option<&Statement<'_>>) {
        self.next_statement = next.map(|s| (s.line, shorten(s.text)));
    }

    /// Names the statement it stopped at as the file has it now (`statements`: the step's,
    /// split), noting an edit made since it stopped.
    pub(crate) fn read_against(&mut self, statements: &[Statement<'_>]) {
        let Some(now) = statements.get(self.done).map(|s| (s.line, shorten(s.text))) else { return };
        if self.next_statement.as_ref().is_some_and(|then| *then != now) {
            (self.next_statement, self.edited_since) = (Some(now), true);
        }
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
        !self.failed_partway && !self.restored_by_guard && self.ran_unchanged(direction, statements)
    }

    /// Whether the statements that ran are those of `statements` (the step as it is now), in
    /// that direction.
    pub fn ran_unchanged(&self, direction: Direction, statements: &[&str]) -> bool {
        self.direction == direction
            && self.done <= statements.len()
            && prefix_checksum(&statements[..self.done]) == self.prefix
    }

    /// Whether the statement it stopped at may or may not have run: in flight when the run
    /// stopped, or failed after changing the schema. Only then can a person say which
    /// (`repair --statement-ran` / `--statement-not-run`).
    pub fn in_doubt(&self) -> bool {
        (self.in_flight.is_some() || self.failed_partway) && !self.restored_by_guard && self.done < self.total
    }

    /// The first statement (from 1) that committed as something else than `statements` has now.
    pub fn first_changed(&self, statements: &[&str]) -> Option<usize> {
        (0..self.done)
            .find(|&i| {
                statements
                    .get(i)
                    .is_none_or(|s| self.sums.get(i).is_some_and(|sum| prefix_checksum(&[s])[..16] != *sum))
            })
            .map(|i| i + 1)
    }

    /// The statement it stopped at, for people: `statement 4 of 7 (line 12: DROP TABLE users)`.
    pub fn describe(&self) -> String {
        let n = self.done + 1;
        if self.done >= self.total {
            return format!("the end of its {} statements (all had run)", self.total);
        }
        match &self.next_statement {
            Some((line, text)) if self.edited_since => {
                format!("statement {n} of {} (line {line}, edited since it stopped: {text})", self.total)
            }
            Some((line, text)) => format!("statement {n} of {} (line {line}: {text})", self.total),
            None => format!("statement {n} of {}", self.total),
        }
    }
}

/// How many committed statements a [`ResumePoint`] can name when one was edited since.
pub const NAMED: usize = 1000;

/// A checksum of statements in order (each one's text, trimmed, and its length, so that no two
/// lists collide by moving text between statements).
pub fn prefix_checksum(statements: &[&str]) -> String {
    hex(sum_of(Sha256::new(), statements.iter().copied()).finalize().as_slice())
}

/// `h` fed with each statement, trimmed, after its length.
fn sum_of<'a>(mut h: Sha256, statements: impl Iterator<Item = &'a str>) -> Sha256 {
    for s in statements {
        let s = s.trim();
        h.update(s.len().to_le_bytes());
        h.update(s.as_bytes());
    }
    h
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The states of the objects of `schema` (lines `kind table name: definition`) and of the
/// tables' `identities`, grouped by table. dbguard's own tables are left out.
pub fn object_states<'a>(schema: impl Iterator<Item = &'a str>, identities: &[(String, String)]) -> States {
    let bare = |s: &str| s.rsplit('.').next().unwrap_or(s).trim_matches(|c| c == '"' || c == '`').to_lowercase();
    let mut texts: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for line in schema {
        let mut parts = line.splitn(3, ' ');
        let (kind, table, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let name = rest.split(": ").next().unwrap_or("").split('(').next().unwrap_or("");
        // Functions, sequences, types and routines belong to no table: keyed by their name.
        let key = if matches!(kind, "function" | "routine" | "sequence" | "type" | "enum") {
            bare(name)
        } else {
            bare(table)
        };
        texts.entry(key).or_default().push_str(line);
    }
    // Tables with an index left half-built, and that index's name.
    let mut invalid: Vec<(String, String)> = Vec::new();
    for (table, identity) in identities {
        let key = bare(table);
        if let Some((_, index)) = identity.split_once(" INVALID ") {
            invalid.push((key.clone(), index.trim().to_string()));
        }
        texts.entry(key).or_default().push_str(&format!("\nidentity {identity}"));
    }
    texts
        .into_iter()
        .filter(|(k, _)| !k.starts_with("dbguard_"))
        .map(|(k, text)| {
            let hash: String = Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
            let marks: String =
                invalid.iter().filter(|(t, _)| *t == k).map(|(_, index)| format!("{INVALID_MARK}{index}")).collect();
            (k, format!("{hash}{marks}"))
        })
        .collect()
}

/// The indexes left half-built (`INVALID`) among the objects `words` names: (table, index).
pub fn invalid_indexes(words: &[String], now: &States) -> Vec<(String, String)> {
    let named = |k: &str| words.iter().any(|w| w == k || (k.starts_with(w.as_str()) && k[w.len()..].starts_with('_')));
    now.iter()
        .filter(|(k, _)| named(k))
        .flat_map(|(k, v)| v.split(INVALID_MARK).skip(1).map(move |index| (k.clone(), index.to_string())))
        .collect()
}

/// How [`object_states`] marks a table with an index left half-built (followed by its name).
const INVALID_MARK: &str = "!invalid:";

/// Stands for the migration's version in [`judge`]'s advice (it does not know it).
pub const VERSION: &str = "<VERSION>";

/// Whether the statement that was running when a run stopped had run, from the objects' states
/// just before it (`before`) and now. `keyword` is its first keyword, `words` the lower-case
/// words of its text (the names it mentions), `created` and `dropped` the tables it creates and
/// drops. Fails closed: `Unknown` whenever the states do not settle it.
pub fn judge(
    keyword: &str,
    words: &[String],
    created: &[String],
    dropped: &[String],
    before: &States,
    now: &States,
) -> InFlight {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
    let changed: Vec<&String> = keys.into_iter().filter(|k| before.get(*k) != now.get(*k)).collect();
    // Names the database makes up for what a statement creates (`users_pkey`, `users_id_seq`)
    // start with a table's name.
    let named = |k: &str| words.iter().any(|w| w == k || (k.starts_with(w.as_str()) && k[w.len()..].starts_with('_')));
    if let Some((t, index)) = invalid_indexes(words, now).into_iter().next() {
        return InFlight::Unknown(format!(
            "it left the index {index} of {t} INVALID (its build was interrupted).\n  next: `DROP INDEX CONCURRENTLY {index};`, then `cargo dbguard repair {VERSION} --statement-not-run` and `cargo dbguard up` builds it again"
        ));
    }
    const RERUNNABLE: &[&str] = &[
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SET",
        "RESET",
        "TRUNCATE",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "ANALYZE",
        "VACUUM",
        "REINDEX",
        "OPTIMIZE",
        "REFRESH",
        "CLUSTER",
        "LOCK",
        "FLUSH",
        "CHECKPOINT",
    ];
    let others = || changed.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
    if RERUNNABLE.contains(&keyword) {
        return if changed.is_empty() {
            InFlight::NotRun
        } else {
            InFlight::Unknown(format!("the schema changed while it ran ({}), which it does not do itself", others()))
        };
    }
    if !matches!(keyword, "CREATE" | "ALTER" | "DROP" | "RENAME") {
        return InFlight::Unknown(
            "it changes data, not the schema, and does not commit with dbguard's record of it: whether it finished cannot be read from the database".into(),
        );
    }
    if changed.is_empty() {
        return InFlight::NotRun;
    }
    if let Some(k) = changed.iter().find(|k| !named(k)) {
        return InFlight::Unknown(format!(
            "{k}, which it does not name, changed since it started ({}): the schema was changed by something else too",
            others()
        ));
    }
    let is_there = |t: &String| now.contains_key(&t.to_lowercase());
    match (dropped.iter().find(|t| is_there(t)), created.iter().find(|t| !is_there(t))) {
        (None, None) => InFlight::Ran,
        (Some(t), _) => {
            InFlight::Unknown(format!("it drops {t}, which is there, yet what it names changed ({})", others()))
        }
        (_, Some(t)) => {
            InFlight::Unknown(format!("it creates {t}, which is not there, yet what it names changed ({})", others()))
        }
    }
}

/// What the committed statements of a step (`done`, their texts) left in their connection that
/// a new one does not have: the ones to run again before the step continues (settings with a
/// constant value: `SET @batch = 500`, `SET NAMES utf8mb4`, `USE shop`, `SET search_path TO
/// app`), or the first one whose state cannot be made again (a value read from the data, `SET
/// @max = (SELECT ...)`; a temporary table; a prepared statement): its index and what it set.
pub fn session_state<S: AsRef<str>>(done: impl IntoIterator<Item = S>) -> Result<Vec<usize>, (usize, String)> {
    let (mut replay, mut variables) = (Vec::new(), Vec::new());
    for (i, text) in done.into_iter().enumerate() {
        let text = text.as_ref();
        let mut lower = text.trim().to_ascii_lowercase();
        // An executable comment (`/*!40101 SET NAMES latin1 */`) runs what it holds.
        if let Some(inner) = lower.strip_prefix("/*!").or_else(|| lower.strip_prefix("/*m!")) {
            let inner = inner.trim_start_matches(|c: char| c.is_ascii_digit());
            lower = inner.trim_end().trim_end_matches("*/").trim().to_string();
        }
        let words: Vec<&str> = lower.split_whitespace().take(3).collect();
        match words.as_slice() {
            ["use", ..] => replay.push(i),
            // Server-wide, or for one transaction or statement only: nothing a connection keeps.
            ["set", "global" | "persist" | "persist_only" | "local" | "transaction" | "constraints", ..] => {}
            ["set", "statement", ..] => {}
            ["set", ..] => {
                if !replayable_set(&lower[3..], &mut variables) {
                    return Err((i, format!("a session value computed when it ran (`{}`)", shorten(text))));
                }
                replay.push(i);
            }
            ["create", "temporary" | "temp", ..] => {
                return Err((i, format!("a temporary table (`{}`)", shorten(text))));
            }
            ["prepare", ..] => return Err((i, format!("a prepared statement (`{}`)", shorten(text)))),
            ["select", ..] if lower.contains("into @") => {
                return Err((i, format!("a session variable read from the data (`{}`)", shorten(text))));
            }
            // Set inside another statement: `SELECT @s := ...`, `DO @t := 9`, a block's or
            // dynamic SQL's `SET`, PostgreSQL's `set_config(...)`.
            _ if (lower.contains(":=") && lower.contains('@'))
                || lower.contains("set_config(")
                || ["set @", "set names", "set session", "set search_path", "set sql_mode", " use "]
                    .iter()
                    .any(|w| lower.contains(w)) =>
            {
                return Err((i, format!("a session setting made inside another statement (`{}`)", shorten(text))));
            }
            _ => {}
        }
    }
    Ok(replay)
}

/// Whether the assignments of a `SET` (`assignments`, lowercased, after `SET`) make the same
/// values when run again on a new connection after the statements before it: constants, the
/// connection's settings (`@@sql_mode`, as mysqldump saves them: `SET @OLD_SQL_MODE=@@SQL_MODE,
/// SQL_MODE='...'`) and user variables such a `SET` gave a value (`variables`, which the
/// variables it sets join). Not a function call, a subquery, or a value that differs per
/// connection or per moment (`@@last_insert_id`, `@@timestamp`, a variable never set here).
fn replayable_set(assignments: &str, variables: &mut Vec<String>) -> bool {
    const MOMENTARY: &[&str] = &[
        "last_insert_id",
        "insert_id",
        "identity",
        "warning_count",
        "error_count",
        "timestamp",
        "rand_seed1",
        "rand_seed2",
        "pseudo_thread_id",
        "last_gtid",
        "gtid_next",
        "sql_log_bin",
    ];
    // Split at the commas between assignments; what is inside quotes is a constant.
    let (mut parts, mut current, mut quote) = (Vec::new(), String::new(), None);
    for c in assignments.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => return false,
            (None, ',') => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            (None, c) => {
                current.push(c);
                continue;
            }
        }
        // A quoted constant stands for one placeholder character.
        if quote.is_none() {
            current.push('0');
        }
    }
    parts.push(current);
    let mut set = Vec::new();
    for part in &parts {
        let (target, value) = match part.split_once(":=").or_else(|| part.split_once('=')) {
            Some(pair) => pair,
            None => match part.trim().split_once(char::is_whitespace) {
                Some((t, v)) => (t, v.trim_start().strip_prefix("to ").unwrap_or(v)),
                // A list's next item (`SET search_path TO app, public`).
                None => ("", part.as_str()),
            },
        };
        if value.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == "select") {
            return false;
        }
        let mut rest = value;
        while let Some(at) = rest.find('@') {
            let after = &rest[at + 1..];
            let (system, name) = match after.strip_prefix('@') {
                Some(n) => (true, n),
                None => (false, after),
            };
            let name = name.trim_start_matches("session.").trim_start_matches("global.").trim_start_matches("local.");
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
                .unwrap_or(name.len());
            let word = &name[..end];
            if word.is_empty()
                || (system && MOMENTARY.contains(&word))
                || (!system && !variables.iter().any(|v| v == word))
            {
                return false;
            }
            rest = &name[end..];
        }
        if let Some(v) = target.trim().strip_prefix('@').filter(|v| !v.starts_with('@')) {
            set.push(v.trim_matches('`').to_string());
        }
    }
    variables.extend(set);
    true
}

/// A statement shortened to its first line, for messages, with what follows `IDENTIFIED BY` or
/// `PASSWORD` hidden.
pub(crate) fn shorten(text: &str) -> String {
    let text = crate::error::hide_secrets(text);
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
            sums: statements[..done].iter().map(|s| prefix_checksum(&[s])[..16].to_string()).collect(),
            in_flight: None,
            in_flight_untransactional: false,
            failed_partway: false,
            next_statement: Some((3, shorten(statements[done]))),
            counted: serde_json::Value::Null,
            restored_by_guard: false,
            judged_ran: None,
            edited_since: false,
            running: RunningSum::default(),
        }
    }

    /// The point rewritten with every commit does not grow past the statements it can name:
    /// a change further on is still caught, by the prefix, without its number.
    #[test]
    fn a_long_step_keeps_a_bounded_point() {
        let text: String = (0..NAMED + 500).map(|i| format!("INSERT INTO a VALUES ({i});\n")).collect();
        let statements = dbguard_lint::split::split(&text, dbguard_lint::Dialect::Postgres);
        let mut p = ResumePoint::start(Direction::Up, &statements, serde_json::Value::Null);
        for _ in 0..statements.len() - 1 {
            p.advance(&statements);
        }
        assert_eq!(p.sums.len(), NAMED);
        let mut texts: Vec<&str> = statements.iter().map(|s| s.text).collect();
        assert!(p.continues(Direction::Up, &texts));
        texts[NAMED + 10] = "INSERT INTO a VALUES (-1)";
        assert!(!p.ran_unchanged(Direction::Up, &texts), "caught by the prefix");
        assert_eq!(p.first_changed(&texts), None, "not named");
        texts[3] = "INSERT INTO a VALUES (-2)";
        assert_eq!(p.first_changed(&texts), Some(4));
    }

    #[test]
    fn advancing_keeps_the_same_checksums_as_computing_them_whole() {
        let text = "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n  INSERT INTO a VALUES (2) ;\nDROP TABLE b;";
        let statements = dbguard_lint::split::split(text, dbguard_lint::Dialect::Postgres);
        let texts: Vec<&str> = statements.iter().map(|s| s.text).collect();
        let mut p = ResumePoint::start(Direction::Up, &statements, serde_json::Value::Null);
        for n in 1..=texts.len() {
            if n == 3 {
                // Read back from the version table mid-way: the running sum starts again.
                p = ResumePoint::parse(&p.to_json()).unwrap();
            }
            p.advance(&statements);
            assert_eq!(p.prefix, prefix_checksum(&texts[..n]), "after {n}");
            assert_eq!(p.sums[n - 1], prefix_checksum(&texts[n - 1..n])[..16]);
        }
        assert!(p.continues(Direction::Up, &texts));
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
        assert_eq!(p.first_changed(&["CREATE TABLE a (id BIGINT)", "INSERT INTO a VALUES (1)", "X"]), Some(1));
        assert_eq!(p.first_changed(&ran), None);
        // Text moved between statements: no.
        assert!(!p.continues(Direction::Up, &["CREATE TABLE a (id INT)INSERT INTO a", "VALUES (1)", "X"]));
        // Fewer statements than ran, the other direction, or a statement that ran in part: no.
        assert!(!p.continues(Direction::Up, &ran[..1]));
        assert!(!p.continues(Direction::Down, &ran));
        assert!(!ResumePoint { failed_partway: true, ..p }.continues(Direction::Up, &ran));
    }

    #[test]
    fn what_a_connection_kept_is_made_again_or_stops_the_resume() {
        let state = |done: &[&str]| session_state(done);
        assert_eq!(
            state(&[
                "SET @n = 5",
                "CREATE TABLE t (id INT)",
                "SET SESSION sql_mode = ''",
                "USE shop",
                "SET NAMES utf8mb4"
            ]),
            Ok(vec![0, 2, 3, 4])
        );
        assert_eq!(state(&["SET search_path TO app, public"]), Ok(vec![0]));
        // mysqldump's header and footer: settings saved in variables and set back.
        assert_eq!(
            state(&[
                "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ANSI_QUOTES' */",
                "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */",
                "/*!40101 SET @saved_cs_client     = @@character_set_client */",
                "/*!40101 SET character_set_client = @saved_cs_client */",
                "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */",
                "SET @a = @saved_cs_client",
            ]),
            Ok(vec![0, 1, 2, 3, 4, 5])
        );
        // What an executable comment holds is what runs.
        assert_eq!(state(&["/*!40101 SET NAMES latin1 */", "/*!40014 SET FOREIGN_KEY_CHECKS=0 */"]), Ok(vec![0, 1]));
        assert!(state(&["/*!40101 SET @c = (SELECT 3) */"]).is_err());
        assert_eq!(
            state(&["SET GLOBAL max_connections = 10", "SET LOCAL lock_timeout = '1s'", "INSERT INTO t VALUES (1)"]),
            Ok(vec![])
        );
        for (sql, what) in [
            ("SET @max = (SELECT MAX(id) FROM t)", "computed"),
            ("SET @a = @b + 1", "computed"),
            ("SET @t = NOW()", "computed"),
            ("SET @id = @@last_insert_id", "computed"),
            ("SET @c = @@session.identity", "computed"),
            ("SET sql_mode = @never_set", "computed"),
            ("SET @x = 1, @y = (2)", "computed"),
            ("SET @x = 'a' + @z", "computed"),
            ("CREATE TEMPORARY TABLE x (id INT)", "temporary table"),
            ("PREPARE p FROM 'DELETE FROM t'", "prepared"),
            ("SELECT MAX(id) INTO @m FROM t", "read from the data"),
            ("SELECT @s := (SELECT 5)", "inside another statement"),
            ("DO @t := 9", "inside another statement"),
            ("BEGIN NOT ATOMIC SET @a = 1; END", "inside another statement"),
            ("EXECUTE IMMEDIATE 'SET @b = 2'", "inside another statement"),
            ("SELECT set_config('search_path', 'app', false)", "inside another statement"),
        ] {
            let got = state(&["SET @n = 1", sql]);
            assert!(matches!(&got, Err((1, w)) if w.contains(what)), "{sql}: {got:?}");
        }
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
        // Fixed in the file since: named as it reads now.
        let mut fixed = p.clone();
        fixed.read_against(&dbguard_lint::split::split(
            "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nDROP TABLE IF EXISTS b;",
            dbguard_lint::Dialect::Mysql,
        ));
        assert_eq!(fixed.describe(), "statement 3 of 3 (line 3, edited since it stopped: DROP TABLE IF EXISTS b)");
        let mut same = p.clone();
        same.read_against(&st);
        assert_eq!(same.describe(), p.describe());
        p.advance(&st);
        assert_eq!((p.done, p.next_statement.clone()), (3, None));
    }

    fn states(pairs: &[(&str, &str)]) -> States {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn words(sql: &str) -> Vec<String> {
        sql.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
    }

    #[test]
    fn a_statement_in_flight_is_judged_from_what_changed_and_nothing_else() {
        let before = states(&[("users", "1"), ("users_new", "2"), ("orders", "3")]);
        let rename = words("ALTER TABLE users_new RENAME TO users");
        let (created, dropped) = (vec!["users".to_string()], vec!["users_new".to_string()]);
        let judge_now = |kw: &str, w: &[String], now: &States| judge(kw, w, &created, &dropped, &before, now);
        // Nothing changed: it did not run.
        assert_eq!(judge_now("ALTER", &rename, &before), InFlight::NotRun);
        // users_new became users: it ran.
        let ran = states(&[("users", "2b"), ("orders", "3")]);
        assert_eq!(judge_now("ALTER", &rename, &ran), InFlight::Ran);
        // users put back by hand, users_new still there: what it names changed, but not as it
        // would have: cannot tell.
        let restored = states(&[("users", "9"), ("users_new", "2"), ("orders", "3")]);
        assert!(
            matches!(judge_now("ALTER", &rename, &restored), InFlight::Unknown(m) if m.contains("drops users_new"))
        );
        // Something it does not name changed too (an index made by hand): cannot tell.
        let elsewhere = states(&[("users", "2b"), ("orders", "4")]);
        assert!(matches!(judge_now("ALTER", &rename, &elsewhere), InFlight::Unknown(m) if m.contains("orders")));
        // A swap of two tables of the same shape changes their identities: seen.
        let swap = words("RENAME TABLE a TO t, b TO a, t TO b");
        let ab = states(&[("a", "1"), ("b", "2")]);
        let swapped = states(&[("a", "2"), ("b", "1")]);
        assert_eq!(judge("RENAME", &swap, &[], &[], &ab, &swapped), InFlight::Ran);
        // Made-up names of what it creates count as named.
        let serial = words("CREATE TABLE t (id SERIAL PRIMARY KEY)");
        let made = states(&[("t", "1"), ("t_id_seq", "2")]);
        assert_eq!(judge("CREATE", &serial, &["t".into()], &[], &States::new(), &made), InFlight::Ran);
        // A statement that changes data, or calls anything: never guessed.
        for kw in ["CALL", "DO", "INSERT", "SELECT"] {
            assert!(matches!(judge(kw, &[], &[], &[], &ab, &ab), InFlight::Unknown(_)), "{kw}");
        }
        // Transaction control and the like run again harmlessly.
        assert_eq!(judge("COMMIT", &[], &[], &[], &ab, &ab), InFlight::NotRun);
        // A half-built index is named, whatever else.
        let invalid = states(&[("a", "1!invalid:a_x"), ("b", "2")]);
        let index = words("CREATE UNIQUE INDEX CONCURRENTLY a_x ON a (x)");
        assert!(
            matches!(judge("CREATE", &index, &[], &[], &ab, &invalid), InFlight::Unknown(m) if m.contains("INVALID"))
        );
    }

    #[test]
    fn states_group_objects_by_table_and_mark_half_built_indexes() {
        let lines = [
            "column public.users email: text NULL",
            "index public.users users_pkey: CREATE UNIQUE INDEX",
            "function public f(integer): abc",
        ];
        let ids =
            [("users".to_string(), "r1".to_string()), ("users".to_string(), "i2 INVALID users_email".to_string())];
        let s = object_states(lines.into_iter(), &ids);
        assert_eq!(s.keys().map(String::as_str).collect::<Vec<_>>(), ["f", "users"]);
        assert!(s["users"].ends_with("!invalid:users_email"));
        assert_eq!(invalid_indexes(&["users".into()], &s), [("users".to_string(), "users_email".to_string())]);
        let other = object_states(lines.into_iter(), &[("users".to_string(), "r7".to_string())]);
        assert_ne!(s["users"], other["users"], "the identity counts");
        assert!(object_states(["column dbguard_bak_x id: int"].into_iter(), &[]).is_empty(), "dbguard's own left out");
    }

    #[test]
    fn long_statements_are_shortened_on_one_line() {
        assert!(!shorten("CREATE USER app IDENTIFIED BY 'Hunter2pw'").contains("Hunter2"));
        assert_eq!(shorten("  DROP TABLE users;\n-- more"), "DROP TABLE users;");
        assert!(shorten(&"x".repeat(100)).ends_with("...") && shorten(&"x".repeat(100)).len() == 63);
    }
}
