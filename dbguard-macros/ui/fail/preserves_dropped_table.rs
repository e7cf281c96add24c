use dbguard_macros::migration;

#[migration(version = 13, preserves = "users", allow(drop_table = "replaced by accounts"))]
mod drop_users {
    pub const UP: &str = "DROP TABLE users";
    pub const DOWN: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY)";
}

fn main() {}
