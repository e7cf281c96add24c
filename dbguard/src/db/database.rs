//! A connection to one database, with its backend and a printable (masked) URL.

use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::db::backend::{self, Backend, ContentHash};
use crate::db::open_mode::OpenMode;
use crate::db::schema::Schema;
use crate::db::url::{mask_url, scrub};
use crate::error::{Error, Result};
use crate::model::kind::BackendKind;

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
    created: bool,
    read_only: bool,
}

/// Everything about the database but the connection, so that code holding the connection in a
/// transaction can still quote, build SQL and report errors.
pub(crate) struct Env {
    pub backend: Box<dyn Backend>,
    masked_url: String,
    raw_url: String,
    /// Told about long work (snapshots, restores, backups): set for the time a guarded
    /// change holds the lock.
    pub progress: crate::model::progress::ProgressHook,
}

impl Env {
    /// Wraps a driver error with context, scrubbing any secret out of it.
    /// The machine fault behind an error, if it is one (see [`Fault`](crate::model::fault::Fault)).
    pub fn fault(&self, e: &sqlx::Error) -> Option<crate::model::fault::Fault> {
        match e {
            sqlx::Error::Database(dbe) => self.backend.fault(dbe.as_ref()),
            e => crate::model::fault::Fault::of_driver(e),
        }
    }

    pub fn error(&self, context: &str, e: sqlx::Error) -> Error {
        let mut message = self.driver_text(&e);
        if let Some(f) = self.fault(&e) {
            message.push_str(&format!(" ({}; next: {})", f.what(), f.next_step(None)));
        }
        Error::Database { context: context.into(), url: self.masked_url.clone(), message }
    }

    /// What the driver said, as a person would want it: the database's own message (with its
    /// detail and hint) without the driver's wrapping, scrubbed of secrets.
    pub fn driver_text(&self, e: &sqlx::Error) -> String {
        match e {
            sqlx::Error::Database(dbe) => {
                let x = self.backend.explain(dbe.as_ref());
                let mut out = x.message;
                for x in x.extra {
                    out.push_str("; ");
                    out.push_str(&x);
                }
                self.scrub(&out)
            }
            other => self.scrub(&clean_driver_text(&other.to_string())),
        }
    }

    /// What the database said about `statement` (its text, and the line and column where it
    /// starts in its file): the message, where it points in the file, detail and hint;
    /// scrubbed of secrets.
    pub fn statement_error(&self, e: &sqlx::Error, statement: (&str, usize, usize)) -> String {
        self.statement_error_after(e, statement, 0)
    }

    /// [`Env::statement_error`] for a statement sent after `sent_before` characters of others in
    /// the same round trip: the server's position counts from the start of what was sent.
    pub fn statement_error_after(
        &self,
        e: &sqlx::Error,
        statement: (&str, usize, usize),
        sent_before: usize,
    ) -> String {
        let sqlx::Error::Database(dbe) = e else { return self.scrub(&e.to_string()) };
        let x = self.backend.explain(dbe.as_ref());
        let mut out = x.message;
        if let Some(p) = x.position.and_then(|p| p.checked_sub(sent_before)).filter(|p| *p > 0) {
            let (text, line, column) = statement;
            let before: String = text.chars().take(p.saturating_sub(1)).collect();
            let newlines = before.matches('\n').count();
            let col = match before.rfind('\n') {
                Some(i) => before[i + 1..].chars().count() + 1,
                None => column + before.chars().count(),
            };
            out.push_str(&format!(" (at line {}, column {col})", line + newlines));
        }
        for x in x.extra {
            out.push_str("; ");
            out.push_str(&x);
        }
        self.scrub(&out)
    }

    /// Removes the password from a message.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.raw_url)
    }

    /// The masked URL.
    pub fn url(&self) -> &str {
        &self.masked_url
    }

    /// The URL with its password, for tools that must connect (never printed).
    pub fn raw_url(&self) -> &str {
        &self.raw_url
    }
}

