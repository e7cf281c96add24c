//! One database: its URL, the connection handle, the migration lock, schema introspection,
//! whole-database administration (scratch copies, re-creation), and what differs between
//! databases, behind the backend trait (one file per database in `backend/`).

pub mod admin;
pub mod backend;
pub(crate) mod batches;
pub mod database;
pub mod lock;
pub mod open_mode;
pub mod schema;
pub mod url;
