//! Where the project is and how it is configured.
//!
//! Precedence, highest first: command-line flags; environment variables (`DATABASE_URL`,
//! `DBGUARD_MIGRATIONS`); `.env` in the project root; `[package.metadata.dbguard]`, then
//! `[workspace.metadata.dbguard]` (read with `cargo metadata`); defaults.

use crate::paths::{absolute, resolve_sqlite};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[package.metadata.dbguard]` / `[workspace.metadata.dbguard]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Database URL (`sqlite://dbguard.db` by default; relative SQLite paths are relative to the
    /// project root).
    pub database: Option<String>,
    /// Migrations directory, relative to the project root (default `migrations`).
    pub migrations: Option<PathBuf>,
    /// The version table (default `dbguard_schema_version`).
    pub table: Option<String>,
    /// Seconds to wait for another runner's lock (default 120).
    pub lock_timeout: Option<u64>,
    /// SQLite file backups to keep (default 10; 0 turns them off).
    pub file_backups: Option<usize>,
    /// Directory for `pg_dump`/`mysqldump` dumps before each run (off by default).
    pub dump_dir: Option<PathBuf>,
    /// Load placeholder downs of existing migrations as irreversible.
    pub accept_legacy_downs: Option<bool>,
    /// This package is the project's migrator binary (for `#[migration]` projects).
    pub migrator: Option<bool>,
    /// The environment tier: `dev`, `staging` or `prod` (default: `prod` for a database whose
    /// host is not local).
    pub env: Option<String>,
    /// The audit log file, relative to the project root (default `dbguard-audit.jsonl`).
    pub audit_log: Option<PathBuf>,
    /// Tables that hold users' data: `check` requires them and watches their row counts.
    pub critical_tables: Option<Vec<String>>,
    /// Per-tier database URLs (`[package.metadata.dbguard.databases]` with `dev`, `staging`,
    /// `prod`): `--env staging` picks the staging one.
    pub databases: Option<std::collections::BTreeMap<String, String>>,
    /// `check` alerts when a watched table lost more than this percentage of its rows since
    /// the last record (default 5).
    pub alert_threshold: Option<u32>,
    /// `doctor` wants a verified backup at most this many days old (default 7).
    pub backup_max_age_days: Option<u32>,
    /// Linter settings.
    pub lint: Option<dbguard::lint::LintConfig>,
    /// The fleet `cargo dbguard fleet` runs over when no `--fleet FILE` is given
    /// (`[[package.metadata.dbguard.fleet.target]]` tables).
    pub fleet: Option<dbguard::FleetSpec>,
}

/// The audit file's default name, in the project root.
pub const DEFAULT_AUDIT_LOG: &str = "dbguard-audit.jsonl";

/// The keys `FileConfig` accepts, for messages.
pub const KEYS: &[&str] = &[
    "database",
    "migrations",
    "table",
    "lock-timeout",
    "file-backups",
    "dump-dir",
    "accept-legacy-downs",
    "migrator",
    "env",
    "audit-log",
    "critical-tables",
    "databases",
    "alert-threshold",
    "backup-max-age-days",
    "lint",
    "fleet",
];

/// The project around the current directory.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The directory relative paths in the configuration start from: the package's (or the
    /// workspace's) directory, or the current directory outside a cargo project.
    pub root: PathBuf,
    /// The manifest found, if any.
    pub manifest: Option<PathBuf>,
    /// The merged configuration (package over workspace).
    pub config: FileConfig,
    /// The project's migrator binary, when a package sets `migrator = true`.
    pub migrator: Option<MigratorBin>,
}

/// A binary that runs the project's `#[migration]` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratorBin {
    /// Its package's manifest.
    pub manifest: PathBuf,
    /// The binary target (`migrator`, or the package's only binary).
    pub bin: String,
}

/// A configuration that cannot be used: which file, what, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}\n  fix: {fix}")]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

/// The nearest `Cargo.toml` at or above `dir`.
pub fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join("Cargo.toml")).find(|p| p.is_file())
}

