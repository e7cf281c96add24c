//! What a run did, or would do: the reports `up`, `down`, `baseline` and the dry runs return.

use crate::backup::file::FileBackup;
use crate::model::direction::Direction;
use crate::model::plan::Plan;
use crate::model::row_target::Verb;
use crate::store::catalog::SnapshotInfo;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Migrations applied, in order.
    pub applied: Vec<StepReport>,
    /// Migrations reverted, in order.
    pub reverted: Vec<StepReport>,
    /// The state after the run (computed from what the run wrote, without reading again).
    pub plan: Plan,
    /// Table snapshots taken before the steps that preserve or destroy tables.
    pub snapshots: Vec<SnapshotInfo>,
    /// The SQLite file backup taken before the run.
    pub file_backup: Option<FileBackup>,
    /// The dump taken before the run (PostgreSQL/MySQL, when configured).
    pub dump: Option<std::path::PathBuf>,
    /// Row counts recorded after the run in `dbguard_table_stats`: the preserved tables of
    /// every migration, and the watched ones.
    pub counts: Vec<(String, i64)>,
    /// The fingerprint of the schema the run left (recorded in `dbguard_schema_fingerprint`).
    pub fingerprint: Option<String>,
    /// What each `DELETE`/`UPDATE ... WHERE` deleted or overwrote, measured just before it ran.
    pub radius: Vec<Radius>,
    /// Migrations an earlier run left partway (a crash, or a statement that failed) that this
    /// run continued from where they stopped.
    pub resumed: Vec<Resumed>,
}

/// A migration continued from where an earlier run stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resumed {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// The direction it was running.
    pub direction: Direction,
    /// The first statement this run ran (from 1); the ones before it had committed.
    pub from: usize,
    /// How many statements the step has.
    pub total: usize,
    /// When the earlier run was stopped inside a statement that commits itself: whether the
    /// schema showed that it had run (`true`: it was not run again).
    pub in_flight_ran: Option<bool>,
}

/// The blast radius of one statement that deletes or overwrites the rows a condition
/// chooses, measured on the live database: how many rows, and the snapshot that keeps them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Radius {
    /// The migration.
    pub version: i64,
    /// The statement's number in its step (from 1) and its first line.
    pub statement: usize,
    /// Its first line in the step.
    pub line: usize,
    /// The table.
    pub table: String,
    /// The column, for a dropped or converted column.
    pub column: Option<String>,
    /// `delete`, `update`, `drop-column` or `change-type`.
    pub verb: crate::migrate::radius::Verb,
    /// The new type, for a type change.
    pub to: Option<String>,
    /// Rows it deletes or overwrites, or values it drops (non-null) or changes; `None` when
    /// it cannot be measured before the step (the condition needs what earlier statements of
    /// the step make, or the database cannot compute the conversion): then the table is kept
    /// whole.
    pub rows: Option<i64>,
    /// The snapshot keeping those rows (none when there are none).
    pub snapshot: Option<i64>,
    /// In a dry run: its condition matches every row (it deletes them all, or overwrites a
    /// value in each) and no allow with a reason says so: `up` would stop before it.
    pub every_row: bool,
}

/// One migration run by a [`Report`]'s run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// How long it took.
    pub duration_ms: i64,
}

/// What a run would do: see [`crate::Migrator::dry_run_up`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRun {
    /// `up` or `down`.
    pub direction: Direction,
    /// Where the SQLite file backup would be written.
    pub file_backup: Option<std::path::PathBuf>,
    /// Where the dump would be written.
    pub dump: Option<std::path::PathBuf>,
    /// The steps, in the order they would run.
    pub steps: Vec<DryStep>,
    /// Why the run, done now, would stop partway, one line per cause (see
    /// [`DryRun::find_stops`]); empty when nothing measured stops it.
    pub stops: Vec<String>,
}

impl DryRun {
    /// Why the run, done now, would stop partway: a new constraint that rows there now
    /// refuse (its statement fails), a statement that reaches every row of its table with no
    /// allow saying so (the guard stops before it). One line per cause, naming the migration,
    /// the statement and the way on; empty when the measured radius stops nothing.
    ///
    /// ```
    /// let run = dbguard::DryRun { direction: dbguard::Direction::Up, file_backup: None, dump: None, steps: vec![], stops: vec![] };
    /// assert!(run.find_stops().is_empty());
    /// ```
    pub fn find_stops(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            for r in &s.radius {
                let at = format!("migration {} ({}) statement {} (line {})", s.version, s.name, r.statement, r.line);
                let n = r.rows.unwrap_or(0);
                if r.verb == Verb::Rejects && n > 0 {
                    // `NOT NULL` names no column of its own.
                    let constraint = match (r.to.as_deref(), r.column.as_deref()) {
                        (Some(c), Some(col)) if c.starts_with("NOT NULL") => format!("NOT NULL on {col}{}", &c[8..]),
                        (Some(c), _) => c.to_string(),
                        (None, _) => "constraint".to_string(),
                    };
                    out.push(format!(
                        "{at} would fail: {} row(s) of {} are refused by the new {constraint}; fix or remove them first (in an earlier statement or migration)",
                        crate::thousands(n),
                        r.table,
                    ));
                }
                if r.every_row {
                    out.push(format!(
                        "{at} would be stopped: it reaches every row of {}; if that is meant, say so with `-- dbguard:allow {} reason=\"...\"`",
                        r.table,
                        r.verb.allow_rule()
                    ));
                }
            }
        }
        out
    }
}

/// What kind of step a [`DryStep`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// SQL text.
    Sql,
    /// A Rust function.
    Rust,
    /// A down declared irreversible.
    Irreversible,
}

impl StepKind {
    /// `sql`, `rust` or `irreversible`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Sql => "sql",
            StepKind::Rust => "rust",
            StepKind::Irreversible => "irreversible",
        }
    }
}

/// One step of a [`DryRun`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryStep {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// File or Rust item.
    pub location: String,
    /// SQL, Rust or irreversible.
    pub kind: StepKind,
    /// The SQL it would run.
    pub sql: Option<String>,
    /// Whether it would run in a transaction.
    pub transactional: bool,
    /// Tables it would snapshot first (they exist now).
    pub snapshots: Vec<String>,
    /// Preserved tables and their row counts now (checked again after the step).
    pub preserved_counts: Vec<(String, i64)>,
    /// The rows each `DELETE`/`UPDATE ... WHERE` would delete or overwrite, counted now.
    pub radius: Vec<Radius>,
    /// The linter's findings on its SQL.
    pub findings: Vec<dbguard_lint::Finding>,
}

/// What `repair` does with a dirty migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Its changes are complete (you finished them by hand): record it as applied.
    MarkApplied,
    /// Its changes are undone: forget it, so that it runs again.
    Forget,
    /// The statement it stopped at (one dbguard could not judge, or one that ran in part) is
    /// now complete (you checked, or finished it by hand): the next `up` continues after it.
    StatementRan,
    /// That statement is undone, or never ran: the next `up` runs it (again).
    StatementNotRun,
}
