//! Table snapshots: in-database copies of a table taken before a migration changes it, recorded
//! in the catalog, verified by row count and content checksum, restorable and prunable.

use crate::db::database::Session;
use crate::error::{Error, Result};
use crate::model::progress::{Task, Work};
use crate::model::stamp::now;
use crate::store::catalog::{self, SnapshotInfo};

/// Why a snapshot is taken (stored in the catalog's `reason` column).
pub(crate) mod reason {
    /// The migration declares the table preserved.
    pub const PRESERVES: &str = "preserves";
    /// The linter found the migration destroys or rewrites the table.
    pub const DESTRUCTIVE: &str = "destructive";
    /// Asked for by a user.
    pub const MANUAL: &str = "manual";
    /// Taken of a table before a restore overwrote it.
    pub const PRE_RESTORE: &str = "pre-restore";
    /// The rows a `DELETE ... WHERE` removed, copied just before it ran: a restore puts them
    /// back.
    pub const DELETED_ROWS: &str = "deleted-rows";
    /// The rows an `UPDATE ... WHERE` overwrote, as they were: a restore writes them back by
    /// primary key.
    pub const UPDATED_ROWS: &str = "updated-rows";
    /// The primary key and the columns an `UPDATE` set, of the rows it changed, as they were
    /// (nothing else of those rows changed): a restore writes those values back by key.
    pub const UPDATED_VALUES: &str = "updated-values";
    /// Rows a restore of rows replaced, as they were.
    pub const PRE_RESTORE_ROWS: &str = "pre-restore-rows";
    /// The primary key and the values of the columns an `ALTER TABLE` dropped or converted, of
    /// the rows that lost one: a restore writes them back by key, once the column is there
    /// again with its type (after the migration is reverted).
    pub const COLUMN_VALUES: &str = "column-values";

    /// Whether a snapshot of this reason holds some rows of its table (by primary key), not
    /// all of them.
    pub fn is_rows(reason: &str) -> bool {
        matches!(reason, DELETED_ROWS | UPDATED_ROWS | UPDATED_VALUES | PRE_RESTORE_ROWS | COLUMN_VALUES)
    }

    /// Whether a snapshot of this reason holds some columns of its rows, written back onto
    /// them by key (an UPDATE), the other columns left as they are.
    pub fn is_values(reason: &str) -> bool {
        matches!(reason, UPDATED_VALUES | COLUMN_VALUES)
    }
}

impl SnapshotInfo {
    /// Whether it holds some rows of its table (those a statement deleted or overwrote, put
    /// back by primary key), not the whole table.
    pub fn holds_some_rows(&self) -> bool {
        reason::is_rows(&self.reason)
    }

    /// Whether it holds the key and some columns of rows (`updated-values`, `column-values`),
    /// written back onto them by key, the other columns left as they are.
    pub fn holds_values(&self) -> bool {
        reason::is_values(&self.reason)
    }
}

/// How every snapshot table's name starts.
pub(crate) const PREFIX: &str = "dbguard_bak_";

