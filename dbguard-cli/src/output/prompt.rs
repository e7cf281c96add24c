//! The confirmation prompt of production changes, on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use anstream::{eprint, eprintln};

use super::style::{ERROR, paint};

/// Whether a person can be asked: standard input is a terminal.
pub fn available() -> bool {
    std::io::stdin().is_terminal()
}

/// Lists what the change does and asks for the database's name; true when it was typed
/// exactly.
pub fn ask(c: &dbguard::Confirmation) -> bool {
    eprintln!("{} this changes the production database `{}` ({}):", paint(ERROR, "careful:"), c.database, c.url);
    eprintln!("  it is production because {}", c.reason);
    for w in &c.what {
        eprintln!("  - {w}");
    }
    eprint!("type the database name ({}) to go ahead, anything else aborts: ", c.database);
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == c.database
}
