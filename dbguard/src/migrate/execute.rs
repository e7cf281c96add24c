//! Running one migration step with its bookkeeping: the transaction (or the dirty mark where
//! there can be none), the row guard around it, the version row, and what a failure leaves.

use std::time::Instant;

use sqlx::{AnyConnection, Connection};

use crate::db::batches::Batches;
use crate::db::database::{Database, Env, Session};
use crate::error::{Error, FailureOutcome, Loss, LossOutcome, MigrationFailure, Result, RowsLost};
use crate::migrate::guard::{self, Protect};
use crate::migrate::report::{Report, Resumed};
use crate::model::applied::{AppliedRow, RowDetails, RowState};
use crate::model::direction::Direction;
use crate::model::migration::{Migration, Step, Tx};
use crate::model::progress::Progress;
use crate::model::resume::ResumePoint;
use crate::model::stamp::now;
use crate::store::catalog::SnapshotInfo;
use crate::store::version_table::VersionTable;
use dbguard_lint::split::Statement;
use dbguard_lint::statements::Statements;

/// The version row a step writes for `m`.
pub(crate) fn row(m: &Migration, state: RowState, applied_at: String, execution_ms: i64) -> AppliedRow {
    AppliedRow {
        version: m.version(),
        name: m.name().to_string(),
        checksum: m.checksum().to_string(),
        state,
        applied_at,
        details: Some(RowDetails::now_taking(execution_ms)),
    }
}

