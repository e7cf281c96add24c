//! Database URLs: which backend and database they name, whether they are local, and how to
//! print them without their secrets.

use crate::model::kind::BackendKind;

/// The file a SQLite URL names (`sqlite://app.db`, `sqlite:app.db`, `sqlite:///abs/app.db`);
/// `None` for in-memory databases and other schemes. The path is percent-decoded, as the driver
/// decodes it: the lock file and backups go beside the file it opens.
///
/// ```
/// assert_eq!(dbguard::sqlite_file("sqlite://data/app.db?mode=rwc"), Some("data/app.db".into()));
/// assert_eq!(dbguard::sqlite_file("sqlite:///tmp/my%20app.db"), Some("/tmp/my app.db".into()));
/// assert_eq!(dbguard::sqlite_file("sqlite::memory:"), None);
/// ```
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    let memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    (!memory).then(|| std::path::PathBuf::from(&*decoded))
}

/// The same server URL naming another database.
///
/// ```
/// assert_eq!(dbguard::url_with_database("postgres://u@h:5432/shop?sslmode=require", "scratch"), "postgres://u@h:5432/scratch?sslmode=require");
/// assert_eq!(dbguard::url_with_database("mysql://root@127.0.0.1", "t"), "mysql://root@127.0.0.1/t");
/// ```
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Replaces the password in a URL (`user:secret@`, `?password=secret`) with `***`. Malformed
/// URLs are masked too (a missing `:` after the scheme, a password with an unencoded `/` or
/// `@`): when in doubt, more is masked, never less.
///
/// ```
/// use dbguard::mask_url;
/// assert_eq!(mask_url("postgres://app:s3cr%40t@db.internal:5432/shop"), "postgres://app:***@db.internal:5432/shop");
/// assert_eq!(mask_url("mysql://db/shop?user=a&password=x"), "mysql://db/shop?user=a&password=***");
/// assert_eq!(mask_url("sqlite://dbguard.db"), "sqlite://dbguard.db");
/// assert_eq!(mask_url("postgres//app:secret@db/shop"), "postgres//app:***@db/shop");
/// ```
pub fn mask_url(url: &str) -> String {
    // Not a URL at all (no scheme): it may be anything, a password pasted in the wrong place.
    if !url.contains(':') {
        return "(not a URL; not shown)".into();
    }
    let mut out = url.to_string();
    if let Some(range) = userinfo_password(url).or_else(|| unnumbered_port(url)) {
        out.replace_range(range, "***");
    }
    for key in ["password=", "pass=", "sslpassword="] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let start = from + i + key.len();
            let boundary = start == key.len() || matches!(out.as_bytes()[start - key.len() - 1], b'?' | b'&');
            let end = out[start..].find('&').map_or(out.len(), |j| start + j);
            if boundary && end > start {
                out.replace_range(start..end, "***");
            }
            from = start.min(out.len());
        }
    }
    out
}

/// The byte range of the password in `user:password@host`, found without trusting the URL to
/// be well formed: after the scheme (if any) and its slashes, from the first `:` to the last
/// `@`. A `@` further on (in the query, say) masks more than the password: harmless.
fn userinfo_password(url: &str) -> Option<std::ops::Range<usize>> {
    // Leading spaces (a pasted URL) are not part of the scheme.
    let lead = url.len() - url.trim_start().len();
    // A scheme is a known one or is followed by `//`: in `user:secret@host` the `user` is not.
    let scheme = url[lead..].find(':').map(|i| lead + i).filter(|&i| {
        let s = &url[lead..i];
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            && (url[i + 1..].starts_with("//")
                || ["postgres", "postgresql", "mysql", "mariadb", "sqlite"].iter().any(|k| s.eq_ignore_ascii_case(k)))
    });
    let mut start = scheme.map_or(lead, |i| i + 1);
    let slashes = url[start..].len() - url[start..].trim_start_matches('/').len();
    start += slashes;
    let at = start + url[start..].rfind('@')?;
    match url[start..at].find(':') {
        Some(i) => (at > start + i + 1).then_some(start + i + 1..at),
        // `postgres:secret@host/db` (the `//` missing): what stands before the `@` may be
        // the password; hidden whole.
        None if scheme.is_some() && slashes < 2 && at > start => Some(start..at),
        None => None,
    }
}

/// A "port" that is not a number in an authority without `@`: most likely a password whose
/// `@` is missing (`postgres://app:secret127.0.0.1/shop`), masked too.
fn unnumbered_port(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    if authority.contains('@') || authority.ends_with(']') {
        return None;
    }
    let colon = start + authority.rfind(':')?;
    let port = &url[colon + 1..end];
    (!port.is_empty() && !port.chars().all(|c| c.is_ascii_digit())).then_some(colon + 1..end)
}

