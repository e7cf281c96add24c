//! What makes a change allowed: environment tiers and production confirmation.

pub mod tier;
