//! A separate migrator process for the concurrency tests: `dbguard-runner <url> <dir>
//! [--sleepy VERSION | --down TARGET]`. With `--sleepy`, a Rust migration VERSION is added that prints
//! `holding` and sleeps for DBGUARD_TEST_SLEEP_SECS (default 60) inside its migration, so a
//! test can kill the process while it holds the lock. With `--down`, it reverts to TARGET
//! instead of applying.

use std::io::Write;
use std::process::ExitCode;

use dbguard::{Database, Loader, Migration, Migrator, Step, StepFuture, Tx};

fn sleepy<'a>(_tx: &'a mut Tx<'_>) -> StepFuture<'a> {
    Box::pin(async {
        let secs = std::env::var("DBGUARD_TEST_SLEEP_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
        println!("holding");
        std::io::stdout().flush().ok();
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        Ok(())
    })
}

/// Races are only races if the runners start together: wait for DBGUARD_TEST_START_AT (Unix
/// time in milliseconds), after connecting.
async fn wait_for_start() {
    let Some(at) = std::env::var("DBGUARD_TEST_START_AT").ok().and_then(|s| s.parse::<u128>().ok()) else {
        return;
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    if at > now {
        tokio::time::sleep(std::time::Duration::from_millis((at - now) as u64)).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: dbguard-runner <url> <dir> [--sleepy VERSION | --down TARGET]");
        return ExitCode::from(2);
    };
    let mut migrations = match Loader::new().load(dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let (Some("--sleepy"), Some(v)) = (args.get(3).map(String::as_str), args.get(4)) {
        let Ok(version) = v.parse() else {
            eprintln!("--sleepy needs a version number");
            return ExitCode::from(2);
        };
        let step = Step::Rust { run: sleepy, source: "sleepy".into() };
        migrations.push(Migration::new(version, "sleepy", step, Step::Sql("SELECT 1 AS reverted".into())));
    }
    let down = match (args.get(3).map(String::as_str), args.get(4)) {
        (Some("--down"), Some(v)) => match v.parse::<i64>() {
            Ok(target) => Some(target),
            Err(_) => {
                eprintln!("--down needs a version number");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let result = async {
        let migrator = Migrator::new(migrations)?.lock_timeout(std::time::Duration::from_secs(60));
        let mut db = Database::create_if_missing(url).await?;
        wait_for_start().await;
        let report = match down {
            Some(target) => migrator.down(&mut db, target).await?,
            None => migrator.up(&mut db, None).await?,
        };
        db.close().await?;
        Ok::<_, dbguard::Error>(report)
    }
    .await;
    match result {
        Ok(report) => {
            println!("applied {}", report.applied.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
