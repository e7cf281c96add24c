//! Who runs dbguard, and when: the stamps on version rows, audit entries and backups.

/// `user@host` of this process, for the `applied_by` column and the audit log. The user is the
/// one the operating system runs the process as (not `$USER`, which may be unset or anything);
/// `uid:N`-style names come from `whoami` when the account has no name.
pub(crate) fn applied_by() -> String {
    let user = whoami::fallible::username()
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = whoami::fallible::hostname()
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host}")
}

/// Now, in UTC, as RFC 3339 with milliseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_user_comes_from_the_system_not_the_environment() {
        // SAFETY: single-threaded test of this module; nothing else reads USER meanwhile.
        let before = super::applied_by();
        unsafe { std::env::remove_var("USER") };
        let without = super::applied_by();
        assert_eq!(before, without);
        assert!(!without.starts_with("unknown@"), "{without}");
    }
}
