use dbguard_macros::migration;

#[migration(version = 10, allow(drop_column = ""))]
mod drop_email {
    pub const UP: &str = "ALTER TABLE users DROP COLUMN email";
    pub const DOWN: &str = "ALTER TABLE users ADD COLUMN email TEXT";
}

fn main() {}