/// A driver's message without its source locations (`(sqlx-sqlite/src/...:42)`) and repeated
/// prefixes.
fn clean_driver_text(text: &str) -> String {
    let mut out = text.to_string();
    while let Some(start) = out.find(" (sqlx").or_else(|| out.find("(sqlx")) {
        let Some(len) = out[start..].find(')') else { break };
        out.replace_range(start..start + len + 1, "");
    }
    for prefix in ["error with configuration: ", "error communicating with database: "] {
        let twice = format!("{prefix}{prefix}");
        while out.contains(&twice) {
            out = out.replace(&twice, prefix);
        }
    }
    out
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("url", &self.env.masked_url).finish_non_exhaustive()
    }
}

/// The environment variable that sets how long to wait for a server to answer, in seconds.
pub const CONNECT_TIMEOUT_VAR: &str = "DBGUARD_CONNECT_TIMEOUT";

/// How long to wait for a connection: `DBGUARD_CONNECT_TIMEOUT` seconds, 10 by default.
/// A value that is not a number is an error, not the default: a typo must not pass silently.
fn connect_timeout() -> Result<std::time::Duration> {
    let secs = match std::env::var(CONNECT_TIMEOUT_VAR) {
        Err(_) => 10,
        Ok(v) => v.trim().parse::<u64>().map_err(|_| Error::BadSetting {
            name: CONNECT_TIMEOUT_VAR,
            problem: "is not a whole number of seconds".into(),
            next: format!(
                "set it to a number of seconds (`{CONNECT_TIMEOUT_VAR}=30`), or unset it for the default, 10"
            ),
            value: v,
        })?,
    };
    Ok(std::time::Duration::from_secs(secs.max(1)))
}

