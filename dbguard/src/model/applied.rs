//! The rows of the version table, as data: what was applied, when, by whom.

use crate::model::stamp::applied_by;

/// The state of a row in the version table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Ran to completion.
    Applied,
    /// Started and did not finish; its changes may be partial.
    Dirty,
    /// Recorded by `baseline` without running.
    Baseline,
}

impl RowState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Dirty => "dirty",
            RowState::Baseline => "baseline",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "applied" => RowState::Applied,
            "baseline" => RowState::Baseline,
            // Anything unexpected is treated as unfinished: the safe reading.
            _ => RowState::Dirty,
        }
    }
}

/// One row of the version table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedRow {
    /// The migration's version.
    pub version: i64,
    /// Its name when it was applied.
    pub name: String,
    /// Its checksum when it was applied.
    pub checksum: String,
    /// Applied, dirty or baseline.
    pub state: RowState,
    /// When it started (UTC, RFC 3339).
    pub applied_at: String,
    /// Who ran it, how long it took: read only where it is shown ([`crate::Migrator::status`]),
    /// since every run reads the whole table and these columns cost time on large histories.
    pub details: Option<RowDetails>,
}

/// The descriptive columns of a version-table row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowDetails {
    /// How long it took.
    pub execution_ms: i64,
    /// `user@host` that ran it.
    pub applied_by: String,
    /// The dbguard version that ran it.
    pub dbguard_version: String,
}

impl RowDetails {
    /// Details for a row this process writes now, taking `execution_ms` ms.
    pub(crate) fn now_taking(execution_ms: i64) -> Self {
        RowDetails { execution_ms, applied_by: applied_by(), dbguard_version: env!("CARGO_PKG_VERSION").to_string() }
    }

    pub(crate) fn now() -> Self {
        Self::now_taking(0)
    }
}
