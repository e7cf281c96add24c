//! Environment tiers: dev, staging, prod.

use std::fmt;

/// Which kind of environment a database belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
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