/// The snapshot table's name: `dbguard_bak_v0004_users_20261121T101500Z`, shortened with a
/// hash of the source name when it would exceed the database's identifier limit, and suffixed
/// with a counter when that name is taken.
pub(crate) fn snapshot_name(table: &str, version: Option<i64>, stamp: &str, max_len: usize, n: u32) -> String {
    let tag = version.map_or_else(|| "manual".to_string(), |v| format!("v{v:04}"));
    let suffix = if n > 1 { format!("_{n}") } else { String::new() };
    let fixed = format!("dbguard_bak_{tag}__{stamp}{suffix}").len();
    let clean: String = table.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    let room = max_len.saturating_sub(fixed);
    let part = if clean.len() <= room && clean == table {
        clean
    } else {
        // Keep a readable prefix plus a hash, so that two long or unusual names never collide.
        let hash = &dbguard_lint::checksum::checksum(table, "")[..8];
        let keep = room.saturating_sub(hash.len() + 1).min(clean.len());
        format!("{}_{hash}", &clean[..keep])
    };
    format!("dbguard_bak_{tag}_{part}_{stamp}{suffix}")
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// A free snapshot table name for `table`.
async fn free_name(s: &mut Session<'_>, table: &str, version: Option<i64>) -> Result<String> {
    let stamp = stamp();
    let max = s.env.backend.max_identifier_len();
    let mut n = 1;
    loop {
        let name = snapshot_name(table, version, &stamp, max, n);
        if !s.table_exists(&name).await? {
            return Ok(name);
        }
        n += 1;
    }
}

/// The select list that copies `table` into a whole snapshot: `*`, or every column with those
/// of types the database defines kept as text (a snapshot must not depend on an object the
/// migration it guards may drop). Generated columns are in it (a copy keeps their values, or,
/// on MySQL, their definitions: see [`written_columns`]), so that a table dropped comes back
/// with them.
async fn copy_list(s: &mut Session<'_>, table: &str) -> Result<Option<String>> {
    list_of(s, table, None, true).await
}

/// The select list of some rows' columns (`only`, as the table names them; else all), without
/// generated columns, which are computed again when the rows go back: always a list when the
/// table has generated columns or `only` is given.
async fn copy_list_of(s: &mut Session<'_>, table: &str, only: Option<&[String]>) -> Result<Option<String>> {
    list_of(s, table, only, false).await
}

/// The (quoted) columns of `table` other than its generated ones, when it has any: what a copy
/// that keeps their definitions writes (see `Backend::copy_table`).
async fn written_columns(s: &mut Session<'_>, table: &str) -> Result<Option<String>> {
    let generated = s.generated_columns(table).await?;
    if generated.is_empty() {
        return Ok(None);
    }
    let columns = s.columns(table).await?;
    let written: Vec<String> =
        columns.iter().filter(|c| !generated.contains(c)).map(|c| s.env.backend.quote(c)).collect();
    Ok(Some(written.join(", ")))
}

async fn list_of(
    s: &mut Session<'_>,
    table: &str,
    only: Option<&[String]>,
    with_generated: bool,
) -> Result<Option<String>> {
    let defined = s.defined_type_columns(table).await?;
    let generated = if with_generated { Vec::new() } else { s.generated_columns(table).await? };
    if defined.is_empty() && generated.is_empty() && only.is_none() {
        return Ok(None);
    }
    let mut columns = match only {
        Some(cols) => cols.to_vec(),
        None => s.columns(table).await?,
    };
    columns.retain(|c| !generated.contains(c));
    let list = columns
        .iter()
        .map(|c| {
            let q = s.env.backend.quote(c);
            if defined.iter().any(|(d, _)| d == c) { format!("{} AS {q}", s.env.backend.as_plain_text(&q)) } else { q }
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(list))
}

/// Copies `table` into a new snapshot table and records it. The caller holds the migration lock
/// and knows the table exists.
pub(crate) async fn take(s: &mut Session<'_>, table: &str, version: Option<i64>, why: &str) -> Result<SnapshotInfo> {
    catalog::ensure(s).await?;
    let name = free_name(s, table, version).await?;
    let (src, dest) = (s.own_rows(table).await?, s.env.backend.quote(&name));
    // Made empty, then filled: the count of rows copied is the INSERT's (SQLite reports none
    // for a `CREATE TABLE ... AS`).
    let statements = match copy_list(s, table).await? {
        None => {
            let written = written_columns(s, table).await?;
            s.env.backend.copy_table(&src, &dest, written.as_deref())
        }
        Some(list) => {
            vec![s.env.backend.empty_copy(&src, &dest, &list), format!("INSERT INTO {dest} SELECT {list} FROM {src}")]
        }
    };
    let about = s.estimated_rows(table).await;
    s.env.progress.work(Work::new(Task::Snapshot, table).about(about));
    let mut copied = 0;
    for sql in statements {
        copied = s.execute(&sql, &format!("copying {table} into the snapshot {name}")).await?;
    }
    let row_count = copied as i64;
    let info = SnapshotInfo {
        id: 0,
        source_table: table.to_string(),
        migration_version: version,
        reason: why.to_string(),
        row_count,
        checksum: None,
        created_at: now(),
        location: name,
    };
    catalog::insert(s, info).await
}

/// Copies the key and the given columns (`columns`, as the table names them, the key first)
/// of the rows of `table` that `condition` matches into a new snapshot, and records it: the
/// values an `ALTER TABLE` is about to drop or convert ([`reason::COLUMN_VALUES`]).
pub(crate) async fn take_values(
    s: &mut Session<'_>,
    table: &str,
    version: Option<i64>,
    columns: &[String],
    condition: &str,
) -> Result<SnapshotInfo> {
    catalog::ensure(s).await?;
    let name = free_name(s, table, version).await?;
    let list = copy_list_of(s, table, Some(columns)).await?.unwrap_or_else(|| "*".into());
    let (src, dest) = (s.own_rows(table).await?, s.env.backend.quote(&name));
    let context = format!("copying the values of {table} the migration drops or converts into the snapshot {name}");
    s.env.progress.work(Work::new(Task::Snapshot, format!("{table} ({})", columns[1..].join(", "))));
    s.execute(&s.env.backend.empty_copy(&src, &dest, &list), &context).await?;
    let insert = s.env.backend.insert_converting();
    let n =
        s.copy_matching(&format!("{insert} INTO {dest} SELECT {list} FROM {src} WHERE {condition}"), &context).await?;
    let info = SnapshotInfo {
        id: 0,
        source_table: table.to_string(),
        migration_version: version,
        reason: reason::COLUMN_VALUES.to_string(),
        row_count: n as i64,
        checksum: None,
        created_at: now(),
        location: name,
    };
    catalog::insert(s, info).await
}

/// An empty snapshot table made before a step, for the rows one of its statements will
/// delete or overwrite; [`fill_rows`] copies them just before that statement runs.
#[derive(Debug)]
pub(crate) struct RowsSnapshot {
    /// The statement and its rows.
    pub target: crate::model::row_target::RowTarget,
    /// The snapshot table.
    pub location: String,
    /// What the copy selects from the table.
    list: String,
    /// The migration.
    version: Option<i64>,
    /// Only the key and the columns an UPDATE sets are kept.
    values: bool,
    /// Rows copied and the catalog entry, once filled with at least one row.
    pub filled: Option<SnapshotInfo>,
}

/// Makes the empty snapshot table for the rows `target` changes (the catalog too, so that
/// nothing between filling and running the statement is DDL, which commits on MySQL). The
/// table exists and has a primary key.
///
/// `values`: the key and the columns an UPDATE sets (as the table names them), when those are
/// all it changes: only they are kept (an `updated-values` snapshot), not whole rows.
pub(crate) async fn prepare_rows(
    s: &mut Session<'_>,
    target: &crate::model::row_target::RowTarget,
    version: Option<i64>,
    values: Option<&[String]>,
) -> Result<RowsSnapshot> {
    catalog::ensure(s).await?;
    let location = free_name(s, &target.table, version).await?;
    let list = copy_list_of(s, &target.table, values).await?.unwrap_or_else(|| "*".into());
    let (src, dest) = (s.env.backend.quote(&target.table), s.env.backend.quote(&location));
    let sql = s.env.backend.empty_copy(&src, &dest, &list);
    s.execute(&sql, &format!("making the snapshot table {location} for rows of {}", target.table)).await?;
    Ok(RowsSnapshot { target: target.clone(), location, list, version, values: values.is_some(), filled: None })
}

/// Copies the rows the statement is about to change (its own predicate, evaluated now, in its
/// transaction) and records the snapshot when there is any: the measured blast radius.
pub(crate) async fn fill_rows(s: &mut Session<'_>, r: &mut RowsSnapshot) -> Result<i64> {
    let t = &r.target;
    let dest = s.env.backend.quote(&r.location);
    // `relation` is the table as the statement names it, alias included: the predicate may use it.
    let sql = format!("INSERT INTO {dest} SELECT {} FROM {} WHERE {}", r.list, t.relation, t.predicate);
    let context = format!("copying the rows of {} that statement {} changes", t.table, t.statement + 1);
    s.env
        .progress
        .work(Work::new(Task::KeepRows, format!("that statement {} changes in {}", t.statement + 1, t.table)));
    let n = s.copy_matching(&sql, &context).await? as i64;
    if n > 0 {
        let why = match t.verb {
            crate::model::row_target::Verb::Delete => reason::DELETED_ROWS,
            _ if r.values => reason::UPDATED_VALUES,
            _ => reason::UPDATED_ROWS,
        };
        let info = SnapshotInfo {
            id: 0,
            source_table: t.table.clone(),
            migration_version: r.version,
            reason: why.to_string(),
            row_count: n,
            checksum: None,
            created_at: now(),
            location: r.location.clone(),
        };
        r.filled = Some(catalog::insert(s, info).await?);
    }
    Ok(n)
}

/// Removes a snapshot: its table and its catalog entry (`why`, for an error's context).
pub(crate) async fn discard(s: &mut Session<'_>, snapshot: &SnapshotInfo, why: &str) -> Result<()> {
    let table = s.env.backend.quote(&snapshot.location);
    s.execute(&format!("DROP TABLE IF EXISTS {table}"), &format!("removing snapshot {}: {why}", snapshot.id)).await?;
    catalog::delete(s, snapshot.id).await
}

/// Drops the prepared snapshot tables that hold no row (the statement changed nothing, or its
/// transaction was rolled back), with their catalog entries; those with rows are kept.
pub(crate) async fn drop_empty_rows(s: &mut Session<'_>, prepared: &[RowsSnapshot]) -> Result<()> {
    for r in prepared {
        if !s.table_exists(&r.location).await? || !s.is_empty(&r.location).await? {
            continue;
        }
        let sql = format!("DROP TABLE {}", s.env.backend.quote(&r.location));
        s.execute(&sql, &format!("dropping the empty snapshot table {}", r.location)).await?;
        if let Some(info) = &r.filled {
            catalog::delete(s, info.id).await?;
        }
    }
    Ok(())
}

/// What verifying a snapshot found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// The snapshot.
    pub snapshot: SnapshotInfo,
    /// Rows in the snapshot table now (`None` when the table is gone).
    pub rows_now: Option<i64>,
    /// Its content checksum now.
    pub checksum_now: Option<String>,
    /// Whether it matches the catalog.
    pub ok: bool,
    /// What is wrong, when it does not.
    pub problem: Option<String>,
}

/// Checks a snapshot against its catalog row; records the checksum the first time.
pub(crate) async fn verify(s: &mut Session<'_>, info: &SnapshotInfo) -> Result<Verification> {
    let (mut v, first) = check(s, info).await?;
    if let Some(checksum) = first {
        catalog::set_checksum(s, info.id, &checksum).await?;
        v.snapshot.checksum = Some(checksum);
    }
    Ok(v)
}

/// Checks a snapshot against its catalog row, read-only; also returns the checksum to record
/// when it is verified for the first time.
pub(crate) async fn check(s: &mut Session<'_>, info: &SnapshotInfo) -> Result<(Verification, Option<String>)> {
    let mut v = Verification { snapshot: info.clone(), rows_now: None, checksum_now: None, ok: false, problem: None };
    if !s.table_exists(&info.location).await? {
        v.problem = Some(format!("the snapshot table {} no longer exists", info.location));
        return Ok((v, None));
    }
    let cols = s.columns(&info.location).await?;
    let checksum = s.content_checksum(&info.location, &cols).await?;
    let rows = checksum.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(-1);
    v.rows_now = Some(rows);
    v.checksum_now = Some(checksum.clone());
    if rows != info.row_count {
        v.problem = Some(format!("it holds {rows} rows; {} were copied", info.row_count));
    } else if info.checksum.as_deref().is_some_and(|c| c != checksum) {
        v.problem = Some("its content changed since it was first verified (checksum differs)".into());
    } else {
        v.ok = true;
        return Ok((v, info.checksum.is_none().then_some(checksum)));
    }
    Ok((v, None))
}

/// Options for [`crate::backup::Backups::restore`].
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Restore into this table instead of the snapshot's source table.
    pub into: Option<String>,
    /// Go ahead when some snapshot columns no longer exist in the table (their values are
    /// not restored; the snapshot keeps them). Default: refuse and list them.
    pub drop_unmapped_columns: bool,
    /// Only compute and return the plan; write nothing.
    pub dry_run: bool,
}

