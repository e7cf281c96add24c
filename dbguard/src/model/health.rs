//! The health of a database against a build's migrations, as data: what `check`, the start-up
//! check and the `/ready` endpoint report.

/// Overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Up to date, nothing wrong.
    Healthy,
    /// Usable, but something needs doing (pending migrations, a row-count alert).
    Degraded,
    /// Do not serve from it: empty, dirty, drifted, ahead of the code, a required table gone.
    Critical,
}

/// What [`Migrator::health`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// Overall.
    pub status: Status,
    /// `dev`, `staging`, `prod`.
    pub tier: String,
    /// The database, masked.
    pub url: String,
    /// The newest applied migration.
    pub current_version: Option<i64>,
    /// The newest migration the code has.
    pub expected_version: Option<i64>,
    /// Migrations the code has and the database does not.
    pub pending: Vec<i64>,
    /// Applied migrations edited since.
    pub drifted: Vec<i64>,
    /// Applied migrations the code does not have (the database is ahead).
    pub missing: Vec<i64>,
    /// Migrations that did not finish.
    pub dirty: Vec<i64>,
    /// Required tables and whether each exists.
    pub required_tables: Vec<(String, bool)>,
    /// Row counts of the watched tables.
    pub row_counts: Vec<(String, i64)>,
    /// Row-count alerts.
    pub alerts: Vec<String>,
    /// What is wrong and what to run next, one line each.
    pub messages: Vec<String>,
    /// The schema's fingerprint now (`check` only).
    pub fingerprint: Option<String>,
    /// What changed in the schema since the last migration run, outside dbguard (`check`
    /// only): `+ object` added, `- object` gone or changed.
    pub schema_changes: Vec<String>,
}

impl Health {
    /// A critical report for a database that could not be reached or read: `tier`, the masked
    /// `url`, and the error's message.
    pub fn unreachable(tier: &str, url: &str, message: String) -> Health {
        Health {
            status: Status::Critical,
            tier: tier.to_string(),
            url: url.to_string(),
            current_version: None,
            expected_version: None,
            pending: Vec::new(),
            drifted: Vec::new(),
            missing: Vec::new(),
            dirty: Vec::new(),
            required_tables: Vec::new(),
            row_counts: Vec::new(),
            alerts: Vec::new(),
            messages: vec![message],
            fingerprint: None,
            schema_changes: Vec::new(),
        }
    }

    pub(crate) fn raise(&mut self, status: Status, message: String) {
        self.status = self.status.max(status);
        self.messages.push(message);
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Critical => "critical",
        };
        write!(f, "database {} is {status}", self.url)?;
        for m in &self.messages {
            write!(f, "\n  - {m}")?;
        }
        Ok(())
    }
}