/// Runs one migration in one direction with its bookkeeping in the version table `table`;
/// returns the row an `up` wrote.
///
/// When the database can roll the whole step back, step and version row commit in one
/// transaction. Otherwise (non-transactional migrations; DDL on MySQL) the row is written
/// as dirty first, so a failure halfway is visible to every later run.
///
/// Such a step written in SQL records its progress in its version-table row as each statement
/// commits; `resume` is that progress, read back after a crash or a failed statement: the run
/// continues from the first statement that did not commit.
pub(crate) async fn run(
    table: &str,
    db: &mut Database,
    m: &Migration,
    dir: Direction,
    report: &mut Report,
    resume: Option<&ResumePoint>,
) -> Result<Option<AppliedRow>> {
    let Database { conn, env, .. } = db;
    let step = m.step(dir);
    if let Step::Sql(sql) = step
        && let Some(r) = refused_before_running(&mut Session { env, conn }, sql).await?
    {
        let message = format!("{}{}", r.why, r.next);
        return Err(failure(m, dir, Some(r.at), message, true).into_error(FailureOutcome::NotRun));
    }
    let history = VersionTable { table };
    let started = Instant::now();
    let at = now();
    let elapsed = || started.elapsed().as_millis() as i64;
    let mut protect = Protect::for_step(m, step, env.backend.kind().dialect());
    if let Some(r) = resume {
        let counted = serde_json::from_value(r.counted.clone()).map_err(|e| Error::Dirty {
            version: m.version(),
            name: m.name().to_string(),
            since: String::new(),
            stopped_at: format!("; it stopped at {}, and its recorded progress cannot be read ({e})", r.describe()),
        })?;
        protect.resumed = Some(counted);
    }
    // Values an ALTER TABLE drops or converts are counted first, outside any transaction.
    guard::measure_values(&mut Session { env, conn }, &mut protect, m.version()).await?;
    let lost = |losses, outcome| {
        Error::RowsLost(Box::new(RowsLost {
            version: m.version(),
            name: m.name().to_string(),
            direction: dir,
            losses,
            outcome,
            done: Default::default(),
        }))
    };
    let mut taken = guard::Taken::default();
    // A routine the step calls may destroy something: read before deciding it needs no guard.
    protect.read_routines(&mut Session { env, conn }).await?;
    // Tables that keep what a statement did, whatever happens after (MyISAM, Aria): a step that
    // writes one, itself or through a trigger or routine, cannot be rolled back, so it runs
    // statement by statement, recorded as it goes.
    let kept_anyway = untransactional_named(&mut Session { env, conn }, step, &protect.reached_words()).await?;
    let atomic = resume.is_none() && m.is_transactional() && rolls_back_completely(env, step) && kept_anyway.is_empty();
    // Snapshots live in the migration's transaction where DDL is transactional (so a
    // rolled-back migration leaves none behind); elsewhere they must be committed first.
    let snapshot_inside = atomic && env.backend.transactional_ddl();
    if !protect.is_empty() && !snapshot_inside {
        taken = guard::before(&mut Session { env, conn }, &mut protect, m.version()).await?;
    }

    // The common case, a plain SQL step with nothing to guard, in one round trip instead
    // of one per statement plus three: `BEGIN`, the step, the version row, `COMMIT`. A
    // failure is rolled back and the step run again below, statement by statement, to
    // name the statement that fails.
    if atomic
        && protect.is_empty()
        && env.backend.transactional_ddl()
        && let Step::Sql(sql) = step
        && let Some(done) = run_batched(&history, conn, env, m, sql, dir, &at, started).await?
    {
        return Ok(done);
    }

    if atomic {
        let mut tx =
            conn.begin_with(env.backend.begin_statement()).await.map_err(|e| env.error("starting a transaction", e))?;
        if !protect.is_empty() && snapshot_inside {
            taken = guard::before(&mut Session { env, conn: &mut tx }, &mut protect, m.version()).await?;
        }
        let home = Session { env, conn: &mut tx }.home().await?;
        let mut ran = run_step(&mut tx, env, m, step, dir, &mut taken).await;
        // Whatever moved them (a `SET ROLE`, a schema named for the user, a function setting
        // the path), names must resolve where they did: dbguard records the step there.
        if ran.is_ok()
            && let Some(home) = &home
            && let Some(now) = (Session { env, conn: &mut tx }).home().await?.filter(|now| now != home)
        {
            ran = Err(failure(m, dir, None, moved_message("the step", home, &now), true));
        }
        if ran.is_ok()
            && let Some(sql) = env.backend.shadowing_sql()
            && let Some(t) =
                (Session { env, conn: &mut tx }).strings(sql, "listing temporary tables").await?.into_iter().next()
        {
            let message = format!(
                "the step left a temporary table named {t}, which hides the table of that name for the rest of the connection: dbguard's counts, snapshots and records (made through that same connection) would read and write the temporary one. Give the temporary table a name of its own, or drop it before the step ends"
            );
            ran = Err(failure(m, dir, None, message, true));
        }
        if let Err(f) = ran {
            tx.rollback().await.map_err(|e| env.error("rolling back the failed migration", e))?;
            back_home(&mut Session { env, conn }, &home).await?;
            guard::rolled_back(&mut Session { env, conn }, &taken, snapshot_inside).await?;
            return Err(f.into_error(FailureOutcome::RolledBack));
        }
        let losses = guard::losses(&mut Session { env, conn: &mut tx }, &taken.counted).await?;
        if !losses.is_empty() {
            tx.rollback().await.map_err(|e| env.error("rolling back the migration", e))?;
            guard::rolled_back(&mut Session { env, conn }, &taken, snapshot_inside).await?;
            return Err(lost(losses, LossOutcome::RolledBack));
        }
        report.radius.extend(guard::measured_values(&protect, &taken));
        report.radius.extend(guard::measured(&taken, m.version()));
        report.snapshots.extend(taken.snapshots.iter().cloned());
        report.snapshots.extend(taken.rows.iter().filter_map(|r| r.filled.clone()));
        let written = match dir {
            Direction::Up => {
                let row = row(m, RowState::Applied, at, elapsed());
                history.insert(env, &mut tx, &row).await?;
                Some(row)
            }
            Direction::Down => {
                history.delete(env, &mut tx, m.version()).await?;
                None
            }
        };
        tx.commit().await.map_err(|e| env.error("committing the migration", e))?;
        guard::drop_empty(&mut Session { env, conn }, &taken).await?;
        return Ok(written);
    }

    let outcome = match step {
        Step::Sql(sql) => {
            // Read a window at a time: a seed of millions of statements is never listed whole.
            let mut statements = Statements::new(sql, env.backend.kind().dialect());
            let mut s = Session { env, conn };
            let point = match resume {
                Some(r) => {
                    // The settings the statements that ran made in their connection, made again
                    // in this one (`Migrator::resumable` stopped the resume where that cannot be).
                    let replay = crate::model::resume::session_state(statements.texts(r.done)).unwrap_or_default();
                    for k in replay {
                        let text = statements.get(k).text;
                        s.execute(text, "setting again what a statement that ran set in its connection").await?;
                    }
                    let mut p = continue_from(r, statements.len(), report, m);
                    p.catch_up(statements.texts(r.done));
                    p
                }
                None => {
                    let first = (!statements.is_empty()).then(|| statements.get(0));
                    let counted = serde_json::to_value(&taken.counted).unwrap_or_default();
                    let p = ResumePoint::begin(dir, statements.len(), first.as_ref(), counted);
                    mark_dirty(&history, &mut s, m, dir, &at, &p).await?;
                    p
                }
            };
            run_statements(&history, &mut s, m, dir, (&mut statements, &kept_anyway), point, &mut taken).await.map(Some)
        }
        _ => {
            match dir {
                Direction::Up => history.insert(env, conn, &row(m, RowState::Dirty, at.clone(), 0)).await?,
                Direction::Down => history.set_state(env, conn, m.version(), RowState::Dirty, 0).await?,
            }
            let r = if m.is_transactional() {
                // MySQL: what the step writes still rolls back; DDL committed itself already.
                let mut tx = conn
                    .begin_with(env.backend.begin_statement())
                    .await
                    .map_err(|e| env.error("starting a transaction", e))?;
                let r = run_step(&mut tx, env, m, step, dir, &mut taken).await;
                match r {
                    Ok(()) => tx.commit().await.map_err(|e| env.error("committing the migration", e))?,
                    Err(_) => tx.rollback().await.map_err(|e| env.error("rolling back the failed migration", e))?,
                }
                r
            } else {
                run_step(conn, env, m, step, dir, &mut taken).await
            };
            r.map(|()| None).map_err(|f| (f, FailureOutcome::Dirty))
        }
    };
    // Stopped at its first statement, which did not run (nothing committed): nothing of it
    // stands. Forgotten with its snapshots, as a step rolled back is, rather than left dirty
    // for a person to judge. Not where a failed statement may have done part of its work (a
    // MyISAM table keeps the rows an UPDATE changed before it failed): left as it is, dirty.
    // (A `CALL` or `DO` that may have committed is never `Resumable`: see `may_commit_inside`.)
    let outcome = match outcome {
        Err((f, FailureOutcome::Resumable { statement: 1 }))
            if resume.is_none() && dir == Direction::Up && env.backend.failed_statement_undone() =>
        {
            history.delete(env, conn, m.version()).await?;
            guard::nothing_ran(&mut Session { env, conn }, &taken).await?;
            return Err(f.into_error(FailureOutcome::RolledBack));
        }
        other => other,
    };
    // Snapshot tables left empty (nothing changed, or rolled back) go; those with rows stay.
    guard::drop_empty(&mut Session { env, conn }, &taken).await?;
    // Resumed: the statements an earlier run ran were measured (and reported) by it.
    let ran_before = resume.map_or(0, |r| r.done);
    report.radius.extend(guard::measured_values(&protect, &taken).into_iter().filter(|r| r.statement > ran_before));
    report.radius.extend(guard::measured(&taken, m.version()).into_iter().filter(|r| r.statement > ran_before));
    report.snapshots.extend(taken.snapshots.iter().filter(|s| resume.is_none() || !is_earlier(s, &at)).cloned());
    report.snapshots.extend(taken.rows.iter().filter_map(|r| r.filled.clone()));
    let point = match outcome {
        Err((f, outcome)) => return Err(f.into_error(outcome)),
        Ok(p) => p,
    };
    let mut s = Session { env, conn };
    let losses = guard::losses(&mut s, &taken.counted).await?;
    if !losses.is_empty() {
        let outcome = restore_lost(&mut s, table, &losses, &taken.snapshots).await;
        // Its other changes stand: a person looks at them; a later `up` does not go on.
        if let Some(mut p) = point {
            p.restored_by_guard = true;
            history.set_resume_point(env, conn, m.version(), Some(&p)).await?;
        }
        return Err(lost(losses, outcome));
    }
    match dir {
        Direction::Up => {
            let ms = elapsed();
            let done = row(m, RowState::Applied, at, ms);
            history.finish(env, conn, &done).await?;
            Ok(Some(done))
        }
        Direction::Down => {
            history.delete(env, conn, m.version()).await?;
            Ok(None)
        }
    }
}

