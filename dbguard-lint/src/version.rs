//! Migration names and the order migrations run in.
//!
//! Two layouts are common in Rust projects: diesel's `<version>_<name>/up.sql` directories and
//! sqlx's `<version>_<name>.up.sql` files. Versions are plain integers (`1`, `0004`) or
//! timestamps, with or without separators (`20170923182408`, `2017-09-23-182408`,
//! `2026-05-27-120000-0000`).
//!
//! Diesel orders by the version *string* with separators removed, so the 14-digit
//! `2026-05-27-120000` runs before the 18-digit `2026-05-27-120000-0000` and after
//! `2026-05-26-120000-0000`; a numeric sort gets that wrong. Small integer versions (refinery,
//! sqlx with `1_`, `2_`, `10_`) are ordered numerically, as their users expect.
//! [`cmp_versions`] implements both and is the one ordering used everywhere in dbguard.

use std::cmp::Ordering;
use std::fmt;

/// Versions with at least this many digits are timestamps, compared digit by digit.
const TIMESTAMP_DIGITS: u32 = 14;

/// The order in which two migration versions run.
///
/// ```
/// use std::cmp::Ordering::Less;
/// use dbguard_lint::version::cmp_versions;
/// assert_eq!(cmp_versions(2, 10), Less); // integers: numeric
/// // timestamps: diesel's order, a shorter one first when it is a prefix of the other
/// assert_eq!(cmp_versions(202605261200000000, 20260527120000), Less);
/// assert_eq!(cmp_versions(20260527120000, 202605271200000000), Less);
/// ```
pub fn cmp_versions(a: i64, b: i64) -> Ordering {
    let (da, db) = (digits(a), digits(b));
    match (da >= TIMESTAMP_DIGITS, db >= TIMESTAMP_DIGITS) {
        (false, false) => a.cmp(&b),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        // Left-align both (pad the shorter with zeros) and let the shorter win a tie: exactly
        // the lexicographic order of the digit strings, without allocating.
        (true, true) => {
            let pa = i128::from(a) * 10i128.pow(db.saturating_sub(da));
            let pb = i128::from(b) * 10i128.pow(da.saturating_sub(db));
            pa.cmp(&pb).then(da.cmp(&db))
        }
    }
}

fn digits(v: i64) -> u32 {
    if v <= 0 { 1 } else { v.ilog10() + 1 }
}

/// A parsed `<version>_<name>` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationName {
    /// The version as a number (separators removed).
    pub version: i64,
    /// The version as written, e.g. `2017-09-23-182408`.
    pub version_text: String,
    /// The part after the version and its `_`.
    pub name: String,
}

/// Which part of a migration a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `<v>_<name>.up.sql`
    Up,
    /// `<v>_<name>.down.sql`
    Down,
    /// `<v>_<name>.sql`: sqlx's simple form, which has no down.
    UpOnly,
}

/// Why a file or directory name is not a migration name, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.problem, self.fix)
    }
}

const NAME_FIX: &str = "name it `<version>_<name>`, e.g. `0004_add_email` or `2026-05-27-120000_add_email`";

/// Parses `<version>_<name>` (a diesel directory name, or a file name without its extension).
///
/// ```
/// use dbguard_lint::version::parse_migration_name;
/// let m = parse_migration_name("2017-09-23-182408_move_tokens").unwrap();
/// assert_eq!((m.version, m.name.as_str()), (20170923182408, "move_tokens"));
/// assert_eq!(parse_migration_name("1_2fa_tokens").unwrap().name, "2fa_tokens");
/// assert!(parse_migration_name("add_email").is_err());
/// ```
pub fn parse_migration_name(s: &str) -> Result<MigrationName, NameError> {
    let b = s.as_bytes();
    let digits_end = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut pos = digits_end(0);
    if pos == 0 {
        return Err(NameError { problem: format!("`{s}` does not start with a version number"), fix: NAME_FIX.into() });
    }
    // Further digit groups belong to the version when a whole group is followed by another
    // separator or the end (so `1_2fa` is version 1, name `2fa`). `-` always joins groups; `_`
    // only after a 4-digit year (`2026_05_27_120000_x`), so that `20_3_tables` keeps its name.
    let year_first = pos == 4;
    while pos + 1 < b.len() && (b[pos] == b'-' || (b[pos] == b'_' && year_first)) && b[pos + 1].is_ascii_digit() {
        let end = digits_end(pos + 1);
        if end == b.len() || matches!(b[end], b'-' | b'_') {
            pos = end;
        } else {
            break;
        }
    }
    let version_text = &s[..pos];
    let name = match s[pos..].strip_prefix('_') {
        Some(name) if !name.trim().is_empty() => name,
        _ => {
            return Err(NameError {
                problem: format!("`{s}` has a version but no `_<name>` after it"),
                fix: NAME_FIX.into(),
            });
        }
    };
    let digits: String = version_text.chars().filter(char::is_ascii_digit).collect();
    let version = digits.parse::<i64>().map_err(|_| NameError {
        problem: format!("version `{version_text}` of `{s}` is too large (more than 18 digits)"),
        fix: "use a shorter version, such as a `YYYYMMDDHHMMSS` timestamp".into(),
    })?;
    Ok(MigrationName { version, version_text: version_text.to_string(), name: name.to_string() })
}

