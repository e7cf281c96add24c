//! The guarded path, command by command, on SQLite, PostgreSQL and MySQL, with the built binary.
//!
//! Every command that changes a database is a row of [`MUTATING`]. For each, on each engine:
//! in production without a confirmation it refuses and changes nothing; with a confirmation
//! naming another database it refuses and changes nothing; `--dry-run` changes nothing (the
//! SQLite file's bytes, every table's rows, the backup files, the audit file); the real run
//! changes the database; and the audit file has a line for each refusal and for the run.
//! [`every_command_is_in_the_table`] fails when a command is added without a row here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use dbguard::BackendKind;
use dbguard_tests::{TestDb, on_each_engine};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-dbguard");

/// The commands that change a database (as clap names them), and what each needs in
/// production.
const MUTATING: &[(Cmd, &str)] = &[
    (Cmd::Up, "up"),
    (Cmd::Down, "down"),
    (Cmd::Baseline, "baseline"),
    (Cmd::Repair, "repair"),
    (Cmd::Reset, "reset"),
    (Cmd::Backup, "backup"),
    (Cmd::Prune, "backups prune"),
    (Cmd::Restore, "restore"),
    (Cmd::RestoreFile, "restore"),
    (Cmd::Acknowledge, "check"),
];

/// Commands that only read the database (`check` and `backups verify` record bookkeeping: the
/// first row count of a table, a snapshot's first checksum; never users' data).
/// Fleet commands: they take no `--database` (their targets are a fleet file's); each target
/// is a `Migrator::up`/`down`/`status`/... through the guarded path, tested in
/// `tests/tests/fleet.rs` and `workflow.rs`.
const FLEET: &[&str] = &["fleet up", "fleet down", "fleet status", "fleet check", "fleet rehearse"];

const READ_ONLY: &[(&str, bool)] = &[
    ("status", false),
    ("history", false),
    ("backups list", false),
    ("doctor", false),
    ("rehearse", false),
    ("lint", false),
    ("check", true),
    ("backups verify", true),
];

/// Commands that write project files, not databases.
const PROJECT_FILES: &[&str] = &["init", "new"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Up,
    Down,
    Baseline,
    Repair,
    Reset,
    Backup,
    Prune,
    Restore,
    RestoreFile,
    Acknowledge,
}

/// What production asks of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prod {
    /// The database's name (it destroys or replaces something).
    Confirm,
    /// Nothing: it only adds (a backup, accepted row counts) or, for `up`, runs nothing
    /// destructive.
    Free,
    /// Refused whatever is given.
    Never,
}

impl Cmd {
    fn prod(self) -> Prod {
        match self {
            Cmd::Backup | Cmd::Acknowledge => Prod::Free,
            Cmd::Reset => Prod::Never,
            _ => Prod::Confirm,
        }
    }

    /// The library's operation this command goes through (its `as_str`).
    fn operation(self) -> &'static str {
        match self {
            Cmd::Up => "up",
            Cmd::Down => "down",
            Cmd::Baseline => "baseline",
            Cmd::Repair => "repair",
            Cmd::Reset => "reset",
            Cmd::Backup => "backup",
            Cmd::Prune => "backups prune",
            Cmd::Restore => "restore",
            Cmd::RestoreFile => "restore --file",
            Cmd::Acknowledge => "check --acknowledge",
        }
    }
}

