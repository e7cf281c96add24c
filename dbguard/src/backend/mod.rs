//! What differs between databases, one file per backend behind one small trait.
//!
//! The trait only *describes* a backend (SQL text, quoting, how to lock); the generic code in
//! [`crate::history`], [`crate::lock`], [`crate::schema`] and [`crate::migrator`] runs it, so
//! no `match` on the database kind is needed anywhere else.

mod mysql;
mod postgres;
mod sqlite;

use std::path::PathBuf;

use crate::url::BackendKind;

pub(crate) use mysql::Mysql;
pub(crate) use postgres::Postgres;
pub(crate) use sqlite::Sqlite;

/// How a backend keeps two runners from migrating at once.
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

    /// Whether a failed statement inside a transaction can be rolled back completely,
    /// even for DDL.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// Whether a statement starting with `keyword` commits the open transaction implicitly.
    fn commits_implicitly(&self, _keyword: &str) -> bool {
        false
    }

    /// `CREATE TABLE IF NOT EXISTS` for the version table.
    fn history_ddl(&self, table: &str) -> String;

    /// Column type for short text.
    fn varchar(&self, len: u32) -> String {
        format!("VARCHAR({len})")
    }

    /// How to take the migration lock named `key`.
    fn lock_method(&self, key: &str) -> LockMethod;

    /// Queries returning four text columns (kind, table, name, definition) that together
    /// describe the schema, for comparisons and fingerprints.
    fn introspection_queries(&self) -> &'static [&'static str];

    /// A query with one parameter (the table name) that returns a row when the table exists.
    fn table_exists_sql(&self) -> String;

    /// The connection URL to hand to the driver.
    fn driver_url(&self, url: &str) -> String {
        url.to_string()
    }
}

/// The backend for a URL.
pub(crate) fn for_url(url: &str) -> Option<Box<dyn Backend>> {
    Some(match BackendKind::from_url(url)? {
        BackendKind::Sqlite => Box::new(Sqlite::from_url(url)),
        BackendKind::Postgres => Box::new(Postgres),
        BackendKind::Mysql => Box::new(Mysql),
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
         dbguard_version {v40} NOT NULL)",
        b.quote(table),
        name = b.varchar(255),
        v64 = b.varchar(64),
        v16 = b.varchar(16),
        v40 = b.varchar(40),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quote_characters() {
        assert_eq!(quote_with("a\"b", '"'), "\"a\"\"b\"");
        assert_eq!(Mysql.quote("x`y"), "`x``y`");
        assert_eq!(Postgres.quote("Users"), "\"Users\"");
    }
}
