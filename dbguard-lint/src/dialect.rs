//! The SQL dialects dbguard understands.

use serde::{Deserialize, Serialize};

/// A database's SQL dialect. It decides how text is tokenized (quotes, comments, dollar
/// quoting) and which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL: dollar quoting, nested block comments, `E''` strings.
    #[default]
    Postgres,
    /// MySQL and MariaDB: backticks, `#` comments, backslash escapes, `DELIMITER`.
    Mysql,
    /// SQLite: `[brackets]`, backticks and double quotes for identifiers.
    Sqlite,
}

impl Dialect {
    /// The lowercase name used in configuration and output.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }
}
