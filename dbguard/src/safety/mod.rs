//! What makes a change allowed: environment tiers, production confirmation, and the guarded
//! path every change to a database goes through.

pub mod guarded;
pub mod tier;