/// The clap paths of every (sub)command but `help`.
fn commands(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let path = if prefix.is_empty() { sub.get_name().to_string() } else { format!("{prefix} {}", sub.get_name()) };
        if sub.has_subcommands() {
            commands(sub, &path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_command_is_in_the_table() {
    let mut all = Vec::new();
    commands(&dbguard_cli::cli::command(), "", &mut all);
    for c in &all {
        let known = MUTATING.iter().any(|(_, p)| p == c)
            || FLEET.contains(&c.as_str())
            || READ_ONLY.iter().any(|(p, _)| p == c)
            || PROJECT_FILES.contains(&c.as_str());
        assert!(known, "`{c}` is a new command: add it to MUTATING (it writes) or READ_ONLY in this test");
    }
    // And every operation of the library's guarded path is exercised by a row.
    for op in dbguard::Operation::ALL {
        assert!(MUTATING.iter().any(|(c, _)| c.operation() == op.as_str()), "{op:?} has no row in MUTATING");
    }
    assert!(all.len() >= 18, "{all:?}");
}

fn run(dir: &Path, url: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .arg("dbguard")
        .args(["--database", url, "--migrations", "migrations"])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DBGUARD_ENV")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), text(&o));
    text(&o)
}

/// 1 creates `users` with three rows, 2 adds a column, 3 empties the table (destructive).
fn migrations(work: &Path) {
    let dir = work.join("migrations");
    for (name, up, down) in [
        (
            "1_create_users",
            "CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120));\nINSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');",
            "DROP TABLE users;",
        ),
        ("2_add_note", "ALTER TABLE users ADD COLUMN note VARCHAR(40);", "ALTER TABLE users DROP COLUMN note;"),
        (
            "3_purge",
            "-- dbguard:allow delete-without-where reason=\"the test's destructive step\"\nDELETE FROM users;",
            "-- dbguard: irreversible = \"rows deleted\"",
        ),
    ] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("up.sql"), up).unwrap();
        std::fs::write(dir.join(name).join("down.sql"), down).unwrap();
    }
}

/// Everything a command could change: for SQLite the database file's bytes and every file
/// beside it (backups); for servers every table's rows; and the audit file.
async fn state(t: &TestDb, work: &Path) -> String {
    let mut out = String::new();
    match dbguard::sqlite_file(&t.url) {
        Some(file) => {
            let mut files = Vec::new();
            list(file.parent().unwrap(), &mut files);
            // The lock file is empty, and left for the next runner on purpose (removing it would
            // race with one that just opened it): not a change.
            for f in files.into_iter().filter(|f| !f.to_string_lossy().ends_with(".dbguard.lock")) {
                let bytes = std::fs::read(&f).unwrap_or_default();
                out.push_str(&format!("{} {} {:x}\n", f.display(), bytes.len(), fnv(&bytes)));
            }
        }
        None => {
            let mut db = dbguard::Database::connect_read_only(&t.url).await.unwrap();
            for table in db.tables().await.unwrap() {
                out.push_str(&format!("{table} {}\n", db.content_checksum(&table).await.unwrap()));
            }
            db.close().await.unwrap();
        }
    }
    out.push_str(&std::fs::read_to_string(work.join("dbguard-audit.jsonl")).unwrap_or_default());
    out
}

/// A state without the audit file's lines.
fn without_audit(state: &str) -> String {
    state.lines().filter(|l| !l.starts_with('{')).collect::<Vec<_>>().join("\n")
}

fn list(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() { list(&p, out) } else { out.push(p) }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The audit file's lines for `operation`: (outcome, message).
fn audit(work: &Path, operation: &str) -> Vec<String> {
    std::fs::read_to_string(work.join("dbguard-audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["command"] == operation)
        .map(|v| v["outcome"].as_str().unwrap().to_string())
        .collect()
}

/// Brings the database to where `cmd` has something to do; returns its arguments.
async fn set_up(cmd: Cmd, t: &TestDb, w: &Path) -> Vec<String> {
    let url = t.url.as_str();
    let args: Vec<&str> = match cmd {
        Cmd::Up => {
            ok(run(w, url, &["up", "--to", "2"]));
            vec!["up"]
        }
        Cmd::Down => {
            ok(run(w, url, &["up", "--to", "2"]));
            vec!["down", "--to", "1"]
        }
        Cmd::Baseline => {
            // A database that predates dbguard: the tables, no history.
            let mut db = t.connect().await;
            db.execute("CREATE TABLE users (id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120), note VARCHAR(40))")
                .await
                .unwrap();
            db.close().await.unwrap();
            vec!["baseline", "2"]
        }
        Cmd::Repair => {
            ok(run(w, url, &["up", "--to", "2"]));
            let mut db = t.connect().await;
            db.execute("UPDATE dbguard_schema_version SET state = 'dirty' WHERE version = 2").await.unwrap();
            db.close().await.unwrap();
            vec!["repair", "2", "--forget"]
        }
        Cmd::Reset => {
            ok(run(w, url, &["up", "--to", "2"]));
            vec!["reset"]
        }
        Cmd::Backup => {
            ok(run(w, url, &["up", "--to", "2"]));
            vec!["backup", "--table", "users"]
        }
        Cmd::Prune => {
            ok(run(w, url, &["up", "--to", "2"]));
            ok(run(w, url, &["backup", "--table", "users"]));
            ok(run(w, url, &["backup", "--table", "users"]));
            vec!["backups", "prune", "--keep", "1"]
        }
        Cmd::Restore => {
            ok(run(w, url, &["up", "--to", "2"]));
            ok(run(w, url, &["backup", "--table", "users"]));
            let mut db = t.connect().await;
            db.execute("DELETE FROM users WHERE id > 1").await.unwrap();
            db.close().await.unwrap();
            vec!["restore", "1"]
        }
        Cmd::RestoreFile => {
            ok(run(w, url, &["up", "--to", "1"]));
            ok(run(w, url, &["up", "--to", "2"]));
            let file = dbguard::sqlite_file(url).unwrap();
            let newest = dbguard::file_backup::list(&file).unwrap()[0].path.clone();
            let name = newest.file_name().unwrap().to_string_lossy().into_owned();
            return vec!["restore".into(), "--file".into(), name];
        }
        Cmd::Acknowledge => {
            ok(run(w, url, &["up", "--to", "2"]));
            run(w, url, &["check", "--table", "users"]); // exit 1: migration 3 is pending
            let mut db = t.connect().await;
            db.execute("DELETE FROM users WHERE id > 1").await.unwrap();
            db.close().await.unwrap();
            vec!["check", "--acknowledge", "--table", "users"]
        }
    };
    args.into_iter().map(String::from).collect()
}

async fn guarded(kind: BackendKind, cmd: Cmd) {
    if cmd == Cmd::RestoreFile && kind != BackendKind::Sqlite {
        return; // only SQLite databases are files
    }
    let Some(t) = TestDb::new(kind).await else { return };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    migrations(w);
    if kind == BackendKind::Sqlite {
        // The file exists before any command runs, as a database does.
        t.connect().await.close().await.unwrap();
    }
    let args = set_up(cmd, &t, w).await;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let with = |before: &[&str]| -> Vec<String> { before.iter().chain(&args).map(|s| s.to_string()).collect() };
    let op = cmd.operation();
    let name = dbguard::database_name(&t.url);
    let what = format!("{cmd:?} on {kind:?}");

    // In production, without a confirmation and with the wrong one: refused, nothing changed,
    // and the refusal audited.
    if cmd.prod() != Prod::Free {
        for (given, refusal) in [
            (vec!["--env", "prod"], "without a confirmation"),
            (vec!["--env", "prod", "--confirm", "not_this_one"], ""),
        ] {
            let before = state(&t, w).await;
            let refused_before = audit(w, op).iter().filter(|o| *o == "refused").count();
            let o = run(w, &t.url, &with(&given));
            assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
            let out = text(&o);
            if cmd.prod() == Prod::Never {
                assert!(out.contains("never allowed in prod"), "{what}: {out}");
            } else {
                assert!(out.contains(refusal) && out.contains("nothing was changed"), "{what}: {out}");
            }
            let refused_after = audit(w, op).iter().filter(|o| *o == "refused").count();
            assert_eq!(refused_after, refused_before + 1, "{what}: the refusal is audited");
            let after = state(&t, w).await;
            assert_eq!(without_audit(&after), without_audit(&before), "{what}: a refusal changed the database");
        }
    }

    // A dry run changes nothing at all, not even the audit file.
    let before = state(&t, w).await;
    let o = run(w, &t.url, &[with(&[]), vec!["--dry-run".to_string()]].concat());
    assert!(o.status.success(), "{what} --dry-run: {}", text(&o));
    assert_eq!(state(&t, w).await, before, "{what}: the dry run changed something");
    // What production never allows, its dry run does not describe as if it would run.
    if cmd.prod() == Prod::Never {
        let o = run(w, &t.url, &[with(&["--env", "prod"]), vec!["--dry-run".to_string()]].concat());
        assert!(
            !o.status.success() && text(&o).contains("never allowed in prod"),
            "{what} --dry-run in prod: {}",
            text(&o)
        );
        assert_eq!(state(&t, w).await, before, "{what}: the refused dry run changed something");
    }

    // The real run: confirmed in production where that is allowed, else in dev.
    let confirmed = ["--env", "prod", "--confirm", name.as_str()];
    let o = match cmd.prod() {
        Prod::Confirm => run(w, &t.url, &with(&confirmed)),
        Prod::Free => run(w, &t.url, &with(&["--env", "prod"])),
        Prod::Never => {
            let o = run(w, &t.url, &with(&confirmed));
            assert_eq!(o.status.code(), Some(1), "{what}: refused even with the name: {}", text(&o));
            assert_eq!(without_audit(&state(&t, w).await), without_audit(&before), "{what}: changed");
            run(w, &t.url, &with(&["--env", "dev"]))
        }
    };
    assert!(o.status.success(), "{what}: {}", text(&o));
    assert_ne!(state(&t, w).await, before, "{what}: the run changed nothing");
    let outcomes = audit(w, op);
    let n = outcomes.len();
    assert!(n >= 2 && outcomes[n - 2..] == ["started", "ok"], "{what}: the run is audited: {outcomes:?}");
}

macro_rules! guarded_cases {
    ($($name:ident => $cmd:expr),* $(,)?) => {
        $(
            async fn $name(kind: BackendKind) {
                guarded(kind, $cmd).await
            }
            on_each_engine!($name);
        )*
    };
}

guarded_cases! {
    up => Cmd::Up,
    down => Cmd::Down,
    baseline => Cmd::Baseline,
    repair => Cmd::Repair,
    reset => Cmd::Reset,
    backup => Cmd::Backup,
    prune => Cmd::Prune,
    restore => Cmd::Restore,
    restore_file => Cmd::RestoreFile,
    acknowledge => Cmd::Acknowledge,
}

/// Commands that only read never create a missing SQLite database, and leave an existing one
/// byte for byte as it was (or, for the two that record bookkeeping, its users' rows).
#[tokio::test]
async fn read_only_commands_change_nothing() {
    let t = TestDb::new(BackendKind::Sqlite).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    migrations(w);
    let file = dbguard::sqlite_file(&t.url).unwrap();
    for (cmd, _) in READ_ONLY {
        let args: Vec<&str> = cmd.split(' ').collect();
        run(w, &t.url, &args);
        assert!(!file.exists(), "`{cmd}` created the database");
    }
    ok(run(w, &t.url, &["up", "--to", "2"]));
    ok(run(w, &t.url, &["backup", "--table", "users"]));
    for (cmd, bookkeeping) in READ_ONLY {
        let before = state(&t, w).await;
        let mut db = t.connect().await;
        let users = db.content_checksum("users").await.unwrap();
        db.close().await.unwrap();
        let args: Vec<&str> = cmd.split(' ').collect();
        run(w, &t.url, &args);
        let mut db = t.connect().await;
        assert_eq!(db.content_checksum("users").await.unwrap(), users, "`{cmd}` changed users");
        db.close().await.unwrap();
        if !bookkeeping {
            assert_eq!(state(&t, w).await, before, "`{cmd}` changed the database");
        }
    }
}