/// Whether snapshot `s` was taken before this run started at `at` (by the run a resumed step
/// continues): reported by that run, not this one.
fn is_earlier(s: &SnapshotInfo, at: &str) -> bool {
    s.created_at.as_str() < at
}

/// Records the step as started (dirty) with its progress at the first statement, in one
/// transaction: a crash leaves either no row or a row that says where to go on.
async fn mark_dirty(
    history: &VersionTable<'_>,
    s: &mut Session<'_>,
    m: &Migration,
    dir: Direction,
    at: &str,
    point: &ResumePoint,
) -> Result<()> {
    let env = s.env;
    let mut tx =
        s.conn.begin_with(env.backend.begin_statement()).await.map_err(|e| env.error("starting a transaction", e))?;
    match dir {
        Direction::Up => history.insert(env, &mut tx, &row(m, RowState::Dirty, at.to_string(), 0)).await?,
        Direction::Down => history.set_state(env, &mut tx, m.version(), RowState::Dirty, 0).await?,
    }
    history.set_resume_point(env, &mut tx, m.version(), Some(point)).await?;
    tx.commit().await.map_err(|e| env.error("recording the migration as started", e))
}

/// Where a resumed step goes on (after the statements that committed and, when one that
/// commits itself was in flight and ran, after it too), reported.
fn continue_from(r: &ResumePoint, total: usize, report: &mut Report, m: &Migration) -> ResumePoint {
    // The statement in flight was judged when the run was planned (`Migrator::resumable`).
    report.resumed.push(Resumed {
        version: m.version(),
        name: m.name().to_string(),
        direction: r.direction,
        from: r.done + 1,
        total,
        in_flight_ran: r.judged_ran,
    });
    r.clone()
}

