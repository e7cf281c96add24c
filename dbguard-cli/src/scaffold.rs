//! `init` and `new`: the files dbguard scaffolds, from `templates/`.

use std::path::{Path, PathBuf};

use dbguard::lint::version::{parse_file_name, parse_migration_name};

const UP_SQL: &str = include_str!("../../templates/sql/up.sql");
const DOWN_SQL: &str = include_str!("../../templates/sql/down.sql");
const RUST: &str = include_str!("../../templates/rust/migration.rs");
const MIGRATOR: &str = include_str!("../../templates/rust/migrator.rs");
const MOD: &str = include_str!("../../templates/rust/mod.rs");

/// Scaffolding that could not be done; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  nothing was written.\n  fix: {fix}")]
pub struct ScaffoldError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

fn err(message: impl Into<String>, fix: impl Into<String>) -> ScaffoldError {
    ScaffoldError { message: message.into(), fix: fix.into() }
}

/// SQL (a directory with `up.sql` and `down.sql`, or `.up.sql`/`.down.sql` files, following the
/// project) or a Rust `#[migration]` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQL files.
    Sql,
    /// A Rust file with a `#[migration]` module.
    Rust,
}

/// How the existing migrations are named, so a new one fits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// `<version>_<name>/up.sql` (diesel) rather than `<version>_<name>.up.sql` (sqlx).
    pub directories: bool,
    /// UTC timestamps (`20261121101500`) rather than sequence numbers.
    pub timestamps: bool,
    /// Digits of the sequence numbers (`0004` → 4).
    pub width: usize,
    /// The highest version.
    pub highest: Option<i64>,
}

/// Reads the naming scheme of `dir` (defaults for an empty or missing directory: diesel
/// directories, 4-digit sequence numbers).
pub fn scheme(dir: &Path) -> Scheme {
    let mut s = Scheme { directories: true, timestamps: false, width: 4, highest: None };
    let (mut dirs, mut files) = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let parsed = if entry.path().is_dir() {
            parse_migration_name(&name).ok().inspect(|_| dirs += 1)
        } else {
            parse_file_name(&name).ok().flatten().map(|(n, _)| n).inspect(|_| files += 1)
        };
        if let Some(n) = parsed {
            s.timestamps |= n.version_text.chars().filter(char::is_ascii_digit).count() >= 14;
            s.width = s.width.max(n.version_text.len()).min(if s.timestamps { 14 } else { 8 });
            s.highest = Some(s.highest.map_or(n.version, |h| h.max(n.version)));
        }
    }
    s.directories = dirs >= files;
    s
}

/// The next version and its text.
pub fn next_version(s: &Scheme) -> (i64, String) {
    if s.timestamps {
        let v: i64 = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().unwrap_or(0);
        // Two `new`s in one second still get distinct, increasing versions.
        let v = s.highest.map_or(v, |h| v.max(h + 1));
        (v, v.to_string())
    } else {
        let v = s.highest.unwrap_or(0) + 1;
        (v, format!("{v:0width$}", width = s.width))
    }
}

fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 100;
    if ok {
        Ok(())
    } else {
        let suggestion: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .trim_matches('_')
            .to_string();
        Err(err(
            format!(
                "`{name}` is not a migration name: use lowercase letters, digits and underscores, starting with a letter"
            ),
            format!(
                "`cargo dbguard new {}`",
                if suggestion.is_empty() { "add_users_email".into() } else { suggestion }
            ),
        ))
    }
}

fn fill(template: &str, version: &str, name: &str) -> String {
    let number = version.trim_start_matches('0');
    template
        .replace("{{version}}", version)
        .replace("{{number}}", if number.is_empty() { "0" } else { number })
        .replace("{{name}}", name)
        .replace("{{module}}", &format!("v{version}_{name}"))
}

fn write_new(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    use std::io::Write;
    // create_new: never overwrite, even if the file appears between the check and the write.
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            err(format!("{} already exists", path.display()), "pick another name; dbguard never overwrites a migration")
        } else {
            err(format!("cannot create {}: {e}", path.display()), "check the directory's permissions")
        }
    })?;
    f.write_all(text.as_bytes()).map_err(|e| err(format!("cannot write {}: {e}", path.display()), "check the disk"))
}