/// What a restore did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RestoreReport {
    /// The snapshot restored from.
    pub snapshot: SnapshotInfo,
    /// The table written.
    pub table: String,
    /// Whether the table had to be created (it did not exist).
    pub created: bool,
    /// Columns copied (present in both).
    pub mapped: Vec<String>,
    /// Snapshot columns the table no longer has: not restored.
    pub unmapped: Vec<String>,
    /// Table columns the snapshot does not have: left to their defaults.
    pub defaulted: Vec<String>,
    /// Rows in the table afterwards.
    pub rows: i64,
    /// The snapshot of the table's previous content, taken before writing.
    pub pre_restore: Option<SnapshotInfo>,
}

/// What a restore will do, found read-only: the report it would return, and what the apply
/// needs.
pub(crate) struct RestorePlan {
    /// The report (for a dry run, the whole answer).
    pub report: RestoreReport,
    exists: bool,
    /// The snapshot's checksum, to record when this is its first verification.
    first_checksum: Option<String>,
    /// For a snapshot of some rows, the condition that matches them in the table.
    rows: Option<String>,
}

/// Restores a table from a snapshot: plan (column mapping), pre-restore snapshot, replace the
/// rows in one transaction, then verify count and content checksum. The caller holds the lock.
pub(crate) async fn restore(
    s: &mut Session<'_>,
    history: &str,
    info: &SnapshotInfo,
    opts: &RestoreOptions,
) -> Result<RestoreReport> {
    let plan = plan_restore(s, history, info, opts).await?;
    if opts.dry_run {
        return Ok(plan.report);
    }
    apply_restore(s, plan).await
}

