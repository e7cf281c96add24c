//! Rehearsal: on a throwaway copy of the database, run the pending migrations up one at a time,
//! then each down in reverse, then up again, comparing the schema and the preserved tables'
//! row counts at each step. A down that does not bring back the schema its up found is
//! reported with the difference. The original database is only read.

use std::time::Instant;

use crate::db::database::Database;
use crate::db::schema::Schema;
use crate::error::Result;
use crate::migrate::migrator::Migrator;
use crate::model::migration::Step;

/// What a rehearsal found: see [`Migrator::rehearse`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rehearsal {
    /// The scratch database it ran on (masked; dropped since).
    pub scratch: String,
    /// The newest applied migration of the original (where the downs stop).
    pub from_version: Option<i64>,
    /// Whether the original does not exist yet (a SQLite file not created): the rehearsal
    /// started from an empty database.
    pub from_empty: bool,
    /// The migrations rehearsed, in order.
    pub steps: Vec<RehearsedStep>,
    /// What went wrong, in the order found.
    pub findings: Vec<RehearsalFinding>,
}

/// One migration of a [`Rehearsal`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RehearsedStep {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// The first `up` went through.
    pub up: bool,
    /// The `down` ran and brought back the schema and preserved row counts the `up` found.
    pub down_restores: Option<bool>,
    /// How long its first `up` took.
    pub up_ms: i64,
    /// What its statements delete, overwrite, drop or convert, measured on the copy just
    /// before its `up` (see `DryStep::radius`).
    pub radius: Vec<crate::migrate::report::Radius>,
}

/// Something a [`Rehearsal`] found wrong with one migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RehearsalFinding {
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// What.
    pub kind: FindingKind,
    /// Details: the schema diff (`+` left behind by the down, `-` not brought back), counts,
    /// or the error.
    pub details: Vec<String>,
}

/// The kinds of [`RehearsalFinding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Its `up` failed on a copy of the database: it would fail in the real run too.
    UpFailed,
    /// Its `down` failed (the older downs were rehearsed from a fresh copy brought up to the
    /// migration before it).
    DownFailed,
    /// Its `down` ran but left a different schema than its `up` found.
    DownDoesNotRestoreSchema,
    /// Its `down` ran but a preserved table has a different row count than before the `up`.
    DownDoesNotRestoreRows,
    /// Its `down` is declared irreversible: not rehearsed (the older downs were, from a fresh
    /// copy brought up to the migration before it).
    Irreversible,
    /// Applying it again after the downs failed.
    ReapplyFailed,
    /// Applying everything again after the downs left a different schema than the first time.
    ReapplyDiffers,
}

impl FindingKind {
    /// A sentence for people: `its down does not restore the schema its up found`.
    pub fn describe(self) -> &'static str {
        match self {
            FindingKind::UpFailed => "its up fails",
            FindingKind::DownFailed => "its down fails",
            FindingKind::DownDoesNotRestoreSchema => "its down does not restore the schema its up found",
            FindingKind::DownDoesNotRestoreRows => "its down does not restore the preserved row counts",
            FindingKind::Irreversible => "its down is declared irreversible (not rehearsed)",
            FindingKind::ReapplyFailed => "applying it again after the downs fails",
            FindingKind::ReapplyDiffers => "applying everything again leaves a different schema than the first time",
        }
    }
}

impl Rehearsal {
    /// Whether every down restored what its up found and every up went through (irreversible
    /// downs are noted, not counted against it).
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.kind == FindingKind::Irreversible)
    }

    /// The versions whose down does not restore the schema.
    pub fn downs_not_restoring_schema(&self) -> Vec<i64> {
        self.findings.iter().filter(|f| f.kind == FindingKind::DownDoesNotRestoreSchema).map(|f| f.version).collect()
    }
}

/// The schema and preserved counts at one point of the rehearsal.
#[derive(Clone)]
struct State {
    schema: Schema,
    counts: Vec<(String, i64)>,
}

async fn state(m: &Migrator, db: &mut Database) -> Result<State> {
    let schema = db.introspect().await?;
    let mut counts = Vec::new();
    for t in m.monitored_tables() {
        if db.table_exists(&t).await? {
            let n = db.count_rows(&t).await?;
            counts.push((t, n));
        }
    }
    Ok(State { schema, counts })
}

fn finding(m: &Migrator, version: i64, kind: FindingKind, details: Vec<String>) -> RehearsalFinding {
    RehearsalFinding { version, name: m.get(version).name().to_string(), kind, details }
}