/// Runs a step that cannot be one transaction statement by statement, recording its progress
/// as each one commits. What changes data (and, in a transactional migration, whatever does
/// not commit itself) commits in one transaction with the progress; what commits itself (DDL
/// on MySQL, anything in a no-transaction migration) is marked as in flight first, with the
/// schema's fingerprint, so that the next run can tell whether it ran.
async fn run_statements(
    history: &VersionTable<'_>,
    s: &mut Session<'_>,
    m: &Migration,
    dir: Direction,
    (statements, kept_anyway): (&mut Statements<'_>, &[String]),
    mut point: ResumePoint,
    taken: &mut guard::Taken,
) -> Result<ResumePoint, (StepFailure, FailureOutcome)> {
    use sqlx::Executor;
    let env = s.env;
    let version = m.version();
    let internal = |e: Error| (failure(m, dir, None, e.to_string(), false), FailureOutcome::Dirty);
    // Where names resolve: a statement that moved them (where its text did not show it) is
    // stopped before anything more is recorded through the connection.
    let home = s.home().await.map_err(internal)?;
    // A step that opens and commits its own transactions (allowed in no-transaction
    // migrations) is run as written: nothing is wrapped in a transaction of dbguard's.
    let own_transactions = statements.own_transactions();
    let mut tx_open = false;
    // Where the open transaction started: what a rollback returns to.
    let mut group_start = point.clone();
    // A statement writing a table that cannot roll back is never grouped: if it fails, it may
    // have done part of its work, which only a person can judge.
    let writes_kept = |st: &Statement<'_>| names_any(st.text, kept_anyway);
    let groups = |st: &Statement<'_>| !own_transactions && groups_with_progress(env, m, st) && !writes_kept(st);
    let total = statements.len();
    let mut i = point.done;
    while i < total {
        env.progress.emit(Progress::Statements { done: i, total });
        let st = statements.get(i);
        let at = Some((i + 1, st.line, st.text.to_string()));
        let grouped = groups(&st);
        // What the guard does before a statement may create a table: that commits an open
        // transaction on MySQL, so the statements before it are committed with their progress.
        if tx_open && (!grouped || guard::acts_before(taken, i)) {
            commit_progress(history, s, version, &point).await.map_err(internal)?;
            tx_open = false;
        }
        if let Err(e) = guard::before_statement(s, taken, i).await {
            let by_guard = matches!(e, Error::EveryRow { .. });
            let back = if tx_open { &group_start } else { &point };
            let _ = rollback_to(history, s, version, back, tx_open).await;
            let _ = guard::forget_rows(s, taken, back.done, i).await;
            let outcome = FailureOutcome::Resumable { statement: back.done + 1 };
            return Err((failure(m, dir, at, e.to_string(), by_guard), outcome));
        }
        if grouped {
            if !tx_open {
                group_start = point.clone();
                s.conn
                    .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(env.backend.begin_statement().to_string())))
                    .await
                    .map_err(|e| internal(env.error("starting a transaction", e)))?;
                tx_open = true;
            }
            // In a transaction that commits with its progress, the statements after it that the
            // guard has nothing to do for go in the same round trip.
            // (Within the window of statements held: a round trip is bounded anyway.)
            let batch: Vec<Statement<'_>> = if m.is_transactional() {
                let run = statements.from(i);
                run[..=batch_end(run, batch_bounds(env), |k| groups(&run[k]) && !guard::acts_before(taken, i + k))]
                    .to_vec()
            } else {
                vec![st.clone()]
            };
            let last = i + batch.len() - 1;
            if let Err((k, e)) = run_batch(s.conn, &batch).await {
                let (at, message) = failed_in_batch(env, &batch, i, k, &e);
                let fault = env.fault(&e);
                let outcome = FailureOutcome::Resumable { statement: group_start.done + 1 };
                // The statements of the transaction before it are rolled back with it (by the
                // server, when the connection is gone: the recorded progress is already this).
                if fault != Some(crate::model::fault::Fault::ServerGone) {
                    rollback_to(history, s, version, &group_start, true).await.map_err(internal)?;
                    guard::forget_rows(s, taken, group_start.done, last).await.map_err(internal)?;
                }
                return Err((failure(m, dir, at, message, false).with_fault(fault), outcome));
            }
            if let Some(now) = moved_from(s, &home, &batch).await.map_err(internal)? {
                // Rolled back (the statements of the transaction with it), then back home
                // before the progress is written: a rollback does not undo MySQL's `USE`.
                s.conn.execute(sqlx::raw_sql("ROLLBACK")).await.map_err(|e| internal(env.error("rolling back", e)))?;
                back_home(s, &home).await.map_err(internal)?;
                rollback_to(history, s, version, &group_start, false).await.map_err(internal)?;
                guard::forget_rows(s, taken, group_start.done, last).await.map_err(internal)?;
                let what = format!("statement {} or one before it in its round trip", last + 1);
                let message = moved_message(&what, home.as_deref().unwrap_or_default(), &now);
                let at = Some((last + 1, batch[batch.len() - 1].line, batch[batch.len() - 1].text.to_string()));
                return Err((
                    failure(m, dir, at, message, true),
                    FailureOutcome::Resumable { statement: group_start.done + 1 },
                ));
            }
            for (k, one) in batch.iter().enumerate() {
                crash_point(version, i + k + 1);
                let next = (i + k + 1 < total).then(|| statements.get(i + k + 1));
                point.advance_by(one.text, next.as_ref());
            }
            // No transaction was asked for: each statement commits on its own (with its progress).
            if !m.is_transactional() {
                commit_progress(history, s, version, &point).await.map_err(internal)?;
                tx_open = false;
            }
            i = last + 1;
            continue;
        }
        // Commits itself: marked as in flight with the schema as it is before it.
        let before = s.object_states().await.map_err(internal)?;
        point.in_flight = Some(before.clone());
        point.in_flight_untransactional = writes_kept(&st);
        history.set_resume_point(env, s.conn, version, Some(&point)).await.map_err(internal)?;
        if let Err(e) = s.conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(st.text.to_string()))).await {
            let message = env.statement_error(&e, (st.text, st.line, st.column));
            let fault = env.fault(&e);
            let outcome = FailureOutcome::Resumable { statement: point.done + 1 };
            // The connection is gone: nothing more can be read or recorded. The mark in
            // flight stays for the next run to judge.
            if fault == Some(crate::model::fault::Fault::ServerGone) {
                return Err((failure(m, dir, at, message, false).with_fault(fault), outcome));
            }
            // A statement that failed with the schema unchanged never ran: it runs again
            // (fixed) next time. One that changed it before failing ran in part.
            let after = s.object_states().await.map_err(internal)?;
            (point.in_flight, point.in_flight_untransactional) = (None, false);
            point.failed_partway = after != before || writes_kept(&st) || may_commit_inside(st.text);
            history.set_resume_point(env, s.conn, version, Some(&point)).await.map_err(internal)?;
            let outcome = if point.failed_partway {
                FailureOutcome::RanInPart { statement: point.done + 1 }
            } else {
                FailureOutcome::Resumable { statement: point.done + 1 }
            };
            return Err((failure(m, dir, at, message, false).with_fault(fault), outcome));
        }
        crash_point(version, i + 1);
        (point.in_flight, point.in_flight_untransactional) = (None, false);
        // It ran, and committed itself: back home before anything is recorded, and a person
        // judges it (its move is part of what it did).
        if let Some(now) = moved_from(s, &home, std::slice::from_ref(&st)).await.map_err(internal)? {
            back_home(s, &home).await.map_err(internal)?;
            point.failed_partway = true;
            history.set_resume_point(env, s.conn, version, Some(&point)).await.map_err(internal)?;
            let message = moved_message(&format!("statement {}", i + 1), home.as_deref().unwrap_or_default(), &now);
            return Err((failure(m, dir, at, message, true), FailureOutcome::RanInPart { statement: point.done + 1 }));
        }
        let next = (i + 1 < total).then(|| statements.get(i + 1));
        point.advance_by(st.text, next.as_ref());
        history.set_resume_point(env, s.conn, version, Some(&point)).await.map_err(internal)?;
        i += 1;
    }
    if tx_open {
        commit_progress(history, s, version, &point).await.map_err(internal)?;
    }
    env.progress.emit(Progress::Statements { done: total, total });
    Ok(point)
}

/// Statements joined in one round trip at most: bounded, so that memory does not grow with
/// the step.
const BATCH_STATEMENTS: usize = 500;
const BATCH_BYTES: usize = 64 * 1024;

/// The bounds of a round trip on this database: (statements, bytes). Where the backend takes
/// bigger ones (PostgreSQL: each multi-statement round trip through the driver waits ~40 ms
/// for the network, measured with `bench/guarded-seed.sh`), up to its size, at ~128 bytes a
/// statement.
fn batch_bounds(env: &Env) -> (usize, usize) {
    let bytes = env.backend.batch_bytes().map_or(BATCH_BYTES, |b| b.max(BATCH_BYTES));
    (BATCH_STATEMENTS.max(bytes / 128), bytes)
}

