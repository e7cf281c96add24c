//! The flags, environment, `.env` and configuration, resolved once into what every command
//! uses: the database URL (relative SQLite paths made absolute), the migrations directory, how
//! tiers are decided, and the migrator and backups built from them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbguard::{
    Backups, Database, DumpPolicy, FileBackupPolicy, Loader, Migrator, OpenMode, Tier, TierDecision, TierPolicy,
};

use crate::Source;
use crate::cli::Global;
use crate::config::Project;
use crate::error::CliError;
use crate::paths::{absolute, resolve_sqlite};

/// Everything a command needs, resolved once.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The project and its configuration.
    pub project: Project,
    /// Where migrations come from.
    pub source: Source,
    /// The flags as given.
    pub global: Global,
    /// The database URL; a relative SQLite path made absolute.
    pub url: String,
    /// Where the URL came from, for messages: `--database`, `DATABASE_URL`, `.env`, ...
    pub url_from: String,
    /// How tiers are decided: the databases the configuration names, the tier asked for.
    pub tiers: TierPolicy,
    /// The migrations directory, absolute.
    pub migrations: PathBuf,
    /// The audit file, absolute.
    pub audit_file: PathBuf,
    /// How long to wait for another runner's lock.
    pub lock_timeout: Duration,
    /// The process's arguments (for forwarding to a project's migrator binary).
    pub args: Vec<String>,
}

impl Ctx {
    /// Resolves the flags against the environment, `.env` (whose keys are `from_dotenv`) and
    /// the configuration.
    pub fn resolve(
        global: Global,
        project: Project,
        source: Source,
        args: Vec<String>,
        cwd: &Path,
        from_dotenv: &[String],
    ) -> Result<Ctx, CliError> {
        Self::resolve_with(global, project, source, args, cwd, from_dotenv, &|k| std::env::var(k).ok())
    }

