use dbguard_macros::migration;

#[migration(version = 4, preserve = "users")]
mod create_users {
    pub const UP: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY)";
    pub const DOWN: &str = "DROP TABLE users";
}

fn main() {}