/// Scaffolds the next migration in `dir` (SQL) or `rust_dir` (Rust); returns the files written.
pub fn new_migration(dir: &Path, rust_dir: &Path, name: &str, kind: Kind) -> Result<Vec<PathBuf>, ScaffoldError> {
    check_name(name)?;
    let s = scheme(dir);
    let (_, version) = next_version(&s);
    match kind {
        Kind::Rust => {
            std::fs::create_dir_all(rust_dir)
                .map_err(|e| err(format!("cannot create {}: {e}", rust_dir.display()), "check permissions"))?;
            let path = rust_dir.join(format!("v{version}_{name}.rs"));
            write_new(&path, &fill(RUST, &version, name))?;
            // Register the module where `init --rust` set up the list.
            let list = rust_dir.join("mod.rs");
            if let Ok(text) = std::fs::read_to_string(&list) {
                let line = format!("pub mod v{version}_{name};\n");
                std::fs::write(&list, format!("{text}{line}"))
                    .map_err(|e| err(format!("cannot add the module to {}: {e}", list.display()), "add it by hand"))?;
            }
            Ok(vec![path])
        }
        Kind::Sql => {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create {}: {e}", dir.display()), "check permissions"))?;
            let taken = std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .split_once('_')
                    .is_some_and(|(_, rest)| rest.split('.').next() == Some(name))
            });
            if taken {
                return Err(err(
                    format!("a migration named `{name}` already exists in {}", dir.display()),
                    "pick a name that says what this migration does",
                ));
            }
            let (up, down) = if s.directories {
                let d = dir.join(format!("{version}_{name}"));
                std::fs::create_dir(&d)
                    .map_err(|e| err(format!("cannot create {}: {e}", d.display()), "pick another name"))?;
                (d.join("up.sql"), d.join("down.sql"))
            } else {
                (dir.join(format!("{version}_{name}.up.sql")), dir.join(format!("{version}_{name}.down.sql")))
            };
            write_new(&up, &fill(UP_SQL, &version, name))?;
            write_new(&down, &fill(DOWN_SQL, &version, name))?;
            Ok(vec![up, down])
        }
    }
}

/// What `init` created or changed.
#[derive(Debug, Default)]
pub struct Initialised {
    /// Files and directories created.
    pub created: Vec<PathBuf>,
    /// The manifest the configuration was added to, and the section it wrote
    /// (`package.metadata.dbguard` or `workspace.metadata.dbguard`).
    pub configured: Option<(PathBuf, String)>,
    /// Entries added to `.gitignore`.
    pub ignored: Vec<String>,
}

/// What must never be committed: the SQLite database and its journal files, file backups,
/// dumps, lock files and the audit log. Each holds users' data or who did what.
pub const GITIGNORE: &[&str] = &[
    "/dbguard.db",
    "/dbguard.db-*",
    "*.dbguard-backups/",
    "*.dbguard.lock",
    "*.dbguard-restoring",
    "/dbguard-dumps/",
    "/dbguard-audit.jsonl",
    "/.env",
];

/// The `.gitignore` entries for the paths `config` names in the project: its SQLite databases
/// (and their journal files), the dump directory and the audit log, where they are relative.
pub fn configured_data(config: &crate::config::FileConfig) -> Vec<String> {
    let mut out = Vec::new();
    let rel = |p: &str| {
        Some(p).filter(|p| !p.is_empty() && !p.starts_with('/')).map(|p| p.trim_start_matches("./").to_string())
    };
    let urls = config.database.iter().chain(config.databases.iter().flat_map(|d| d.values()));
    for url in urls {
        if let Some(file) = dbguard::sqlite_file(url).and_then(|f| rel(&f.display().to_string())) {
            out.push(format!("/{file}"));
            out.push(format!("/{file}-*"));
        }
    }
    if let Some(d) = config.dump_dir.as_ref().and_then(|d| rel(&d.display().to_string())) {
        out.push(format!("/{}/", d.trim_end_matches('/')));
    }
    if let Some(a) = config.audit_log.as_ref().and_then(|a| rel(&a.display().to_string())) {
        out.push(format!("/{a}"));
    }
    out
}

