use dbguard_macros::migration;

#[migration(version = 14)]
mod add_email {
    pub const UP: &str = concat!("ALTER TABLE users ", "ADD COLUMN email TEXT");
    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
}

fn main() {}
