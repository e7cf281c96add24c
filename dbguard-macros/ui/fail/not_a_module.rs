use dbguard_macros::migration;

#[migration(version = 15)]
fn add_email() {}

fn main() {}
