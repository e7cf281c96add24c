use dbguard_macros::migration;

#[migration(version = 17)]
mod backfill {
    pub fn up(_tx: &mut dbguard::Tx<'_>) -> dbguard::Result<()> { Ok(()) }
    pub const DOWN: &str = "UPDATE users SET email = NULL WHERE id < 0";
}

fn main() {}