/// The read-only half of [`restore`]: checks the snapshot, maps the columns, and refuses what
/// cannot be restored as asked. `history` is the version table, read to name the `down`
/// command that brings back what a snapshot's migration removed.
pub(crate) async fn plan_restore(
    s: &mut Session<'_>,
    history: &str,
    info: &SnapshotInfo,
    opts: &RestoreOptions,
) -> Result<RestorePlan> {
    let subject = format!("{} of {}", info.id, info.source_table);
    s.env.progress.work(Work::new(Task::CheckSnapshot, subject).rows(info.row_count));
    let (check, first_checksum) = check(s, info).await?;
    if !check.ok {
        return Err(Error::RestoreRefused {
            message: format!(
                "snapshot {} ({}) cannot be restored: {}.\n  nothing was changed.\n  next: `cargo dbguard backups list` shows the other snapshots of {}",
                info.id,
                info.location,
                check.problem.unwrap_or_default(),
                info.source_table
            ),
        });
    }
    let mut snapshot = check.snapshot;
    if snapshot.checksum.is_none() {
        snapshot.checksum = first_checksum.clone();
    }
    let target = opts.into.clone().unwrap_or_else(|| snapshot.source_table.clone());
    let (restored, values) = (shell_word(&format!("{target}_restored")), shell_word(&format!("{target}_values")));
    let snap_cols = s.columns(&snapshot.location).await?;
    let exists = s.table_exists(&target).await?;
    let target_cols = if exists { s.columns(&target).await? } else { snap_cols.clone() };
    // The target's generated columns are computed from the others: never written (a snapshot
    // taken before dbguard left them out has them).
    let generated = if exists { s.generated_columns(&target).await? } else { Vec::new() };
    let snap_cols: Vec<String> = snap_cols.into_iter().filter(|c| !generated.contains(c)).collect();
    let target_cols: Vec<String> = target_cols.into_iter().filter(|c| !generated.contains(c)).collect();
    let mapped: Vec<String> = snap_cols.iter().filter(|c| target_cols.contains(c)).cloned().collect();
    let unmapped: Vec<String> = snap_cols.iter().filter(|c| !target_cols.contains(c)).cloned().collect();
    // A snapshot of an UPDATE's values leaves the other columns of its rows as they are.
    let defaulted: Vec<String> = match reason::is_values(&snapshot.reason) && exists {
        true => Vec::new(),
        false => target_cols.iter().filter(|c| !snap_cols.contains(c)).cloned().collect(),
    };
    let report = RestoreReport {
        snapshot: snapshot.clone(),
        table: target.clone(),
        created: !exists,
        mapped,
        unmapped,
        defaulted,
        rows: snapshot.row_count,
        pre_restore: None,
    };
    if report.mapped.is_empty() && !snap_cols.is_empty() {
        return Err(Error::RestoreRefused {
            message: format!(
                "snapshot {} and table {target} have no column in common (snapshot: {}; table: {}).\n  nothing was changed.\n  next: restore into a new table with `--into`",
                snapshot.id,
                snap_cols.join(", "),
                target_cols.join(", ")
            ),
        });
    }
    // Values go back onto their rows: with no table of that name (renamed or dropped since),
    // only `--into` a new table, to read them, is meant.
    if !exists && reason::is_values(&snapshot.reason) && opts.into.is_none() {
        let undo = undo_of(s, history, snapshot.migration_version).await;
        return Err(Error::RestoreRefused {
            message: format!(
                "table {target} is not there (renamed or dropped since): snapshot {} holds values of some of its columns, by primary key, written back onto its rows.\n  nothing was changed.\n  next: if it was renamed, write them back onto it under its new name (`--into NEW_NAME`); if it was dropped, {undo}, then restore again; or restore into a new table (`--into {values}`) to read the values",
                snapshot.id
            ),
        });
    }
    // Values go back onto their rows by key, into their columns: a column dropped since must
    // be there again first (reverting the migration that dropped it re-adds it).
    if exists && reason::is_values(&snapshot.reason) && !report.unmapped.is_empty() {
        let pk = s.primary_key(&target).await?;
        let values_left = report.mapped.iter().any(|c| !pk.contains(c));
        if !values_left || !opts.drop_unmapped_columns {
            let by = snapshot.migration_version.map(|v| format!(" (changed by migration {v})")).unwrap_or_default();
            let undo = undo_of(s, history, snapshot.migration_version).await;
            // Values of other columns still there can go back on their own, if asked.
            let partial = match values_left {
                true => {
                    let kept: Vec<&str> =
                        report.mapped.iter().filter(|c| !pk.contains(c)).map(String::as_str).collect();
                    format!(
                        "; or, if their columns' types are as they were, write back only the values of {} (`--drop-unmapped-columns`)",
                        kept.join(", ")
                    )
                }
                false => String::new(),
            };
            return Err(Error::RestoreRefused {
                message: format!(
                    "table {target} has no column {} now{by}: snapshot {} holds its values by primary key, written back onto their rows once the column is there again.\n  nothing was changed.\n  next: {undo} (that re-adds the column), then restore again; or restore into a new table (`--into {restored}`) to read the values{partial}",
                    report.unmapped.join(", "),
                    snapshot.id
                ),
            });
        }
    }
    if !report.unmapped.is_empty() && !opts.drop_unmapped_columns {
        return Err(Error::RestoreRefused {
            message: format!(
                "table {target} no longer has the snapshot's column(s) {}; their values cannot be restored into it.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) to keep every column, or accept restoring only {} (`--drop-unmapped-columns`)",
                report.unmapped.join(", "),
                report.mapped.join(", ")
            ),
        });
    }
    // A snapshot of some rows puts back those rows (by primary key): matched here, read-only,
    // so that a dry run refuses what the restore would.
    let rows = match exists && reason::is_rows(&snapshot.reason) {
        true => {
            let (src, dest) = (s.env.backend.quote(&snapshot.location), s.env.backend.quote(&target));
            Some(rows_match(s, &report, &src, &dest).await?)
        }
        false => None,
    };
    Ok(RestorePlan { report, exists, first_checksum, rows })
}

