use dbguard_macros::migration;

#[migration(version = 9, down = irreversible("sessions are transient"))]
mod purge {
    pub const UP: &str = "DELETE FROM sessions";
}

fn main() {}
