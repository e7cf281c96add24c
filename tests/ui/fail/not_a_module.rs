use dbguard::migration;

#[migration(version = 15)]
fn add_email() {}

fn main() {}
