//! Whole databases: a throwaway copy for `rehearse`, and drop-and-recreate for `reset`.
//!
//! The copy only ever reads the original: SQLite `VACUUM INTO`, PostgreSQL
//! `CREATE DATABASE ... TEMPLATE` (or `pg_dump | psql` when the original is in use), MySQL
//! `SHOW CREATE TABLE` and `INSERT ... SELECT` into a scratch schema.

use std::path::PathBuf;

use sqlx::{Executor, Row};

use crate::db::backend::{self, CopyMethod};
use crate::db::database::Database;
use crate::db::url::{mask_url, url_with_database};
use crate::error::{Error, Result};

/// A scratch database: dropped with [`Scratch::drop`].
#[derive(Debug)]
pub(crate) struct Scratch {
    /// Its URL (with the original's credentials).
    pub url: String,
    place: Place,
    /// The original does not exist yet: the scratch database starts empty.
    pub from_empty: bool,
}

#[derive(Debug)]
enum Place {
    File(PathBuf),
    Server { admin_url: String, name: String },
}

fn bad_url(url: &str) -> Error {
    Error::BadUrl { url: mask_url(url), problem: "unknown or missing scheme".into() }
}

/// A name for a scratch database beside `original`, unique and short enough for the server.
fn scratch_name(original: &str, max: usize) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S%3f");
    let suffix = format!("_rehearse_{stamp}_{}", std::process::id());
    let keep = max.saturating_sub(suffix.len());
    let base: String = original.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(keep).collect();
    format!("{base}{suffix}")
}

/// Copies the database at `url` into a new scratch database, reading the original only.
pub(crate) async fn scratch_copy(url: &str) -> Result<Scratch> {
    let b = backend::for_url(url)?;
    match b.copy_method() {
        CopyMethod::VacuumInto => {
            let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S%3f");
            let path = std::env::temp_dir().join(format!("dbguard-rehearse-{stamp}-{}.db", std::process::id()));
            let original = b.database_file().map(PathBuf::from);
            // A missing file is an empty database: rehearse from empty, without creating it.
            let from_empty = !original.as_ref().is_some_and(|f| f.exists());
            if let Some(file) = original.filter(|f| f.exists()) {
                let mut db = Database::connect(url).await?;
                let target = path.display().to_string().replace('\'', "''");
                db.execute(&format!("VACUUM INTO '{target}'"))
                    .await
                    .map_err(|e| Error::Backup(format!("could not copy {} for the rehearsal: {e}", file.display())))?;
                db.close().await?;
            }
            Ok(Scratch { url: format!("sqlite://{}", path.display()), place: Place::File(path), from_empty })
        }
        CopyMethod::Template => {
            let admin_url = b.admin_url(url).ok_or_else(|| bad_url(url))?;
            let original = crate::db::url::database_name(url);
            let name = scratch_name(&original, b.max_identifier_len());
            let mut admin = Database::connect(&admin_url).await?;
            let (q, qo) = (b.quote(&name), b.quote(&original));
            let scratch = Scratch {
                url: url_with_database(url, &name),
                place: Place::Server { admin_url, name: name.clone() },
                from_empty: false,
            };
            if let Err(e) = admin.execute(&format!("CREATE DATABASE {q} TEMPLATE {qo}")).await {
                if !b.copy_refused_while_in_use(&e.to_string()) {
                    return Err(e);
                }
                admin.execute(&format!("CREATE DATABASE {q}")).await?;
                admin.close().await?;
                if let Err(e) = b.copy_with_client_tools(url, &name) {
                    scratch.drop().await?;
                    return Err(e);
                }
                return Ok(scratch);
            }
            admin.close().await?;
            Ok(scratch)
        }
        CopyMethod::TableByTable { list } => {
            let original = crate::db::url::database_name(url);
            let name = scratch_name(&original, b.max_identifier_len());
            let mut db = Database::connect(url).await?;
            db.execute(&format!("CREATE DATABASE {}", b.quote(&name))).await?;
            let scratch = Scratch {
                url: url_with_database(url, &name),
                place: Place::Server { admin_url: url.to_string(), name: name.clone() },
                from_empty: false,
            };
            let copied = copy_tables(&mut db, &scratch.url, &original, list).await;
            db.close().await?;
            if let Err(e) = copied {
                scratch.drop().await?;
                return Err(e);
            }
            Ok(scratch)
        }
    }
}

/// Re-creates each base table of `original` (read through `db`) in the database at `into`.
async fn copy_tables(db: &mut Database, into: &str, original: &str, list: &str) -> Result<()> {
    let tables = db.session().strings(list, "listing the tables to copy").await?;
    let mut scratch = Database::connect(into).await?;
    // Tables are created in name order, so foreign keys may point at tables not made yet.
    scratch.execute("SET FOREIGN_KEY_CHECKS = 0").await?;
    for t in &tables {
        let q = db.quote(t);
        let sql = format!("SHOW CREATE TABLE {q}");
        let row = db
            .conn
            .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
            .await
            .map_err(|e| db.db_error(&format!("reading the definition of {t}"), e))?;
        let create: String = row.try_get(1).map_err(|e| db.db_error(&format!("reading the definition of {t}"), e))?;
        scratch.execute(&create).await?;
        scratch.execute(&format!("INSERT INTO {q} SELECT * FROM {}.{q}", db.quote(original))).await?;
    }
    scratch.close().await
}

impl Scratch {
    /// Removes the scratch database.
    pub(crate) async fn drop(self) -> Result<()> {
        match self.place {
            Place::File(path) => {
                remove_sqlite_files(&path);
                Ok(())
            }
            Place::Server { admin_url, name } => {
                let mut admin = Database::connect(&admin_url).await?;
                let sql = admin.env.backend.drop_database_sql(&admin.quote(&name));
                admin.execute(&sql).await?;
                admin.close().await
            }
        }
    }
}

/// Removes a SQLite database file with its journal files and dbguard's lock file.
fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".dbguard.lock"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Drops the database at `url` and creates it again, empty (a SQLite file is removed; the
/// driver creates it on the next connection).
pub(crate) async fn recreate(url: &str) -> Result<()> {
    let b = backend::for_url(url)?;
    if let Some(file) = b.database_file() {
        remove_sqlite_files(file);
        return Ok(());
    }
    let admin_url = b.admin_url(url).ok_or_else(|| bad_url(url))?;
    let name = crate::db::url::database_name(url);
    let mut admin = Database::connect(&admin_url).await?;
    let q = b.quote(&name);
    admin.execute(&b.drop_database_sql(&q)).await?;
    admin.execute(&format!("CREATE DATABASE {q}")).await?;
    admin.close().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn scratch_names_fit_and_differ_from_the_original() {
        let n = super::scratch_name(&"x".repeat(80), 63);
        assert!(n.len() <= 63 && n.contains("_rehearse_"), "{n}");
        assert!(super::scratch_name("shop-db", 63).starts_with("shopdb_rehearse_"));
    }
}
