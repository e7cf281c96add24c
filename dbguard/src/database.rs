//! A connection to one database, with its backend and a printable (masked) URL.

use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::backend::{self, Backend};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::url::{BackendKind, mask_url, scrub};

/// A connection to the database being migrated.
///
/// ```no_run
/// # async fn run() -> dbguard::Result<()> {
/// let mut db = dbguard::Database::connect("sqlite://app.db").await?;
/// println!("{} at {}", db.kind(), db.url()); // the URL is printed without its password
/// # Ok(()) }
/// ```
pub struct Database {
    pub(crate) conn: AnyConnection,
    pub(crate) env: Env,
}

/// Everything about the database but the connection, so that code holding the connection in a
/// transaction can still quote, build SQL and report errors.
pub(crate) struct Env {
    pub backend: Box<dyn Backend>,
    masked_url: String,
    raw_url: String,
}

impl Env {
    /// Wraps a driver error with context, scrubbing any secret out of it.
    pub fn error(&self, context: &str, e: sqlx::Error) -> Error {
        Error::Database { context: context.into(), url: self.masked_url.clone(), message: self.scrub(&e.to_string()) }
    }

    /// Removes the password from a message.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.raw_url)
    }

    /// The masked URL.
    pub fn url(&self) -> &str {
        &self.masked_url
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("url", &self.env.masked_url).finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to `url` (`sqlite://file.db`, `postgres://...`, `mysql://...`). A SQLite file is
    /// created if it does not exist.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = backend::for_url(url)
            .ok_or_else(|| Error::BadUrl { url: mask_url(url), problem: "unknown or missing scheme".into() })?;
        let conn = AnyConnection::connect(&backend.driver_url(url))
            .await
            .map_err(|e| Error::Connect { url: mask_url(url), message: scrub(&e.to_string(), url) })?;
        Ok(Database { conn, env: Env { backend, masked_url: mask_url(url), raw_url: url.to_string() } })
    }

    /// Which database family this is.
    pub fn kind(&self) -> BackendKind {
        self.env.backend.kind()
    }

    /// The URL with any password replaced by `***`.
    pub fn url(&self) -> &str {
        self.env.url()
    }

    /// Quotes an identifier for this database.
    pub fn quote(&self, ident: &str) -> String {
        self.env.backend.quote(ident)
    }

    /// Runs SQL (one or more statements), returning the rows affected.
    pub async fn execute(&mut self, sql: &str) -> Result<u64> {
        let done = self
            .conn
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|e| self.db_error("running SQL", e))?;
        Ok(done.rows_affected())
    }

    /// Runs a query returning one integer (`SELECT COUNT(*) ...`). Unprepared: one round trip.
    pub async fn query_i64(&mut self, sql: &str) -> Result<i64> {
        let row = self
            .conn
            .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|e| self.db_error("running a query", e))?;
        row.try_get::<i64, _>(0).map_err(|e| self.db_error("reading a query result", e))
    }

    /// Whether a table exists (in the current schema/database).
    pub async fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = self.env.backend.table_exists_sql();
        let row = self
            .conn
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(table.to_string()))
            .await
            .map_err(|e| self.db_error("checking whether a table exists", e))?;
        Ok(row.is_some())
    }

    /// The schema as it is now (tables, columns, indexes, constraints, views, triggers,
    /// functions), without dbguard's own tables.
    pub async fn introspect(&mut self) -> Result<Schema> {
        let mut objects = Vec::new();
        for sql in self.env.backend.introspection_queries() {
            let rows =
                self.conn.fetch_all(sqlx::raw_sql(*sql)).await.map_err(|e| self.db_error("reading the schema", e))?;
            for row in rows {
                let get = |i| row.try_get::<String, _>(i).unwrap_or_default();
                objects.push([get(0), get(1), get(2), get(3)]);
            }
        }
        Ok(Schema::from_objects(objects))
    }

    /// Closes the connection.
    pub async fn close(self) -> Result<()> {
        let url = self.env.masked_url.clone();
        self.conn.close().await.map_err(|e| Error::Database {
            context: "closing the connection".into(),
            url,
            message: e.to_string(),
        })
    }

    pub(crate) fn db_error(&self, context: &str, e: sqlx::Error) -> Error {
        self.env.error(context, e)
    }
}
