//! SQLite: the embedded default, bundled through sqlx.

use std::path::PathBuf;

use super::{Backend, ContentHash, CopyMethod, ForeignKeys, LockMethod, Script, history_columns, quote_with};
use crate::db::open_mode::OpenMode;
use crate::model::fault::Fault;
use crate::model::kind::BackendKind;

#[derive(Debug)]
pub(crate) struct Sqlite {
    /// The database file; `None` for in-memory databases.
    path: Option<PathBuf>,
}

impl Sqlite {
    pub(crate) fn from_url(url: &str) -> Self {
        Sqlite { path: crate::db::url::sqlite_file(url) }
    }
}

impl Backend for Sqlite {
    // A table's root page moves with it through RENAME.
    fn table_identities_sql(&self) -> &'static [&'static str] {
        &["SELECT tbl_name, type || ':' || name || ':' || rootpage FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"]
    }

    // `ON CONFLICT REPLACE` is written only in a table's own definition (a column or table
    // constraint); the definitions that may hold it are read whole (see the trait).
    fn replacing_tables_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT name || char(0) || sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND upper(sql) LIKE '%REPLACE%'",
        )
    }

    // Extended result codes carry the primary one in their low byte.
    fn fault(&self, e: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<Fault> {
        let code: i64 = e.code()?.parse().ok()?;
        match code & 0xff {
            13 => Some(Fault::DiskFull),             // SQLITE_FULL
            8 => Some(Fault::ReadOnly),              // SQLITE_READONLY
            3 | 23 => Some(Fault::PermissionDenied), // SQLITE_PERM, SQLITE_AUTH
            _ => None,
        }
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    fn quote(&self, ident: &str) -> String {
        quote_with(ident, '"')
    }

    fn param(&self, n: usize) -> String {
        format!("?{n}")
    }

    // IMMEDIATE takes the write lock up front, so a second writer waits on the busy timeout
    // instead of failing halfway through with SQLITE_BUSY.
    fn begin_statement(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn history_ddl(&self, table: &str) -> String {
        history_columns(self, table)
    }

    fn varchar(&self, _len: u32) -> String {
        "TEXT".into()
    }

    fn lock_method(&self, _key: &str) -> LockMethod {
        match &self.path {
            Some(p) => {
                let mut name = p.file_name().unwrap_or_default().to_os_string();
                name.push(".dbguard.lock");
                LockMethod::File(p.with_file_name(name))
            }
            None => LockMethod::None,
        }
    }

    fn concat_rows(&self, columns: &[&str]) -> Option<String> {
        let fields: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
        Some(format!("group_concat({}, char(30))", fields.join(" || char(31) || ")))
    }

    fn elapsed_ms_sql(&self, started: &str) -> Option<String> {
        Some(format!("MAX(0, CAST(ROUND((julianday('now') - julianday({started})) * 86400000) AS INTEGER))"))
    }

    fn copy_method(&self) -> CopyMethod {
        CopyMethod::VacuumInto
    }

    fn introspection_queries(&self) -> &'static [&'static str] {
        &["SELECT type, tbl_name, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"]
    }

    fn referencing_tables_sql(&self, every: bool) -> String {
        // DROP TABLE deletes the rows first, so ON DELETE actions fire for it too.
        let changes = if every {
            ""
        } else {
            " AND (f.on_delete IN ('CASCADE', 'SET NULL', 'SET DEFAULT') OR f.on_update IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))"
        };
        format!(
            "SELECT DISTINCT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE{changes}"
        )
    }

    fn list_tables_sql(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    }

    fn batch_bytes(&self) -> Option<usize> {
        Some(16 * 1024)
    }

    // The driver sends each statement's result back from its worker thread, waking the runner
    // once per statement: half the time of a 100,000-INSERT step. `sqlite3_exec` runs a batch
    // in one call, on a connection of its own (the step's transaction with it). A database in
    // memory has no second connection: it keeps the driver's way.
    fn run_script<'a>(
        &'a self,
        url: &'a str,
        batches: &'a crate::db::batches::Batches<'a>,
        progress: &'a crate::model::progress::ProgressHook,
    ) -> Option<Script<'a>> {
        self.path.as_ref()?;
        Some(Box::pin(script::run(self.driver_url(url, OpenMode::Existing), url, batches, progress)))
    }

    fn table_exists_sql(&self) -> String {
        // SQLite finds tables whatever the case, quoted or not (`"USERS"` is `users`).
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE".into()
    }

    fn rewrites_on_update_sql(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE"
    }

    fn routine_bodies_sql(&self, qualified: bool) -> &'static str {
        if qualified {
            "SELECT '', sql FROM sqlite_master WHERE 0 AND name = ?1 AND name = ?2"
        } else {
            "SELECT '', sql FROM sqlite_master WHERE 0 AND name = ?1"
        }
    }

    fn trigger_bodies_sql(&self) -> &'static str {
        // What it runs: from its BEGIN (its head names the event and the table).
        "SELECT substr(sql, instr(upper(sql), 'BEGIN')) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE"
    }

    fn views_sql(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'view'"
    }

    fn view_definition_sql(&self) -> &'static str {
        "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?1 COLLATE NOCASE"
    }

    fn triggered_tables_sql(&self) -> &'static str {
        "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'"
    }

    fn run_against(&self, schema: &str) -> String {
        format!("the database file attached as {schema} (its path as the URL, or a fleet target with it)")
    }

    fn tables_in_schema_sql(&self) -> &'static str {
        "SELECT schema, name FROM pragma_table_list WHERE schema = ?1 COLLATE NOCASE AND type = 'table'"
    }

    fn referencing_elsewhere_sql(&self, _every: bool) -> String {
        // A foreign key never reaches into another attached database.
        "SELECT schema, name FROM pragma_table_list WHERE 0 AND name = ?1".into()
    }

    fn view_exists_sql(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'view' AND name = ?1 COLLATE NOCASE"
    }

    fn tables_elsewhere_sql(&self) -> &'static str {
        // Attached databases; `temp` holds this connection's own tables, gone after it.
        "SELECT schema, name FROM pragma_table_list WHERE name = ?1 COLLATE NOCASE AND type = 'table' \
         AND schema NOT IN ('main', 'temp')"
    }

    fn max_identifier_len(&self) -> usize {
        128
    }

    // An empty CREATE TABLE AS gives the same column declarations; the INSERT then reports the
    // rows it copied (a CREATE TABLE AS reports none) and takes SQLite's bulk-transfer path.
    fn copy_table(&self, src: &str, dest: &str, _written: Option<&str>) -> Vec<String> {
        vec![
            format!("CREATE TABLE {dest} AS SELECT * FROM {src} WHERE 0"),
            format!("INSERT INTO {dest} SELECT * FROM {src}"),
        ]
    }

    fn primary_key_sql(&self) -> String {
        "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk".into()
    }

    fn columns_sql(&self) -> String {
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid".into()
    }

    // `table_info` leaves them out; `table_xinfo` marks them hidden 2 (virtual) or 3 (stored).
    fn generated_columns_sql(&self) -> &'static str {
        "SELECT name FROM pragma_table_xinfo(?1) WHERE hidden IN (2, 3) ORDER BY cid"
    }

    // quote() keeps the storage class apart (1 vs '1' vs X'31'), as a dump would.
    fn content_hash(&self, table: &str, cols: &[String]) -> ContentHash {
        let quoted: Vec<String> = cols.iter().map(|c| format!("quote({c})")).collect();
        let row = if cols.is_empty() { "''".to_string() } else { quoted.join(" || char(31) || ") };
        ContentHash::RowTexts(format!("SELECT {row} FROM {table}"))
    }

    // `PRAGMA foreign_keys` is a no-op inside a transaction, so it brackets it.
    fn without_foreign_keys(&self) -> ForeignKeys {
        ForeignKeys { session: Some(("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON")), in_transaction: None }
    }

    fn database_file(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    // The file is only created when asked for (`Database::create_if_missing`): a `mode=` in
    // the URL is replaced by the one the caller's mode needs (`mode=ro` is kept: stricter).
    // Read-only connections cannot write at all.
    fn driver_url(&self, url: &str, mode: OpenMode) -> String {
        if self.path.is_none() || url.contains("mode=memory") {
            return url.to_string();
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        let asked_ro = params.contains(&"mode=ro");
        params.retain(|p| !p.starts_with("mode="));
        let m = match mode {
            _ if asked_ro => "ro",
            OpenMode::Existing => "rw",
            OpenMode::CreateIfMissing => "rwc",
            OpenMode::ReadOnly => "ro",
        };
        params.push(match m {
            "ro" => "mode=ro",
            "rw" => "mode=rw",
            _ => "mode=rwc",
        });
        format!("{base}?{}", params.join("&"))
    }

    fn read_only_session(&self) -> (&'static str, &'static str) {
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF")
    }

    fn read_only_probe(&self) -> Option<super::ReadOnlyProbe> {
        // SQLITE_READONLY_ROLLBACK (776) and SQLITE_READONLY_RECOVERY (1032, a WAL to replay).
        fn must_recover(e: &sqlx::Error) -> bool {
            e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "776" || c == "1032")
        }
        Some(("SELECT COUNT(*) FROM sqlite_master", must_recover))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_beside_the_database() {
        match Sqlite::from_url("sqlite:///tmp/d/app.db").lock_method("k") {
            LockMethod::File(p) => assert_eq!(p, PathBuf::from("/tmp/d/app.db.dbguard.lock")),
            other => panic!("{other:?}"),
        }
    }
}

/// A step's batches run with `sqlite3_exec` (see `Backend::run_script`).
mod script {
    use std::ffi::{CStr, CString, c_char};
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    use sqlx::{ConnectOptions, Connection};

    use crate::error::{Error, Result};
    use crate::model::progress::{Progress, ProgressHook};

    pub(super) async fn run(
        driver_url: String,
        url: &str,
        batches: &crate::db::batches::Batches<'_>,
        progress: &ProgressHook,
    ) -> Result<Option<String>> {
        let failed = |context: &str, e: sqlx::Error| Error::Database {
            context: context.into(),
            url: crate::db::url::mask_url(url),
            message: e.to_string(),
        };
        // The same options as the driver's own connection (foreign keys, busy timeout).
        let options = SqliteConnectOptions::from_str(&driver_url).map_err(|e| failed("reading the URL", e))?;
        let mut conn: SqliteConnection =
            options.connect().await.map_err(|e| failed("connecting to run a big migration", e))?;
        let total = batches.statements();
        let outcome = {
            let mut handle = conn.lock_handle().await.map_err(|e| failed("running a big migration", e))?;
            let db = handle.as_raw_handle().as_ptr();
            let mut done = 0;
            let mut outcome = None;
            for (sql, n) in batches.iter() {
                progress.emit(Progress::Statements { done, total });
                if let Err(message) = exec(db, &sql) {
                    // Whatever ran is undone (an error may have ended the transaction already).
                    let _ = exec(db, "ROLLBACK");
                    outcome = Some(message);
                    break;
                }
                done += n;
            }
            if outcome.is_none() {
                progress.emit(Progress::Statements { done, total });
            }
            outcome
        };
        conn.close().await.map_err(|e| failed("closing the connection of a big migration", e))?;
        Ok(outcome)
    }

    /// Runs every statement of `sql` in turn; SQLite's message when one fails.
    fn exec(db: *mut libsqlite3_sys::sqlite3, sql: &str) -> Result<(), String> {
        let text = CString::new(sql).map_err(|_| "the migration contains a NUL byte".to_string())?;
        let mut message: *mut c_char = std::ptr::null_mut();
        // SAFETY: `db` is the open connection's handle, locked for this thread by the caller;
        // `text` outlives the call; no callback is given.
        let rc = unsafe { libsqlite3_sys::sqlite3_exec(db, text.as_ptr(), None, std::ptr::null_mut(), &mut message) };
        if rc == libsqlite3_sys::SQLITE_OK {
            return Ok(());
        }
        if message.is_null() {
            return Err(format!("SQLite error {rc}"));
        }
        // SAFETY: SQLite allocated `message` as a NUL-terminated string; it is read once, then
        // freed with SQLite's allocator, as `sqlite3_exec` documents.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
        unsafe { libsqlite3_sys::sqlite3_free(message.cast()) };
        Err(text)
    }
}