/// The last statement (index in `statements`) of the round trip that starts with the first:
/// the ones after it join while `joins` says so, up to `bounds` ([`batch_bounds`]).
/// Statements that may return more than one result (a procedure call) go alone, so that a
/// failure is put on the right statement.
fn batch_end(
    statements: &[dbguard_lint::split::Statement<'_>],
    (max_statements, max_bytes): (usize, usize),
    joins: impl Fn(usize) -> bool,
) -> usize {
    let alone = |k: usize| matches!(statements[k].first_keyword().as_str(), "CALL" | "EXEC" | "EXECUTE");
    if alone(0) {
        return 0;
    }
    let (mut last, mut bytes) = (0, statements[0].text.len());
    while last + 1 < statements.len()
        && last + 1 < max_statements
        && bytes + statements[last + 1].text.len() <= max_bytes
        && joins(last + 1)
        && !alone(last + 1)
    {
        last += 1;
        bytes += statements[last].text.len();
    }
    last
}

/// What goes after each statement of a round trip: a newline before the `;`, since a
/// statement may end in a `--` comment.
const BATCH_SEPARATOR: &str = "\n;\n";

/// Runs `batch` in one round trip; on failure, which of them failed (each statement before it
/// gave its result) and the error.
async fn run_batch(
    conn: &mut AnyConnection,
    batch: &[dbguard_lint::split::Statement<'_>],
) -> std::result::Result<(), (usize, sqlx::Error)> {
    use futures_util::StreamExt;
    use sqlx::Executor;
    if let [one] = batch {
        return conn
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(one.text.to_string())))
            .await
            .map(|_| ())
            .map_err(|e| (0, e));
    }
    let text: String = batch.iter().flat_map(|st| [st.text, BATCH_SEPARATOR]).collect();
    let mut results = conn.fetch_many(sqlx::raw_sql(sqlx::AssertSqlSafe(text)));
    let mut done = 0;
    while let Some(r) = results.next().await {
        match r {
            Ok(sqlx::Either::Left(_)) => done += 1,
            Ok(sqlx::Either::Right(_)) => {}
            Err(e) => return Err((done.min(batch.len() - 1), e)),
        }
    }
    Ok(())
}

/// Why a step is stopped when `what` (the step, a statement) moved unqualified names from
/// `home` to `now` where its text did not show it.
fn moved_message(what: &str, home: &str, now: &str) -> String {
    let now = if now.is_empty() { "no schema at all" } else { now };
    format!(
        "{what} moved unqualified names away from {home}, to {now}, in a way its text does not show (a `SET ROLE`, a schema named for the user, a path set by a function or built at run time, `USE` in dynamic SQL); dbguard records the migration and makes its snapshots through that same connection. Name the tables with their schema, or leave the connection where the step found it"
    )
}

/// Whether a statement surely leaves unqualified names where they were, so that nothing
/// is read after it: rows written, tables and indexes made or changed, unless its text
/// names the settings that move them. Anything else (`SET`, `EXECUTE`, `CALL`, `DO`, a
/// `SELECT` of a function, `CREATE SCHEMA`) is checked on the database once it has run.
fn leaves_names(st: &Statement<'_>) -> bool {
    let k = st.keywords(2);
    let plain = match k.first().map(String::as_str) {
        Some("INSERT" | "UPDATE" | "DELETE" | "REPLACE") => true,
        Some("CREATE" | "ALTER" | "DROP") => {
            matches!(k.get(1).map(String::as_str), Some("TABLE" | "INDEX" | "UNIQUE" | "VIEW" | "SEQUENCE"))
        }
        _ => false,
    };
    plain && {
        let lower = st.text.to_ascii_lowercase();
        !["set_config", "pg_settings", "search_path"].iter().any(|w| lower.contains(w))
    }
}

/// Where names resolve now, when the statements just run (`ran`) moved them from `home`.
async fn moved_from(s: &mut Session<'_>, home: &Option<String>, ran: &[Statement<'_>]) -> Result<Option<String>> {
    let Some(home) = home else { return Ok(None) };
    if ran.iter().all(leaves_names) {
        return Ok(None);
    }
    Ok(s.home().await?.filter(|now| now != home))
}

/// Takes the connection back to `home` if it is elsewhere (see `Backend::go_home_sql`).
async fn back_home(s: &mut Session<'_>, home: &Option<String>) -> Result<()> {
    let Some(home) = home else { return Ok(()) };
    if s.home().await?.as_deref() == Some(home.as_str()) {
        return Ok(());
    }
    match s.env.backend.go_home_sql(home) {
        Some(sql) => s.execute(&sql, &format!("taking the connection back to {home}")).await.map(|_| ()),
        None => Ok(()),
    }
}

/// The statement of `batch` (the one at `first` in the step, counted from 0) that failed
/// (`k`): its number from 1, line and text, and what the database said, pointing into the file.
fn failed_in_batch(
    env: &Env,
    batch: &[dbguard_lint::split::Statement<'_>],
    first: usize,
    k: usize,
    e: &sqlx::Error,
) -> (Option<(usize, usize, String)>, String) {
    let failed = &batch[k];
    // The server counts its position from the start of the round trip.
    let sent_before = batch[..k].iter().map(|st| st.text.chars().count() + BATCH_SEPARATOR.len()).sum();
    let message = env.statement_error_after(e, (failed.text, failed.line, failed.column), sent_before);
    (Some((first + k + 1, failed.line, failed.text.to_string())), message)
}

/// With the `fault-injection` feature (dbguard's own tests): ends the process, as kill -9
/// would, when `DBGUARD_TEST_CRASH_AT` names this statement (`<version>:<statement from 1>`).
fn crash_point(version: i64, statement: usize) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("DBGUARD_TEST_CRASH_AT").is_ok_and(|v| v == format!("{version}:{statement}")) {
        std::process::abort();
    }
    let _ = (version, statement);
}

