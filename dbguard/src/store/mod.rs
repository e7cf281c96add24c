//! dbguard's own tables and files: the version table, the audit log, the backup catalog, the
//! recorded row counts and schema fingerprints.

pub mod audit;
pub mod catalog;
pub mod fingerprint;
pub mod stats;
pub mod version_table;
