//! Paths in the configuration and on the command line, made absolute against the directory
//! they are relative to, without touching the disk (the file may not exist yet).

use std::path::{Component, Path, PathBuf};

/// `path` made absolute against `base`, with `.` and `..` resolved without touching the disk
/// (the file may not exist yet).
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A SQLite URL with a relative path made absolute against `base` (`sqlite://app.db`,
/// `sqlite:app.db` → `sqlite:///base/app.db`); other URLs, in-memory databases and absolute
/// paths unchanged.
///
/// ```
/// use std::path::Path;
/// use dbguard_cli::paths::resolve_sqlite;
/// assert_eq!(resolve_sqlite("sqlite://data/app.db?mode=rwc", Path::new("/srv/shop")), "sqlite:///srv/shop/data/app.db?mode=rwc");
/// assert_eq!(resolve_sqlite("sqlite:app.db", Path::new("/srv")), "sqlite:///srv/app.db");
/// assert_eq!(resolve_sqlite("sqlite:///abs.db", Path::new("/srv")), "sqlite:///abs.db");
/// assert_eq!(resolve_sqlite("sqlite::memory:", Path::new("/srv")), "sqlite::memory:");
/// assert_eq!(resolve_sqlite("postgres://h/db", Path::new("/srv")), "postgres://h/db");
/// ```
pub fn resolve_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else { return url.to_string() };
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() || path.starts_with(':') || path.starts_with('/') {
        return url.to_string();
    }
    let abs = absolute(base, Path::new(path));
    match query {
        Some(q) => format!("sqlite://{}?{q}", abs.display()),
        None => format!("sqlite://{}", abs.display()),
    }
}
