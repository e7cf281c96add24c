use dbguard_macros::migration;

#[migration(version = 11, allow(drop_everything = "yes"))]
mod drop_email {
    pub const UP: &str = "ALTER TABLE users DROP COLUMN email";
    pub const DOWN: &str = "ALTER TABLE users ADD COLUMN email TEXT";
}

fn main() {}
