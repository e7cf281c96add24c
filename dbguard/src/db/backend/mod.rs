//! What differs between databases, one file per backend behind one small trait.
//!
//! The trait only *describes* a backend (SQL text, quoting, how to lock); the generic code in
//! [`crate::history`], [`crate::lock`], [`crate::schema`] and [`crate::migrator`] runs it, so
//! no `match` on the database kind is needed anywhere else.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::path::PathBuf;
use std::pin::Pin;

use crate::db::open_mode::OpenMode;
use crate::model::kind::BackendKind;

#[cfg(feature = "mysql")]
pub(crate) use mysql::Mysql;
#[cfg(feature = "postgres")]
pub(crate) use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub(crate) use sqlite::Sqlite;

/// How a backend keeps two runners from migrating at once.
#[allow(dead_code)] // each variant serves some backends; a build without them leaves it unused
#[derive(Debug, Clone)]
pub(crate) enum LockMethod {
    /// A session-level lock in the server, released when the connection closes (so a crashed
    /// runner cannot wedge the next one). `acquire` returns 1 when taken, 0 when busy.
    Sql { acquire: String, release: String },
    /// An OS file lock beside the database file, released by the kernel when the process dies.
    File(PathBuf),
    /// Nothing can race (an in-memory database lives in one connection).
    None,
}

/// How a later runner tells that the runner holding the migration lock is gone while its
/// statement still runs on the server, and ends that statement (see [`Backend::stale_runner`]).
pub(crate) struct StaleRunner {
    /// Returns this session's id.
    pub session_id: &'static str,
    /// Run on the alive connection first: an idle connection the server would close after
    /// a while (`wait_timeout`) would make a live runner look gone.
    pub keep_open: &'static str,
    /// Takes the "alive" lock of session `id`, on a second connection that stays idle: the
    /// server releases it the moment the runner's process dies (an idle connection's close is
    /// seen at once), whatever its other connection is still running. Returns 1 when taken
    /// (waiting a few seconds for a closing connection of an earlier run to let go).
    pub alive: fn(i64) -> String,
    /// Returns the id of the session holding the migration lock (0 when free).
    pub holder: String,
    /// Releases the alive lock of session `id` (before its connection closes, so that the
    /// next run on the same session can take it at once).
    pub release: fn(i64) -> String,
    /// Returns 1 when the alive lock of session `id` is free: its runner is gone.
    pub gone: fn(i64) -> String,
    /// Ends session `id`: its statement is rolled back or stopped, its locks released.
    pub end: fn(i64) -> String,
}

/// How a backend computes an order-independent checksum of a table's rows.
#[allow(dead_code)] // each variant serves some backends; a build without them leaves it unused
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContentHash {
    /// One query returning one text, `count:sum`, computed by the server.
    Aggregate(String),
    /// A query returning one text per row, hashed and summed by dbguard (SQLite has no hash
    /// function; it runs in-process, so streaming the rows costs no network).
    RowTexts(String),
}

