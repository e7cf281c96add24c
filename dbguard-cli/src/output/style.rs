//! Terminal styles. Text is always written styled; `anstream` strips the styles when stdout
//! is not a terminal, with `NO_COLOR`, or with `--color never`.

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

/// Success.
pub const OK: Style = AnsiColor::Green.on_default();
/// Something to look at.
pub const WARN: Style = AnsiColor::Yellow.on_default();
/// A failure.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Secondary detail.
pub const DIM: Style = Style::new().dimmed();
/// Headings and names.
pub const BOLD: Style = Style::new().bold();

/// `text` in `style`.
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}
