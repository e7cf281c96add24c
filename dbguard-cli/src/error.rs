//! What can stop a command, and the exit code each gives: 2 when the command could not run
//! (bad input, configuration or URL, unreachable database), 1 when it ran and refused or
//! failed.

use crate::config::ConfigError;
use crate::scaffold::ScaffoldError;

/// An error of the command line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the library.
    #[error("{0}")]
    Dbguard(#[from] dbguard::Error),
    /// The project's configuration.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// `init` and `new`.
    #[error("{0}")]
    Scaffold(#[from] ScaffoldError),
    /// Arguments that do not make sense together, or cannot be used here.
    #[error("{message}\n  next: {fix}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to run instead.
        fix: String,
    },
    /// The command ran and found something wrong (listed above it).
    #[error("{0}")]
    Failed(String),
}

impl From<dbguard::LoadError> for CliError {
    fn from(e: dbguard::LoadError) -> Self {
        CliError::Dbguard(e.into())
    }
}

impl CliError {
    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Dbguard(
                dbguard::Error::Load(_)
                | dbguard::Error::BadUrl { .. }
                | dbguard::Error::BadSetting { .. }
                | dbguard::Error::Connect { .. }
                | dbguard::Error::DatabaseMissing { .. }
                | dbguard::Error::FleetFile { .. },
            )
            | CliError::Config(_)
            | CliError::Scaffold(_)
            | CliError::Usage { .. } => 2,
            _ => 1,
        }
    }

    pub(crate) fn usage(message: impl Into<String>, fix: impl Into<String>) -> Self {
        CliError::Usage { message: message.into(), fix: fix.into() }
    }
}

/// A command's result: its exit code, or what stopped it.
pub type CliResult = Result<std::process::ExitCode, CliError>;