/// The password in a URL, percent-decoded, if it has one; used to scrub it from messages that
/// a database driver may have built from the URL.
pub(crate) fn password(url: &str) -> Option<String> {
    userinfo_password(url).map(|r| percent_decode(&url[r]))
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes every trace of the URL's password from `text` (raw and percent-encoded).
pub(crate) fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &mask_url(url));
    // A one-character "password" would mangle every message; the URL form is masked anyway.
    if let Some(pw) = password(url)
        && pw.len() >= 2
    {
        out = out.replace(&pw, "***");
    }
    out
}

/// Whether `url` names a database on this machine.
pub fn is_local(url: &str) -> bool {
    match BackendKind::from_url(url) {
        Some(BackendKind::Sqlite) => true,
        Some(_) => target(url).is_some_and(|t| t.host == "localhost"),
        None => false,
    }
}

/// Where a server URL really connects: the host and port (after `?host=`, `?hostaddr=`,
/// `?port=`, `?socket=`, which the drivers honour over the authority) and the database (after
/// `?dbname=`). A loopback address, `localhost` and a Unix socket are all `localhost`; any
/// other name (`127.db.internal`, `127.1`) is what it says, so not local: when in doubt, not
/// local.
pub(crate) struct Target {
    pub host: String,
    pub port: String,
    pub database: String,
}

pub(crate) fn target(url: &str) -> Option<Target> {
    let kind = BackendKind::from_url(url)?;
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    let (base, query) = rest.split_once('?').map_or((rest, ""), |(b, q)| (b, q));
    let base = base.split('#').next().unwrap_or_default();
    let hostpath = base.rsplit_once('@').map_or(base, |(_, h)| h);
    let (hostport, db) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let (mut host, mut port) = match hostport.rsplit_once(':').filter(|(h, _)| !h.ends_with(['[', ':'])) {
        Some((h, p)) if !hostport.ends_with(']') => (h.to_string(), p.to_string()),
        _ => (hostport.to_string(), String::new()),
    };
    let mut database = percent_decode(db);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "host" | "hostaddr" if !v.is_empty() => host = v,
            "socket" if !v.is_empty() => host = "localhost".into(),
            "port" if !v.is_empty() => port = v,
            "dbname" if !v.is_empty() => database = v,
            _ => {}
        }
    }
    if port.is_empty() {
        port = if kind == BackendKind::Postgres { "5432" } else { "3306" }.into();
    }
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let loopback = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let socket = host.is_empty() || host.starts_with('/') || host.starts_with("%2f");
    let host = if loopback || socket || host == "localhost" { "localhost".into() } else { host };
    Some(Target { host, port, database })
}

/// The name a production confirmation must repeat: the database's name from the URL (for
/// SQLite, the file name).
///
/// ```
/// assert_eq!(dbguard::database_name("postgres://app:pw@db:5432/shop?sslmode=require"), "shop");
/// assert_eq!(dbguard::database_name("sqlite:///srv/data/app.db"), "app.db");
/// assert_eq!(dbguard::database_name("postgres://app@db/dev?dbname=shop"), "shop", "the one it connects to");
/// ```
pub fn database_name(url: &str) -> String {
    if let Some(BackendKind::Postgres | BackendKind::Mysql) = BackendKind::from_url(url)
        && let Some(t) = target(url)
    {
        return t.database;
    }
    let base = url.split(['?', '#']).next().unwrap_or_default();
    base.rsplit('/').next().unwrap_or_default().to_string()
}

