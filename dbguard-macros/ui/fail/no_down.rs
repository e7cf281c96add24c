use dbguard_macros::migration;

#[migration(version = 1)]
mod create_users {
    pub const UP: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY)";
}

fn main() {}