/// How to undo what migration `version` did to a table, read from the version table
/// `history`: revert it (`down --to` the version applied before it) when it is applied; apply
/// it again (`up --to` it) when the snapshot was taken by its `down`. A placeholder when the
/// snapshot names no migration or the table cannot be read.
async fn undo_of(s: &mut Session<'_>, history: &str, version: Option<i64>) -> String {
    let placeholder = "undo the migration that did it (`cargo dbguard down --to VERSION`)".to_string();
    let Some(v) = version else { return placeholder };
    let table = s.env.backend.quote(history);
    let applied = format!("SELECT COUNT(*) FROM {table} WHERE version = {v}");
    let before = format!("SELECT COALESCE(MAX(version), 0) FROM {table} WHERE version < {v}");
    match s.query_i64(&applied, "reading the version table").await {
        Ok(0) => format!("apply migration {v} again, whose `down` did it (`cargo dbguard up --to {v}`)"),
        Ok(_) => match s.query_i64(&before, "reading the version table").await {
            Ok(n) => format!("revert migration {v}, which did it (`cargo dbguard down --to {n}`)"),
            Err(_) => placeholder,
        },
        Err(_) => placeholder,
    }
}

/// A name as one shell word, quoted when it needs to be (a table named `order items`), for
/// the commands messages give.
fn shell_word(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}