/// What is wrong with a URL before any connection is tried: an unknown scheme, a SQLite URL
/// that names no file (`sqlite:` would be a database in memory, gone when the command ends),
/// a server URL that names no database. The error masks the password.
///
/// ```
/// assert!(dbguard::check_url("mysql://root@db:3306/").is_err());
/// assert!(dbguard::check_url("sqlite://app.db").is_ok());
/// ```
pub fn check(url: &str) -> crate::error::Result<BackendKind> {
    let bad = |problem: &str| crate::error::Error::BadUrl { url: mask_url(url), problem: problem.to_string() };
    let kind = BackendKind::from_url(url)
        .ok_or_else(|| bad("unknown or missing scheme (the URL must start with sqlite:, postgres:// or mysql://)"))?;
    match kind {
        BackendKind::Sqlite => {
            let rest = url["sqlite:".len()..].trim_start_matches('/');
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() && !url.contains("mode=memory") {
                return Err(bad(
                    "it names no file, which SQLite reads as a new database in memory that is gone when the command ends; write sqlite://path/to/app.db (or sqlite::memory: to ask for an in-memory database)",
                ));
            }
        }
        BackendKind::Postgres | BackendKind::Mysql => {
            let Some((_, rest)) = url.split_once("://") else {
                return Err(bad("it has no `://` after the scheme"));
            };
            let base = rest.split(['?', '#']).next().unwrap_or_default();
            let path = base.rsplit_once('@').map_or(base, |(_, h)| h);
            let database = path.split_once('/').map_or("", |(_, d)| d);
            if unnumbered_port(url).is_some() {
                return Err(bad(
                    "its port is not a number (is a password missing the `@` that ends it? `user:password@host:port`)",
                ));
            }
            let named_in_query = base.len() < rest.len() && rest.contains("dbname=");
            if database.is_empty() && !named_in_query {
                return Err(bad(&format!(
                    "it names no database: add its name after the host (`{}://user@host:port/shop`)",
                    url.split(':').next().unwrap_or_default()
                )));
            }
        }
    }
    Ok(kind)
}

/// The database a URL names, without user, password or options: `postgres://db.internal:5432/shop`,
/// or a SQLite file's absolute path. Two URLs with the same identity are the same database.
pub(crate) fn identity(url: &str) -> String {
    match BackendKind::from_url(url) {
        Some(BackendKind::Sqlite) => match sqlite_file(url) {
            Some(p) => {
                let abs = std::path::absolute(&p).unwrap_or(p);
                let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
                format!("sqlite://{}", abs.display())
            }
            None => "sqlite::memory:".into(),
        },
        Some(kind) => match target(url) {
            Some(t) => {
                let family = if kind == BackendKind::Postgres { "postgres" } else { "mysql" };
                format!("{family}://{}:{}/{}", t.host, t.port, t.database)
            }
            None => mask_url(url),
        },
        None => mask_url(url),
    }
}

/// What the audit log files a command under: the database's [`identity`], with the schema a
/// PostgreSQL URL pins (`options=-c search_path=tenant_a`, as a fleet's schema targets do), so
/// that the history of one schema is not mixed with the others' of the same database.
pub(crate) fn audit_key(url: &str) -> String {
    let id = identity(url);
    match pinned_schema(url) {
        Some(schema) => format!("{id}?search_path={schema}"),
        None => id,
    }
}

/// The `search_path` a server URL's `options` set (`-c search_path=x`, `-csearch_path=x`),
/// unescaped, as written.
fn pinned_schema(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next().unwrap_or_default();
    let options = query.split('&').find_map(|p| p.strip_prefix("options=")).map(percent_decode)?;
    // The server splits `options` on whitespace not escaped by a backslash.
    let mut words: Vec<String> = vec![String::new()];
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => words.last_mut()?.extend(chars.next()),
            c if c.is_whitespace() => words.push(String::new()),
            c => words.last_mut()?.push(c),
        }
    }
    let mut at = words.iter().filter(|w| !w.is_empty());
    while let Some(w) = at.next() {
        let setting = match w.as_str() {
            "-c" | "--" => at.next().map(String::as_str),
            w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--")),
        };
        if let Some(v) = setting.and_then(|s| s.strip_prefix("search_path=")) {
            return Some(schema_names(v)).filter(|v| !v.is_empty());
        }
    }
    None
}

/// A `search_path` as the server reads it: each name quoted (`"Tenant A"`: as written) or not
/// (`Tenant_A`: folded to lower case), so that two spellings of one schema are one key.
fn schema_names(path: &str) -> String {
    let mut names: Vec<String> = Vec::new();
    let (mut name, mut quoted, mut in_quotes) = (String::new(), false, false);
    let fold = |name: String, quoted: bool| if quoted { name } else { name.trim().to_lowercase() };
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                name.push('"');
            }
            '"' => (in_quotes, quoted) = (!in_quotes, true),
            ',' if !in_quotes => {
                names.push(fold(std::mem::take(&mut name), quoted));
                quoted = false;
            }
            c => name.push(c),
        }
    }
    names.push(fold(name, quoted));
    names.join(",")
}

/// The parts of a server URL a dump tool takes as arguments.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))] // server backends only
pub(crate) struct Parts {
    /// The user (percent-decoded).
    pub user: String,
    /// The password (percent-decoded), for the tool's environment, never its arguments.
    pub password: Option<String>,
    /// The host.
    pub host: String,
    /// The port, when given.
    pub port: Option<String>,
    /// The database (percent-decoded).
    pub database: String,
}

