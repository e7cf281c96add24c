//! Two `#[migration]` items with one version: the compiler cannot see it (they may live in
//! different crates), so the runtime refuses at start, naming both places.

use dbguard::{Migrator, migration};

#[migration(version = 7)]
mod add_phone {
    pub const UP: &str = "ALTER TABLE users ADD COLUMN phone TEXT";
    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN phone";
}

#[migration(version = 7)]
mod add_avatar {
    pub const UP: &str = "ALTER TABLE users ADD COLUMN avatar TEXT";
    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN avatar";
}

#[test]
fn duplicate_versions_are_refused_with_both_locations() {
    let err = Migrator::from_registry().unwrap_err().to_string();
    assert!(err.contains("duplicate version 7"), "{err}");
    assert!(err.contains("(macro_duplicates::add_phone)") && err.contains("(macro_duplicates::add_avatar)"), "{err}");
    assert!(err.contains("tests/tests/macro_duplicates.rs:"), "{err}");
}
