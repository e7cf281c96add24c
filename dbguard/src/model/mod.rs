//! The data dbguard works with, without behaviour that reaches a database: migrations and their
//! steps, the rows of the version table, the plan of a run, health reports, progress events.
//! The bottom layer: it depends on nothing else in the crate but [`crate::error`].

pub mod applied;
pub mod direction;
pub mod fault;
pub mod health;
pub mod kind;
pub mod migration;
pub mod plan;
pub mod progress;
pub mod resume;
pub mod row_target;
pub mod stamp;
pub mod tier;