    /// [`Ctx::resolve`] with the environment read through `var` (for tests).
    #[allow(clippy::too_many_arguments)]
    pub fn resolve_with(
        global: Global,
        project: Project,
        source: Source,
        args: Vec<String>,
        cwd: &Path,
        from_dotenv: &[String],
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Ctx, CliError> {
        let c = &project.config;
        let manifest_name = project
            .manifest
            .as_deref()
            .and_then(|m| m.file_name())
            .map_or("the configuration".to_string(), |n| n.to_string_lossy().into_owned());
        let env = |key: &str| var(key).filter(|v| !v.is_empty());
        let origin =
            |key: &str| if from_dotenv.iter().any(|k| k == key) { ".env".to_string() } else { key.to_string() };

        // The tier asked for, by each source that gives one. The database's tier is at least the
        // strictest of them (a lower one cannot lower it); the URL for a tier is the one the
        // nearest source names (flag, then environment, then configuration).
        let mut asked: Vec<(Tier, String)> = Vec::new();
        for (text, by) in [
            global.tier.clone().map(|t| (t.clone(), format!("--env {t}"))),
            env("DBGUARD_ENV").map(|t| (t.clone(), format!("{}={t}", origin("DBGUARD_ENV")))),
            c.env.clone().map(|t| (t.clone(), format!("env = \"{t}\" in {manifest_name}"))),
        ]
        .into_iter()
        .flatten()
        {
            let tier = Tier::parse(&text).ok_or_else(|| {
                CliError::usage(
                    format!("unknown environment tier `{text}` ({by})"),
                    "use dev, staging or prod (--env, DBGUARD_ENV or `env` in the configuration)",
                )
            })?;
            asked.push((tier, by));
        }
        let requested_tier = asked.first().map(|(t, _)| *t);
        let mut tiers = TierPolicy::default();
        if let Some((strictest, by)) = asked.iter().max_by_key(|(t, _)| *t) {
            let lower: Vec<&str> = asked.iter().filter(|(t, _)| t < strictest).map(|(_, b)| b.as_str()).collect();
            let by =
                if lower.is_empty() { by.clone() } else { format!("{by}, stricter than {},", lower.join(" and ")) };
            tiers = tiers.requested(*strictest, by);
        }
        for (name, url) in c.databases.iter().flatten() {
            let tier = Tier::parse(name).ok_or_else(|| {
                CliError::usage(
                    format!("`databases.{name}` in {manifest_name} is not a tier"),
                    "name the URLs dev, staging and prod",
                )
            })?;
            tiers =
                tiers.known(tier, resolve_sqlite(url, &project.root), format!("databases.{name} in {manifest_name}"));
        }

        // The URL: a flag's relative SQLite path starts at the current directory; every other
        // source's at the project root, so that `cd src` cannot point dbguard at a new file.
        let for_tier = requested_tier.and_then(|t| c.databases.as_ref()?.get(t.as_str()).cloned());
        let (url, url_from) = if let Some(u) = &global.database {
            (resolve_sqlite(u, cwd), "--database".to_string())
        } else if let Some(u) = env("DATABASE_URL") {
            (resolve_sqlite(&u, &project.root), origin("DATABASE_URL"))
        } else if let Some(u) = for_tier {
            let tier = requested_tier.map_or("", Tier::as_str);
            (resolve_sqlite(&u, &project.root), format!("databases.{tier} in {manifest_name}"))
        } else if let Some(u) = &c.database {
            (resolve_sqlite(u, &project.root), format!("database in {manifest_name}"))
        } else {
            (resolve_sqlite("sqlite://dbguard.db", &project.root), "the default".to_string())
        };

        let migrations = match (&global.migrations, env("DBGUARD_MIGRATIONS")) {
            (Some(m), _) => absolute(cwd, m),
            (None, Some(m)) => absolute(&project.root, Path::new(&m)),
            (None, None) => absolute(&project.root, c.migrations.as_deref().unwrap_or(Path::new("migrations"))),
        };
        let audit_file =
            absolute(&project.root, c.audit_log.as_deref().unwrap_or(Path::new(crate::config::DEFAULT_AUDIT_LOG)));
        let lock_timeout =
            global.lock_timeout.or(c.lock_timeout).map_or(dbguard::DEFAULT_LOCK_TIMEOUT, Duration::from_secs);
        Ok(Ctx { project, source, global, url, url_from, tiers, migrations, audit_file, lock_timeout, args })
    }

    /// The tier of the database, and why.
    pub fn tier(&self) -> TierDecision {
        self.tiers.resolve(&self.url)
    }

    /// Prints the tier banner first thing; nothing for a URL that is not valid (its error
    /// follows, and a banner would claim a tier for something that is not a database).
    pub fn banner(&self) {
        if dbguard::check_url(&self.url).is_ok() {
            crate::output::banner(&self.tier(), &self.masked_url());
        }
    }

    /// The URL, masked, for messages.
    pub fn masked_url(&self) -> String {
        dbguard::mask_url(&self.url)
    }

    /// Opens the database in `mode`, after the checks the command line adds: an in-memory
    /// SQLite database keeps nothing, so it is refused unless `in_memory` (only `up` can ask).
    pub async fn open(&self, mode: OpenMode, in_memory: bool) -> Result<Database, CliError> {
        dbguard::check_url(&self.url)?;
        let memory = dbguard::BackendKind::from_url(&self.url) == Some(dbguard::BackendKind::Sqlite)
            && dbguard::sqlite_file(&self.url).is_none();
        if memory && !in_memory {
            return Err(CliError::usage(
                format!(
                    "{} ({}) is an in-memory SQLite database: it is gone when this command ends, so nothing would be kept",
                    self.masked_url(),
                    self.url_from
                ),
                "name a file (`--database sqlite://app.db`); to check that the migrations apply to an empty database, `cargo dbguard up --in-memory --database sqlite::memory:`",
            ));
        }
        if mode != OpenMode::ReadOnly {
            dbguard::audit::AuditLog { file: Some(self.audit_file.clone()) }.check_writable()?;
        }
        Ok(Database::open(&self.url, mode).await?)
    }

    /// The migrator: the migrations (from the directory, or the binary's registry), the
    /// configuration's settings, the tiers, the confirmation given, and on a terminal the
    /// prompt for one.
    pub fn migrator(&self) -> Result<Migrator, CliError> {
        let (g, c) = (&self.global, &self.project.config);
        let kind = dbguard::BackendKind::from_url(&self.url);
        let loader = Loader::new()
            .accept_legacy_downs(g.accept_legacy_downs || c.accept_legacy_downs == Some(true))
            .dialect(kind.map(|k| k.dialect()).unwrap_or_default());
        let migrations = match (self.source, &g.migrations) {
            (Source::Registry, None) => dbguard::registered()?,
            _ => loader.load(&self.migrations)?,
        };
        let mut m = Migrator::new(migrations)?
            .allow_drift(g.allow_drift)
            .allow_missing(g.allow_missing)
            .allow_out_of_order(g.allow_out_of_order)
            .lock_timeout(self.lock_timeout)
            .kill_stale_runner(g.kill_stale_runner)
            .on_progress(crate::output::progress::notices)
            .tiers(self.tiers.clone())
            .audit_file(&self.audit_file);
        if let Some(t) = &c.table {
            m = m.table(t);
        }
        if let Some(name) = &g.confirm {
            m = m.confirm_production(name);
        } else if crate::output::prompt::available() {
            m = m.on_confirmation(crate::output::prompt::ask);
        }
        if let Some(keep) = c.file_backups {
            m = m.file_backups(FileBackupPolicy { enabled: keep > 0, keep: keep.max(1) });
        }
        if let Some(dir) = &c.dump_dir {
            m = m.dump_before_runs(DumpPolicy { dir: self.project.root.join(dir), program: None });
        }
        if let Some(tables) = &c.critical_tables {
            m = m.watch_tables(tables.iter().cloned());
        }
        Ok(m)
    }

    /// What shows progress on standard error: a bar, lines, or nothing with `--quiet`.
    pub fn progress(&self) -> crate::output::progress::Reporter {
        if self.global.quiet {
            crate::output::progress::Reporter::Quiet
        } else {
            crate::output::progress::Reporter::for_stderr()
        }
    }

    /// The backup API with the same lock, tiers, confirmation and audit file as the migrator.
    pub fn backups(&self) -> Backups {
        let mut b = Backups::new()
            .tiers(self.tiers.clone())
            .audit_file(&self.audit_file)
            .lock(
                self.project.config.table.clone().unwrap_or_else(|| "dbguard_schema_version".into()),
                self.lock_timeout,
            )
            .kill_stale_runner(self.global.kill_stale_runner)
            .on_progress(crate::output::progress::notices);
        if let Some(name) = &self.global.confirm {
            b = b.confirm_production(name);
        } else if crate::output::prompt::available() {
            b = b.on_confirmation(crate::output::prompt::ask);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn ctx(args: &[&str], env: &[(&str, &str)], databases: &[(&str, &str)]) -> Result<Ctx, CliError> {
        let mut all = vec!["cargo-dbguard"];
        all.extend(args);
        all.push("status");
        let cli = crate::cli::Cli::parse_from(all);
        let mut project = Project { root: "/srv/shop".into(), ..Default::default() };
        project.manifest = Some("/srv/shop/Cargo.toml".into());
        project.config.database = Some("sqlite://data/shop.db".into());
        project.config.databases = Some(databases.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let var = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        Ctx::resolve_with(cli.global, project, Source::Directory, Vec::new(), Path::new("/srv/shop/src"), &[], &var)
    }

    #[test]
    fn relative_sqlite_paths_start_at_the_project_root_unless_typed_as_a_flag() {
        assert_eq!(ctx(&[], &[], &[]).unwrap().url, "sqlite:///srv/shop/data/shop.db");
        let env = ctx(&[], &[("DATABASE_URL", "sqlite://dbguard.db")], &[]).unwrap();
        assert_eq!((env.url.as_str(), env.url_from.as_str()), ("sqlite:///srv/shop/dbguard.db", "DATABASE_URL"));
        let flag = ctx(&["--database", "sqlite://../x.db"], &[], &[]).unwrap();
        assert_eq!(flag.url, "sqlite:///srv/shop/x.db", "a flag's path starts at the current directory");
        assert_eq!(ctx(&["-m", "m"], &[], &[]).unwrap().migrations, Path::new("/srv/shop/src/m"));
        assert_eq!(ctx(&[], &[("DBGUARD_MIGRATIONS", "db/m")], &[]).unwrap().migrations, Path::new("/srv/shop/db/m"));
    }

    #[test]
    fn the_per_tier_url_and_the_tier_rule() {
        let dbs = [("staging", "postgres://app@staging-db/shop"), ("prod", "postgres://app:pw@db.internal/shop")];
        let staging = ctx(&["--env", "staging"], &[], &dbs).unwrap();
        assert_eq!(staging.url, "postgres://app@staging-db/shop");
        assert_eq!(staging.tier().tier, Tier::Staging);
        let lowered = ctx(&["--env", "dev", "-d", "postgres://admin@db.internal:5432/shop"], &[], &dbs).unwrap();
        let t = lowered.tier();
        assert_eq!(t.tier, Tier::Prod, "--env dev cannot lower the configured prod database");
        assert!(
            t.reason.contains("databases.prod in Cargo.toml") && t.reason.contains("--env dev cannot lower"),
            "{}",
            t.reason
        );
        let env = ctx(&[], &[("DBGUARD_ENV", "prod")], &dbs).unwrap();
        assert_eq!(env.url, "postgres://app:pw@db.internal/shop");
        assert!(ctx(&["--env", "qa"], &[], &[]).is_err());
    }
}
