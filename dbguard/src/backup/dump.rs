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

/// The parts of a server URL a dump tool takes as arguments.
struct Parts {
    user: String,
    password: Option<String>,
    host: String,
    port: Option<String>,
    database: String,
}

fn parts(url: &str) -> Option<Parts> {
    let rest = url.split_once("://")?.1;
    let rest = rest.split('?').next()?;
    let (auth, hostpath) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (hostport, database) = hostpath.split_once('/').unwrap_or((hostpath, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), Some(p.to_string())),
        None => (hostport.to_string(), None),
    };
    let (user, password) = match auth.map(|a| a.split_once(':').map_or((a, None), |(u, p)| (u, Some(p)))) {
        Some((u, p)) => (crate::db::url::percent_decode(u), p.map(crate::db::url::percent_decode)),
        None => (String::new(), None),
    };
    Some(Parts { user, password, host, port, database: crate::db::url::percent_decode(database) })
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
    let p = parts(env.raw_url())
        .ok_or_else(|| Error::BadUrl { url: env.url().into(), problem: "cannot read host and database".into() })?;
    std::fs::create_dir_all(&policy.dir).map_err(|e| {
        Error::Backup(format!("cannot create the dump directory {}: {e}\n  nothing was run.", policy.dir.display()))
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let out = policy.dir.join(format!("{}.{stamp}.{why}.sql", p.database));
    let mut cmd = Command::new(&program);
    // The password goes through the environment, never the command line (visible in `ps`).
    if tool == "pg_dump" {
        cmd.arg("--no-password").arg("-h").arg(&p.host).arg("-U").arg(&p.user).arg("-f").arg(&out).arg(&p.database);
        if let Some(port) = &p.port {
            cmd.arg("-p").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("PGPASSWORD", pw);
        }
    } else {
        cmd.arg("--single-transaction").arg("-h").arg(&p.host).arg("-u").arg(&p.user);
        cmd.arg(format!("--result-file={}", out.display())).arg(&p.database);
        if let Some(port) = &p.port {
            cmd.arg("-P").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("MYSQL_PWD", pw);
        }
    }
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

/// Copies the PostgreSQL database at `url` into the (existing, empty) database `into` on the
/// same server with `pg_dump | psql`: for when `CREATE DATABASE ... TEMPLATE` cannot be used
/// because other sessions are connected to the original.
pub(crate) fn pg_copy(url: &str, into: &str) -> Result<()> {
    use std::process::Stdio;
    let masked = crate::db::url::mask_url(url);
    let p = parts(url)
        .ok_or_else(|| Error::BadUrl { url: masked.clone(), problem: "cannot read host and database".into() })?;
    let connect = |cmd: &mut Command| {
        cmd.arg("--no-password").arg("-h").arg(&p.host).arg("-U").arg(&p.user);
        if let Some(port) = &p.port {
            cmd.arg("-p").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("PGPASSWORD", pw);
        }
    };
    let failed = |what: &str, e: String| {
        Error::Backup(format!(
            "could not copy {masked} into the scratch database {into} with pg_dump | psql ({what}): {}\n  the original database was only read.\n  next: install postgresql-client, or rehearse when no other session is connected (then CREATE DATABASE ... TEMPLATE is used)",
            crate::db::url::scrub(&e, url)
        ))
    };
    let mut dump = Command::new("pg_dump");
    connect(&mut dump);
    dump.arg("--no-owner").arg("--no-privileges").arg(&p.database).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut dump = dump.spawn().map_err(|e| failed("starting pg_dump", e.to_string()))?;
    let mut load = Command::new("psql");
    connect(&mut load);
    load.arg("-q").arg("-v").arg("ON_ERROR_STOP=1").arg("-d").arg(into);
    load.stdin(dump.stdout.take().expect("piped")).stdout(Stdio::null()).stderr(Stdio::piped());
    let loaded = load.output().map_err(|e| failed("starting psql", e.to_string()))?;
    let dumped = dump.wait_with_output().map_err(|e| failed("pg_dump", e.to_string()))?;
    if !dumped.status.success() {
        return Err(failed("pg_dump", String::from_utf8_lossy(&dumped.stderr).trim().to_string()));
    }
    if !loaded.status.success() {
        return Err(failed("psql", String::from_utf8_lossy(&loaded.stderr).trim().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_parts() {
        let p = super::parts("postgres://app:s%40cret@db.internal:5433/shop?sslmode=require").unwrap();
        assert_eq!((p.user.as_str(), p.password.as_deref(), p.host.as_str()), ("app", Some("s@cret"), "db.internal"));
        assert_eq!((p.port.as_deref(), p.database.as_str()), (Some("5433"), "shop"));
        let q = super::parts("mysql://root@127.0.0.1/test").unwrap();
        assert_eq!((q.password, q.port, q.database.as_str()), (None, None, "test"));
    }
}
