//! Which migrations a run takes, and the refusals that come before any of them: pure functions
//! of the source's migrations and the [`Plan`], tested without a database.

use dbguard_lint::version::cmp_versions;

use crate::error::{DriftInfo, Error, Result};
use crate::model::migration::{Migration, Step};
use crate::model::plan::{Entry, EntryState, Plan};

/// What a run may go ahead despite (each off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Allow {
    /// Applied migrations whose text changed since.
    pub drift: bool,
    /// Applied migrations the source no longer has.
    pub missing: bool,
    /// Pending migrations that sort before the newest applied one.
    pub out_of_order: bool,
}

/// Refuses a version that no migration has, listing a few that exist.
pub(crate) fn check_known(migrations: &[Migration], version: i64) -> Result<()> {
    if migrations.iter().any(|m| m.version() == version) {
        return Ok(());
    }
    let mut known: Vec<String> = migrations.iter().take(5).map(|m| m.version().to_string()).collect();
    if migrations.len() > 5 {
        known.push(format!("... {}", migrations.last().map_or(0, Migration::version)));
    }
    Err(Error::UnknownVersion { version, known: if known.is_empty() { "none".into() } else { known.join(", ") } })
}

/// The version a `down --to target` keeps (`0`: none, everything is reverted).
pub(crate) fn keep_after(target: i64) -> Option<i64> {
    (target != 0).then_some(target)
}

/// The versions `up` runs, in order, up to and including `target` (all when `None`), after
/// the refusals: dirty, drift, missing, out of order.
///
/// `resumable` is a dirty migration whose recorded progress lets it continue: it runs first.
pub(crate) fn up(plan: &Plan, target: Option<i64>, allow: Allow, resumable: Option<i64>) -> Result<Vec<i64>> {
    let resumed = resumable.filter(|v| target.is_none_or(|t| cmp_versions(*v, t).is_le()));
    refuse_dirty_except(plan, resumed)?;
    if !allow.drift {
        refuse_drift(plan.entries.iter())?;
    }
    if !allow.missing {
        let missing: Vec<_> = plan.in_state(EntryState::Missing).map(|e| (e.version, e.name.clone())).collect();
        if !missing.is_empty() {
            return Err(Error::Missing { versions: missing });
        }
    }
    if !allow.out_of_order
        && let (Some(e), Some(highest)) = (plan.pending().find(|e| e.out_of_order), plan.current_version())
    {
        return Err(Error::OutOfOrder { version: e.version, name: e.name.clone(), highest });
    }
    let pending = plan.pending().take_while(|e| target.is_none_or(|t| cmp_versions(e.version, t).is_le()));
    Ok(resumed.into_iter().chain(pending.map(|e| e.version)).collect())
}

/// The versions `down` reverts, newest first: every recorded one after `keep` (all when
/// `None`). Everything it needs is checked first (dirty, missing, drift, irreversible downs),
/// so that a refusal changes nothing.
///
/// `resumable` is a dirty migration whose recorded progress lets its `down` continue: it must
/// be the newest recorded one.
pub(crate) fn down(
    migrations: &[Migration],
    plan: &Plan,
    keep: Option<i64>,
    allow: Allow,
    resumable: Option<i64>,
) -> Result<Vec<i64>> {
    let newest = plan.entries.iter().rev().find(|e| e.is_recorded()).map(|e| e.version);
    let resumed = resumable.filter(|v| Some(*v) == newest && keep.is_none_or(|t| cmp_versions(*v, t).is_gt()));
    refuse_dirty_except(plan, resumed)?;
    let to_revert: Vec<&Entry> = plan
        .entries
        .iter()
        .rev()
        .filter(|e| e.is_recorded() && keep.is_none_or(|t| cmp_versions(e.version, t).is_gt()))
        .collect();
    let missing: Vec<_> =
        to_revert.iter().filter(|e| e.state == EntryState::Missing).map(|e| (e.version, e.name.clone())).collect();
    if !missing.is_empty() {
        return Err(Error::Missing { versions: missing });
    }
    if !allow.drift {
        refuse_drift(to_revert.iter().copied())?;
    }
    for e in &to_revert {
        let Some(m) = migrations.iter().find(|m| m.version() == e.version) else { continue };
        if let Step::Irreversible { reason, .. } = m.down() {
            return Err(Error::Irreversible { version: e.version, name: e.name.clone(), reason: reason.to_string() });
        }
    }
    Ok(to_revert.iter().map(|e| e.version).collect())
}