/// Whether a statement commits in one transaction with the progress recorded after it.
fn groups_with_progress(env: &Env, m: &Migration, statement: &dbguard_lint::split::Statement<'_>) -> bool {
    let stays = !env.backend.commits_implicitly(statement);
    let writes_rows =
        matches!(statement.first_keyword().as_str(), "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "MERGE" | "WITH");
    stays && (m.is_transactional() || writes_rows)
}

/// Records the progress in the open transaction and commits both.
async fn commit_progress(history: &VersionTable<'_>, s: &mut Session<'_>, version: i64, p: &ResumePoint) -> Result<()> {
    use sqlx::Executor;
    history.set_resume_point(s.env, s.conn, version, Some(p)).await?;
    s.conn.execute(sqlx::raw_sql("COMMIT")).await.map_err(|e| s.env.error("committing the migration", e))?;
    Ok(())
}

/// Rolls back the open transaction, if any, and records the progress as it stood before it.
async fn rollback_to(
    history: &VersionTable<'_>,
    s: &mut Session<'_>,
    version: i64,
    p: &ResumePoint,
    tx_open: bool,
) -> Result<()> {
    use sqlx::Executor;
    if tx_open {
        s.conn
            .execute(sqlx::raw_sql("ROLLBACK"))
            .await
            .map_err(|e| s.env.error("rolling back the failed statement", e))?;
    }
    history.set_resume_point(s.env, s.conn, version, Some(p)).await
}

/// The one-round-trip path of [`run`]: `Ok(None)` when it does not apply (the backend cannot
/// time the step itself, or a value needs bind parameters) or the step failed (rolled back;
/// the caller runs it again statement by statement to report it).
#[allow(clippy::too_many_arguments)]
async fn run_batched(
    history: &VersionTable<'_>,
    conn: &mut AnyConnection,
    env: &Env,
    m: &Migration,
    sql: &str,
    dir: Direction,
    at: &str,
    started: Instant,
) -> Result<Option<Option<AppliedRow>>> {
    // The server times the step itself, so that the version row goes with it.
    let Some(elapsed) = env.backend.elapsed_ms_sql(&format!("'{at}'")) else { return Ok(None) };
    let written = (dir == Direction::Up).then(|| row(m, RowState::Applied, at.to_string(), 0));
    let Some(record) = history.literal_change(env, written.as_ref(), m.version(), &elapsed) else {
        return Ok(None);
    };
    let dialect = env.backend.kind().dialect();
    // Where the database can, the round trip fails if the step moved unqualified names away
    // (dbguard's row would be written elsewhere): rolled back, and run again below, checked.
    let (begin, record) = match env.backend.home_kept_sql() {
        Some((note, check)) => (format!("{};\n{note}", env.backend.begin_statement()), format!("{check};\n{record}")),
        None => (env.backend.begin_statement().to_string(), record),
    };
    let batches = Batches::new(&begin, sql, &record, env.backend.batch_bytes(), dialect);
    // A big step, where the database can, without a round trip per statement; else batch by
    // batch through the driver. Either way a failure leaves nothing (rolled back), and is
    // reported by the statement-by-statement run.
    let script = if batches.len() > 1 { env.backend.run_script(env.raw_url(), &batches, &env.progress) } else { None };
    let ran = match script {
        Some(script) => script.await?.is_none(),
        None => run_batches(conn, env, &batches).await,
    };
    if !ran {
        return Ok(None);
    }
    // The row as the caller reports it, with the duration measured here.
    let ms = started.elapsed().as_millis() as i64;
    Ok(Some(written.map(|_| row(m, RowState::Applied, at.to_string(), ms))))
}

/// Runs `batches` one round trip each, counting the statements done; false (rolled back) if
/// one fails.
async fn run_batches(conn: &mut AnyConnection, env: &Env, batches: &Batches<'_>) -> bool {
    use sqlx::Executor;
    let total = batches.statements();
    // Counted only where the step is split (nothing is guarded here, so no work to clear).
    let count = |done| {
        if total > 0 {
            env.progress.emit(Progress::Statements { done, total });
        }
    };
    let mut done = 0;
    for (batch, n) in batches.iter() {
        count(done);
        if conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(batch.as_ref()))).await.is_err() {
            let _ = conn.execute(sqlx::raw_sql("ROLLBACK")).await;
            return false;
        }
        done += n;
    }
    count(done);
    true
}

/// The tables of the current database whose changes a rollback does not undo (see
/// `Backend::untransactional_tables_sql`) that the step names; with `*` when one is reached
/// only through what the step runs (`reached`: the words of the triggers' and routines' bodies
/// it fires), or when the step is Rust: then any of its statements may write one.
async fn untransactional_named(s: &mut Session<'_>, step: &Step, reached: &[String]) -> Result<Vec<String>> {
    let Some(sql) = s.env.backend.untransactional_tables_sql() else { return Ok(Vec::new()) };
    let tables = s.strings(sql, "listing the tables that cannot roll back").await?;
    if tables.is_empty() {
        return Ok(tables);
    }
    let Step::Sql(text) = step else { return Ok(vec!["*".into()]) };
    let words: std::collections::HashSet<String> = crate::migrate::radius::words(text).into_iter().collect();
    let (mut out, rest): (Vec<String>, Vec<String>) =
        tables.into_iter().partition(|t| words.contains(&t.to_lowercase()));
    if rest.iter().any(|t| reached.iter().any(|w| w.eq_ignore_ascii_case(t))) {
        out.push("*".into());
    }
    Ok(out)
}

/// Whether `text` names one of `tables` (as a word, whatever its case); always with `*`.
fn names_any(text: &str, tables: &[String]) -> bool {
    tables.iter().any(|t| t == "*")
        || (!tables.is_empty()
            && crate::migrate::radius::words(text).iter().any(|w| tables.iter().any(|t| t.eq_ignore_ascii_case(w))))
}

/// Whether a statement may commit part of its work itself before failing: a procedure or a
/// `DO` block (PostgreSQL's may `COMMIT`), SQL run by `EXECUTE`.
fn may_commit_inside(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    matches!(first.as_str(), "CALL" | "DO" | "EXECUTE")
}

/// Why `up` (or `down`) refuses a step before running anything of it: the statement (number
/// from 1, line, its first 200 characters), why, and what to do (empty, or `\n  next: ...`).
pub(crate) struct Refusal {
    pub at: (usize, usize, String),
    pub why: String,
    pub next: String,
}