pub(crate) fn parts(url: &str) -> Option<Parts> {
    let rest = url.split_once("://")?.1;
    let rest = rest.split('?').next()?;
    let (auth, hostpath) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (hostport, database) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), Some(p.to_string())),
        None => (hostport.to_string(), None),
    };
    let (user, password) = match auth.map(|a| a.split_once(':').map_or((a, None), |(u, p)| (u, Some(p)))) {
        Some((u, p)) => (percent_decode(u), p.map(percent_decode)),
        None => (String::new(), None),
    };
    Some(Parts { user, password, host, port, database: percent_decode(database) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_all_positions() {
        assert_eq!(mask_url("postgres://u:p@h/d?password=q&x=1"), "postgres://u:***@h/d?password=***&x=1");
        assert_eq!(mask_url("postgres://u@h/d"), "postgres://u@h/d");
        // The `//` missing: what stands before the `@` may be the password.
        assert_eq!(mask_url("postgres:secretpw@127.0.0.1/d"), "postgres:***@127.0.0.1/d");
        assert_eq!(mask_url("mysql:secretpw@h/d"), "mysql:***@h/d");
        assert_eq!(mask_url("postgres:/secretpw@x/y"), "postgres:/***@x/y");
        assert_eq!(mask_url("postgres://u:p:q@h@x/d"), "postgres://u:***@x/d");
        assert_eq!(mask_url("mysql://h/d?mypassword=keep"), "mysql://h/d?mypassword=keep");
        // No scheme: `u` is the user, not a scheme.
        assert_eq!(mask_url("u:hunter2@h/x"), "u:***@h/x");
        assert_eq!(mask_url(" postgres://u:hunter2@h/x"), " postgres://u:***@h/x");
        assert_eq!(mask_url("mysql:u:hunter2@h/x"), "mysql:u:***@h/x");
    }

    #[test]
    fn scrubs_decoded_passwords_from_messages() {
        let url = "postgres://app:s3cr%40t@h/d";
        assert_eq!(password(url).as_deref(), Some("s3cr@t"));
        let msg = format!("failed for {url}: auth s3cr@t rejected");
        let clean = scrub(&msg, url);
        assert!(!clean.contains("s3cr"), "{clean}");
    }

    #[test]
    fn file_paths_from_urls() {
        use std::path::PathBuf;
        assert_eq!(sqlite_file("sqlite://app.db"), Some(PathBuf::from("app.db")));
        assert_eq!(sqlite_file("sqlite:app.db?mode=rwc"), Some(PathBuf::from("app.db")));
        assert_eq!(sqlite_file("sqlite:///tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://"), None);
    }

    #[test]
    fn local_and_remote_urls() {
        for local in [
            "sqlite://dbguard.db",
            "sqlite::memory:",
            "postgres://postgres@localhost/x",
            "mysql://root@127.0.0.1:3306/test",
            "postgres://u@[::1]:5432/x",
            "postgres:///shop",
        ] {
            assert!(is_local(local), "{local}");
        }
        for remote in ["postgres://app@db.internal/shop", "mysql://u:p@10.0.0.5/x", "postgres://u@[2001:db8::1]/x"] {
            assert!(!is_local(remote), "{remote}");
        }
    }

    #[test]
    fn malformed_urls_are_masked_too() {
        for (url, secret) in [
            ("postgres//user:secret@host/db", "secret"),
            ("postgres:/user:secret@host/db", "secret"),
            ("postgres://user:se/cret@host/db", "se/cret"),
            ("mysql://root:p@ss@host:3306/db", "p@ss"),
            ("mysql:root:hunter22@host/db", "hunter22"),
            ("sqlite://u:topsecret@x.db", "topsecret"),
            ("redis://u:topsecret@h", "topsecret"),
            ("postgres://u:pw123@h/d?password=pw456&x=1", "pw456"),
        ] {
            let masked = mask_url(url);
            assert!(!masked.contains(secret), "{url} -> {masked}");
            assert!(masked.contains("***"), "{url} -> {masked}");
            assert!(password(url).is_some(), "{url}");
        }
        assert_eq!(mask_url("mysql://root@host:3306/"), "mysql://root@host:3306/");
    }

    #[test]
    fn urls_that_name_no_database_are_refused_before_connecting() {
        for url in [
            "sqlite:",
            "sqlite://",
            "sqlite:?mode=rwc",
            "mysql://root@host:3306/",
            "mysql://root@host",
            "postgres://u:secret@h/",
            "postgres//u:secret@h/db",
            "redis://h/0",
        ] {
            let e = check(url).unwrap_err().to_string();
            assert!(!e.contains("secret"), "{e}");
            assert!(e.starts_with("bad database URL"), "{e}");
        }
        for url in [
            "sqlite://app.db",
            "sqlite::memory:",
            "sqlite:app.db",
            "postgres://u@h/db",
            "mysql://root@127.0.0.1:3306/test",
            "postgres:///db?host=/tmp",
        ] {
            check(url).unwrap();
        }
    }

    #[test]
    fn a_pinned_schema_has_its_own_audit_key() {
        let base = "postgres://u:pw@db:5432/shop";
        assert_eq!(audit_key(base), "postgres://db:5432/shop");
        assert_eq!(
            audit_key(&format!("{base}?options=-c%20search_path%3Dtenant_a")),
            format!("{}?search_path=tenant_a", audit_key(base))
        );
        assert_eq!(
            audit_key(&format!("{base}?sslmode=disable&options=-csearch_path%3D%22T%5C%20b%22")),
            format!("{}?search_path=T b", audit_key(base))
        );
        // One schema, spelled quoted or not, is one key; a quoted capital is another schema.
        let key = |path: &str| audit_key(&format!("{base}?options=-c%20search_path%3D{path}"));
        assert_eq!(key("%22tenant_a%22"), key("Tenant_A"));
        assert_ne!(key("%22Tenant_A%22"), key("Tenant_A"));
        assert_ne!(
            audit_key(&format!("{base}?options=-c%20search_path%3Da")),
            audit_key(&format!("{base}?options=-c%20search_path%3Db"))
        );
        assert_eq!(audit_key(&format!("{base}?options=-c%20statement_timeout%3D5")), audit_key(base));
    }

    #[test]
    fn identities_ignore_credentials_and_options() {
        assert_eq!(
            identity("postgres://a:x@DB.internal/shop?sslmode=require"),
            identity("postgres://b@db.internal:5432/shop")
        );
        assert_ne!(identity("postgres://a@db/shop"), identity("postgres://a@db/shop2"));
        assert_eq!(identity("mysql://root@127.0.0.1:3306/t"), identity("mysql://u@localhost/t"));
        assert!(identity("sqlite://x.db").starts_with("sqlite:///"), "absolute: {}", identity("sqlite://x.db"));
        // The same server written another way is the same database.
        let prod = identity("postgres://postgres@127.0.0.1:5432/shop");
        for same in [
            "postgres:///shop?user=postgres",
            "postgres://postgres@localhost/shop",
            "postgres://postgres@[::1]:5432/shop",
            "postgres://x@127.0.0.1:5432/dev?dbname=shop",
            "postgres:///shop?host=/var/run/postgresql",
        ] {
            assert_eq!(identity(same), prod, "{same}");
        }
        assert_ne!(identity("postgres://x@127.0.0.1/shop?host=192.0.2.2"), prod);
    }

    #[test]
    fn only_loopback_addresses_localhost_and_sockets_are_local() {
        for local in
            ["postgres://u@127.0.0.2/x", "postgres:///x", "mysql://root@localhost/x", "mysql://u@h/x?socket=/tmp/s"]
        {
            assert!(is_local(local), "{local}");
        }
        for remote in [
            "postgres://u@127.db.internal/x",
            "postgres://u@127.0.0.1.db.internal/x",
            "postgres://u@127.1/x",
            "postgres://u@127.0.0.1/x?host=192.0.2.2",
            "postgres://u@127.0.0.1/x?hostaddr=10.0.0.5",
        ] {
            assert!(!is_local(remote), "{remote}");
        }
    }

    #[test]
    fn a_password_missing_its_at_sign_is_masked() {
        let url = "postgres://postgres:S3cretPW127.0.0.1/trial_prod";
        assert_eq!(mask_url(url), "postgres://postgres:***/trial_prod");
        assert!(!check(url).unwrap_err().to_string().contains("S3cret"));
        assert_eq!(mask_url("S3cretPW"), "(not a URL; not shown)");
        assert_eq!(mask_url("postgres://h:5432/db"), "postgres://h:5432/db");
        assert_eq!(mask_url("postgres://[::1]:5432/db"), "postgres://[::1]:5432/db");
    }

    #[test]
    fn url_parts() {
        let p = parts("postgres://app:s%40cret@db.internal:5433/shop?sslmode=require").unwrap();
        assert_eq!((p.user.as_str(), p.password.as_deref(), p.host.as_str()), ("app", Some("s@cret"), "db.internal"));
        assert_eq!((p.port.as_deref(), p.database.as_str()), (Some("5433"), "shop"));
        let q = parts("mysql://root@127.0.0.1/test").unwrap();
        assert_eq!((q.password, q.port, q.database.as_str()), (None, None, "test"));
    }
}
