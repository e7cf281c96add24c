//! Logical dumps of a PostgreSQL or MySQL database through `pg_dump` / `mysqldump`, when
//! configured. A configured dump that cannot be taken stops the run: never skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::db::database::Env;
use crate::error::{Error, Result};
use crate::model::progress::{Task, Work};

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
    // Written under a temporary name and renamed once the tool succeeded: a killed run leaves
    // a `.partial` file, never a dump that looks whole.
    let partial = out.with_extension("sql.partial");
    env.progress.work(Work::new(Task::Dump, p.database.clone()).writing(partial.clone(), None));
    let mut cmd = Command::new(&program);
    env.backend.dump_args(&mut cmd, &p, &partial);
    let output = cmd.output().map_err(|e| {
        let next = match crate::model::fault::Fault::of_io(&e) {
            Some(f) => format!("{}: {}", f.what(), f.next_step(Some(&program))),
            None => "install it (postgresql-client / mariadb-client) or set its path".into(),
        };
        Error::Backup(format!(
            "dump backups are configured, but `{}` could not be started: {e}\n  nothing was run.\n  next: {next}",
            program.display()
        ))
    })?;
    if !output.status.success() || !Path::new(&partial).exists() {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Backup(format!(
            "`{}` failed ({}): {}\n  nothing was run.\n  next: run it by hand to see why",
            program.display(),
            output.status,
            env.scrub(String::from_utf8_lossy(&output.stderr).trim())
        )));
    }
    std::fs::rename(&partial, &out).map_err(|e| {
        Error::Backup(format!("cannot rename the finished dump to {}: {e}\n  nothing was run.", out.display()))
    })?;
    Ok(out)
}
