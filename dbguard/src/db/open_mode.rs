//! How a connection is opened: to an existing database, creating a missing SQLite file, or
//! read-only.

/// How [`crate::Database::open`] treats a database that is not there yet, and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// An existing database, read and written. A missing SQLite file is an error
    /// ([`crate::Error::DatabaseMissing`]), never created behind the caller's back.
    Existing,
    /// Creates a missing SQLite file (only `up` does this by default; see
    /// [`crate::Database::created`]). For PostgreSQL and MySQL the database must exist.
    CreateIfMissing,
    /// Read only: a SQLite file opened `mode=ro`, a server session set read-only, so that
    /// nothing can be written through it, whatever runs on it.
    ReadOnly,
}