impl Database {
    /// Connects to an existing database (`sqlite://file.db`, `postgres://...`,
    /// `mysql://...`). A SQLite file that does not exist is an error, not a new empty database
    /// (use [`Database::create_if_missing`] for that); a URL that names no database is refused
    /// before connecting.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url, OpenMode::Existing).await
    }

    /// Like [`Database::connect`], but creates a missing SQLite file; [`Database::created`] then
    /// says so. `cargo dbguard up` opens the database this way and prints the new file's path.
    ///
    /// ```no_run
    /// # async fn run() -> dbguard::Result<()> {
    /// let db = dbguard::Database::create_if_missing("sqlite://app.db").await?;
    /// if db.created() {
    ///     eprintln!("created a new, empty database at {}", db.url());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create_if_missing(url: &str) -> Result<Self> {
        Self::open(url, OpenMode::CreateIfMissing).await
    }

    /// Connects read-only: nothing can be written through this connection (SQLite `mode=ro`,
    /// a read-only session on PostgreSQL and MySQL). A missing SQLite file is an error.
    pub async fn connect_read_only(url: &str) -> Result<Self> {
        Self::open(url, OpenMode::ReadOnly).await
    }

    /// Connects in the given mode.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = backend::for_url(url)?;
        // A SQLite file is only created where the caller asked for it (`up`), whatever the
        // URL's `mode=` says: a mistyped or relative path must not become a new, empty database.
        let file = backend.database_file().map(std::path::Path::to_path_buf);
        let created = match &file {
            Some(f) if !f.exists() => {
                if mode != OpenMode::CreateIfMissing {
                    return Err(Error::DatabaseMissing { path: std::path::absolute(f).unwrap_or(f.clone()) });
                }
                true
            }
            _ => false,
        };
        // A server that never answers (a firewall dropping packets) must not hang a deploy for
        // the minutes the operating system waits.
        let timeout = connect_timeout()?;
        let conn = match tokio::time::timeout(timeout, AnyConnection::connect(&backend.driver_url(url, mode))).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                // The database's own words (no driver wrapping, no server source line).
                let env =
                    Env { backend, masked_url: mask_url(url), raw_url: url.to_string(), progress: Default::default() };
                return Err(Error::Connect { message: env.driver_text(&e), url: env.masked_url });
            }
            Err(_) => {
                return Err(Error::Connect {
                    url: mask_url(url),
                    message: format!(
                        "no answer within {}s (set {CONNECT_TIMEOUT_VAR} to wait longer)",
                        timeout.as_secs()
                    ),
                });
            }
        };
        let mut db = Database {
            conn,
            env: Env { backend, masked_url: mask_url(url), raw_url: url.to_string(), progress: Default::default() },
            created,
            read_only: false,
        };
        for sql in db.env.backend.session_setup() {
            db.session().execute(sql, "setting up the session").await?;
        }
        if mode == OpenMode::ReadOnly {
            if let Some((probe, must_recover)) = db.env.backend.read_only_probe()
                && let Err(e) = db.conn.execute(probe).await
            {
                if !must_recover(&e) {
                    return Err(db.env.error("reading the database", e));
                }
                // Left by a crash: open it writable (recovering is SQLite's own rollback to
                // the last commit), then read-only by session as on every other database.
                let mut db = Box::pin(Self::open(url, OpenMode::Existing)).await?;
                db.conn.execute(probe).await.map_err(|e| db.env.error("recovering the database", e))?;
                return db.into_read_only().await;
            }
            return db.into_read_only().await;
        }
        Ok(db)
    }

    async fn into_read_only(mut self) -> Result<Self> {
        let (on, _) = self.env.backend.read_only_session();
        self.session().execute(on, "making the session read-only").await?;
        self.read_only = true;
        Ok(self)
    }

    /// Whether opening it created the SQLite file (a new, empty database).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Whether it was opened read-only ([`Database::connect_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Runs `f` with the session read-only (SQLite `PRAGMA query_only`, PostgreSQL and MySQL a
    /// read-only session): whatever `f` runs, it cannot write. Writable again afterwards
    /// (unless the connection was opened read-only).
    pub(crate) async fn read_only<T>(&mut self, f: impl AsyncFnOnce(&mut Database) -> Result<T>) -> Result<T> {
        if self.read_only {
            return f(self).await;
        }
        let (on, off) = self.env.backend.read_only_session();
        self.session().execute(on, "making the session read-only").await?;
        self.read_only = true;
        let result = f(self).await;
        let restored = self.session().execute(off, "making the session writable again").await;
        self.read_only = false;
        let value = result?;
        restored?;
        Ok(value)
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
        self.session().execute(sql, "running SQL").await
    }

    /// Runs a query returning one integer (`SELECT COUNT(*) ...`). Unprepared: one round trip.
    pub async fn query_i64(&mut self, sql: &str) -> Result<i64> {
        self.session().query_i64(sql, "running a query").await
    }

    /// Whether a table exists (in the current schema/database).
    pub async fn table_exists(&mut self, table: &str) -> Result<bool> {
        self.session().table_exists(table).await
    }

    /// Every table of the current schema (PostgreSQL) or database, dbguard's own included,
    /// sorted by name.
    pub async fn tables(&mut self) -> Result<Vec<String>> {
        let sql = self.env.backend.list_tables_sql();
        self.session().strings(sql, "listing the tables").await
    }

    /// The number of rows in `table`.
    pub async fn count_rows(&mut self, table: &str) -> Result<i64> {
        self.session().count(table).await
    }

    /// The column names of `table`, in table order (empty when it does not exist).
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>> {
        self.session().columns(table).await
    }

    /// A checksum of a table's rows that does not depend on their order: equal for two tables
    /// with the same rows (the same multiset of values in the same columns).
    ///
    /// ```no_run
    /// # async fn run(db: &mut dbguard::Database) -> dbguard::Result<()> {
    /// let before = db.content_checksum("users").await?;
    /// // ... a migration and a restore later:
    /// assert_eq!(db.content_checksum("users").await?, before);
    /// # Ok(()) }
    /// ```
    pub async fn content_checksum(&mut self, table: &str) -> Result<String> {
        let mut s = self.session();
        let cols = s.columns(table).await?;
        s.content_checksum(table, &cols).await
    }

    /// The schema as it is now (tables, columns, indexes, constraints, views, triggers,
    /// functions), without dbguard's own tables.
    pub async fn introspect(&mut self) -> Result<Schema> {
        self.session().introspect().await
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

    /// The connection and its environment, for code shared with transactions.
    pub(crate) fn session(&mut self) -> Session<'_> {
        Session { env: &self.env, conn: &mut self.conn }
    }
}

