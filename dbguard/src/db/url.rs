//! Database URLs: which backend and database they name, whether they are local, and how to
//! print them without their secrets.

/// The file a SQLite URL names (`sqlite://app.db`, `sqlite:app.db`, `sqlite:///abs/app.db`);
/// `None` for in-memory databases and other schemes.
///
/// ```
/// assert_eq!(dbguard::sqlite_file("sqlite://data/app.db?mode=rwc"), Some("data/app.db".into()));
/// assert_eq!(dbguard::sqlite_file("sqlite::memory:"), None);
/// ```
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    crate::db::backend::sqlite_file_path(url)
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

/// Replaces the password in a URL (`user:secret@`, `?password=secret`) with `***`.
///
/// ```
/// use dbguard::mask_url;
/// assert_eq!(mask_url("postgres://app:s3cr%40t@db.internal:5432/shop"), "postgres://app:***@db.internal:5432/shop");
/// assert_eq!(mask_url("mysql://db/shop?user=a&password=x"), "mysql://db/shop?user=a&password=***");
/// assert_eq!(mask_url("sqlite://dbguard.db"), "sqlite://dbguard.db");
/// ```
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let rest_end = out[auth_start..].find(['/', '?', '#']).map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..rest_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, "***");
            }
        }
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

/// The password in a URL, percent-decoded, if it has one; used to scrub it from messages that
/// a database driver may have built from the URL.
pub(crate) fn password(url: &str) -> Option<String> {
    let auth_start = url.find("://")? + 3;
    let rest_end = url[auth_start..].find(['/', '?', '#']).map_or(url.len(), |i| auth_start + i);
    let at = url[auth_start..rest_end].rfind('@')?;
    let (_, pw) = url[auth_start..auth_start + at].split_once(':')?;
    (!pw.is_empty()).then(|| percent_decode(pw))
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
    let Some((scheme, rest)) = url.split_once(':') else { return false };
    if scheme.eq_ignore_ascii_case("sqlite") {
        return true;
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    // No host: a Unix socket (`postgres:///db?host=/var/run/postgresql`).
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host.starts_with("127.")
        || host == "::1"
        || host.starts_with('/')
        || host.starts_with("%2F")
}

/// The name a production confirmation must repeat: the database's name from the URL (for
/// SQLite, the file name).
///
/// ```
/// assert_eq!(dbguard::database_name("postgres://app:pw@db:5432/shop?sslmode=require"), "shop");
/// assert_eq!(dbguard::database_name("sqlite:///srv/data/app.db"), "app.db");
/// ```
pub fn database_name(url: &str) -> String {
    let base = url.split(['?', '#']).next().unwrap_or_default();
    base.rsplit('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_all_positions() {
        assert_eq!(mask_url("postgres://u:p@h/d?password=q&x=1"), "postgres://u:***@h/d?password=***&x=1");
        assert_eq!(mask_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(mask_url("postgres://u:p:q@h@x/d"), "postgres://u:***@x/d");
        assert_eq!(mask_url("mysql://h/d?mypassword=keep"), "mysql://h/d?mypassword=keep");
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
}
