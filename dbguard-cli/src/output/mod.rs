//! What the command line prints: styles, the tier banner, the confirmation prompt, the
//! progress bar, and the text renderings of reports. JSON is printed with serde where the
//! commands ask for it.

pub mod lint;
pub mod progress;
pub mod prompt;
pub mod report;
pub mod style;

use anstream::eprintln;

use crate::error::CliError;
use style::{DIM, ERROR, OK, WARN, paint};

/// Prints `e` on standard error, and returns its exit code.
pub fn fail(e: &CliError) -> std::process::ExitCode {
    eprintln!("{} {e}", paint(ERROR, "error:"));
    std::process::ExitCode::from(e.exit_code())
}

/// The tier, the masked URL and why it has that tier, first thing, so that nobody changes the
/// wrong database by surprise. On stderr: stdout may be JSON.
pub fn banner(tier: &dbguard::TierDecision, url: &str) {
    let style = match tier.tier {
        dbguard::Tier::Prod => ERROR,
        dbguard::Tier::Staging => WARN,
        dbguard::Tier::Dev => OK,
    };
    eprintln!("{} {} {}", paint(style, format!("[{}]", tier.tier)), url, paint(DIM, format!("({})", tier.reason)));
}

/// `s` for plurals.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