/// A query that reads, and whether its error means the database must recover by writing
/// (see [`Backend::read_only_probe`]).
pub(crate) type ReadOnlyProbe = (&'static str, fn(&sqlx::Error) -> bool);

/// What [`Backend::run_script`] returns: the run of a step's batches.
pub(crate) type Script<'a> =
    Pin<Box<dyn std::future::Future<Output = crate::error::Result<Option<String>>> + Send + 'a>>;

/// The database-specific parts of dbguard.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> BackendKind;

    /// Quotes an identifier for this database, doubling embedded quote characters.
    fn quote(&self, ident: &str) -> String;

    /// The `n`th (1-based) bind parameter.
    fn param(&self, n: usize) -> String;

    /// The statement that opens a migration's transaction.
    fn begin_statement(&self) -> &'static str {
        "BEGIN"
    }

    /// A query listing the tables whose constraints may delete the rows a new value conflicts
    /// with (SQLite's `ON CONFLICT REPLACE`), each as its name, a NUL and its definition: a
    /// plain INSERT or UPDATE removes rows there. The caller reads the definitions (comments
    /// and spacing may sit between the words).
    fn replacing_tables_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query listing the current database's tables whose changes a rollback does not undo
    /// (MySQL's MyISAM, Aria, MEMORY, ...); `None` where every table's do.
    fn untransactional_tables_sql(&self) -> Option<&'static str> {
        None
    }

    /// Whether a statement that fails has done nothing, whatever the table: not so where a
    /// table's engine keeps what a statement did before it failed (MySQL's MyISAM, Aria).
    fn failed_statement_undone(&self) -> bool {
        true
    }

    /// Whether a failed statement inside a transaction can be rolled back completely,
    /// even for DDL.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// Whether any failed statement leaves the open transaction unusable until it is rolled
    /// back (PostgreSQL): a query that may fail then runs inside a savepoint.
    fn failure_aborts_transaction(&self) -> bool {
        false
    }

    /// Whether `statement` may commit the open transaction implicitly (when unsure: yes).
    fn commits_implicitly(&self, _statement: &dbguard_lint::split::Statement<'_>) -> bool {
        false
    }

    /// `CREATE TABLE IF NOT EXISTS` for the version table.
    fn history_ddl(&self, table: &str) -> String;

    /// Column type for short text.
    fn varchar(&self, len: u32) -> String {
        format!("VARCHAR({len})")
    }

    /// Column type for text of any length (a schema's description).
    fn long_text(&self) -> &'static str {
        "TEXT"
    }

    /// How to take the migration lock named `key`.
    fn lock_method(&self, key: &str) -> LockMethod;

    /// Statements run on every new connection.
    fn session_setup(&self) -> &'static [&'static str] {
        &[]
    }

    /// A query returning, as text, who holds the migration lock `key` (process, host, what it
    /// runs, since when), for the message of a runner that gave up waiting; `None` where the
    /// database cannot tell.
    fn lock_holder_sql(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }

    /// Where the server keeps running a killed runner's statement (holding the lock) until it
    /// ends, because it does not notice a dead client mid-statement (MySQL/MariaDB), how a
    /// later runner sees that and ends it (`--kill-stale-runner`); `None` where the server
    /// stops the work itself (PostgreSQL's `client_connection_check_interval`, SQLite's file
    /// lock).
    fn stale_runner(&self, key: &str) -> Option<StaleRunner> {
        let _ = key;
        None
    }

    /// Queries returning four text columns (kind, table, name, definition) that together
    /// describe the schema, for comparisons and fingerprints.
    fn introspection_queries(&self) -> &'static [&'static str];

    /// A query returning the name of every table of the current schema/database.
    fn list_tables_sql(&self) -> &'static str;

    /// Where the database has schemas inside a database: a query returning the schema that
    /// unqualified names resolve to (empty text when none of the search path exists).
    fn current_schema_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query naming the schema (PostgreSQL) or database (MySQL) where dbguard keeps its
    /// tables for this connection: a step that moves the connection away from it (`SET
    /// search_path`, `USE`) leaves dbguard unable to record it. `None` where nothing can move it.
    fn home_sql(&self) -> Option<&'static str> {
        self.current_schema_sql()
    }

    /// Two statements sent with a step in its round trip, where the database can: the first
    /// notes where unqualified names resolve, the second fails if the step moved them (a
    /// `SET ROLE`, a schema named for the user, a path set by a function). `None`: the step's
    /// text is all there is to read (see `home_sql`), and the step is checked after it runs.
    fn home_kept_sql(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// A query listing the temporary tables (of this connection) that hide a table of the
    /// home schema: dbguard would count, copy and record into them. `None` where the
    /// database cannot list them (MySQL), and a step's text is all there is to read.
    fn shadowing_sql(&self) -> Option<&'static str> {
        None
    }

    /// The statement(s) that take the connection back to `home` after a step moved it and
    /// the move was not rolled back (MySQL's `USE`; a statement that committed itself).
    /// `None` where nothing can move it.
    fn go_home_sql(&self, home: &str) -> Option<String> {
        let _ = home;
        None
    }

    /// A query with one text parameter, the schemas a search path lists (one per line, as
    /// written: `$user` too), then a line holding one tab and the schemas the step creates
    /// (one per line), returning the one unqualified names would then be created in: the
    /// first that exists or will, the session's temporary schema and the catalog included.
    /// `None` where a move names one schema (database), which is it.
    fn path_schema_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query with one parameter (the table name) that returns a row when the table exists.
    fn table_exists_sql(&self) -> String;

    /// A query with one parameter (a table name) returning the schema (or database, or
    /// attached database) and name of every table of that name, compared case-insensitively,
    /// outside the current one: the tables a qualified name such as `other.users` may mean,
    /// which snapshots (kept in the current schema) do not cover.
    fn tables_elsewhere_sql(&self) -> &'static str;

    /// A query returning, for each of the user's functions and procedures of a name, its schema
    /// (empty text for the current one) and its body, with the settings it runs with (a
    /// `search_path`). Its parameters: the name, and with `qualified` the schema (database) it
    /// was called in (`other.purge()`); without, those a bare name finds (the current database;
    /// PostgreSQL's search path).
    fn routine_bodies_sql(&self, qualified: bool) -> &'static str;

    /// A query with one parameter (a table of the current schema) returning the bodies of its
    /// triggers (for PostgreSQL, of their functions, and its rules).
    fn trigger_bodies_sql(&self) -> &'static str;

    /// A query with one parameter (a name) returning the definition of the view of the current
    /// schema so named (none when it is no view): an INSERT into it fires its tables' triggers.
    fn view_definition_sql(&self) -> &'static str;

    /// The schemas of the database (not the server's own), for a name given that is not one;
    /// `None` where a database has no schemas.
    fn schemas_sql(&self) -> Option<&'static str> {
        None
    }

    /// The routines (functions, procedures) users made (not an extension's), as `(schema, name)`
    /// with the schema empty when a bare name finds it (the current database; PostgreSQL's
    /// search path): what a step may call. `None` where there are none.
    fn routine_names_sql(&self) -> Option<&'static str> {
        None
    }

    /// The views of the current schema, by name.
    fn views_sql(&self) -> &'static str;

    /// A query with one parameter (a table of the current schema) returning the expressions
    /// the server evaluates for each row inserted: its columns' defaults, its `CHECK`s and its
    /// columns' domains' `CHECK`s, which may call a function that changes other tables; `None`
    /// where such an expression cannot call a routine of the user's.
    fn insert_expressions_sql(&self) -> Option<&'static str> {
        None
    }

    /// The bodies of the database's enabled event triggers (PostgreSQL), which run on DDL:
    /// `None` where there are none.
    fn event_trigger_bodies_sql(&self) -> Option<&'static str> {
        None
    }

    /// The tables (and views) of the current schema with triggers (or PostgreSQL rules) on
    /// them: what an INSERT into them may run.
    fn triggered_tables_sql(&self) -> &'static str;

    /// How to run a migration against another schema (database), for messages: `the schema
    /// x (first in the URL's search_path, or a fleet target with schema = "x")`.
    fn run_against(&self, schema: &str) -> String;

    /// A query with one parameter (a schema's or database's name, compared case-insensitively)
    /// returning `(schema, table)` of each of its tables: what a `DROP SCHEMA`/`DROP
    /// DATABASE` takes with it.
    fn tables_in_schema_sql(&self) -> &'static str;

    /// A query with one parameter (a table of the current schema) returning `(schema, table)`
    /// of the tables of other schemas whose rows a foreign key changes with its rows (`ON
    /// DELETE CASCADE`, `SET NULL`, `SET DEFAULT`; with `every`, any foreign key, as `TRUNCATE
    /// ... CASCADE` empties them all).
    fn referencing_elsewhere_sql(&self, every: bool) -> String;

    /// A query with one parameter (a name) returning a row when it is a view of the current
    /// schema: rows changed through it are another table's.
    fn view_exists_sql(&self) -> &'static str;

    /// A query with one parameter (the table name) returning the planner's estimate of the
    /// table's rows, as text; `None` where counting is as cheap (SQLite).
    fn estimated_rows_sql(&self) -> Option<&'static str> {
        None
    }

    /// The longest identifier the database accepts, in bytes.
    fn max_identifier_len(&self) -> usize {
        63
    }

    /// Statements that copy table `src` into a new table `dest` (both quoted) with every row,
    /// as fast as the database's own `CREATE TABLE ... AS SELECT`. The last one's rows-affected
    /// is the number of rows copied. `written`: when `src` has generated columns, the (quoted)
    /// others, for a copy that keeps their definitions (MySQL's `LIKE`), which refuses values
    /// for them; elsewhere a copy holds their values as plain columns.
    fn copy_table(&self, src: &str, dest: &str, _written: Option<&str>) -> Vec<String> {
        vec![format!("CREATE TABLE {dest} AS SELECT * FROM {src}")]
    }

    /// Statements around an `INSERT ... SELECT ... WHERE <a statement's condition>` that make
    /// the condition evaluate as it does in the `DELETE`/`UPDATE` it comes from, then put the
    /// session back: MySQL's strict mode turns a comparison's warning (`'abc' = 12`) into an
    /// error in an INSERT only, so the copy would fail where the statement runs.
    fn copy_as_statement(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// A statement creating `dest` (quoted) empty, with the columns `list` selects from `src`
    /// (quoted): the snapshot table the rows a statement changes are copied into, made before
    /// the statement runs (where DDL commits, before its transaction).
    fn empty_copy(&self, src: &str, dest: &str, list: &str) -> String {
        format!("CREATE TABLE {dest} AS SELECT {list} FROM {src} WHERE 1 = 0")
    }

    /// An UPDATE of the table `dest` (quoted) from the rows of `src` (quoted, aliased
    /// `dbguard_src`) that `on` pairs with them, setting each quoted column to its expression.
    fn update_from(&self, dest: &str, src: &str, on: &str, sets: &[(String, String)]) -> String {
        let sets: Vec<String> = sets.iter().map(|(c, v)| format!("{c} = {v}")).collect();
        format!("UPDATE {dest} SET {} FROM {src} AS dbguard_src WHERE {on}", sets.join(", "))
    }

    /// A query with one parameter (a table name) returning a row when an UPDATE of the table
    /// may change more than the columns it sets: a trigger on it, a column updated by itself
    /// (MySQL `ON UPDATE CURRENT_TIMESTAMP`). Then a snapshot of the rows an UPDATE changes
    /// keeps whole rows, not only the key and the columns set.
    fn rewrites_on_update_sql(&self) -> &'static str;

    /// Conditions on the quoted column `col` that hold for the values a conversion to the type
    /// `to` (SQL, from `using` when given) would change, to try in order until one runs (a
    /// comparison of values first; as text when the two types do not compare). Empty where the
    /// database cannot compute that conversion exactly (then the table is kept whole).
    fn value_changes(&self, col: &str, to: &str, using: Option<&str>) -> Vec<String> {
        let _ = (col, to, using);
        Vec::new()
    }

    /// A query returning 1 when the session refuses the NULLs a column made `NOT NULL` holds
    /// (the statement fails) rather than replacing them with the type's default; `None` where
    /// a new `NOT NULL` always refuses them (or the database has no such change).
    fn nulls_refused_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query with one parameter (a table) returning the character set a string column gets
    /// when a change of its type names none (MySQL: the table's default, which may differ from
    /// the column's: `MODIFY v VARCHAR(20)` converts `✓` to `?` in a latin1 table). `None`
    /// where a type change keeps the column's character set.
    fn default_charset_sql(&self) -> Option<&'static str> {
        None
    }

    /// A query with one parameter (a table name) returning its primary key's columns in key
    /// order; no rows when the table has none.
    fn primary_key_sql(&self) -> String;

    /// A query with one parameter (a table name) returning its column names in order.
    fn columns_sql(&self) -> String;

    /// A (quoted) column of a type the database defines, as plain text for a snapshot (see
    /// [`Backend::defined_type_columns_sql`]).
    fn as_plain_text(&self, quoted: &str) -> String {
        format!("CAST({quoted} AS TEXT)")
    }

    /// A query with one parameter (a table) returning, for each column whose type the database
    /// defines rather than builds in (an enum, a domain, a composite, an extension's type, or an
    /// array of one), or that has a collation the database defines, its name and its type as
    /// the database spells it. Snapshots store these columns as plain text, so that dropping the
    /// type or collation (`DROP TYPE ... CASCADE`) cannot drop the snapshot's column with it; a
    /// restore casts them back. `None` where columns have no such types.
    fn defined_type_columns_sql(&self) -> Option<&'static str> {
        None
    }

    /// The INSERT that copies rows chosen by a condition that converts values (`CAST(v AS
    /// CHAR(10))`): MySQL's strict mode turns a conversion's warning into an error in a
    /// statement that writes, where the count of those rows only warned; `INSERT IGNORE` keeps it
    /// a warning (the copy's columns are the table's own types: nothing else is ignored).
    fn insert_converting(&self) -> &'static str {
        "INSERT"
    }

    /// The rows of the (quoted) table itself, without those of the tables that inherit from
    /// it (PostgreSQL's `ONLY`): how a table with such children is read, emptied and counted
    /// (each child is a table of its own, kept and counted on its own).
    fn own_rows(&self, quoted: &str) -> String {
        quoted.to_string()
    }

    /// A query with one parameter (a table) returning its generated columns (`GENERATED
    /// ALWAYS AS (...)`, stored or virtual): the database computes them, so a snapshot does
    /// not copy them and a restore does not write them.
    fn generated_columns_sql(&self) -> &'static str;

    /// How to checksum the given (quoted) columns of a (quoted) table.
    fn content_hash(&self, table: &str, cols: &[String]) -> ContentHash;

    /// Statements that turn foreign-key enforcement off and back on around a restore, so that
    /// emptying a table does not cascade into others. The first pair runs outside the
    /// transaction, the second inside it.
    fn without_foreign_keys(&self) -> ForeignKeys {
        ForeignKeys::default()
    }

    /// Capability: the whole database is this one file on this machine (SQLite), so it can be
    /// backed up and copied whole, replaced by renaming a file over it, and re-created by
    /// removing it. `None` for server databases (and in-memory ones).
    fn database_file(&self) -> Option<&std::path::Path> {
        None
    }

    /// The command-line dump tool for this database (`pg_dump`, `mysqldump`).
    fn dump_tool(&self) -> Option<&'static str> {
        None
    }

    /// The dump tool's arguments (and environment) to write the database `p` names to `out`.
    fn dump_args(&self, _cmd: &mut std::process::Command, _p: &crate::db::url::Parts, _out: &std::path::Path) {}

    /// Whether a failed [`CopyMethod::Template`] copy failed only because other sessions use the
    /// original (the copy is then made with the client tools instead).
    fn copy_refused_while_in_use(&self, _message: &str) -> bool {
        false
    }

    /// Copies the database at `url` into the existing, empty database `into` on the same server
    /// with the database's own client tools (PostgreSQL: `pg_dump | psql`).
    fn copy_with_client_tools(&self, url: &str, into: &str) -> crate::error::Result<()> {
        let _ = into;
        Err(crate::error::Error::Backup(format!(
            "{} cannot be copied with client tools from dbguard; nothing was changed",
            crate::db::url::mask_url(url)
        )))
    }

    /// The URL of a database to run `CREATE`/`DROP DATABASE` from, for server databases.
    fn admin_url(&self, _url: &str) -> Option<String> {
        None
    }

    /// `DROP DATABASE` for a (quoted) database name, ending the sessions still using it where
    /// the database requires that.
    fn drop_database_sql(&self, quoted: &str) -> String {
        format!("DROP DATABASE IF EXISTS {quoted}")
    }

    /// An aggregate that joins the text of `columns` (quoted) over all rows into one text:
    /// fields separated by U+001F, rows by U+001E. Reading a 500-row version table as one
    /// value instead of 500 rows halves the time of a no-op run's read (the driver converts
    /// every row); `None` where the database caps such aggregates (MySQL's
    /// `group_concat_max_len`).
    fn concat_rows(&self, _columns: &[&str]) -> Option<String> {
        None
    }

    /// An SQL expression for the milliseconds since the transaction began at `started` (an
    /// RFC 3339 UTC literal, quoted), computed by the server, so that a migration's version row
    /// can go in the same round trip as the migration. `None` where there is none (the step
    /// then takes the statement-by-statement path).
    fn elapsed_ms_sql(&self, _started: &str) -> Option<String> {
        None
    }

    /// Runs a big step's batches (see [`Backend::batch_bytes`]; the first opens the transaction,
    /// the last records the step and commits) without a round trip per statement, reporting
    /// the statements done to `progress`; `None` where the database has no such way. The future
    /// gives `Ok(None)` when all ran and committed, `Ok(Some(message))` when a statement failed
    /// and the transaction was rolled back (nothing of the step stays).
    fn run_script<'a>(
        &'a self,
        _url: &'a str,
        _batches: &'a crate::db::batches::Batches<'a>,
        _progress: &'a crate::model::progress::ProgressHook,
    ) -> Option<Script<'a>> {
        None
    }

    /// The most SQL text to hand the driver at once, where handing it more costs more than
    /// linear time (the SQLite driver copies the rest of the text for every statement it
    /// prepares) or memory (one round trip is one copy of the step): a bigger step goes in
    /// batches of whole statements of about this size, in one transaction. `None`: any size
    /// in one round trip.
    fn batch_bytes(&self) -> Option<usize> {
        None
    }

    /// How to copy the whole database into a scratch one.
    fn copy_method(&self) -> CopyMethod;

    /// The connection URL to hand to the driver, for opening in `mode`.
    fn driver_url(&self, url: &str, _mode: OpenMode) -> String {
        url.to_string()
    }

    /// What the database said about a failed statement: its message, without the driver's
    /// decorations, and where in the statement it points (a 1-based character index), with
    /// any detail and hint.
    fn explain(&self, e: &(dyn sqlx::error::DatabaseError + 'static)) -> Explained {
        Explained { message: e.message().to_string(), position: None, extra: Vec::new() }
    }

    /// Queries (tried in order until one works) that list each table's identity, as
    /// `(table, identity)` rows: what tells a table from another of the same name and shape
    /// (a swap by RENAME, a table dropped and re-created), and, where indexes can be left
    /// half-built, those marked `INVALID`. Used to tell whether a statement that was running when
    /// a run stopped had run.
    fn table_identities_sql(&self) -> &'static [&'static str] {
        &[]
    }

    /// The machine fault behind a database error (a full disk, a missing privilege, a
    /// read-only database, a session the server ended), told from the database's own codes.
    fn fault(&self, _e: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<crate::model::fault::Fault> {
        None
    }

    /// The statements that make the session read-only, and writable again: a dry run and the
    /// planning of every change run read-only, so that they cannot write whatever they do.
    fn read_only_session(&self) -> (&'static str, &'static str);

    /// A query that reads the database, run when a read-only connection opens, and whether its
    /// error means the database must first recover by writing (a SQLite hot journal left by a
    /// crash, which a `mode=ro` connection cannot roll back). The connection is then opened
    /// writable, made read-only by [`Backend::read_only_session`], and recovers on that read.
    fn read_only_probe(&self) -> Option<ReadOnlyProbe> {
        None
    }

    /// A query with one parameter (a table) returning the tables (of the current schema) whose
    /// rows change when rows of that table are deleted or their keys updated: foreign keys
    /// with `ON DELETE`/`ON UPDATE` `CASCADE`, `SET NULL` or `SET DEFAULT`. With `every`, all
    /// the tables that reference it (`TRUNCATE ... CASCADE` empties them all).
    fn referencing_tables_sql(&self, every: bool) -> String;

    /// A query with one parameter (a table of the current schema) returning the tables that
    /// inherit from it (PostgreSQL `INHERITS`; not partitions, whose rows a copy of the parent
    /// holds whole): a `DELETE`, `UPDATE` or `TRUNCATE` of the parent reaches their rows. With
    /// `here`, those of the current schema (their names); else those of other schemas
    /// (`(schema, table)`). `None` where tables cannot inherit.
    fn inheriting_tables_sql(&self, _here: bool) -> Option<String> {
        None
    }

    /// A query with one parameter (a role, or `current_user`) returning the tables it owns:
    /// what `DROP OWNED BY` drops. With `here`, those of the current schema (their names); else
    /// those of other schemas (`(schema, table)`). `None` where tables have no owner.
    fn tables_owned_sql(&self, _here: bool) -> Option<String> {
        None
    }

    /// What an `INSERT` that puts back rows says so that identity columns take the values given
    /// (PostgreSQL `GENERATED ALWAYS AS IDENTITY` refuses them otherwise); empty elsewhere.
    fn keep_identity_values(&self) -> &'static str {
        ""
    }

    /// A query with one parameter (a type's name) returning the tables with columns of that
    /// type, of arrays of it or of domains over it (with `here`, of the current schema, their
    /// names; else of other schemas, `(schema, table)`); `None` where there are no such types.
    fn tables_using_type_sql(&self, _here: bool) -> Option<String> {
        None
    }

    /// A query with one parameter (a collation's name) returning the tables with columns that
    /// use it (`here` as for [`Backend::tables_using_type_sql`]); `None` where there are none.
    fn tables_using_collation_sql(&self, _here: bool) -> Option<String> {
        None
    }

    /// A query with one parameter (a schema's name) returning the tables of other schemas with
    /// columns of its types (arrays and domains over them) or collations: what `DROP SCHEMA
    /// ... CASCADE` takes from them (`here` as for [`Backend::tables_using_type_sql`]).
    fn tables_using_schema_sql(&self, _here: bool) -> Option<String> {
        None
    }

    /// A query with one parameter (an extension's name) returning the tables with columns of
    /// the extension's types (`here` as for [`Backend::tables_using_type_sql`]); `None` where
    /// there are no extensions.
    fn tables_using_extension_sql(&self, _here: bool) -> Option<String> {
        None
    }
}

