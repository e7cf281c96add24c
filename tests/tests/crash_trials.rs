//! Crash trials: `up` killed with SIGKILL at random moments, on each database, then a plain
//! `up` (no `repair`, no hand-written SQL) must finish the run with no row lost and a
//! consistent version table.
//!
//! The workload is the one a real schema change has: a big `users` table, a backfill, a
//! `preserves = users` table rebuild (copy, drop, rename), a dropped column, and a
//! no-transaction migration (statement by statement on every database). Each trial starts
//! from a fresh database.
//!
//! CI runs `DBGUARD_CRASH_TRIALS` trials per database (default 30) on `DBGUARD_CRASH_ROWS` rows
//! (default 20,000). The long form (docs/reliability.md):
//!
//!   DBGUARD_CRASH_TRIALS=200 DBGUARD_CRASH_ROWS=200000 cargo test --release -p dbguard-tests \
//!     --test crash_trials -- --nocapture
//!
//! `DBGUARD_CRASH_SEED` replays a run (each trial prints the seed it used).

use std::process::Stdio;
use std::time::{Duration, Instant};

use dbguard::{BackendKind, Backups, Database, Migrator, PrunePolicy};
use dbguard_tests::{MigrationDir, TestDb, on_each_engine};
use tokio::process::Command;

const RUNNER: &str = env!("CARGO_BIN_EXE_dbguard-runner");

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (xorshift64*): the delays of a run replay from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn workload(dir: &MigrationDir) {
    dir.add(
        "1",
        "users",
        "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100));",
        "DROP TABLE users;",
    );
    dir.add(
        "2",
        "backfill",
        "ALTER TABLE users ADD COLUMN score BIGINT;\nUPDATE users SET score = id % 7 WHERE score IS NULL;",
        "ALTER TABLE users DROP COLUMN score;",
    );
    dir.add(
        "3",
        "rebuild",
        "-- dbguard: preserves = users\n\
         CREATE TABLE users_new (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(200) NOT NULL, name VARCHAR(100), score BIGINT);\n\
         INSERT INTO users_new (id, email, name, score) SELECT id, email, name, score FROM users;\n\
         DROP TABLE users;\n\
         ALTER TABLE users_new RENAME TO users;\n",
        "-- dbguard: irreversible = \"a rebuild in a test\"\n",
    );
    dir.add(
        "4",
        "drop_name",
        "-- dbguard:allow drop-column reason=\"names are no longer kept\"\nALTER TABLE users DROP COLUMN name;",
        "ALTER TABLE users ADD COLUMN name VARCHAR(100);",
    );
    // Statement by statement on every database: a table without a key, where an INSERT run
    // twice would show.
    dir.add(
        "5",
        "tally",
        "-- dbguard: no-transaction
\
         CREATE TABLE tally (n BIGINT NOT NULL);
\
         INSERT INTO tally (n) SELECT COUNT(*) FROM users;
\
         CREATE INDEX users_score_idx ON users (score);
",
        "DROP TABLE tally;",
    );
}

fn seed_sql(kind: BackendKind, rows: u64) -> String {
    let values = "g, 'user' || g || '@example.com', 'User ' || g";
    match kind {
        BackendKind::Postgres => {
            format!("INSERT INTO users (id, email, name) SELECT {values} FROM generate_series(1, {rows}) g")
        }
        BackendKind::Mysql => format!(
            "INSERT INTO users (id, email, name) WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
             SELECT g, CONCAT('user', g, '@example.com'), CONCAT('User ', g) FROM s"
        ),
        BackendKind::Sqlite => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
             INSERT INTO users (id, email, name) SELECT {values} FROM s"
        ),
    }
}

/// What must hold after any trial: every row, with its email, and the whole schema change.
async fn consistent(db: &mut Database, m: &Migrator, rows: u64) -> Result<(), String> {
    let plan = m.plan(db).await.map_err(|e| e.to_string())?;
    if !plan.is_up_to_date() {
        return Err(format!(
            "not up to date: {:?}",
            plan.entries.iter().map(|e| (e.version, e.state)).collect::<Vec<_>>()
        ));
    }
    let (email, int) = match db.kind() {
        BackendKind::Mysql => ("CONCAT('user', id, '@example.com')", "SIGNED"),
        _ => ("'user' || id || '@example.com'", "BIGINT"),
    };
    let mut q = async |sql: String| db.query_i64(&sql).await.map_err(|e| e.to_string());
    let count = q("SELECT COUNT(*) FROM users".into()).await?;
    let ids = q(format!("SELECT CAST(COALESCE(SUM(id), 0) AS {int}) FROM users")).await?;
    let emails = q(format!("SELECT COUNT(*) FROM users WHERE email = {email}")).await?;
    let scores = q("SELECT COUNT(*) FROM users WHERE score = id % 7".into()).await?;
    let n = rows as i64;
    if (count, ids, emails, scores) != (n, n * (n + 1) / 2, n, n) {
        return Err(format!(
            "rows differ: count {count}, sum of ids {ids}, emails right {emails}, scores right {scores}"
        ));
    }
    let tally = db.query_i64("SELECT COUNT(*) FROM tally").await.map_err(|e| e.to_string())?;
    let counted = db.query_i64("SELECT COALESCE(MAX(n), 0) FROM tally").await.map_err(|e| e.to_string())?;
    if (tally, counted) != (1, n) {
        return Err(format!("tally has {tally} row(s), counting {counted}: its INSERT ran {tally} times"));
    }
    let columns = db.columns("users").await.map_err(|e| e.to_string())?;
    if columns.iter().any(|c| c == "name") || db.table_exists("users_new").await.map_err(|e| e.to_string())? {
        return Err(format!("the schema change is not complete: users has {columns:?}"));
    }
    Ok(())
}