/// Parses a sqlx-style migration file name. `Ok(None)` for files that are not SQL.
///
/// ```
/// use dbguard_lint::version::{parse_file_name, FileRole};
/// let (m, role) = parse_file_name("20240101000000_users.down.sql").unwrap().unwrap();
/// assert_eq!((m.version, role), (20240101000000, FileRole::Down));
/// assert!(parse_file_name("README.md").unwrap().is_none());
/// ```
pub fn parse_file_name(file: &str) -> Result<Option<(MigrationName, FileRole)>, NameError> {
    let Some(stem) = file.strip_suffix(".sql") else {
        return Ok(None);
    };
    let (stem, role) = if let Some(s) = stem.strip_suffix(".up") {
        (s, FileRole::Up)
    } else if let Some(s) = stem.strip_suffix(".down") {
        (s, FileRole::Down)
    } else {
        (stem, FileRole::UpOnly)
    };
    parse_migration_name(stem).map(|m| Some((m, role)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_removed_from_the_number() {
        for (text, version) in [
            ("2017-09-23-182408_x", 20170923182408),
            ("2026-05-27-120000-0000_x", 202605271200000000),
            ("2026_05_27_120000_x", 20260527120000),
            ("0004_x", 4),
            ("00000000000000_diesel_initial_setup", 0),
        ] {
            assert_eq!(parse_migration_name(text).unwrap().version, version, "{text}");
        }
    }

    #[test]
    fn names_keep_underscores_spaces_and_digits() {
        let m = parse_migration_name("2019-11-15-182353_Add email notifications").unwrap();
        assert_eq!(m.name, "Add email notifications");
        assert_eq!(m.version_text, "2019-11-15-182353");
        assert_eq!(parse_migration_name("20_3_tables").unwrap().name, "3_tables");
        assert_eq!(parse_migration_name("20_3").unwrap().name, "3");
        assert_eq!(parse_migration_name("2026_05_x").unwrap().version, 202605);
        assert!(parse_migration_name("2026_3").is_err(), "a version with no name");
    }

    #[test]
    fn bad_names_say_how_to_fix_them() {
        for bad in ["", "_x", "12", "12_", "12-", "abc_1", "1234567890123456789012_x"] {
            let err = parse_migration_name(bad).unwrap_err();
            assert!(err.to_string().contains('`'), "{bad}: {err}");
        }
    }

    #[test]
    fn integer_and_timestamp_orders() {
        let mut v = vec![10, 2, 1, 20170923182408, 0];
        v.sort_by(|a, b| cmp_versions(*a, *b));
        assert_eq!(v, [0, 1, 2, 10, 20170923182408]);
        let mut t = vec![202605271200000000, 20260527120000, 202605261200000000, 20170831230457];
        t.sort_by(|a, b| cmp_versions(*a, *b));
        assert_eq!(t, [20170831230457, 202605261200000000, 20260527120000, 202605271200000000]);
    }

    #[test]
    fn ordering_is_total_and_consistent_with_digit_strings() {
        let vals = [
            0,
            1,
            9,
            10,
            99_999,
            10_000_000_000_000,
            20170923182408,
            201709231824081,
            202605271200000000,
            20260527120000,
            i64::MAX,
        ];
        for a in vals {
            for b in vals {
                assert_eq!(cmp_versions(a, b), cmp_versions(b, a).reverse(), "{a} {b}");
                if digits(a) >= TIMESTAMP_DIGITS && digits(b) >= TIMESTAMP_DIGITS {
                    assert_eq!(cmp_versions(a, b), a.to_string().cmp(&b.to_string()), "{a} {b}");
                }
            }
        }
    }
}
