use dbguard_macros::migration;

#[migration(version = 4, preserves = ["users", 7])]
mod add_email {
    pub const UP: &str = "ALTER TABLE users ADD COLUMN email TEXT";
    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
}

fn main() {}
