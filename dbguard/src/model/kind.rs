//! The database families dbguard supports.

use std::fmt;

/// The database families dbguard supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// SQLite, bundled: the embedded default.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl BackendKind {
    /// Which backend a URL is for, from its scheme.
    ///
    /// ```
    /// use dbguard::BackendKind;
    /// assert_eq!(BackendKind::from_url("postgresql://u@h/db"), Some(BackendKind::Postgres));
    /// assert_eq!(BackendKind::from_url("mariadb://root@h/db"), Some(BackendKind::Mysql));
    /// assert_eq!(BackendKind::from_url("redis://h"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::Mysql),
            _ => None,
        }
    }

    /// The dialect the linter and statement splitter use for this backend.
    pub fn dialect(self) -> dbguard_lint::Dialect {
        match self {
            Self::Sqlite => dbguard_lint::Dialect::Sqlite,
            Self::Postgres => dbguard_lint::Dialect::Postgres,
            Self::Mysql => dbguard_lint::Dialect::Mysql,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::Mysql => "MySQL",
        })
    }
}
