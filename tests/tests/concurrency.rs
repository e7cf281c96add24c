//! Runners racing on one database: each migration applied exactly once, every runner succeeds,
//! and a crashed runner's lock does not wedge the next one.

use std::process::Stdio;
use std::time::Duration;

use dbguard::{BackendKind, EntryState, Error, Migrator};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const RUNNER: &str = env!("CARGO_BIN_EXE_dbguard-runner");
const MIGRATIONS: i64 = 6;

fn logging_migrations() -> MigrationDir {
    MigrationDir::logging(MIGRATIONS)
}

/// Polls `sql` (a count) on `db` until it is above 0, for 30 s at most; whether it was.
async fn seen(db: &mut dbguard::Database, sql: &str) -> bool {
    for _ in 0..600 {
        if db.query_i64(sql).await.unwrap() > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn assert_applied_exactly_once(t: &TestDb, dir: &MigrationDir) {
    let mut db = t.connect().await;
    let plan = Migrator::from_dir(dir.path()).unwrap().plan(&mut db).await.unwrap();
    assert!(plan.is_up_to_date(), "{plan:?}");
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM runs").await.unwrap(), MIGRATIONS, "one run logged per migration");
    assert_eq!(db.query_i64("SELECT COUNT(DISTINCT migration) FROM runs").await.unwrap(), MIGRATIONS);
}

async fn eight_connections_race(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else {
        return;
    };
    let dir = logging_migrations();
    let mut tasks = Vec::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    for _ in 0..8 {
        let (url, path, start) = (t.url.clone(), dir.path().to_path_buf(), start.clone());
        tasks.push(tokio::spawn(async move {
            let mut db = dbguard::Database::create_if_missing(&url).await?;
            start.wait().await; // all connected: go
            let report = Migrator::from_dir(&path)?.up(&mut db, None).await?;
            db.close().await?;
            Ok::<_, Error>(report.applied.len() as i64)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap().unwrap_or_else(|e| panic!("a runner failed: {e}"));
    }
    assert_eq!(total, MIGRATIONS, "the runners applied each migration once between them");
    assert_applied_exactly_once(&t, &dir).await;
}
on_each_engine!(eight_connections_race);

#[tokio::test]
async fn eight_processes_race_on_one_sqlite_file() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let dir = logging_migrations();
    let start_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 1500;
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(RUNNER)
                .arg(&t.url)
                .arg(dir.path())
                .env("DBGUARD_TEST_START_AT", start_at.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "a runner failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        applied += stdout.trim().strip_prefix("applied ").unwrap().parse::<i64>().unwrap();
    }
    assert_eq!(applied, MIGRATIONS);
    assert_applied_exactly_once(&t, &dir).await;
}

/// Starts a runner process that applies the directory plus a Rust migration 2 that sleeps,
/// and returns once that runner holds the lock (inside migration 2).
async fn runner_holding_the_lock(t: &TestDb, dir: &MigrationDir) -> tokio::process::Child {
    let mut child = Command::new(RUNNER)
        .args([t.url.as_str(), dir.path().to_str().unwrap(), "--sleepy", "2"])
        .env("DBGUARD_TEST_SLEEP_SECS", "120")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.unwrap().unwrap();
    assert_eq!(line.as_deref(), Some("holding"));
    child
}

/// A runner killed while it holds the lock (inside migration 2) must not block the next run.
async fn killed_runner_does_not_wedge_the_lock(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else {
        return;
    };
    let dir = MigrationDir::new();
    dir.add("1", "first", "CREATE TABLE first (id BIGINT);", "DROP TABLE first;");
    dir.add("3", "third", "CREATE TABLE third (id BIGINT);", "DROP TABLE third;");
    let mut child = runner_holding_the_lock(&t, &dir).await;
    child.kill().await.unwrap(); // SIGKILL: no cleanup of any kind runs

    let mut db = t.connect().await;
    let m = Migrator::from_dir(dir.path()).unwrap().lock_timeout(Duration::from_secs(30));
    let result = m.up(&mut db, None).await;
    if kind == BackendKind::Mysql {
        // A Rust step cannot be rolled back on MySQL: the crash is visible as a dirty migration
        // (the lock itself was released, or this would be a LockTimeout).
        assert!(matches!(result, Err(Error::Dirty { version: 2, .. })), "{result:?}");
    } else {
        let report = result.unwrap();
        assert_eq!(report.applied.iter().map(|s| s.version).collect::<Vec<_>>(), [3]);
        let plan = m.plan(&mut db).await.unwrap();
        assert!(plan.entries.iter().all(|e| e.state == EntryState::Applied), "{plan:?}");
    }
}
on_each_engine!(killed_runner_does_not_wedge_the_lock);

/// A runner that gives up waiting says so, and, where the database can tell, who holds the
/// lock: the process, its host, what it runs and since when.
async fn a_held_lock_times_out_with_a_clear_error(kind: BackendKind) {
    let Some(t) = TestDb::new(kind).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "first", "CREATE TABLE first (id BIGINT);", "DROP TABLE first;");
    let mut child = runner_holding_the_lock(&t, &dir).await;
    let mut db = t.connect().await;
    let m = Migrator::from_dir(dir.path()).unwrap().lock_timeout(Duration::from_millis(300));
    let err = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    let holder = match kind {
        BackendKind::Postgres => Some("held by: pid "),
        BackendKind::Mysql => Some("held by: connection "),
        _ => None, // a file lock: the operating system does not say who
    };
    if let Some(h) = holder {
        assert!(err.to_string().contains(h), "{err}");
    }
    // The holder is alive (sleeping between statements): never called gone.
    assert!(matches!(err, Error::LockTimeout { runner_gone: false, .. }), "{err:?}");
    assert!(!err.to_string().contains("--kill-stale-runner"), "{err}");
    child.kill().await.unwrap();
}
on_each_engine!(a_held_lock_times_out_with_a_clear_error);

/// Killing a runner stops its statement on the server (PostgreSQL 14+ checks that the client
/// is still there): the next runner does not wait for a dead one's minute-long statement.
#[tokio::test]
async fn postgres_a_dead_runners_statement_stops_with_it() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let dir = MigrationDir::new();
    dir.add("1", "slow", "SELECT pg_sleep(120);", "SELECT 1 AS reverted;");
    let mut child =
        Command::new(RUNNER).args([t.url.as_str(), dir.path().to_str().unwrap()]).kill_on_drop(true).spawn().unwrap();
    let mut db = t.connect().await;
    let sleeping = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()";
    assert!(seen(&mut db, sleeping).await, "the runner's statement never started");
    child.kill().await.unwrap();
    // Without the check, the statement (and the lock) would last its 120 s: a quick
    // migration 1 (the slow one never committed) must get the lock well before that.
    let quick = MigrationDir::new();
    quick.add("1", "slow", "SELECT 1;", "SELECT 1 AS reverted;");
    let m = Migrator::from_dir(quick.path()).unwrap().lock_timeout(Duration::from_secs(20));
    let report = m.up(&mut db, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 1);
    assert_eq!(db.query_i64(sleeping).await.unwrap(), 0, "its statement was cancelled");
}

/// MySQL/MariaDB finish a dead runner's statement before they notice it is gone, holding the
/// lock: a later runner names the holder as gone, and with `kill_stale_runner` ends its
/// statement and continues the migration it belonged to.
#[tokio::test]
async fn mysql_a_dead_runners_statement_is_ended_by_kill_stale_runner() {
    let Some(t) = TestDb::new(BackendKind::Mysql).await else { return };
    // A CPU-bound statement (the server checks no client while it runs): minutes long when it
    // starts while this test holds the user lock `dbguard-test-slow`, instant otherwise.
    let mut blocker = t.connect().await;
    assert_eq!(blocker.query_i64("SELECT GET_LOCK('dbguard-test-slow', 0)").await.unwrap(), 1);
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "slow",
        "CREATE TABLE slow (b BIGINT);\n\
         INSERT INTO slow (b) SELECT BENCHMARK(IF(IS_USED_LOCK('dbguard-test-slow') IS NULL, 1, 1000000000), MD5('x'));",
        "DROP TABLE slow;",
    );
    let mut child =
        Command::new(RUNNER).args([t.url.as_str(), dir.path().to_str().unwrap()]).kill_on_drop(true).spawn().unwrap();
    let mut db = t.connect().await;
    let running = "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'INSERT INTO slow%' AND id <> CONNECTION_ID()";
    assert!(seen(&mut db, running).await, "the runner's statement never started");
    child.kill().await.unwrap(); // SIGKILL: its statement goes on in the server
    child.wait().await.unwrap();

    let m = Migrator::from_dir(dir.path()).unwrap().lock_timeout(Duration::from_secs(2));
    let err = m.up(&mut db, None).await.unwrap_err();
    assert!(matches!(err, Error::LockTimeout { runner_gone: true, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("its runner is gone") && text.contains("--kill-stale-runner"), "{text}");
    assert!(text.contains("INSERT INTO slow"), "the holder's statement is named: {text}");

    // The dead runner's statement read the lock when it started: it goes on for minutes
    // after this, while the statement that continues the migration takes no time.
    assert_eq!(blocker.query_i64("SELECT RELEASE_LOCK('dbguard-test-slow')").await.unwrap(), 1);
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_by_hook = told.clone();
    let m = Migrator::from_dir(dir.path())
        .unwrap()
        .lock_timeout(Duration::from_secs(60))
        .kill_stale_runner(true)
        .on_progress(move |p| {
            if let dbguard::Progress::EndedStaleRunner { holder } = p {
                seen_by_hook.lock().unwrap().push(holder.clone());
            }
        });
    let report = m.up(&mut db, None).await.unwrap_or_else(|e| panic!("{e}"));
    let told = told.lock().unwrap().clone();
    assert!(told.len() == 1 && told[0].contains("INSERT INTO slow"), "{told:?}");
    assert_eq!(db.query_i64(running).await.unwrap(), 0, "the dead runner's statement was ended");
    assert_eq!(report.applied.iter().map(|s| s.version).collect::<Vec<_>>(), [1]);
    let r = &report.resumed[0];
    assert_eq!((r.from, r.in_flight_ran), (2, None), "the ended statement ran again: {r:?}");
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM slow").await.unwrap(), 1, "the ended INSERT was rolled back");
}