/// Finds the project and reads its configuration. Outside a cargo project, the defaults.
///
/// `cargo metadata` is only run when a manifest above `cwd` mentions `metadata.dbguard`: it
/// costs a process and tens of milliseconds, more than a whole no-op migration run.
pub fn discover(cwd: &Path) -> Result<Project, ConfigError> {
    let Some(manifest) = find_manifest(cwd) else {
        return Ok(Project { root: cwd.to_path_buf(), manifest: None, config: FileConfig::default(), migrator: None });
    };
    let configured = manifest
        .ancestors()
        .skip(1)
        .map(|d| d.join("Cargo.toml"))
        .any(|m| std::fs::read_to_string(m).is_ok_and(|t| t.contains("metadata.dbguard")));
    if !configured {
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Project { root, manifest: Some(manifest), config: FileConfig::default(), migrator: None });
    }
    let metadata =
        cargo_metadata::MetadataCommand::new().manifest_path(&manifest).no_deps().exec().map_err(|e| ConfigError {
            file: manifest.clone(),
            message: format!("`cargo metadata` could not read the project: {}", first_line(&e.to_string())),
            fix: "run `cargo metadata --no-deps` to see the full error and fix Cargo.toml".into(),
        })?;
    let workspace_manifest = metadata.workspace_root.join("Cargo.toml").into_std_path_buf();
    let package = metadata.packages.iter().find(|p| p.manifest_path.as_std_path() == manifest);
    let workspace_dir = metadata.workspace_root.clone().into_std_path_buf();
    let mut config = parse(&metadata.workspace_metadata, &workspace_manifest, "[workspace.metadata.dbguard]")?
        .anchored(&workspace_dir);
    let check_lint = |c: &FileConfig, file: &Path| {
        c.lint.as_ref().map_or(Ok(()), |l| l.validate()).map_err(|message| ConfigError {
            file: file.to_path_buf(),
            message: format!("[metadata.dbguard.lint]: {message}"),
            fix: "use the rule ids of docs/rules/README.md".into(),
        })
    };
    check_lint(&config, &workspace_manifest)?;
    // Paths start at the package when it configures dbguard itself (or nothing configures it),
    // at the workspace root when only the workspace does.
    let package_dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut root = if config == FileConfig::default() {
        package_dir.clone()
    } else {
        metadata.workspace_root.clone().into_std_path_buf()
    };
    if let Some(p) = package {
        let own = parse(&p.metadata, &manifest, "[package.metadata.dbguard]")?.anchored(&package_dir);
        check_lint(&own, &manifest)?;
        if own != FileConfig::default() {
            root = package_dir;
        }
        config = merge(own, config);
    }
    let migrator = metadata.packages.iter().find_map(|p| {
        let flagged = p.metadata.get("dbguard").and_then(|d| d.get("migrator")).and_then(|m| m.as_bool()) == Some(true);
        let bins: Vec<&str> = p
            .targets
            .iter()
            .filter(|t| t.kind.iter().any(|k| k.to_string() == "bin"))
            .map(|t| t.name.as_str())
            .collect();
        let bin = bins.iter().find(|b| **b == "migrator").or(bins.first())?;
        flagged.then(|| MigratorBin { manifest: p.manifest_path.clone().into_std_path_buf(), bin: bin.to_string() })
    });
    Ok(Project { root, manifest: Some(manifest), config, migrator })
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s)
}

fn parse(metadata: &serde_json::Value, file: &Path, table: &str) -> Result<FileConfig, ConfigError> {
    let Some(value) = metadata.get("dbguard") else { return Ok(FileConfig::default()) };
    FileConfig::deserialize(value).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        message: format!("{table}: {e}"),
        fix: format!("the keys are {}; see docs/cli.md#configuration", KEYS.join(", ")),
    })
}

impl FileConfig {
    /// The configuration with its relative paths made absolute against `dir`, the directory
    /// of the manifest that holds it: a workspace's `database = "sqlite://data/app.db"` means
    /// the same file whichever member runs.
    fn anchored(mut self, dir: &Path) -> FileConfig {
        let path = |p: Option<PathBuf>| p.map(|p| absolute(dir, &p));
        self.database = self.database.map(|u| resolve_sqlite(&u, dir));
        if let Some(urls) = &mut self.databases {
            for u in urls.values_mut() {
                *u = resolve_sqlite(u, dir);
            }
        }
        self.migrations = path(self.migrations);
        self.dump_dir = path(self.dump_dir);
        self.audit_log = path(self.audit_log);
        self
    }
}

