//! {{version}}_{{name}}: what this migration changes, and why.

use dbguard::migration;

// preserves: the tables whose rows must survive (dbguard counts them before and after, and
// refuses the migration if rows disappear). List them, or remove the argument.
#[migration(version = {{number}}, name = "{{name}}", preserves = [])]
mod {{module}} {
    pub const UP: &str = "";

    // Undo exactly what UP does, in reverse order. If it cannot be undone, remove DOWN and add
    // `down = irreversible("why, and where the data can be recovered from")` to the attribute.
    pub const DOWN: &str = "";
}
