//! Migration checksums that survive a Windows checkout.
//!
//! The runtime stores a checksum for every applied migration and reports *drift* when the
//! file changes afterwards. Git's `autocrlf`, an editor adding a BOM or trailing spaces must not
//! count as a change, so the text is normalised before hashing. The proc-macro computes the same
//! value at compile time, which is why this lives in the pure shared crate.

use sha2::{Digest, Sha256};

/// Normalises migration text for hashing: drops a UTF-8 BOM, turns CRLF and lone CR into LF,
/// removes trailing whitespace from each line and trailing blank lines at the end.
///
/// ```
/// use dbguard_lint::checksum::normalize;
/// assert_eq!(normalize("\u{feff}CREATE TABLE t (id INT);  \r\n\r\n"), "CREATE TABLE t (id INT);");
/// ```
pub fn normalize(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // One byte more than the text: the loop ends each line, the last one too (trimmed below);
    // an exact capacity would grow the buffer, copying it whole, at the very end.
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split('\n') {
        // `split('\n')` leaves the CR of a CRLF at the end of the line; trim_end removes it
        // together with spaces and tabs. A lone CR (old Mac) is treated as a line break too.
        for (i, part) in line.split('\r').enumerate() {
            if i > 0 && !part.trim_end().is_empty() {
                out.push('\n');
            }
            out.push_str(part.trim_end());
        }
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out
}

/// SHA-256 over the normalised `up` and `down` texts, as 64 lowercase hex digits.
///
/// Both parts are length-prefixed so that moving text from `up` to `down` changes the sum.
///
/// ```
/// use dbguard_lint::checksum::checksum;
/// let unix = checksum("CREATE TABLE t (id INT);\n", "DROP TABLE t;\n");
/// let windows = checksum("CREATE TABLE t (id INT);\r\n", "DROP TABLE t;\r\n");
/// assert_eq!(unix, windows);
/// assert_ne!(unix, checksum("CREATE TABLE t (id BIGINT);\n", "DROP TABLE t;\n"));
/// ```
pub fn checksum(up: &str, down: &str) -> String {
    let mut hasher = Sha256::new();
    // Hashed as it is normalised, with no copy: a seed migration may be tens of megabytes.
    for part in [up, down] {
        let mut len = 0u64;
        each_normalized(part, &mut |piece| len += piece.len() as u64);
        hasher.update(len.to_be_bytes());
        each_normalized(part, &mut |piece| hasher.update(piece));
    }
    hex(&hasher.finalize())
}

/// Hands `f` the bytes of [`normalize`]`(text)`, in pieces, without building it.
fn each_normalized(text: &str, f: &mut dyn FnMut(&[u8])) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Line breaks not yet handed on: dropped if only blank lines follow (trailing ones go).
    let mut breaks = 0usize;
    let mut put = |piece: &str, breaks: &mut usize| {
        if piece.is_empty() {
            return;
        }
        for _ in 0..std::mem::take(breaks) {
            f(b"\n");
        }
        f(piece.as_bytes());
    };
    for line in text.split('\n') {
        for (i, part) in line.split('\r').enumerate() {
            let part = part.trim_end();
            if i > 0 && !part.is_empty() {
                breaks += 1;
            }
            put(part, &mut breaks);
        }
        breaks += 1;
    }
}

/// Lowercase hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed normalisation hands on exactly the bytes of `normalize`.
    #[test]
    fn streamed_normalisation_is_normalize() {
        let cases = [
            "",
            "\n",
            "\n\nA",
            "A\n\n\n",
            "\u{feff}A  \r\nB\t\r\n\r\n",
            "A\rB\r",
            "A\r\rB",
            " \n \n",
            "\r",
            "x\r \r\ny",
        ];
        for case in cases {
            let mut out = Vec::new();
            each_normalized(case, &mut |p| out.extend_from_slice(p));
            assert_eq!(String::from_utf8(out).unwrap(), normalize(case), "{case:?}");
        }
    }

    #[test]
    fn line_endings_bom_and_trailing_space_do_not_matter() {
        let base = checksum("SELECT 1;\nSELECT 2;\n", "SELECT 3;");
        assert_eq!(base, checksum("\u{feff}SELECT 1;\r\nSELECT 2;   \r\n\r\n", "SELECT 3;\t\n"));
        assert_eq!(base, checksum("SELECT 1;\rSELECT 2;\r", "SELECT 3;"));
    }

    #[test]
    fn real_edits_change_the_sum() {
        let base = checksum("SELECT 1;", "SELECT 2;");
        assert_ne!(base, checksum("SELECT  1;", "SELECT 2;"), "inner whitespace is content");
        assert_ne!(base, checksum("SELECT 1;\n\nSELECT 2;", ""), "moving down into up");
        assert_ne!(base, checksum("SELECT 2;", "SELECT 1;"));
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn leading_blank_lines_are_content_but_trailing_are_not() {
        assert_eq!(normalize("a\n\n\n"), "a");
        assert_eq!(normalize("\na"), "\na");
    }
}
