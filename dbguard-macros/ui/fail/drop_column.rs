use dbguard_macros::migration;

#[migration(version = 8)]
mod drop_email {
    pub const UP: &str = "ALTER TABLE users ADD COLUMN nickname TEXT;\nALTER TABLE users DROP COLUMN email;";
    pub const DOWN: &str = "ALTER TABLE users ADD COLUMN email TEXT; ALTER TABLE users DROP COLUMN nickname;";
}

fn main() {}
