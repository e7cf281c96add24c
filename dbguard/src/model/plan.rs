//! What a run would do: the source's migrations set against the version table. Pure.

use std::collections::HashMap;

use dbguard_lint::version::cmp_versions;

use crate::model::applied::{AppliedRow, RowState};
use crate::model::migration::Migration;

/// The state of one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Applied, and the source still has the same text.
    Applied,
    /// Recorded by `baseline` (never run by dbguard).
    Baseline,
    /// Not applied yet.
    Pending,
    /// Applied, but the source text changed since.
    Drifted,
    /// Applied, but no longer in the source.
    Missing,
    /// Started and never finished.
    Dirty,
}

/// One line of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Version.
    pub version: i64,
    /// Name (from the source, or as recorded when missing).
    pub name: String,
    /// State.
    pub state: EntryState,
    /// The source's checksum (`None` when missing).
    pub checksum: Option<String>,
    /// The version-table row (`None` when pending).
    pub applied: Option<AppliedRow>,
    /// A pending migration that sorts before the newest applied one.
    pub out_of_order: bool,
    /// Where it is defined.
    pub location: Option<String>,
    /// For a dirty migration that recorded its progress: where it stopped (filled by
    /// [`crate::Migrator::status`]).
    pub stopped_at: Option<crate::model::resume::ResumePoint>,
    /// Why a run cannot continue it from there, when it cannot (what to do instead).
    pub cannot_continue: Option<String>,
}

impl Entry {
    /// Whether the database has it (applied, baseline, drifted, dirty or missing).
    pub fn is_recorded(&self) -> bool {
        self.applied.is_some()
    }
}

/// Every migration known to the source or the database, in run order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Plan {
    /// The entries, in the order migrations run.
    pub entries: Vec<Entry>,
}

impl EntryState {
    /// The lowercase name, as in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Applied => "applied",
            EntryState::Baseline => "baseline",
            EntryState::Pending => "pending",
            EntryState::Drifted => "drifted",
            EntryState::Missing => "missing",
            EntryState::Dirty => "dirty",
        }
    }
}

impl Plan {
    /// Sets `migrations` (already in run order) against the version table's `rows`.
    pub(crate) fn compute(migrations: &[Migration], rows: &[AppliedRow]) -> Plan {
        let mut recorded: HashMap<i64, &AppliedRow> = rows.iter().map(|r| (r.version, r)).collect();
        let mut entries: Vec<Entry> = migrations
            .iter()
            .map(|m| {
                let row = recorded.remove(&m.version());
                let state = match row {
                    None => EntryState::Pending,
                    Some(r) if r.state == RowState::Dirty => EntryState::Dirty,
                    Some(r) if r.checksum != m.checksum() => EntryState::Drifted,
                    Some(r) if r.state == RowState::Baseline => EntryState::Baseline,
                    Some(_) => EntryState::Applied,
                };
                Entry {
                    version: m.version(),
                    name: m.name().to_string(),
                    state,
                    checksum: Some(m.checksum().to_string()),
                    applied: row.cloned(),
                    out_of_order: false,
                    location: Some(m.origin().describe(false)),
                    stopped_at: None,
                    cannot_continue: None,
                }
            })
            .collect();
        entries.extend(recorded.into_values().map(|r| Entry {
            version: r.version,
            name: r.name.clone(),
            state: if r.state == RowState::Dirty { EntryState::Dirty } else { EntryState::Missing },
            checksum: None,
            applied: Some(r.clone()),
            out_of_order: false,
            location: None,
            stopped_at: None,
            cannot_continue: None,
        }));
        entries.sort_by(|a, b| cmp_versions(a.version, b.version));
        if let Some(highest) = entries.iter().rev().find(|e| e.is_recorded()).map(|e| e.version) {
            for e in &mut entries {
                e.out_of_order = e.state == EntryState::Pending && cmp_versions(e.version, highest).is_lt();
            }
        }
        Plan { entries }
    }

    /// The version-table rows behind this plan.
    pub(crate) fn rows(&self) -> Vec<AppliedRow> {
        self.entries.iter().filter_map(|e| e.applied.clone()).collect()
    }

    /// Entries in a given state.
    pub fn in_state(&self, state: EntryState) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.state == state)
    }

    /// Migrations still to apply, in order.
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.in_state(EntryState::Pending)
    }

    /// The newest recorded version, if any.
    pub fn current_version(&self) -> Option<i64> {
        self.entries.iter().rev().find(|e| e.is_recorded()).map(|e| e.version)
    }

    /// Whether nothing is pending and nothing is wrong.
    pub fn is_up_to_date(&self) -> bool {
        self.entries.iter().all(|e| matches!(e.state, EntryState::Applied | EntryState::Baseline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: i64, checksum: &str, state: RowState) -> AppliedRow {
        AppliedRow {
            version,
            name: format!("m{version}"),
            checksum: checksum.into(),
            state,
            applied_at: String::new(),
            details: None,
        }
    }

    fn mig(v: i64, up: &str) -> Migration {
        Migration::sql(v, format!("m{v}"), up.to_string(), "SELECT 0; -- down".to_string())
    }

    #[test]
    fn classifies_every_state() {
        let ms = [mig(1, "a"), mig(2, "b"), mig(3, "c"), mig(5, "e"), mig(6, "f")];
        let rows = [
            row(1, ms[0].checksum(), RowState::Applied),
            row(2, "edited", RowState::Applied),
            row(4, "x", RowState::Applied),
            row(5, ms[3].checksum(), RowState::Dirty),
            row(3, ms[2].checksum(), RowState::Baseline),
        ];
        let plan = Plan::compute(&ms, &rows);
        let states: Vec<_> = plan.entries.iter().map(|e| (e.version, e.state)).collect();
        use EntryState::*;
        assert_eq!(states, [(1, Applied), (2, Drifted), (3, Baseline), (4, Missing), (5, Dirty), (6, Pending)]);
        assert_eq!(plan.current_version(), Some(5));
        assert!(!plan.is_up_to_date());
        assert!(!plan.entries[5].out_of_order);
    }

    #[test]
    fn pending_before_the_newest_applied_is_out_of_order() {
        let ms = [mig(1, "a"), mig(2, "b"), mig(3, "c")];
        let plan = Plan::compute(
            &ms,
            &[row(1, ms[0].checksum(), RowState::Applied), row(3, ms[2].checksum(), RowState::Applied)],
        );
        let p: Vec<_> = plan.pending().map(|e| (e.version, e.out_of_order)).collect();
        assert_eq!(p, [(2, true)]);
    }

    #[test]
    fn empty_database_has_everything_pending() {
        let ms = [mig(1, "a"), mig(2, "b")];
        let plan = Plan::compute(&ms, &[]);
        assert_eq!(plan.pending().count(), 2);
        assert_eq!(plan.current_version(), None);
    }
}
