//! Benchmark (not a test) for the data guards on one large table:
//!
//! 1. snapshot: `Backups::snapshot` of a table vs the database's own
//!    `CREATE TABLE ... AS SELECT * FROM` on the same table;
//! 2. guarded migration: `Migrator::up` of a migration that preserves the table and runs a
//!    trivial `ALTER TABLE ... ADD COLUMN` (lock, history, count, snapshot, count again) vs the
//!    raw ALTER plus the database's own copy.
//!
//! Runs alternate between the two sides; medians are printed.
//!
//!   cargo run --release -p dbguard-tests --bin dbguard-bench-guard -- <URL> [ROWS] [RUNS]

use std::time::{Duration, Instant};

use dbguard::{BackendKind, Backups, Database, FileBackupPolicy, Migration, Migrator};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fill_sql(kind: BackendKind, rows: u64) -> String {
    let cols = "id, email, name, balance, created_at";
    match kind {
        BackendKind::Postgres => format!(
            "INSERT INTO big ({cols}) SELECT g, 'user' || g || '@example.com', 'User ' || g, (g % 5000) / 7.0, \
             '2026-01-01T00:00:00Z' FROM generate_series(1, {rows}) g"
        ),
        _ => format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
             INSERT INTO big ({cols}) SELECT g, 'user' || g || '@example.com', 'User ' || g, (g % 5000) / 7.0, \
             '2026-01-01T00:00:00Z' FROM s"
        ),
    }
}

/// Drops every snapshot between runs, so each run copies into an empty catalog (`prune`
/// would keep the newest).
async fn clear_snapshots(db: &mut Database) -> dbguard::Result<()> {
    for s in Backups::new().list(db).await? {
        db.execute(&format!("DROP TABLE {}", db.quote(&s.location))).await?;
    }
    db.execute("DELETE FROM dbguard_backups").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> dbguard::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: dbguard-bench-guard <URL> [ROWS] [RUNS]");
    let rows: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let runs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let mut db = Database::connect(url).await?;
    let kind = db.kind();
    db.execute("DROP TABLE IF EXISTS big").await?;
    db.execute(
        "CREATE TABLE big (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80), \
         balance DECIMAL(12, 2) NOT NULL, created_at VARCHAR(32) NOT NULL)",
    )
    .await?;
    db.execute(&fill_sql(kind, rows)).await?;
    println!("{kind}: table `big` with {} rows, {runs} runs each", db.count_rows("big").await?);

    let backups = Backups::new();
    let (mut own, mut ours) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let t = Instant::now();
        db.execute(&format!("CREATE TABLE own_copy_{i} AS SELECT * FROM big")).await?;
        own.push(t.elapsed());
        db.execute(&format!("DROP TABLE own_copy_{i}")).await?;
        let t = Instant::now();
        backups.snapshot(&mut db, "big").await?;
        ours.push(t.elapsed());
        clear_snapshots(&mut db).await?;
    }
    let (a, b) = (median(own), median(ours));
    println!(
        "snapshot      own CREATE TABLE AS: {a:>10.3?}   dbguard snapshot: {b:>10.3?}   ratio {:.2}",
        b.as_secs_f64() / a.as_secs_f64()
    );

    let (mut raw, mut guarded) = (Vec::new(), Vec::new());
    let mut migrations = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        db.execute(&format!("ALTER TABLE big ADD COLUMN raw_{i} VARCHAR(10)")).await?;
        db.execute(&format!("CREATE TABLE raw_copy_{i} AS SELECT * FROM big")).await?;
        raw.push(t.elapsed());
        db.execute(&format!("DROP TABLE raw_copy_{i}")).await?;

        let v = i as i64 + 1;
        migrations.push(
            Migration::sql(
                v,
                format!("note_{v}"),
                format!("ALTER TABLE big ADD COLUMN note_{v} VARCHAR(10)"),
                format!("ALTER TABLE big DROP COLUMN note_{v}"),
            )
            .preserving(["big"]),
        );
        let m = Migrator::new(migrations.clone())?.file_backups(FileBackupPolicy { enabled: false, keep: 10 });
        let t = Instant::now();
        let report = m.up(&mut db, None).await?;
        guarded.push(t.elapsed());
        assert_eq!(report.applied.len(), 1);
        clear_snapshots(&mut db).await?;
    }
    let (a, b) = (median(raw), median(guarded));
    println!(
        "migration     raw ALTER + own copy: {a:>10.3?}   dbguard guarded up: {b:>10.3?}   ratio {:.2}",
        b.as_secs_f64() / a.as_secs_f64()
    );
    db.execute("DROP TABLE big").await?;
    Ok(())
}