/// Every backup left is either whole and verified, or named as incomplete and removed by
/// `prune`; nothing half-made passes for a backup.
async fn backups_sound(db: &mut Database, leftovers: &mut usize) -> Result<(), String> {
    let backups = Backups::new();
    let all = backups.list_all(db).await.map_err(|e| e.to_string())?;
    let incomplete = all.leftovers.len() + all.files.iter().filter(|f| f.incomplete).count();
    *leftovers += incomplete;
    for v in backups.verify_all(db).await.map_err(|e| e.to_string())? {
        if let Some(p) = v.problem {
            return Err(format!("snapshot {} does not verify: {p}", v.snapshot.id));
        }
    }
    for f in backups.verify_files(db).await.map_err(|e| e.to_string())? {
        if let Some(p) = f.problem.filter(|_| !f.backup.incomplete) {
            return Err(format!("file backup {} does not verify: {p}", f.backup.path.display()));
        }
    }
    let pruned = backups.prune_all(db, &PrunePolicy { keep: Some(1000), ..Default::default() }).await;
    let pruned = pruned.map_err(|e| e.to_string())?;
    let after = backups.list_all(db).await.map_err(|e| e.to_string())?;
    if !after.leftovers.is_empty() || after.files.iter().any(|f| f.incomplete) {
        return Err(format!("prune ({pruned:?}) left incomplete backups: {after:?}"));
    }
    Ok(())
}

async fn crash_trials(kind: BackendKind) {
    let trials = env_number("DBGUARD_CRASH_TRIALS", 30);
    let rows = env_number("DBGUARD_CRASH_ROWS", 20_000);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seed = env_number("DBGUARD_CRASH_SEED", now.as_nanos() as u64 ^ u64::from(std::process::id())) | 1;
    let mut rng = Rng(seed);
    let dir = MigrationDir::new();
    workload(&dir);
    let m = Migrator::from_dir(dir.path()).unwrap().lock_timeout(Duration::from_secs(120));
    let (mut full, mut dirty, mut resumed, mut kills, mut leftovers) = (Duration::ZERO, 0, 0, 0, 0);
    for trial in 0..=trials {
        let Some(t) = TestDb::new(kind).await else { return };
        let mut db = t.connect().await;
        m.up(&mut db, Some(1)).await.unwrap();
        if kind == BackendKind::Mysql {
            // MariaDB's name for the recursion limit, then MySQL's.
            let _ = db.execute("SET SESSION max_recursive_iterations = 100000000").await;
            let _ = db.execute("SET SESSION cte_max_recursion_depth = 100000000").await;
        }
        db.execute(&seed_sql(kind, rows)).await.unwrap();
        // Trial 0 runs to the end: how long a whole run takes, the range the kills fall in.
        let delay = if trial == 0 { None } else { Some(Duration::from_millis(rng.below(full.as_millis() as u64 + 1))) };
        let started = Instant::now();
        let mut child = Command::new(RUNNER)
            .args([t.url.as_str(), dir.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        match delay {
            None => {
                assert!(child.wait().await.unwrap().success(), "the run without a kill succeeds");
                full = started.elapsed();
            }
            Some(d) => {
                tokio::time::sleep(d).await;
                child.kill().await.unwrap(); // SIGKILL
                kills += 1;
            }
        }
        let after_kill = m.status(&mut db).await.unwrap();
        if after_kill.entries.iter().any(|e| e.state == dbguard::EntryState::Dirty) {
            dirty += 1;
        }
        // Recovery is a plain `up`, nothing else.
        let report = m.up(&mut db, None).await.unwrap_or_else(|e| {
            panic!(
                "{kind} trial {trial} (seed {seed}, kill after {delay:?}): the plain `up` after the kill failed: {e}"
            )
        });
        resumed += report.resumed.len();
        if let Err(problem) = consistent(&mut db, &m, rows).await {
            panic!("{kind} trial {trial} (seed {seed}, kill after {delay:?}): {problem}");
        }
        if let Err(problem) = backups_sound(&mut db, &mut leftovers).await {
            panic!("{kind} trial {trial} (seed {seed}, kill after {delay:?}): {problem}");
        }
        db.close().await.ok();
    }
    println!(
        "{kind}: {kills} kills in a {} ms run of {rows} rows (seed {seed}): 0 rows lost, every trial recovered by a plain `up`; {dirty} left a migration partway, {resumed} continued from where they stopped; {leftovers} half-made backups named as such and pruned",
        full.as_millis()
    );
    assert!(kills >= trials, "every trial killed a runner");
}
on_each_engine!(crash_trials);