/// `a` wins over `b`, key by key.
fn merge(a: FileConfig, b: FileConfig) -> FileConfig {
    FileConfig {
        database: a.database.or(b.database),
        migrations: a.migrations.or(b.migrations),
        table: a.table.or(b.table),
        lock_timeout: a.lock_timeout.or(b.lock_timeout),
        file_backups: a.file_backups.or(b.file_backups),
        dump_dir: a.dump_dir.or(b.dump_dir),
        accept_legacy_downs: a.accept_legacy_downs.or(b.accept_legacy_downs),
        migrator: a.migrator.or(b.migrator),
        env: a.env.or(b.env),
        audit_log: a.audit_log.or(b.audit_log),
        critical_tables: a.critical_tables.or(b.critical_tables),
        databases: a.databases.or(b.databases),
        alert_threshold: a.alert_threshold.or(b.alert_threshold),
        backup_max_age_days: a.backup_max_age_days.or(b.backup_max_age_days),
        lint: a.lint.or(b.lint),
        fleet: a.fleet.or(b.fleet),
    }
}

/// Loads `<root>/.env` into the environment without overriding variables already set (so the
/// real environment wins over the file); returns the names it set, so that messages can say a
/// value came from `.env`.
pub fn load_dotenv(root: &Path) -> Result<Vec<String>, ConfigError> {
    let path = root.join(".env");
    let bad = |e: dotenvy::Error| ConfigError {
        file: path.clone(),
        message: format!("cannot read it: {e}"),
        fix: "each line is `NAME=value` (e.g. `DATABASE_URL=sqlite://dbguard.db`)".into(),
    };
    let entries = match dotenvy::from_path_iter(&path) {
        Ok(it) => it,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(e)),
    };
    let mut set = Vec::new();
    for entry in entries {
        let (key, value) = entry.map_err(bad)?;
        if std::env::var_os(&key).is_none() {
            // SAFETY: at start-up, before any thread is spawned.
            unsafe { std::env::set_var(&key, value) };
            set.push(key);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_config_wins_and_unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[package.metadata.dbguard]\ndatabase = \"sqlite://data/shop.db\"\nmigrations = \"db/migrations\"\nfile-backups = 3\n\n[package.metadata.dbguard.databases]\nstaging = \"postgres://app@staging-db/shop\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        let p = discover(dir.path()).unwrap();
        assert_eq!(p.config.file_backups, Some(3));
        let db = format!("sqlite://{}", dir.path().join("data/shop.db").display());
        assert_eq!(p.config.database.as_deref(), Some(db.as_str()));
        assert_eq!(p.config.migrations, Some(dir.path().join("db/migrations")));
        assert_eq!(p.config.databases.as_ref().unwrap()["staging"], "postgres://app@staging-db/shop");
        assert_eq!(p.root, dir.path());

        let toml =
            std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap().replace("file-backups", "file-backup");
        std::fs::write(dir.path().join("Cargo.toml"), toml).unwrap();
        let e = discover(dir.path()).unwrap_err().to_string();
        assert!(e.contains("unknown field `file-backup`") && e.contains("file-backups"), "{e}");
        assert!(e.contains("Cargo.toml"), "{e}");
    }

    /// A workspace's relative paths start at the workspace, even when the member running has
    /// a configuration of its own (and so is the root of its own defaults).
    #[test]
    fn paths_start_at_the_manifest_that_sets_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"api\"]\nresolver = \"2\"\n\n[workspace.metadata.dbguard]\ndatabase = \"sqlite://data/app.db\"\naudit-log = \"logs/audit.jsonl\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("api/src")).unwrap();
        std::fs::write(
            root.join("api/Cargo.toml"),
            "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[package.metadata.dbguard]\nmigrations = \"db\"\n",
        )
        .unwrap();
        std::fs::write(root.join("api/src/main.rs"), "fn main() {}\n").unwrap();
        let p = discover(&root.join("api/src")).unwrap();
        assert_eq!(p.root, root.join("api"));
        let db = format!("sqlite://{}", root.join("data/app.db").display());
        assert_eq!(p.config.database.as_deref(), Some(db.as_str()), "the workspace's path, from the workspace");
        assert_eq!(p.config.audit_log, Some(root.join("logs/audit.jsonl")));
        assert_eq!(p.config.migrations, Some(root.join("api/db")), "the package's path, from the package");
    }

    #[test]
    fn outside_a_project_the_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let p = discover(dir.path()).unwrap();
        assert!(p.manifest.is_none());
        assert_eq!((p.root.as_path(), p.config.clone()), (dir.path(), FileConfig::default()));
    }
}