/// The writing half of [`restore`].
pub(crate) async fn apply_restore(s: &mut Session<'_>, plan: RestorePlan) -> Result<RestoreReport> {
    let RestorePlan { mut report, exists, first_checksum, rows } = plan;
    let snapshot = report.snapshot.clone();
    let target = report.table.clone();
    if let Some(checksum) = &first_checksum {
        catalog::set_checksum(s, snapshot.id, checksum).await?;
    }
    let (src, dest) = (s.env.backend.quote(&snapshot.location), s.env.backend.quote(&target));
    if exists {
        report.pre_restore = match &rows {
            Some(m) => take_rows_of(s, &target, snapshot.migration_version, m).await?,
            None => Some(take(s, &target, snapshot.migration_version, reason::PRE_RESTORE).await?),
        };
        let cols = report.mapped.iter().map(|c| s.env.backend.quote(c)).collect::<Vec<_>>().join(", ");
        // Columns of types the database defines were snapshotted as text: cast them back.
        let typed = s.defined_type_columns(&target).await?;
        let values = report
            .mapped
            .iter()
            .map(|c| {
                let q = s.env.backend.quote(c);
                match typed.iter().find(|(t, _)| t == c) {
                    Some((_, ty)) => format!("CAST({q} AS {ty})"),
                    None => q,
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        // Values go back by UPDATE with foreign keys on: a value whose parent is gone since
        // fails the restore, and one a key of others cascades to carries them along. Rows go
        // back by DELETE and INSERT with them off, so that emptying them cascades nowhere.
        let by_update = reason::is_values(&snapshot.reason);
        let fk = if by_update { Default::default() } else { s.env.backend.without_foreign_keys() };
        let mut statements: Vec<String> = fk.in_transaction.iter().map(|s| s.to_string()).collect();
        if by_update {
            // The key and the values an UPDATE set: written back onto the rows by key.
            let pk = s.primary_key(&target).await?;
            let q = |c: &str| s.env.backend.quote(c);
            let on = pk.iter().map(|k| format!("{dest}.{} = dbguard_src.{}", q(k), q(k))).collect::<Vec<_>>();
            let sets: Vec<(String, String)> = report
                .mapped
                .iter()
                .filter(|c| !pk.contains(c))
                .map(|c| {
                    let v = format!("dbguard_src.{}", q(c));
                    let v = match typed.iter().find(|(t, _)| t == c) {
                        Some((_, ty)) => format!("CAST({v} AS {ty})"),
                        None => v,
                    };
                    (q(c), v)
                })
                .collect();
            statements.push(s.env.backend.update_from(&dest, &src, &on.join(" AND "), &sets));
        } else {
            // A table others inherit from loses its own rows only.
            let own = s.own_rows(&target).await?;
            match &rows {
                Some(m) => statements.push(format!("DELETE FROM {own} WHERE {m}")),
                None => statements.push(format!("DELETE FROM {own}")),
            }
            let identity = s.env.backend.keep_identity_values();
            statements.push(format!("INSERT INTO {dest} ({cols}){identity} SELECT {values} FROM {src}"));
        }
        let begin = s.env.backend.begin_statement();
        let context = format!("restoring {target} from snapshot {}", snapshot.id);
        s.env.progress.work(Work::new(Task::Restore, &target).rows(snapshot.row_count));
        if let Some((off, _)) = fk.session {
            s.execute(off, &context).await?;
        }
        // Verified before the commit: a restore that does not give back the snapshot's rows
        // (a trigger changed them, a key matched nothing) is rolled back, never kept.
        let result = match in_transaction(s, begin, &statements, &context).await {
            Ok(()) => match verify_restored(s, &mut report, rows.as_deref(), &dest, true).await {
                Ok(()) => s.execute("COMMIT", &context).await.map(|_| ()),
                Err(e) => {
                    s.execute("ROLLBACK", &context).await?;
                    Err(e)
                }
            },
            Err(e) => Err(restore_failed(e, &target, &report)),
        };
        if let Some((_, on)) = fk.session {
            s.execute(on, &context).await?;
        }
        // Rolled back, the table is as it was: the copy of it taken first is not needed.
        if result.is_err()
            && let Some(p) = report.pre_restore.take()
        {
            discard(s, &p, "not needed after the restore was rolled back").await?;
        }
        result?;
        return Ok(report);
    } else {
        s.env.progress.work(Work::new(Task::Restore, &target).rows(snapshot.row_count));
        let written = written_columns(s, &snapshot.location).await?;
        for sql in s.env.backend.copy_table(&src, &dest, written.as_deref()) {
            s.execute(&sql, &format!("recreating {target} from snapshot {}", snapshot.id)).await?;
        }
    }
    verify_restored(s, &mut report, rows.as_deref(), &dest, false).await?;
    Ok(report)
}

/// Checks that the restored columns hold exactly the snapshot's rows (for a snapshot of rows,
/// the rows of the table with the snapshot's keys, matched by `rows`), and sets the count.
/// `in_transaction`: the restore is still open, and is rolled back on a mismatch.
async fn verify_restored(
    s: &mut Session<'_>,
    report: &mut RestoreReport,
    rows: Option<&str>,
    dest: &str,
    in_transaction: bool,
) -> Result<()> {
    let snapshot = report.snapshot.clone();
    let target = report.table.clone();
    let restored_from = match rows {
        Some(m) => {
            let cols = report.mapped.iter().map(|c| s.env.backend.quote(c)).collect::<Vec<_>>().join(", ");
            format!("(SELECT {cols} FROM {dest} WHERE {m}) dbguard_restored")
        }
        None => s.own_rows(&target).await?,
    };
    let context = format!("computing a checksum of {target}");
    s.env.progress.work(Work::new(Task::Verify, &target).rows(snapshot.row_count));
    let mapped_now = s.content_checksum_from(&restored_from, &report.mapped, &context).await?;
    let mapped_snap = s.content_checksum(&snapshot.location, &report.mapped).await?;
    report.rows = match rows {
        Some(_) => mapped_now.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(-1),
        None => s.count(&target).await?,
    };
    if mapped_now != mapped_snap || report.rows != snapshot.row_count {
        let kept = if in_transaction {
            format!("the restore was rolled back: {target} is as it was; the snapshot is untouched")
        } else {
            format!("the snapshot is untouched; {target} was created from it")
        };
        // A snapshot of some rows or values is matched by key: those rows, not the table's.
        let counted = match rows {
            Some(_) => format!("the rows written back would be {}", report.rows),
            None => format!("the table would have {} rows", report.rows),
        };
        return Err(Error::RestoreFailed {
            message: format!(
                "restoring {target} from snapshot {} did not verify: {counted} (snapshot: {}), content checksum {mapped_now} (snapshot: {mapped_snap}).\n  kept safe: {kept}.\n  next: if a migration changed a column's type since the snapshot (a conversion that lost these values), revert it first; otherwise check the triggers on {target} that may change written rows; then restore again",
                snapshot.id, snapshot.row_count,
            ),
        });
    }
    Ok(())
}

/// For a restore of some rows: the condition (SQL on `dest`) matching the table's rows that
/// have a snapshot row's primary key. Refuses when the table has no primary key, or when rows
/// a DELETE removed are there again (restoring would overwrite them).
async fn rows_match(s: &mut Session<'_>, report: &RestoreReport, src: &str, dest: &str) -> Result<String> {
    let (snapshot, target) = (&report.snapshot, &report.table);
    let restored = shell_word(&format!("{target}_restored"));
    let pk = s.primary_key(target).await?;
    if pk.is_empty() || pk.iter().any(|c| !report.mapped.contains(c)) {
        return Err(Error::RestoreRefused {
            message: format!(
                "snapshot {} holds some rows of {target}, put back by primary key, and {target} {}.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) and copy the rows you need",
                snapshot.id,
                if pk.is_empty() {
                    "has no primary key now".to_string()
                } else {
                    format!("has no longer its key column(s) {} in the snapshot", pk.join(", "))
                }
            ),
        });
    }
    // `IN`, not a correlated `EXISTS`: SQLite ran that as a scan of the snapshot per row of the
    // table (500,000 rows back into 1,500,000: hours); `IN (SELECT ...)` is one lookup
    // structure on every database. Key columns are never NULL, so both mean the same.
    let quoted: Vec<String> = pk.iter().map(|c| s.env.backend.quote(c)).collect();
    // SQLite lets a key column hold NULL, which matches nothing: such rows would be put back
    // beside the ones they replace. Refused before anything is written.
    let null_key = quoted.iter().map(|q| format!("{q} IS NULL")).collect::<Vec<_>>().join(" OR ");
    let nulls = s
        .query_i64(&format!("SELECT COUNT(*) FROM {src} WHERE {null_key}"), "looking for NULL keys in the snapshot")
        .await?;
    if nulls > 0 {
        return Err(Error::RestoreRefused {
            message: format!(
                "{nulls} of the rows that snapshot {} holds have NULL in a primary key column of {target} ({}): they cannot be matched to the rows they replace.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) and copy the rows you need",
                snapshot.id,
                pk.join(", ")
            ),
        });
    }
    let on_dest: Vec<String> = quoted.iter().map(|q| format!("{dest}.{q}")).collect();
    let m = format!("({}) IN (SELECT {} FROM {src})", on_dest.join(", "), quoted.join(", "));
    if snapshot.reason == reason::DELETED_ROWS {
        let back = s
            .query_i64(
                &format!("SELECT COUNT(*) FROM {dest} WHERE {m}"),
                &format!("looking for the deleted rows in {target}"),
            )
            .await?;
        if back > 0 {
            return Err(Error::RestoreRefused {
                message: format!(
                    "{back} of the {} rows that snapshot {} holds are in {target} again (the same primary key): restoring would overwrite them.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) and compare, or delete those rows first",
                    snapshot.row_count, snapshot.id
                ),
            });
        }
    }
    if reason::is_values(&snapshot.reason) {
        // An UPDATE of the table may now change more than the values written back (a trigger
        // made since, a column `ON UPDATE CURRENT_TIMESTAMP`): what it changed would not be
        // verified, nor kept.
        if s.rewrites_on_update(target).await? {
            return Err(Error::RestoreRefused {
                message: format!(
                    "{target} has a trigger or a column that updates itself (ON UPDATE ...): writing snapshot {}'s values back by UPDATE would change other columns of those rows too.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) and copy the values you need",
                    snapshot.id
                ),
            });
        }
        // Values are written back onto their rows: every row must still be there.
        let there = s
            .query_i64(&format!("SELECT COUNT(*) FROM {dest} WHERE {m}"), &format!("looking for the rows in {target}"))
            .await?;
        if there < snapshot.row_count {
            return Err(Error::RestoreRefused {
                message: format!(
                    "{} of the {} rows whose values snapshot {} holds are no longer in {target} (deleted since): their values have no row to go back to.\n  nothing was changed.\n  next: restore into a new table (`--into {restored}`) and copy the values you need",
                    snapshot.row_count - there,
                    snapshot.row_count,
                    snapshot.id
                ),
            });
        }
    }
    Ok(m)
}

/// Copies the rows of `table` that `m` matches into a new snapshot, before a restore of rows
/// overwrites them; `None` when there is none.
async fn take_rows_of(s: &mut Session<'_>, table: &str, version: Option<i64>, m: &str) -> Result<Option<SnapshotInfo>> {
    catalog::ensure(s).await?;
    let location = free_name(s, table, version).await?;
    let list = copy_list_of(s, table, None).await?.unwrap_or_else(|| "*".into());
    let (src, dest) = (s.env.backend.quote(table), s.env.backend.quote(&location));
    let context = format!("copying the rows of {table} a restore overwrites");
    s.execute(&s.env.backend.empty_copy(&src, &dest, &list), &context).await?;
    // `m` names the table by its quoted name, as `src` here.
    let n = s.execute(&format!("INSERT INTO {dest} SELECT {list} FROM {src} WHERE {m}"), &context).await? as i64;
    if n == 0 {
        s.execute(&format!("DROP TABLE {dest}"), &context).await?;
        return Ok(None);
    }
    let info = SnapshotInfo {
        id: 0,
        source_table: table.to_string(),
        migration_version: version,
        reason: reason::PRE_RESTORE_ROWS.to_string(),
        row_count: n,
        checksum: None,
        created_at: now(),
        location,
    };
    Ok(Some(catalog::insert(s, info).await?))
}

/// Opens a transaction and runs `statements` in it, left open for the caller to check and
/// commit; rolled back if one fails.
async fn in_transaction(s: &mut Session<'_>, begin: &str, statements: &[String], context: &str) -> Result<()> {
    s.execute(begin, context).await?;
    for sql in statements {
        if let Err(e) = s.execute(sql, context).await {
            s.execute("ROLLBACK", context).await?;
            return Err(e);
        }
    }
    Ok(())
}

fn restore_failed(e: Error, target: &str, report: &RestoreReport) -> Error {
    Error::RestoreFailed {
        message: format!(
            "restoring {target} from snapshot {} failed and was rolled back: {e}\n  kept safe: {target} is as it was; the snapshot is untouched.\n  next: if a migration changed a column's type since the snapshot (its values too long or too precise for it now), revert it first; if a NOT NULL column the snapshot lacks has no default, give it one; then restore again",
            report.snapshot.id,
        ),
    }
}

/// Which snapshots [`crate::backup::Backups::prune`] removes.
#[derive(Debug, Clone, Default)]
pub struct PrunePolicy {
    /// Keep at most this many snapshots per source table (newest first).
    pub keep: Option<usize>,
    /// Remove snapshots older than this.
    pub older_than: Option<chrono::Duration>,
    /// Only report what would be removed.
    pub dry_run: bool,
}

impl PrunePolicy {
    /// Whether a backup taken at `created_at` (RFC 3339) is older than `older_than` at `now`.
    pub(crate) fn too_old(&self, created_at: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.older_than.is_some_and(|age| {
            chrono::DateTime::parse_from_rfc3339(created_at).is_ok_and(|t| now - t.with_timezone(&chrono::Utc) > age)
        })
    }
}

/// The snapshots `policy` removes from `all`: never the newest verified whole snapshot of a
/// table, nor its newest one when none is verified. `keep` counts whole snapshots only: a
/// snapshot of some rows or values (a DELETE's rows, a dropped column's values) holds what no
/// other copy does, so only its age (`older_than`) removes it.
pub(crate) fn to_prune<'a>(all: &'a [SnapshotInfo], policy: &PrunePolicy) -> Vec<&'a SnapshotInfo> {
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    let mut tables: Vec<&str> = all.iter().map(|s| s.source_table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        let of_table = all.iter().filter(|s| s.source_table == table);
        let (mut of_table, partial): (Vec<&SnapshotInfo>, Vec<&SnapshotInfo>) =
            of_table.partition(|s| !s.holds_some_rows());
        out.extend(partial.into_iter().filter(|s| policy.too_old(&s.created_at, now)));
        of_table.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let protected = of_table.iter().find(|s| s.checksum.is_some()).or(of_table.first()).map(|s| s.id);
        for (i, snap) in of_table.iter().enumerate() {
            let over_count = policy.keep.is_some_and(|k| i >= k);
            let too_old = policy.too_old(&snap.created_at, now);
            if (over_count || too_old) && Some(snap.id) != protected {
                out.push(*snap);
            }
        }
    }
    out.sort_by_key(|s| s.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_commands_are_one_shell_word() {
        assert_eq!(shell_word("users_restored"), "users_restored");
        assert_eq!(shell_word("order items_restored"), "'order items_restored'");
        assert_eq!(shell_word("o'k"), "'o'\\''k'");
    }

    #[test]
    fn names_sort_and_fit() {
        let n = snapshot_name("users", Some(4), "20261121T101500Z", 63, 1);
        assert_eq!(n, "dbguard_bak_v0004_users_20261121T101500Z");
        assert_eq!(snapshot_name("users", Some(4), "20261121T101500Z", 63, 2), format!("{n}_2"));
        let long = "a_table_name_that_is_really_much_too_long_for_postgres_identifiers";
        let l = snapshot_name(long, Some(20170923182408), "20261121T101500Z", 63, 1);
        assert!(l.len() <= 63, "{l}");
        assert_ne!(l, snapshot_name(&format!("{long}x"), Some(20170923182408), "20261121T101500Z", 63, 1));
        // Unusual characters are replaced, and the hash keeps `a-b` and `a_b` apart.
        assert_ne!(snapshot_name("a-b", None, "s", 63, 1), snapshot_name("a_b", None, "s", 63, 1));
    }

    fn snap(id: i64, table: &str, at: &str, checksum: bool) -> SnapshotInfo {
        SnapshotInfo {
            id,
            source_table: table.into(),
            migration_version: None,
            reason: "manual".into(),
            row_count: 1,
            checksum: checksum.then(|| "1:1".into()),
            created_at: at.into(),
            location: format!("s{id}"),
        }
    }

    #[test]
    fn pruning_keeps_the_newest_verified_snapshot() {
        let all = vec![
            snap(1, "users", "2026-01-01T00:00:00Z", true),
            snap(2, "users", "2026-01-02T00:00:00Z", false),
            snap(3, "users", "2026-01-03T00:00:00Z", false),
            snap(4, "orders", "2026-01-01T00:00:00Z", false),
        ];
        let ids = |p: &PrunePolicy| to_prune(&all, p).iter().map(|s| s.id).collect::<Vec<_>>();
        // Keep 1 per table: users keeps 3 (newest) but also 1 (its only verified one).
        assert_eq!(ids(&PrunePolicy { keep: Some(1), ..Default::default() }), [2]);
        // Keep 0: everything goes but the protected one of each table.
        assert_eq!(ids(&PrunePolicy { keep: Some(0), ..Default::default() }), [2, 3]);
        let old = PrunePolicy { older_than: Some(chrono::Duration::days(1)), ..Default::default() };
        assert_eq!(ids(&old), [2, 3]);
        assert!(ids(&PrunePolicy::default()).is_empty());

        // Some rows or values are no copy of the rest: `keep` leaves them, age removes them.
        let mut values = snap(5, "users", "2026-01-01T12:00:00Z", true);
        values.reason = reason::COLUMN_VALUES.into();
        let mut rows = snap(6, "users", "2026-01-04T00:00:00Z", true);
        rows.reason = reason::DELETED_ROWS.into();
        let all = [all, vec![values, rows]].concat();
        let ids = |p: &PrunePolicy| to_prune(&all, p).iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(&PrunePolicy { keep: Some(1), ..Default::default() }), [2]);
        assert_eq!(ids(&old), [2, 3, 5, 6]);
    }
}
