use dbguard_macros::migration;

#[migration(version = 18)]
mod nothing {
    pub const DOWN: &str = "DROP TABLE users";
}

fn main() {}