/// Refuses to run on top of a migration that did not finish, except `resumable`, which this
/// run continues.
pub(crate) fn refuse_dirty_except(plan: &Plan, resumable: Option<i64>) -> Result<()> {
    match plan.in_state(EntryState::Dirty).find(|e| Some(e.version) != resumable) {
        Some(e) => Err(Error::Dirty {
            version: e.version,
            name: e.name.clone(),
            since: e.applied.as_ref().map(|r| r.applied_at.clone()).unwrap_or_default(),
            stopped_at: String::new(),
        }),
        None => Ok(()),
    }
}

fn refuse_drift<'p>(entries: impl Iterator<Item = &'p Entry>) -> Result<()> {
    let drift: Vec<DriftInfo> = entries
        .filter(|e| e.state == EntryState::Drifted)
        .map(|e| DriftInfo {
            version: e.version,
            name: e.name.clone(),
            applied_checksum: e.applied.as_ref().map(|r| r.checksum.clone()).unwrap_or_default(),
            current_checksum: e.checksum.clone().unwrap_or_default(),
            location: e.location.clone().unwrap_or_default(),
        })
        .collect();
    if drift.is_empty() { Ok(()) } else { Err(Error::Drift(drift)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::applied::{AppliedRow, RowState};

    fn mig(v: i64) -> Migration {
        Migration::sql(v, format!("m{v}"), format!("CREATE TABLE t{v} (id INT)"), format!("DROP TABLE t{v}"))
    }

    fn row(m: &Migration, state: RowState) -> AppliedRow {
        AppliedRow {
            version: m.version(),
            name: m.name().into(),
            checksum: m.checksum().into(),
            state,
            applied_at: "2026-11-21T10:00:00.000Z".into(),
            details: None,
        }
    }

    fn edited(m: &Migration) -> AppliedRow {
        AppliedRow { checksum: "edited".into(), ..row(m, RowState::Applied) }
    }

    /// Migrations 1..=5, the first `applied` of them recorded as applied.
    fn setup(applied: usize) -> (Vec<Migration>, Vec<AppliedRow>) {
        let ms: Vec<Migration> = (1..=5).map(mig).collect();
        let rows = ms.iter().take(applied).map(|m| row(m, RowState::Applied)).collect();
        (ms, rows)
    }

    #[test]
    fn up_takes_the_pending_ones_in_order_up_to_the_target() {
        let (ms, rows) = setup(2);
        let plan = Plan::compute(&ms, &rows);
        assert_eq!(up(&plan, None, Allow::default(), None).unwrap(), [3, 4, 5]);
        assert_eq!(up(&plan, Some(4), Allow::default(), None).unwrap(), [3, 4]);
        assert_eq!(up(&plan, Some(2), Allow::default(), None).unwrap(), Vec::<i64>::new(), "target already applied");
        let done = Plan::compute(&ms, &setup(5).1);
        assert!(up(&done, None, Allow::default(), None).unwrap().is_empty());
    }

    #[test]
    fn down_takes_the_recorded_ones_newest_first_down_to_the_target() {
        let (ms, rows) = setup(4);
        let plan = Plan::compute(&ms, &rows);
        assert_eq!(down(&ms, &plan, keep_after(2), Allow::default(), None).unwrap(), [4, 3]);
        assert_eq!(down(&ms, &plan, keep_after(0), Allow::default(), None).unwrap(), [4, 3, 2, 1]);
        assert_eq!(down(&ms, &plan, keep_after(4), Allow::default(), None).unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn a_dirty_migration_stops_both_directions() {
        let (ms, mut rows) = setup(2);
        rows.push(row(&ms[2], RowState::Dirty));
        let plan = Plan::compute(&ms, &rows);
        assert!(matches!(up(&plan, None, Allow::default(), None), Err(Error::Dirty { version: 3, .. })));
        assert!(matches!(down(&ms, &plan, None, Allow::default(), None), Err(Error::Dirty { version: 3, .. })));
        let all = Allow { drift: true, missing: true, out_of_order: true };
        assert!(up(&plan, None, all, None).is_err(), "no allowance lets a run start on a dirty migration");
        // Progress recorded and the step unchanged where it ran: it continues, first.
        assert_eq!(up(&plan, None, Allow::default(), Some(3)).unwrap(), [3, 4, 5]);
        assert!(up(&plan, Some(2), Allow::default(), Some(3)).is_err(), "a target below it does not take it");
        assert_eq!(
            down(&ms, &plan, None, Allow::default(), Some(3)).unwrap(),
            [3, 2, 1],
            "the newest: its down goes on"
        );
        let (ms, mut rows) = setup(3);
        rows[1].state = RowState::Dirty;
        let plan = Plan::compute(&ms, &rows);
        assert!(down(&ms, &plan, None, Allow::default(), Some(2)).is_err(), "a down cannot go on under a newer one");
    }

    #[test]
    fn drift_is_refused_unless_allowed() {
        let (ms, mut rows) = setup(2);
        rows[0] = edited(&ms[0]);
        let plan = Plan::compute(&ms, &rows);
        match up(&plan, None, Allow::default(), None) {
            Err(Error::Drift(d)) => {
                assert_eq!((d.len(), d[0].version, d[0].applied_checksum.as_str()), (1, 1, "edited"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(up(&plan, None, Allow { drift: true, ..Allow::default() }, None).unwrap(), [3, 4, 5]);
        // A down that does not reach the drifted migration runs; one that does is refused.
        assert_eq!(down(&ms, &plan, Some(1), Allow::default(), None).unwrap(), [2]);
        assert!(matches!(down(&ms, &plan, None, Allow::default(), None), Err(Error::Drift(_))));
    }

    #[test]
    fn missing_migrations_are_refused_unless_allowed() {
        let (ms, rows) = setup(3);
        let source: Vec<Migration> = ms.iter().filter(|m| m.version() != 2).cloned().collect();
        let plan = Plan::compute(&source, &rows);
        assert!(
            matches!(up(&plan, None, Allow::default(), None), Err(Error::Missing { ref versions }) if versions[0].0 == 2)
        );
        assert_eq!(up(&plan, None, Allow { missing: true, ..Allow::default() }, None).unwrap(), [4, 5]);
        // A down can never revert what it does not have.
        assert!(matches!(
            down(&source, &plan, None, Allow { missing: true, ..Allow::default() }, None),
            Err(Error::Missing { .. })
        ));
    }

    #[test]
    fn out_of_order_is_refused_unless_allowed() {
        let (ms, _) = setup(0);
        let rows = vec![row(&ms[0], RowState::Applied), row(&ms[2], RowState::Applied)];
        let plan = Plan::compute(&ms, &rows);
        assert!(matches!(
            up(&plan, None, Allow::default(), None),
            Err(Error::OutOfOrder { version: 2, highest: 3, .. })
        ));
        assert_eq!(up(&plan, None, Allow { out_of_order: true, ..Allow::default() }, None).unwrap(), [2, 4, 5]);
    }

    #[test]
    fn an_irreversible_down_is_refused_before_anything_is_reverted() {
        let (mut ms, rows) = setup(3);
        ms[1] = Migration::new(
            2,
            "m2",
            Step::Sql("CREATE TABLE t2 (id INT)".into()),
            Step::Irreversible { reason: "data gone".into(), text: "".into() },
        );
        let rows: Vec<AppliedRow> =
            rows.iter().map(|r| if r.version == 2 { row(&ms[1], RowState::Applied) } else { r.clone() }).collect();
        let plan = Plan::compute(&ms, &rows);
        assert!(matches!(down(&ms, &plan, None, Allow::default(), None), Err(Error::Irreversible { version: 2, .. })));
        assert_eq!(down(&ms, &plan, Some(2), Allow::default(), None).unwrap(), [3], "above it, downs run");
    }

    #[test]
    fn unknown_versions_list_the_known_ones() {
        let (ms, _) = setup(0);
        check_known(&ms, 3).unwrap();
        match check_known(&ms, 9) {
            Err(Error::UnknownVersion { version: 9, known }) => assert_eq!(known, "1, 2, 3, 4, 5"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(check_known(&[], 1), Err(Error::UnknownVersion { ref known, .. }) if known == "none"));
    }
}
