//! Running migrations: the public [`Migrator`], the pure selection of what a run takes
//! ([`select`]), the execution of one step with its row guard ([`execute`], [`guard`]), and
//! the reports a run returns.

pub mod execute;
pub mod guard;
pub mod migrator;
pub mod radius;
pub mod report;
pub mod select;

pub use migrator::Migrator;