/// What stops a step before anything of it runs, read in one pass over its text:
/// - a string, quoted name or comment that never ends takes the rest of the file with it (the
///   version row too, when sent in one round trip);
/// - a statement that moves the connection away from the schema (database) where dbguard
///   keeps its tables (`SET search_path`, `USE`): its version row, progress and snapshots go
///   through the same connection. A path whose first existing schema is the home one passes
///   (`SET search_path TO public, app`; `"$user", public` with no schema of the user's own),
///   as does a return to the connection's own path (`DEFAULT`, `RESET`).
pub(crate) async fn refused_before_running(s: &mut Session<'_>, sql: &str) -> Result<Option<Refusal>> {
    use crate::migrate::radius::{Moves, moves};
    use dbguard_lint::split::LostCause;
    let dialect = s.env.backend.kind().dialect();
    let can_move = s.env.backend.home_sql().is_some();
    let (mut lost, mut moving, mut made, mut temporary, mut n) = (None, Vec::new(), Vec::new(), Vec::new(), 0);
    dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
        n += 1;
        let at = || (n, st.line, st.text.chars().take(200).collect::<String>());
        if lost.is_none()
            && let Some(l) = st.lost.filter(|l| l.cause == LostCause::Unterminated)
        {
            lost = Some((at(), l));
        }
        // Only statements that can move the connection are read further: the first keyword
        // is looked at only where the first letter allows it (a seeding file of INSERTs
        // costs nothing here).
        let first_letter = st.text.trim_start().bytes().next().map(|b| b.to_ascii_lowercase());
        if can_move && matches!(first_letter, Some(b'u' | b's' | b'r' | b'd' | b'c' | b'e' | b'p' | b'-' | b'/' | b'#'))
        {
            // Read from its tokens: MySQL runs what is inside `/*!50000 USE x */` too.
            let stmt = dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect);
            let first = stmt.tok(0).to_ascii_uppercase();
            if let Some(to) = moves(&stmt, &first) {
                moving.push((at(), to));
            }
            made.extend(crate::migrate::radius::created_schema(&stmt));
        }
        if first_letter == Some(b'c')
            && let Some(t) =
                crate::migrate::radius::created_temporary(&dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect))
        {
            temporary.push((at(), t));
        }
    });
    if let Some((at, l)) = lost {
        let why = format!(
            "{}: everything after it would be taken for part of this statement, and not run as written",
            l.describe()
        );
        return Ok(Some(Refusal { at, why, next: String::new() }));
    }
    // A temporary table hides the table of its name for the rest of the connection: dbguard
    // would count, copy and record into it.
    if !temporary.is_empty() {
        let tables = s.user_tables().await?;
        if let Some((at, t)) = temporary.into_iter().find(|(_, t)| {
            t.to_ascii_lowercase().starts_with("dbguard_") || tables.iter().any(|x| x.eq_ignore_ascii_case(t))
        }) {
            let why = format!(
                "it creates a temporary table named {t}, which hides the table of that name for the rest of the connection: dbguard's counts, snapshots and records (made through that same connection) would read and write the temporary one"
            );
            let next =
                format!("\n  next: give the temporary table a name of its own (`CREATE TEMPORARY TABLE tmp_{t} ...`)");
            return Ok(Some(Refusal { at, why, next }));
        }
    }
    if s.env.backend.home_sql().is_none() || moving.is_empty() {
        return Ok(None);
    }
    let home = s.home().await?.unwrap_or_default();
    // Where unqualified names are created after each move: dbguard's snapshots and records,
    // made through the same connection, go there too, so it must stay the home schema.
    // `SET search_path TO public, app` keeps it; `app, public` does not.
    let mut away = None;
    for (at, to) in moving {
        let lands = match &to {
            Moves::Back => continue,
            Moves::To(v) if v.is_empty() => None,
            // A schema the step creates counts as one that exists (wherever in the step).
            Moves::To(v) => match s.env.backend.path_schema_sql() {
                Some(sql) => s
                    .texts(
                        sql.to_string(),
                        &format!("{}\n\t\n{}", v.join("\n"), made.join("\n")),
                        "reading where a search path resolves",
                    )
                    .await?
                    .into_iter()
                    .next(),
                None => v.first().cloned(),
            },
            Moves::Unreadable => None,
        };
        if lands.as_deref() != Some(home.as_str()) {
            away = Some((at, to, lands));
            break;
        }
    }
    let Some((at, to, lands)) = away else { return Ok(None) };
    let why = match (&to, &lands) {
        (Moves::To(v), _) if v.is_empty() => format!(
            "it empties the search path (pg_dump writes this line at the top of a dump), so nothing would resolve to {home}, where dbguard keeps its version table and snapshots, and dbguard records the migration through that same connection"
        ),
        (Moves::To(_), Some(there)) => format!(
            "it moves the connection away from {home}, to {there}: unqualified names, dbguard's own snapshots and records among them (made through that same connection), would be created there, apart from its version table"
        ),
        (Moves::To(_), None) => format!(
            "it moves the connection away from {home}, to schemas none of which exist, where dbguard keeps its version table and snapshots, and dbguard records the migration through that same connection"
        ),
        _ => format!(
            "it sets where unqualified names resolve to a value dbguard cannot read before it runs; if that is not {home}, where dbguard keeps its version table and snapshots, they would be made elsewhere through that same connection"
        ),
    };
    let next = match &to {
        Moves::To(v) if v.is_empty() => {
            "\n  next: delete that line; a dump names every table with its schema, and dbguard sets the connection's path itself".to_string()
        }
        _ => {
            let other = match (&lands, &to) {
                (Some(there), _) => there.clone(),
                (None, Moves::To(v)) => v.first().cloned().unwrap_or_else(|| "app".into()),
                _ => "app".into(),
            };
            // Where a path lists schemas (PostgreSQL), it can keep the home one first.
            let keep = if s.env.backend.path_schema_sql().is_some() {
                format!(", or write the path out with {home} first (`SET search_path TO {home}, {other}`)")
            } else {
                String::new()
            };
            format!(
                "\n  next: name the tables with their schema instead (`CREATE TABLE {other}.t ...`){keep}; to migrate another schema or database, point dbguard at it (a fleet target's `schema`, or the URL)"
            )
        }
    };
    Ok(Some(Refusal { at, why, next }))
}

