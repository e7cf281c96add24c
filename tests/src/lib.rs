//! Helpers for dbguard's cross-crate tests: throwaway databases on SQLite, PostgreSQL and MySQL,
//! and migration directories written on the fly.
//!
//! Server URLs come from `DBGUARD_TEST_POSTGRES_URL` and `DBGUARD_TEST_MYSQL_URL` (`.ci/run`
//! exports them). Each test gets a database of its own, dropped afterwards. Without a URL, a
//! server test is skipped with a notice on a developer's machine and fails in CI (`CI=true`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use dbguard::{BackendKind, Database};

/// The engines every runtime test runs against.
pub const ENGINES: [BackendKind; 3] = [BackendKind::Sqlite, BackendKind::Postgres, BackendKind::Mysql];

/// A database that exists for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// Its engine.
    pub kind: BackendKind,
    /// The SQLite file's directory.
    pub dir: Option<tempfile::TempDir>,
    admin: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn env_var(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Postgres => "DBGUARD_TEST_POSTGRES_URL",
        BackendKind::Mysql => "DBGUARD_TEST_MYSQL_URL",
        BackendKind::Sqlite => "",
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub use dbguard::url_with_database as with_database;

/// Appends a finished command's output to the file named by `DBGUARD_TEST_OUTPUT_LOG` (when
/// set), and returns it: `.ci/run` searches that file for the test password, which must
/// never appear in anything dbguard prints.
pub fn recorded(o: std::process::Output) -> std::process::Output {
    use std::io::Write;
    if let Some(path) = std::env::var_os("DBGUARD_TEST_OUTPUT_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        // One write per command, so parallel tests do not interleave inside an output.
        let mut all = o.stdout.clone();
        all.extend_from_slice(&o.stderr);
        let _ = f.write_all(&all);
    }
    o
}

impl TestDb {
    /// A fresh, empty database, or `None` (with a notice) when the server is not configured
    /// and this is not CI.
    pub async fn new(kind: BackendKind) -> Option<TestDb> {
        if kind == BackendKind::Sqlite {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            return Some(TestDb { url, kind, dir: Some(dir), admin: None });
        }
        let var = env_var(kind);
        let Ok(base) = std::env::var(var) else {
            if in_ci() {
                panic!("{var} is not set, and CI=true: server tests must run in CI (.ci/run exports it)");
            }
            eprintln!("notice: skipping a {kind} test: {var} is not set");
            return None;
        };
        // Whatever the environment says, tests never touch a database on another machine.
        dbguard::assert_local_for_tests(&base);
        let name = format!(
            "dbguard_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            chrono_free_nonce()
        );
        let mut admin = match Database::connect(&base).await {
            Ok(db) => db,
            Err(e) if !in_ci() => {
                eprintln!("notice: skipping a {kind} test: cannot connect to {var}: {e}");
                return None;
            }
            Err(e) => panic!("cannot connect to {var} in CI: {e}"),
        };
        let q = admin.quote(&name);
        admin.execute(&format!("CREATE DATABASE {q}")).await.expect("create the test database");
        admin.close().await.expect("close");
        Some(TestDb { url: with_database(&base, &name), kind, dir: None, admin: Some((base, name)) })
    }

    /// Connects to it.
    pub async fn connect(&self) -> Database {
        Database::create_if_missing(&self.url).await.expect("connect to the test database")
    }
}

fn chrono_free_nonce() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.admin.take() else {
            return;
        };
        let kind = self.kind;
        // Drop is not async: drop the database from a helper thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut admin = Database::connect(&base).await.ok()?;
                let q = admin.quote(&name);
                let force = if kind == BackendKind::Postgres { " WITH (FORCE)" } else { "" };
                admin.execute(&format!("DROP DATABASE IF EXISTS {q}{force}")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

/// A migrations directory written by a test.
pub struct MigrationDir {
    dir: tempfile::TempDir,
}

impl Default for MigrationDir {
    fn default() -> Self {
        Self::new()
    }
}

impl MigrationDir {
    /// An empty directory.
    pub fn new() -> Self {
        MigrationDir { dir: tempfile::tempdir().expect("temporary directory") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a diesel-layout migration `<version>_<name>/up.sql + down.sql`.
    pub fn add(&self, version: &str, name: &str, up: &str, down: &str) -> PathBuf {
        let d = self.dir.path().join(format!("{version}_{name}"));
        std::fs::create_dir_all(&d).expect("create migration dir");
        std::fs::write(d.join("up.sql"), up).expect("write up.sql");
        std::fs::write(d.join("down.sql"), down).expect("write down.sql");
        d
    }

    /// `n` migrations that each log their run into the table `runs` (made by migration 1;
    /// `t2`..`tn` each make a table), so that a migration applied twice shows as a second row.
    pub fn logging(n: i64) -> Self {
        let dir = MigrationDir::new();
        dir.add(
            "1",
            "runs",
            "CREATE TABLE runs (migration BIGINT NOT NULL);\nINSERT INTO runs (migration) VALUES (1);",
            "DROP TABLE runs;",
        );
        for v in 2..=n {
            dir.add(
                &v.to_string(),
                &format!("t{v}"),
                &format!(
                    "CREATE TABLE t{v} (id BIGINT NOT NULL PRIMARY KEY);\nINSERT INTO runs (migration) VALUES ({v});"
                ),
                &format!("DROP TABLE t{v};\nDELETE FROM runs WHERE migration = {v};"),
            );
        }
        dir
    }

    /// Adds a sqlx-layout migration `<version>_<name>.up.sql + .down.sql`.
    pub fn add_files(&self, version: &str, name: &str, up: &str, down: &str) {
        std::fs::write(self.dir.path().join(format!("{version}_{name}.up.sql")), up).expect("write up");
        std::fs::write(self.dir.path().join(format!("{version}_{name}.down.sql")), down).expect("write down");
    }
}

/// The shared corpora directory (`../shared/corpora` beside the checkout), if present. In CI it
/// must be there.
pub fn corpus(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora").join(name);
    if root.is_dir() {
        return Some(root);
    }
    if in_ci() {
        panic!("the corpus {} is missing; CI checks out shared/ beside the repository", root.display());
    }
    eprintln!("notice: skipping: corpus {} not found", root.display());
    None
}

/// Runs an async test body once per engine (servers that are not configured are skipped
/// outside CI).
#[macro_export]
macro_rules! on_each_engine {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(dbguard::BackendKind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(dbguard::BackendKind::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                super::$name(dbguard::BackendKind::Mysql).await
            }
        }
    };
}
