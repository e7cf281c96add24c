//! Environment tiers (dev, staging, prod), and how a database's tier is decided.
//!
//! The rule only ever gets stricter: a database the configuration names (`databases.prod`) has
//! that tier; otherwise a database on another host is `prod` and a local one `dev`; a tier asked
//! for (`--env`, `DBGUARD_ENV`, `env` in the configuration, [`crate::Migrator::tier`]) can raise
//! that, never lower it. So `--env dev` pointed at the production URL is still production.

pub use crate::model::tier::Tier;

/// A database whose tier the configuration states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDatabase {
    /// Its tier.
    pub tier: Tier,
    /// Its URL (compared by host, port and database name, or SQLite path; never printed).
    pub url: String,
    /// Where this is stated, for messages: `databases.prod in Cargo.toml`.
    pub source: String,
}

/// How the tier of a database is decided. See the module documentation for the rule.
///
/// ```
/// use dbguard::{Tier, TierPolicy};
/// let policy = TierPolicy::default()
///     .known(Tier::Prod, "postgres://app:pw@db.internal/shop", "databases.prod in Cargo.toml")
///     .requested(Tier::Dev, "--env dev");
/// let d = policy.resolve("postgres://admin@DB.internal:5432/shop?sslmode=require");
/// assert_eq!(d.tier, Tier::Prod, "--env cannot lower a configured production database");
/// assert!(d.reason.contains("databases.prod in Cargo.toml"), "{}", d.reason);
/// assert_eq!(policy.resolve("postgres://app@127.0.0.1/shop").tier, Tier::Dev);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierPolicy {
    requested: Option<(Tier, String)>,
    known: Vec<KnownDatabase>,
}

/// A tier, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierDecision {
    /// The tier.
    pub tier: Tier,
    /// Why, for the banner and refusals: `this URL is databases.prod in Cargo.toml`.
    pub reason: String,
}

impl TierPolicy {
    /// A tier asked for, and by what (`--env prod`, `DBGUARD_ENV=staging`): it can raise the
    /// database's tier, never lower it.
    pub fn requested(mut self, tier: Tier, by: impl Into<String>) -> Self {
        self.requested = Some((tier, by.into()));
        self
    }

    /// A database whose tier the configuration states, and where it says so.
    pub fn known(mut self, tier: Tier, url: impl Into<String>, source: impl Into<String>) -> Self {
        self.known.push(KnownDatabase { tier, url: url.into(), source: source.into() });
        self
    }

    /// The tier asked for, if any.
    pub fn requested_tier(&self) -> Option<Tier> {
        self.requested.as_ref().map(|(t, _)| *t)
    }

    /// The tier of the database at `url`, and why.
    pub fn resolve(&self, url: &str) -> TierDecision {
        let id = crate::db::url::identity(url);
        // The strictest configured tier wins if one URL is listed twice.
        let known = self.known.iter().filter(|k| crate::db::url::identity(&k.url) == id).max_by_key(|k| k.tier);
        let base = match known {
            Some(k) => TierDecision { tier: k.tier, reason: format!("this URL is {}", k.source) },
            None if crate::db::url::is_local(url) => {
                TierDecision { tier: Tier::Dev, reason: "a local database with no tier configured".into() }
            }
            None => TierDecision {
                tier: Tier::Prod,
                reason: "a database on another host, and no tier is configured for it (a remote database is prod unless the configuration lists it under `databases`)".into(),
            },
        };
        match &self.requested {
            Some((t, by)) if *t > base.tier => TierDecision { tier: *t, reason: format!("{by} asks for it") },
            Some((t, by)) if *t < base.tier => {
                TierDecision { tier: base.tier, reason: format!("{}; {by} cannot lower it", base.reason) }
            }
            _ => base,
        }
    }
}

/// Refuses `action` on the database at `url` unless `confirmed` names it, listing `what` would
/// happen. The caller has decided the database is production (`reason`); an empty `what` needs
/// nothing.
pub(crate) fn require_confirmation(
    url: &str,
    reason: &str,
    confirmed: Option<&str>,
    action: &str,
    what: Vec<String>,
) -> crate::error::Result<()> {
    if what.is_empty() {
        return Ok(());
    }
    let name = crate::db::url::database_name(url);
    if confirmed == Some(name.as_str()) {
        return Ok(());
    }
    Err(crate::error::Error::ConfirmationRequired(Box::new(crate::error::Confirmation {
        action: action.to_string(),
        database: name,
        url: url.to_string(),
        reason: reason.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_only_gets_stricter() {
        let p = TierPolicy::default()
            .known(Tier::Prod, "mysql://app:pw@db.prod/shop", "databases.prod in Cargo.toml")
            .known(Tier::Dev, "postgres://dev@dev-db.internal/shop", "databases.dev in Cargo.toml");
        assert_eq!(p.resolve("mysql://root@db.prod:3306/shop").tier, Tier::Prod);
        assert_eq!(
            p.resolve("postgres://dev@dev-db.internal/shop").tier,
            Tier::Dev,
            "a configured remote dev database"
        );
        assert_eq!(p.resolve("postgres://x@other.internal/shop").tier, Tier::Prod, "remote and unknown");
        assert_eq!(p.resolve("sqlite://app.db").tier, Tier::Dev);
        for asked in [Tier::Dev, Tier::Staging] {
            let d = p.clone().requested(asked, "--env x").resolve("mysql://root@db.prod/shop");
            assert_eq!(d.tier, Tier::Prod, "{asked:?}");
            assert!(
                d.reason.contains("databases.prod in Cargo.toml") && d.reason.contains("cannot lower"),
                "{}",
                d.reason
            );
        }
        let raised = p.clone().requested(Tier::Staging, "DBGUARD_ENV=staging").resolve("sqlite://app.db");
        assert_eq!((raised.tier, raised.reason.as_str()), (Tier::Staging, "DBGUARD_ENV=staging asks for it"));
        assert_eq!(
            p.requested(Tier::Prod, "--env prod").resolve("postgres://dev@dev-db.internal/shop").tier,
            Tier::Prod
        );
    }
}