impl Migrator {
    /// Rehearses the pending migrations on a scratch copy of the database at `url`: each up,
    /// then each down in reverse, then all up again, comparing schemas and preserved row
    /// counts at every step. The original is only read (SQLite `VACUUM INTO`, PostgreSQL
    /// `CREATE DATABASE ... TEMPLATE` or `pg_dump | psql`, MySQL a table-by-table copy); the
    /// scratch database is dropped afterwards, whatever happened.
    ///
    /// ```no_run
    /// # async fn run() -> dbguard::Result<()> {
    /// let migrator = dbguard::Migrator::from_dir("migrations")?;
    /// let r = migrator.rehearse("postgres://app@127.0.0.1/shop").await?;
    /// for f in &r.findings {
    ///     println!("{} {}: {:?}\n  {}", f.version, f.name, f.kind, f.details.join("\n  "));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn rehearse(&self, url: &str) -> Result<Rehearsal> {
        let mut scratch = crate::db::admin::scratch_copy(url).await?;
        let result = self.rehearse_on(url, &mut scratch).await;
        let dropped = scratch.drop().await;
        let r = result?;
        dropped?;
        Ok(r)
    }

    async fn rehearse_on(&self, url: &str, scratch: &mut crate::db::admin::Scratch) -> Result<Rehearsal> {
        let m = self.for_scratch();
        let mut db = Database::create_if_missing(&scratch.url).await?;
        let plan = m.plan(&mut db).await?;
        let todo = m.select_up(&mut db, &plan, None).await?;
        let from_version = plan.current_version();
        let mut r = Rehearsal {
            scratch: db.url().to_string(),
            from_version,
            from_empty: scratch.from_empty,
            steps: Vec::new(),
            findings: Vec::new(),
        };

        // Up, one migration at a time; states[i] is the state before todo[i].
        let mut states = vec![state(&m, &mut db).await?];
        for &v in &todo {
            // Measured on the copy, as the real run will measure it on the original.
            let radius = match m.dry_run_up(&mut db, Some(v)).await {
                Ok(dry) => dry.steps.into_iter().flat_map(|s| s.radius).collect(),
                Err(_) => Vec::new(),
            };
            let started = Instant::now();
            let up = m.up_unguarded(&mut db, Some(v)).await;
            let up_ms = started.elapsed().as_millis() as i64;
            r.steps.push(RehearsedStep {
                version: v,
                name: m.get(v).name().into(),
                up: up.is_ok(),
                down_restores: None,
                up_ms,
                radius,
            });
            if let Err(e) = up {
                r.findings.push(finding(&m, v, FindingKind::UpFailed, vec![on_scratch(&e)]));
                break;
            }
            states.push(state(&m, &mut db).await?);
        }
        let applied = states.len() - 1;

        // Down, newest first, each compared with the state its up found.
        let mut current = states[applied].clone();
        for i in (0..applied).rev() {
            let v = todo[i];
            let keep = if i == 0 { from_version } else { Some(todo[i - 1]) };
            let stuck = if let Step::Irreversible { reason, .. } = m.get(v).down() {
                Some(finding(&m, v, FindingKind::Irreversible, vec![reason.to_string()]))
            } else if let Err(e) = m.down_unguarded(&mut db, keep).await {
                r.steps[i].down_restores = Some(false);
                Some(finding(&m, v, FindingKind::DownFailed, vec![on_scratch(&e)]))
            } else {
                None
            };
            if let Some(f) = stuck {
                r.findings.push(f);
                if i == 0 {
                    break;
                }
                // It cannot be reverted here: start again from a fresh copy brought up to the
                // migration before it, and go on down from there.
                db.close().await?;
                let fresh = crate::db::admin::scratch_copy(url).await?;
                std::mem::replace(scratch, fresh).drop().await?;
                db = Database::create_if_missing(&scratch.url).await?;
                m.up_unguarded(&mut db, Some(todo[i - 1])).await?;
                current = state(&m, &mut db).await?;
                continue;
            }
            let now = state(&m, &mut db).await?;
            // The down must undo exactly what the up did. Compared as changes, not as whole
            // schemas, so that what one bad down leaves behind is reported once, at that
            // migration, and not again at every older one.
            let (up_before, up_after) = (&states[i], &states[i + 1]);
            let expected = current.schema.undoing(&up_before.schema, &up_after.schema);
            // Objects already off before this down (left by a newer bad down) are not its doing.
            let already_off = current.schema.changed_objects(&up_after.schema);
            let diff: Vec<String> = now
                .schema
                .diff(&expected)
                .into_iter()
                .filter(|l| !already_off.contains(crate::db::schema::object_key(l)))
                .collect();
            let counts: Vec<String> = up_before
                .counts
                .iter()
                .filter_map(|(t, before)| {
                    let get = |s: &State| s.counts.iter().find(|(u, _)| u == t).map(|(_, c)| *c);
                    let up = get(up_after)? - before;
                    match (get(&current), get(&now)) {
                        (Some(c), Some(n)) if n - c != -up => {
                            Some(format!("{t}: the up changed it by {up:+} rows, the down by {:+}", n - c))
                        }
                        (Some(_), None) => Some(format!("{t}: the up changed it by {up:+} rows, the down dropped it")),
                        _ => None,
                    }
                })
                .collect();
            current = now;
            r.steps[i].down_restores = Some(diff.is_empty() && counts.is_empty());
            if !diff.is_empty() {
                r.findings.push(finding(&m, v, FindingKind::DownDoesNotRestoreSchema, diff));
            }
            if !counts.is_empty() {
                r.findings.push(finding(&m, v, FindingKind::DownDoesNotRestoreRows, counts));
            }
        }

        // Up again: the downs must leave the database able to take the ups a second time.
        if applied > 0 {
            let last = todo[applied - 1];
            match m.up_unguarded(&mut db, Some(last)).await {
                Err(e) => {
                    let failed = match &e {
                        crate::error::Error::MigrationFailed(f) => f.version,
                        _ => last,
                    };
                    r.findings.push(finding(&m, failed, FindingKind::ReapplyFailed, vec![on_scratch(&e)]));
                }
                Ok(_) => {
                    let diff = db.introspect().await?.diff(&states[applied].schema);
                    if !diff.is_empty() {
                        r.findings.push(finding(&m, last, FindingKind::ReapplyDiffers, diff));
                    }
                }
            }
        }
        db.close().await?;
        Ok(r)
    }
}

/// An error on the scratch copy, for the rehearsal's report: its advice (`next:`) is about a
/// database that is gone, so it is left out.
fn on_scratch(e: &crate::error::Error) -> String {
    let text = e.to_string();
    let kept: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("next:")).collect();
    kept.join("\n")
}
