//! Environment tiers (dev, staging, prod) and the confirmation that production changes need.
//!
//! Without an explicit tier, a database whose host is not local is treated as production: the
//! safe reading when someone points a tool at a URL they copied from somewhere.

use std::fmt;

/// Which kind of environment a database belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// A developer's database.
    Dev,
    /// A staging or test environment.
    Staging,
    /// Production: destructive actions need a confirmation that names the database.
    Prod,
}

impl Tier {
    /// Reads `dev`, `staging` or `prod` (and the usual long forms).
    ///
    /// ```
    /// use dbguard::Tier;
    /// assert_eq!(Tier::parse("production"), Some(Tier::Prod));
    /// assert_eq!(Tier::parse("qa"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Tier> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" | "local" => Some(Tier::Dev),
            "staging" | "stage" | "test" => Some(Tier::Staging),
            "prod" | "production" | "live" => Some(Tier::Prod),
            _ => None,
        }
    }

    /// The tier of `url` when none is given: `prod` unless the database is local (a SQLite
    /// file, `localhost`, a loopback address or a Unix socket).
    ///
    /// ```
    /// use dbguard::Tier;
    /// assert_eq!(Tier::for_url("postgres://app@127.0.0.1/shop"), Tier::Dev);
    /// assert_eq!(Tier::for_url("postgres://app:pw@db.internal:5432/shop"), Tier::Prod);
    /// ```
    pub fn for_url(url: &str) -> Tier {
        if crate::db::url::is_local(url) { Tier::Dev } else { Tier::Prod }
    }

    /// `dev`, `staging`, `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Dev => "dev",
            Tier::Staging => "staging",
            Tier::Prod => "prod",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Refuses `action` on the database at `url` unless `confirmed` names it, listing `what` would
/// happen. The caller has decided the database is production; an empty `what` needs nothing.
pub(crate) fn require_confirmation(
    url: &str,
    confirmed: Option<&str>,
    action: &'static str,
    what: Vec<String>,
) -> crate::Result<()> {
    if what.is_empty() {
        return Ok(());
    }
    let name = crate::db::url::database_name(url);
    if confirmed == Some(name.as_str()) {
        return Ok(());
    }
    Err(crate::Error::ConfirmationRequired(Box::new(crate::error::Confirmation {
        action,
        database: name,
        url: url.to_string(),
        what,
        given: confirmed.map(str::to_string),
    })))
}

/// For test suites: panics unless `url` names a database on this machine, so that no test run
/// can reach a production database through a stray `DATABASE_URL`.
///
/// ```should_panic
/// dbguard::assert_local_for_tests("postgres://app:pw@db.prod.internal/shop");
/// ```
pub fn assert_local_for_tests(url: &str) {
    assert!(
        crate::db::url::is_local(url),
        "refusing to run tests against {}: not a local database (tests must never reach production)",
        crate::mask_url(url)
    );
}