/// A connection (possibly inside a transaction) with what is needed to build SQL for it and to
/// report its errors: the queries the guards run, written once for every backend.
pub(crate) struct Session<'a> {
    pub env: &'a Env,
    pub conn: &'a mut AnyConnection,
}

impl Session<'_> {
    fn quote(&self, ident: &str) -> String {
        self.env.backend.quote(ident)
    }

    /// Runs SQL, returning the rows affected.
    pub async fn execute(&mut self, sql: &str, context: &str) -> Result<u64> {
        let done = self
            .conn
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|e| self.env.error(context, e))?;
        Ok(done.rows_affected())
    }

    /// Runs an `INSERT ... SELECT` whose condition is a statement's own (or made to match the
    /// rows a statement changes), evaluated as in that statement (see
    /// [`Backend::copy_as_statement`]); the session's settings are put back whatever happens.
    pub async fn copy_matching(&mut self, sql: &str, context: &str) -> Result<u64> {
        let Some((relax, restore)) = self.env.backend.copy_as_statement() else {
            return self.execute(sql, context).await;
        };
        self.execute(relax, context).await?;
        let copied = self.execute(sql, context).await;
        self.execute(restore, context).await?;
        copied
    }

    /// Runs a query returning one integer.
    pub async fn query_i64(&mut self, sql: &str, context: &str) -> Result<i64> {
        let row = self
            .conn
            .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|e| self.env.error(context, e))?;
        row.try_get::<i64, _>(0).map_err(|e| self.env.error(context, e))
    }

    /// Runs a query the guard built from a migration's own text (its condition, its columns):
    /// the server's message when it refuses it, with the transaction around it as it was (where
    /// a failure would abort it, the query runs inside a savepoint). A lost connection is an
    /// error.
    pub async fn probe_i64(&mut self, sql: &str, context: &str) -> Result<std::result::Result<i64, String>> {
        // Outside a transaction the savepoint is refused, and nothing needs it.
        let saved = self.env.backend.failure_aborts_transaction()
            && self.conn.execute(sqlx::raw_sql("SAVEPOINT dbguard_probe")).await.is_ok();
        let got = self.conn.fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await;
        if saved {
            let end = match got {
                Ok(_) => "RELEASE SAVEPOINT dbguard_probe",
                Err(_) => "ROLLBACK TO SAVEPOINT dbguard_probe; RELEASE SAVEPOINT dbguard_probe",
            };
            self.execute(end, context).await?;
        }
        match got {
            Ok(row) => Ok(Ok(row.try_get::<i64, _>(0).map_err(|e| self.env.error(context, e))?)),
            Err(sqlx::Error::Database(e)) => Ok(Err(self.env.scrub(e.message()))),
            Err(e) => Err(self.env.error(context, e)),
        }
    }

    /// Runs a query with one text parameter, returning the first column of each row as text.
    pub async fn texts(&mut self, sql: String, param: &str, context: &str) -> Result<Vec<String>> {
        let rows = self.conn.fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(param.to_string())).await;
        self.first_column(rows, context)
    }

    /// Runs a query without parameters, returning the first column of each row as text.
    pub async fn strings(&mut self, sql: &str, context: &str) -> Result<Vec<String>> {
        let rows = self.conn.fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await;
        self.first_column(rows, context)
    }

    /// Runs a query with one text parameter, returning the first two columns of each row.
    pub async fn text_pairs(&mut self, sql: &str, param: &str, context: &str) -> Result<Vec<(String, String)>> {
        let rows = self.conn.fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(param.to_string())).await;
        self.two_columns(rows, context)
    }

    /// Runs a query without parameters, returning the first two columns of each row as text.
    pub async fn string_pairs(&mut self, sql: &str, context: &str) -> Result<Vec<(String, String)>> {
        let rows = self.conn.fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))).await;
        self.two_columns(rows, context)
    }

    fn two_columns(
        &self,
        rows: std::result::Result<Vec<sqlx::any::AnyRow>, sqlx::Error>,
        context: &str,
    ) -> Result<Vec<(String, String)>> {
        let rows = rows.map_err(|e| self.env.error(context, e))?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.env.error(context, e))
    }

    /// The generated columns of `table` (see `Backend::generated_columns_sql`).
    pub async fn generated_columns(&mut self, table: &str) -> Result<Vec<String>> {
        let sql = self.env.backend.generated_columns_sql().to_string();
        self.texts(sql, table, &format!("reading the generated columns of {table}")).await
    }

    /// The columns of `table` whose types (or collations) the database defines, with their
    /// types (see `Backend::defined_type_columns_sql`); none where there are no such types.
    pub async fn defined_type_columns(&mut self, table: &str) -> Result<Vec<(String, String)>> {
        match self.env.backend.defined_type_columns_sql() {
            Some(sql) => self.text_pairs(sql, table, &format!("reading the column types of {table}")).await,
            None => Ok(Vec::new()),
        }
    }

    fn first_column(&self, rows: Result<Vec<sqlx::any::AnyRow>, sqlx::Error>, context: &str) -> Result<Vec<String>> {
        let rows = rows.map_err(|e| self.env.error(context, e))?;
        rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>().map_err(|e| self.env.error(context, e))
    }

    /// The schema as it is now, without dbguard's own tables.
    pub async fn introspect(&mut self) -> Result<Schema> {
        let mut objects = Vec::new();
        for sql in self.env.backend.introspection_queries() {
            let rows =
                self.conn.fetch_all(sqlx::raw_sql(*sql)).await.map_err(|e| self.env.error("reading the schema", e))?;
            for row in rows {
                let get = |i| row.try_get::<String, _>(i).unwrap_or_default();
                objects.push([get(0), get(1), get(2), get(3)]);
            }
        }
        Ok(Schema::from_objects(objects))
    }

    /// Each object's state, by the table it belongs to (see
    /// [`crate::model::resume::object_states`]): kept before a statement that commits itself,
    /// to tell afterwards whether it ran.
    pub async fn object_states(&mut self) -> Result<crate::model::resume::States> {
        let schema = self.introspect().await?;
        let mut identities = Vec::new();
        for sql in self.env.backend.table_identities_sql() {
            // The first query this server knows; none is fine (less to tell tables apart by).
            if let Ok(rows) = self.conn.fetch_all(sqlx::raw_sql(*sql)).await {
                for row in rows {
                    let get = |i| row.try_get::<String, _>(i).unwrap_or_default();
                    identities.push((get(0), get(1)));
                }
                break;
            }
        }
        Ok(crate::model::resume::object_states(schema.objects(), &identities))
    }

    /// The schema unqualified names resolve to, where the database has schemas inside a
    /// database (PostgreSQL): `Some("")` when none of the search path exists.
    pub async fn current_schema(&mut self) -> Result<Option<String>> {
        let Some(sql) = self.env.backend.current_schema_sql() else { return Ok(None) };
        Ok(Some(self.strings(sql, "reading the current schema").await?.into_iter().next().unwrap_or_default()))
    }

    /// Where dbguard keeps its tables and unqualified names resolve (see `Backend::home_sql`):
    /// the schema (database), `Some("")` when there is none; `None` where nothing can move it.
    pub async fn home(&mut self) -> Result<Option<String>> {
        let Some(sql) = self.env.backend.home_sql() else { return Ok(None) };
        Ok(Some(
            self.strings(sql, "reading the schema dbguard keeps its tables in")
                .await?
                .into_iter()
                .next()
                .unwrap_or_default(),
        ))
    }

    /// The user's tables (not dbguard's own), by name.
    pub async fn user_tables(&mut self) -> Result<Vec<String>> {
        let sql = self.env.backend.list_tables_sql();
        let all = self.strings(sql, "listing the tables").await?;
        Ok(all.into_iter().filter(|t| !t.starts_with("dbguard_")).collect())
    }

    /// The tables whose rows change when rows of `table` go (see
    /// `Backend::referencing_tables_sql`).
    pub async fn referencing_tables(&mut self, table: &str, every: bool) -> Result<Vec<String>> {
        let sql = self.env.backend.referencing_tables_sql(every);
        self.texts(sql, table, &format!("reading the foreign keys that reference {table}")).await
    }

    /// `table` quoted, as its own rows (without those of tables inheriting from it).
    pub async fn own_rows(&mut self, table: &str) -> Result<String> {
        let quoted = self.quote(table);
        Ok(match self.inheriting_tables(table).await?.is_empty() {
            true => quoted,
            false => self.env.backend.own_rows(&quoted),
        })
    }

    /// The tables of the current schema that inherit from `table` (see
    /// `Backend::inheriting_tables_sql`).
    pub async fn inheriting_tables(&mut self, table: &str) -> Result<Vec<String>> {
        match self.env.backend.inheriting_tables_sql(true) {
            Some(sql) => self.texts(sql, table, &format!("reading the tables that inherit from {table}")).await,
            None => Ok(Vec::new()),
        }
    }

    /// `(schema, table)` of the tables of other schemas that inherit from `table`.
    pub async fn inheriting_elsewhere(&mut self, table: &str) -> Result<Vec<(String, String)>> {
        match self.env.backend.inheriting_tables_sql(false) {
            Some(sql) => self.text_pairs(&sql, table, &format!("reading the tables that inherit from {table}")).await,
            None => Ok(Vec::new()),
        }
    }

    /// The query and its parameter finding the tables that lose columns (or go) when `object`
    /// is dropped: here (names) or elsewhere (`(schema, table)`); `None` when the database
    /// cannot tell.
    fn depending_sql(&self, object: &dbguard_lint::Cascade, here: bool) -> Option<Vec<(String, String)>> {
        use dbguard_lint::Cascade;
        let b = &self.env.backend;
        match object {
            Cascade::Type(n) => b.tables_using_type_sql(here).map(|sql| vec![(sql, n.clone())]),
            Cascade::Extension(n) => b.tables_using_extension_sql(here).map(|sql| vec![(sql, n.clone())]),
            Cascade::Collation(n) => b.tables_using_collation_sql(here).map(|sql| vec![(sql, n.clone())]),
            // Where schemas hold no types (MySQL, SQLite), nothing outside one depends on it.
            Cascade::Schema(n) => {
                Some(b.tables_using_schema_sql(here).map(|sql| vec![(sql, n.clone())]).unwrap_or_default())
            }
            Cascade::Owned(roles) => {
                b.tables_owned_sql(here).map(|sql| roles.iter().map(|r| (sql.clone(), r.clone())).collect())
            }
            Cascade::Unknown(_) | Cascade::Routine(_) => None,
        }
    }

    /// The tables that lose columns when `object` is dropped with CASCADE (or go, for `DROP
    /// OWNED BY`); every table when the database cannot tell.
    pub async fn tables_depending_on(&mut self, object: &dbguard_lint::Cascade) -> Result<Vec<String>> {
        let Some(queries) = self.depending_sql(object, true) else { return self.user_tables().await };
        let mut out = Vec::new();
        for (sql, param) in queries {
            out.extend(self.texts(sql, &param, "reading what depends on a dropped object").await?);
        }
        Ok(out)
    }

    /// `(schema, table)` of the tables of other schemas that lose columns, or go, when `object`
    /// is dropped.
    pub async fn depending_elsewhere(&mut self, object: &dbguard_lint::Cascade) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (sql, param) in self.depending_sql(object, false).unwrap_or_default() {
            out.extend(self.text_pairs(&sql, &param, "reading what depends on a dropped object").await?);
        }
        Ok(out)
    }

    pub async fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = self.env.backend.table_exists_sql();
        Ok(!self.texts(sql, table, "checking whether a table exists").await?.is_empty())
    }

    /// Whether an UPDATE of `table` may change more than the columns it sets (a trigger, a
    /// column that updates itself).
    pub async fn rewrites_on_update(&mut self, table: &str) -> Result<bool> {
        let sql = self.env.backend.rewrites_on_update_sql().to_string();
        Ok(!self.texts(sql, table, &format!("looking for triggers on {table}")).await?.is_empty())
    }

    /// The tables named `table` in other schemas or databases: `(schema, name)`.
    pub async fn tables_elsewhere(&mut self, table: &str) -> Result<Vec<(String, String)>> {
        let sql = self.env.backend.tables_elsewhere_sql();
        self.text_pairs(sql, table, "looking for tables of that name in other schemas").await
    }

    /// The tables of a schema (database): `(schema, name)`.
    pub async fn tables_in_schema(&mut self, schema: &str) -> Result<Vec<(String, String)>> {
        let sql = self.env.backend.tables_in_schema_sql();
        self.text_pairs(sql, schema, &format!("listing the tables of {schema}")).await
    }

    /// The tables of other schemas whose rows go or change with `table`'s (see
    /// `Backend::referencing_elsewhere_sql`).
    pub async fn referencing_elsewhere(&mut self, table: &str, every: bool) -> Result<Vec<(String, String)>> {
        let sql = self.env.backend.referencing_elsewhere_sql(every);
        self.text_pairs(&sql, table, &format!("looking for tables of other schemas referencing {table}")).await
    }

    /// The user routines (functions, procedures) named `name`, in any schema: their schema
    /// (empty for the current one) and body.
    pub async fn routine_bodies(&mut self, schema: &str, name: &str) -> Result<Vec<(String, String)>> {
        let context = format!("reading the routines named {name}");
        if schema.is_empty() {
            return self.text_pairs(self.env.backend.routine_bodies_sql(false), name, &context).await;
        }
        let sql = self.env.backend.routine_bodies_sql(true);
        let rows = self
            .conn
            .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name.to_string()).bind(schema.to_string()))
            .await;
        self.two_columns(rows, &context)
    }

    /// The bodies of the triggers on `table` (what they run).
    pub async fn trigger_bodies(&mut self, table: &str) -> Result<Vec<String>> {
        let sql = self.env.backend.trigger_bodies_sql().to_string();
        self.texts(sql, table, &format!("reading the triggers on {table}")).await
    }

    /// The schemas of the database (empty where there are none).
    pub async fn schemas(&mut self) -> Result<Vec<String>> {
        self.strings_if(self.env.backend.schemas_sql(), "listing the schemas").await
    }

    /// [`Session::strings`] of a query the backend may not have: none without it.
    async fn strings_if(&mut self, sql: Option<&str>, context: &str) -> Result<Vec<String>> {
        match sql {
            Some(sql) => self.strings(sql, context).await,
            None => Ok(Vec::new()),
        }
    }

    /// The routines users made, `(schema, name)` (see `Backend::routine_names_sql`).
    pub async fn routine_names(&mut self) -> Result<Vec<(String, String)>> {
        match self.env.backend.routine_names_sql() {
            Some(sql) => self.string_pairs(sql, "listing the functions and procedures").await,
            None => Ok(Vec::new()),
        }
    }

    /// The views of the current schema.
    pub async fn views(&mut self) -> Result<Vec<String>> {
        let sql = self.env.backend.views_sql();
        self.strings(sql, "listing the views").await
    }

    /// The definition of the view `name` of the current schema (`None`: no such view).
    pub async fn view_definition(&mut self, name: &str) -> Result<Option<String>> {
        let sql = self.env.backend.view_definition_sql().to_string();
        Ok(self.texts(sql, name, &format!("reading the definition of the view {name}")).await?.into_iter().next())
    }

    /// What the server evaluates for each row inserted into `table` (see
    /// `Backend::insert_expressions_sql`).
    pub async fn insert_expressions(&mut self, table: &str) -> Result<Vec<String>> {
        match self.env.backend.insert_expressions_sql() {
            Some(sql) => {
                self.texts(sql.to_string(), table, &format!("reading what {table} computes for its rows")).await
            }
            None => Ok(Vec::new()),
        }
    }

    /// The bodies of the enabled event triggers (see `Backend::event_trigger_bodies_sql`).
    pub async fn event_trigger_bodies(&mut self) -> Result<Vec<String>> {
        self.strings_if(self.env.backend.event_trigger_bodies_sql(), "reading the event triggers").await
    }

    /// The tables (and views) of the current schema that have triggers or rules.
    pub async fn triggered_tables(&mut self) -> Result<Vec<String>> {
        let sql = self.env.backend.triggered_tables_sql();
        self.strings(sql, "listing the tables with triggers").await
    }

    /// Whether `name` is a view of the current schema.
    pub async fn is_view(&mut self, name: &str) -> Result<bool> {
        let sql = self.env.backend.view_exists_sql().to_string();
        Ok(!self.texts(sql, name, &format!("checking whether {name} is a view")).await?.is_empty())
    }

    /// Whether `schema.table` (another schema's table) has no row.
    pub async fn is_empty_in(&mut self, schema: &str, table: &str) -> Result<bool> {
        let name = format!("{}.{}", self.quote(schema), self.quote(table));
        let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {name} LIMIT 1) dbguard_any");
        Ok(self.query_i64(&sql, &format!("checking whether {schema}.{table} has rows")).await? == 0)
    }

    /// About how many rows `table` has, for progress lines: the planner's estimate where the
    /// database keeps one, else a count. Only asked when someone shows progress; `None` when
    /// it cannot tell.
    pub async fn estimated_rows(&mut self, table: &str) -> Option<u64> {
        if !self.env.progress.is_set() {
            return None;
        }
        let n = match self.env.backend.estimated_rows_sql() {
            Some(sql) => {
                self.texts(sql.into(), table, "estimating a table's rows").await.ok()?.first()?.parse().ok()?
            }
            None => self.count(table).await.ok()?,
        };
        u64::try_from(n).ok()
    }

    pub async fn count(&mut self, table: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.own_rows(table).await?);
        self.query_i64(&sql, &format!("counting the rows of {table}")).await
    }

    /// The columns of `table`'s primary key, in key order; empty when it has none.
    pub async fn primary_key(&mut self, table: &str) -> Result<Vec<String>> {
        let sql = self.env.backend.primary_key_sql();
        self.texts(sql, table, &format!("reading the primary key of {table}")).await
    }

    /// Whether `table` has no row, without counting them all.
    pub async fn is_empty(&mut self, table: &str) -> Result<bool> {
        let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {} LIMIT 1) dbguard_any", self.quote(table));
        Ok(self.query_i64(&sql, &format!("checking whether {table} has rows")).await? == 0)
    }

    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>> {
        let sql = self.env.backend.columns_sql();
        self.texts(sql, table, &format!("reading the columns of {table}")).await
    }

    /// An order-independent checksum of `cols` over every row of `table`: `count:sum`, where the
    /// sum adds a 60-bit hash of each row's text.
    pub async fn content_checksum(&mut self, table: &str, cols: &[String]) -> Result<String> {
        let from = self.quote(table);
        self.content_checksum_from(&from, cols, &format!("computing a checksum of {table}")).await
    }

    /// [`Session::content_checksum`] over `from`, SQL for a table or an aliased subquery.
    pub async fn content_checksum_from(&mut self, from: &str, cols: &[String], context: &str) -> Result<String> {
        let context = context.to_string();
        let quoted: Vec<String> = cols.iter().map(|c| self.quote(c)).collect();
        match self.env.backend.content_hash(from, &quoted) {
            ContentHash::Aggregate(sql) => {
                let row = self
                    .conn
                    .fetch_one(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
                    .await
                    .map_err(|e| self.env.error(&context, e))?;
                row.try_get::<String, _>(0).map_err(|e| self.env.error(&context, e))
            }
            ContentHash::RowTexts(sql) => {
                use futures_util::TryStreamExt;
                let mut rows = self.conn.fetch(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)));
                let (mut count, mut sum) = (0u64, 0u128);
                while let Some(row) = rows.try_next().await.map_err(|e| self.env.error(&context, e))? {
                    let text: String = row.try_get(0).map_err(|e| self.env.error(&context, e))?;
                    count += 1;
                    sum = sum.wrapping_add(u128::from(row_hash(&text)));
                }
                Ok(format!("{count}:{sum}"))
            }
        }
    }
}

/// The first 60 bits of a row text's SHA-256, as the server-side hashes give.
fn row_hash(text: &str) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(text.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) >> 4
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_text_loses_source_locations_and_repeats() {
        assert_eq!(
            super::clean_driver_text(
                "error with configuration: error with configuration: bad port (sqlx-core/src/url.rs:42)"
            ),
            "error with configuration: bad port"
        );
        assert_eq!(super::clean_driver_text("connection refused"), "connection refused");
    }
}