/// What a database said about a failed statement (see [`Backend::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explained {
    pub message: String,
    /// 1-based character index into the statement.
    pub position: Option<usize>,
    /// `detail: ...`, `hint: ...`.
    pub extra: Vec<String>,
}

/// How a backend copies a whole database into a scratch one (for `rehearse`).
#[allow(dead_code)] // each variant serves some backends; a build without them leaves it unused
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CopyMethod {
    /// `VACUUM INTO` a new file: a consistent copy, even of a database in use.
    VacuumInto,
    /// `CREATE DATABASE scratch TEMPLATE original` from the admin database; when other
    /// sessions use the original, `pg_dump | psql` instead.
    Template,
    /// Each base table re-created from `SHOW CREATE TABLE` (keys and foreign keys included)
    /// and filled with `INSERT ... SELECT`; `list` returns the original's base tables.
    TableByTable { list: &'static str },
}

/// Statements that suspend foreign-key enforcement during a restore.
#[derive(Debug, Clone, Default)]
pub(crate) struct ForeignKeys {
    /// Run before the transaction, and after it.
    pub session: Option<(&'static str, &'static str)>,
    /// Run first inside the transaction (scoped to it).
    pub in_transaction: Option<&'static str>,
}

/// The backend for a URL.
/// The backend for a URL; an error for an unknown scheme, or a database this build was
/// compiled without (see the crate's features).
pub(crate) fn for_url(url: &str) -> crate::error::Result<Box<dyn Backend>> {
    let kind = crate::db::url::check(url)?;
    let missing = |feature: &str| crate::error::Error::BadUrl {
        url: crate::db::url::mask_url(url),
        problem: format!(
            "this build of dbguard has no {kind} support: enable dbguard's `{feature}` feature in Cargo.toml (`dbguard = {{ version = \"...\", features = [\"{feature}\"] }}`)"
        ),
    };
    Ok(match kind {
        #[cfg(feature = "sqlite")]
        BackendKind::Sqlite => Box::new(Sqlite::from_url(url)),
        #[cfg(feature = "postgres")]
        BackendKind::Postgres => Box::new(Postgres),
        #[cfg(feature = "mysql")]
        BackendKind::Mysql => Box::new(Mysql),
        #[allow(unreachable_patterns)]
        _ => return Err(missing(&kind.to_string().to_lowercase().replace("postgresql", "postgres"))),
    })
}

/// Quotes with `q`, doubling any `q` inside.
pub(crate) fn quote_with(ident: &str, q: char) -> String {
    let mut s = String::with_capacity(ident.len() + 2);
    s.push(q);
    for c in ident.chars() {
        if c == q {
            s.push(q);
        }
        s.push(c);
    }
    s.push(q);
    s
}

/// The version-table columns, shared by all backends (only the types differ).
pub(crate) fn history_columns(b: &dyn Backend, table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         version BIGINT NOT NULL PRIMARY KEY, \
         name {name} NOT NULL, \
         checksum {v64} NOT NULL, \
         state {v16} NOT NULL, \
         applied_at {v40} NOT NULL, \
         execution_ms BIGINT NOT NULL, \
         applied_by {name} NOT NULL, \
         dbguard_version {v40} NOT NULL, \
         resume_point {text} NULL)",
        b.quote(table),
        name = b.varchar(255),
        v64 = b.varchar(64),
        v16 = b.varchar(16),
        v40 = b.varchar(40),
        text = b.long_text(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quote_characters() {
        assert_eq!(quote_with("a\"b", '"'), "\"a\"\"b\"");
        assert_eq!(quote_with("x`y", '`'), "`x``y`");
    }
}
