use dbguard_macros::migration;

#[migration(version = 6, up = "sql/does_not_exist_up.sql", down = "sql/does_not_exist_down.sql")]
mod move_email {}

fn main() {}
