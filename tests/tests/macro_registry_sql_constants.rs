//! `#[migration]` on modules of SQL constants compiles and registers each, in version order
//! (its own test binary: the registry is the binary's).

use dbguard::migration;

#[migration(version = 1, preserves = "users")]
mod add_email_to_users {
    pub const UP: &str = "ALTER TABLE users ADD COLUMN email TEXT";
    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
}

#[migration(version = 2, allow(drop_column = "email moved to the contacts table in v1"), name = "move_email")]
mod v2 {
    pub const UP: &str = "ALTER TABLE users DROP COLUMN email";
    pub const DOWN: &str = "ALTER TABLE users ADD COLUMN email TEXT";
}

#[migration(version = 3, down = irreversible("the old format cannot be rebuilt; see snapshot"))]
mod reformat {
    pub const UP: &str = "UPDATE users SET name = upper(name) WHERE name IS NOT NULL";
}

#[test]
fn sql_constant_migrations_register_in_version_order() {
    let all = dbguard::registered().unwrap();
    assert_eq!(all.iter().map(|m| m.version()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[1].name(), "move_email");
    assert!(matches!(all[2].down(), dbguard::Step::Irreversible { .. }));
    assert_eq!(add_email_to_users::UP, "ALTER TABLE users ADD COLUMN email TEXT");
}
