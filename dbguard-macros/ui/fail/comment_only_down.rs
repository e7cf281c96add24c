use dbguard_macros::migration;

#[migration(version = 1)]
mod create_users {
    pub const UP: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY)";
    pub const DOWN: &str = "-- nothing to do here\n/* really */";
}

fn main() {}
