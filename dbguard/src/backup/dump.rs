//! Logical dumps of a PostgreSQL or MySQL database through `pg_dump` / `mysqldump`, when
//! configured. A configured dump that cannot be taken stops the run: never skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::db::database::Env;
use crate::error::{Error, Result};

/// Where to write dumps, and which program to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpPolicy {
    /// Directory for the dump files.
    pub dir: PathBuf,
    /// The program; default `pg_dump` or `mysqldump` from `PATH`.
    pub program: Option<PathBuf>,
}

/// Writes a dump of the database to `policy.dir`, returning its path.
pub(crate) fn create(env: &Env, policy: &DumpPolicy, why: &str) -> Result<PathBuf> {
    let Some(tool) = env.backend.dump_tool() else {
        return Err(Error::Backup(format!(
            "dump backups are configured, but {} has no dump tool (SQLite takes file backups instead).\n  nothing was run.\n  next: remove the dump setting",
            env.url()
        )));
    };
    let program = policy.program.clone().unwrap_or_else(|| PathBuf::from(tool));
    let p = crate::db::url::parts(env.raw_url())
        .ok_or_else(|| Error::BadUrl { url: env.url().into(), problem: "cannot read host and database".into() })?;
    std::fs::create_dir_all(&policy.dir).map_err(|e| {
        Error::Backup(format!("cannot create the dump directory {}: {e}\n  nothing was run.", policy.dir.display()))
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let out = policy.dir.join(format!("{}.{stamp}.{why}.sql", p.database));
    let mut cmd = Command::new(&program);
    env.backend.dump_args(&mut cmd, &p, &out);
    let output = cmd.output().map_err(|e| {
        Error::Backup(format!(
            "dump backups are configured, but `{}` could not be started: {e}\n  nothing was run.\n  next: install it (postgresql-client / mariadb-client) or set its path",
            program.display()
        ))
    })?;
    if !output.status.success() || !Path::new(&out).exists() {
        let _ = std::fs::remove_file(&out);
        return Err(Error::Backup(format!(
            "`{}` failed ({}): {}\n  nothing was run.\n  next: run it by hand to see why",
            program.display(),
            output.status,
            env.scrub(String::from_utf8_lossy(&output.stderr).trim())
        )));
    }
    Ok(out)
}