/// Puts back the rows of each table that lost them, from the snapshot taken before the step.
async fn restore_lost(s: &mut Session<'_>, history: &str, losses: &[Loss], snapshots: &[SnapshotInfo]) -> LossOutcome {
    let described = || snapshots.iter().map(|sn| format!("{}: snapshot {}", sn.source_table, sn.id)).collect();
    // A preserved column that is gone cannot take its values back: a restore into the table
    // as it is now would leave them out. Say where they are.
    if let Some(l) = losses.iter().find(|l| l.column_gone) {
        return LossOutcome::RestoreFailed {
            snapshots: described(),
            message: format!(
                "{} no longer has the column(s) {}; add them back (by hand, as they were), then `cargo dbguard restore <ID>` puts the values back",
                l.table,
                l.columns.as_deref().unwrap_or_default().join(", ")
            ),
        };
    }
    let mut restored = Vec::new();
    for loss in losses {
        // The whole table's snapshot (a preserved table is always kept whole).
        let whole = |sn: &&SnapshotInfo| !crate::backup::snapshot::reason::is_rows(&sn.reason);
        let Some(snap) = snapshots.iter().filter(whole).find(|sn| sn.source_table == loss.table) else {
            continue;
        };
        let opts = crate::backup::snapshot::RestoreOptions { drop_unmapped_columns: true, ..Default::default() };
        match crate::backup::snapshot::restore(s, history, snap, &opts).await {
            Ok(r) => restored.push(format!("{} <- snapshot {} ({}, {} rows)", r.table, snap.id, snap.location, r.rows)),
            Err(e) => {
                return LossOutcome::RestoreFailed {
                    snapshots: snapshots.iter().map(|sn| format!("{}: snapshot {}", sn.source_table, sn.id)).collect(),
                    message: e.to_string(),
                };
            }
        }
    }
    LossOutcome::Restored { restored }
}

/// Whether a failure of `step` inside a transaction leaves no trace on this database.
fn rolls_back_completely(env: &Env, step: &Step) -> bool {
    if env.backend.transactional_ddl() {
        return true;
    }
    match step {
        Step::Sql(sql) => {
            let mut commits = false;
            dbguard_lint::split::for_each(sql, env.backend.kind().dialect(), &mut |st, _| {
                commits = commits || env.backend.commits_implicitly(&st)
            });
            !commits
        }
        // A Rust step may do anything; assume the worst.
        Step::Rust { .. } | Step::Irreversible { .. } => false,
    }
}

/// A failed step, before we know what its failure left behind.
struct StepFailure {
    failure: MigrationFailure,
}

impl StepFailure {
    /// The failure was the machine's (a full disk, a lost connection), not the SQL's.
    fn with_fault(mut self, fault: Option<crate::model::fault::Fault>) -> Self {
        self.failure.fault = fault;
        self
    }

    fn into_error(mut self, outcome: FailureOutcome) -> Error {
        self.failure.outcome = outcome;
        Error::MigrationFailed(Box::new(self.failure))
    }
}

/// A failure of `m` at `statement` (its number from 1, line and text), if known.
fn failure(
    m: &Migration,
    dir: Direction,
    statement: Option<(usize, usize, String)>,
    message: String,
    by_guard: bool,
) -> StepFailure {
    StepFailure {
        failure: MigrationFailure {
            version: m.version(),
            name: m.name().to_string(),
            direction: dir,
            location: m.origin().describe(dir == Direction::Down),
            statement,
            message,
            by_guard,
            fault: None,
            outcome: FailureOutcome::RolledBack,
            done: Default::default(),
        },
    }
}

async fn run_step(
    conn: &mut AnyConnection,
    env: &Env,
    m: &Migration,
    step: &Step,
    dir: Direction,
    taken: &mut guard::Taken,
) -> Result<(), StepFailure> {
    let failed = |statement, message: String, by_guard: bool| failure(m, dir, statement, message, by_guard);
    let fail = |statement, message: String| failed(statement, message, false);
    match step {
        Step::Sql(sql) => {
            let mut statements = Statements::new(sql, env.backend.kind().dialect());
            let total = statements.len();
            let mut i = 0;
            while i < total {
                env.progress.emit(Progress::Statements { done: i, total });
                let s = statements.get(i);
                // The rows it is about to delete or overwrite, copied first: never run it unkept.
                if let Err(e) = guard::before_statement(&mut Session { env, conn: &mut *conn }, taken, i).await {
                    let by_guard = matches!(e, crate::error::Error::EveryRow { .. });
                    return Err(failed(Some((i + 1, s.line, s.text.to_string())), e.to_string(), by_guard));
                }
                // The statements after it that the guard has nothing to do for go in the same
                // round trip (a seed with one UPDATE in it is not a round trip per INSERT).
                let run = statements.from(i);
                let batch = run[..=batch_end(run, batch_bounds(env), |k| !guard::acts_before(taken, i + k))].to_vec();
                if let Err((k, e)) = run_batch(conn, &batch).await {
                    let (at, message) = failed_in_batch(env, &batch, i, k, &e);
                    return Err(fail(at, message).with_fault(env.fault(&e)));
                }
                i += batch.len();
            }
            env.progress.emit(Progress::Statements { done: total, total });
            Ok(())
        }
        Step::Rust { run, .. } => {
            let mut tx = Tx::new(conn, env.backend.kind(), m.is_transactional());
            run(&mut tx).await.map_err(|e| fail(None, env.scrub(&e.to_string())))
        }
        Step::Irreversible { reason, .. } => Err(fail(None, format!("the step is irreversible: {reason}"))),
    }
}
