use dbguard_macros::migration;

#[migration(version = 7)]
mod drop_legacy {
    pub const UP: &str = "DROP TABLE legacy_users";
    pub const DOWN: &str = "CREATE TABLE legacy_users (id BIGINT PRIMARY KEY)";
}

fn main() {}
