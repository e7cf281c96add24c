use dbguard_macros::migration;

#[migration(preserves = "users")]
mod create_users {
    pub const UP: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY)";
    pub const DOWN: &str = "DROP TABLE users";
}

fn main() {}