/// Adds the entries of [`GITIGNORE`] and `extra` that `.gitignore` in `root` lacks; returns
/// those added.
pub fn ignore_data(root: &Path, extra: &[String]) -> Result<Vec<String>, ScaffoldError> {
    let path = root.join(".gitignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let have: Vec<&str> = text.lines().map(str::trim).collect();
    let mut wanted: Vec<String> = GITIGNORE.iter().map(|s| s.to_string()).collect();
    for e in extra {
        if !wanted.contains(e) {
            wanted.push(e.clone());
        }
    }
    let missing: Vec<String> = wanted.into_iter().filter(|w| !have.contains(&w.as_str())).collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("# dbguard: databases, backups, dumps and the audit log hold users' data: never commit them\n");
    for m in &missing {
        out.push_str(m);
        out.push('\n');
    }
    std::fs::write(&path, out)
        .map_err(|e| err(format!("cannot write {}: {e}", path.display()), "check permissions"))?;
    Ok(missing)
}

/// Sets up a project: `migrations/`, `[package.metadata.dbguard]` (or the workspace's) in
/// `Cargo.toml` when it has none, `.env.example`, and the `.gitignore` entries that keep the
/// database, its backups, dumps and lock files out of git; with `rust`, a migrator binary
/// (`src/bin/migrator.rs`) and `src/migrations/mod.rs`, and `migrator = true`. Existing files
/// are left as they are.
pub fn init(root: &Path, manifest: Option<&Path>, rust: bool, ignore: &[String]) -> Result<Initialised, ScaffoldError> {
    let mut done = Initialised::default();
    if rust {
        if manifest.is_none_or(|m| std::fs::read_to_string(m).is_ok_and(|t| !t.contains("[package]"))) {
            return Err(err(
                "`init --rust` needs a cargo package (a Cargo.toml with [package]) for the migrator binary",
                "run it in the package that should hold the migrations (`cargo new --bin migrator` makes one)",
            ));
        }
        for (dir, file, text) in [("src/bin", "migrator.rs", MIGRATOR), ("src/migrations", "mod.rs", MOD)] {
            let d = root.join(dir);
            std::fs::create_dir_all(&d)
                .map_err(|e| err(format!("cannot create {}: {e}", d.display()), "check permissions"))?;
            let path = d.join(file);
            if !path.exists() {
                write_new(&path, text)?;
                done.created.push(path);
            }
        }
    }
    let migrations = root.join("migrations");
    if !migrations.exists() {
        std::fs::create_dir_all(&migrations)
            .map_err(|e| err(format!("cannot create {}: {e}", migrations.display()), "check permissions"))?;
        done.created.push(migrations);
    }
    let env = root.join(".env.example");
    if !env.exists() {
        write_new(
            &env,
            "# Copy to .env (not committed) and adjust. Flags and real environment variables win over it.\nDATABASE_URL=sqlite://dbguard.db\n# DATABASE_URL=postgres://app@localhost:5432/app\n",
        )?;
        done.created.push(env);
    }
    if let Some(manifest) = manifest {
        let text = std::fs::read_to_string(manifest)
            .map_err(|e| err(format!("cannot read {}: {e}", manifest.display()), "check permissions"))?;
        if rust && text.contains("[package.metadata.dbguard]") && !text.contains("migrator =") {
            let text =
                text.replacen("[package.metadata.dbguard]\n", "[package.metadata.dbguard]\nmigrator = true\n", 1);
            std::fs::write(manifest, text)
                .map_err(|e| err(format!("cannot write {}: {e}", manifest.display()), "check permissions"))?;
            done.configured = Some((manifest.to_path_buf(), "package.metadata.dbguard".into()));
        } else if !text.contains("metadata.dbguard]") {
            let table = if text.contains("[package]") { "package" } else { "workspace" };
            let migrator = if rust { "migrator = true\n" } else { "" };
            let section = format!(
                "\n[{table}.metadata.dbguard]\n# See docs/cli.md#configuration. Flags and environment variables win over these.\ndatabase = \"sqlite://dbguard.db\"\nmigrations = \"migrations\"\n{migrator}"
            );
            std::fs::write(manifest, format!("{}{section}", text.trim_end_matches('\n').to_string() + "\n"))
                .map_err(|e| err(format!("cannot write {}: {e}", manifest.display()), "check permissions"))?;
            done.configured = Some((manifest.to_path_buf(), format!("{table}.metadata.dbguard")));
        }
    }
    done.ignored = ignore_data(root, ignore)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_versions_follow_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(next_version(&scheme(d)), (1, "0001".into()));
        std::fs::create_dir(d.join("0041_x")).unwrap();
        assert_eq!(next_version(&scheme(d)), (42, "0042".into()));
        let ts = tempfile::tempdir().unwrap();
        std::fs::write(ts.path().join("20170923182408_a.up.sql"), "").unwrap();
        let s = scheme(ts.path());
        assert!(s.timestamps && !s.directories);
        let (v, text) = next_version(&s);
        assert!(v > 20260101000000 && text.len() == 14, "{text}");
    }

    #[test]
    fn gitignore_gets_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "/target\n*.dbguard.lock\n").unwrap();
        let added = ignore_data(dir.path(), &["/backups/dumps/".to_string()]).unwrap();
        assert!(!added.contains(&"*.dbguard.lock".to_string()), "{added:?}");
        assert!(added.contains(&"/dbguard.db".to_string()) && added.contains(&"/backups/dumps/".to_string()));
        let text = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(text.starts_with("/target\n*.dbguard.lock\n# dbguard:"), "{text}");
        assert!(ignore_data(dir.path(), &["/backups/dumps/".to_string()]).unwrap().is_empty(), "idempotent");
        let config = crate::config::FileConfig {
            database: Some("sqlite://var/data/app.db".into()),
            dump_dir: Some("backups".into()),
            audit_log: Some("logs/audit.jsonl".into()),
            ..Default::default()
        };
        assert_eq!(
            configured_data(&config),
            ["/var/data/app.db", "/var/data/app.db-*", "/backups/", "/logs/audit.jsonl"]
        );
    }

    #[test]
    fn names_and_overwrites_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = new_migration(dir.path(), dir.path(), "Add Users!", Kind::Sql).unwrap_err().to_string();
        assert!(e.contains("`cargo dbguard new add_users`"), "{e}");
        let files = new_migration(dir.path(), dir.path(), "add_users", Kind::Sql).unwrap();
        assert!(files[0].ends_with("0001_add_users/up.sql"), "{files:?}");
        let up = std::fs::read_to_string(&files[0]).unwrap();
        assert!(up.starts_with("-- 0001_add_users:"), "{up}");
        let again = new_migration(dir.path(), dir.path(), "add_users", Kind::Sql).unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
    }
}
