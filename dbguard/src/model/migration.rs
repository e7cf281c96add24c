//! The migration model: a version, a name, an `up` and a required `down`.

use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use sqlx::AnyConnection;

use crate::error::Result;
use crate::model::kind::BackendKind;

/// The future a Rust migration step returns.
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// A Rust migration step: an async function over the migration's connection (inside its
/// transaction unless the migration is non-transactional).
pub type StepFn = for<'a, 'c> fn(&'a mut Tx<'c>) -> StepFuture<'a>;

/// One direction of a migration.
#[derive(Clone)]
pub enum Step {
    /// SQL text, split into statements and run one by one.
    Sql(Cow<'static, str>),
    /// A Rust function. `source` is hashed for the checksum (the macro passes the function's
    /// tokens), so editing the function is drift like editing a file.
    Rust {
        /// The function.
        run: StepFn,
        /// The text that identifies its content.
        source: Cow<'static, str>,
    },
    /// A down that cannot revert its up, with the reason given for it.
    Irreversible {
        /// Why.
        reason: Cow<'static, str>,
        /// The file's text, hashed for the checksum.
        text: Cow<'static, str>,
    },
}

impl Step {
    /// The text the checksum is computed from.
    pub fn checksum_text(&self) -> &str {
        match self {
            Step::Sql(sql) => sql,
            Step::Rust { source, .. } => source,
            Step::Irreversible { text, .. } => text,
        }
    }

    /// The SQL, for SQL steps.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Step::Sql(sql) => Some(sql),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Sql(sql) => f.debug_tuple("Sql").field(sql).finish(),
            Step::Rust { .. } => f.write_str("Rust(..)"),
            Step::Irreversible { reason, .. } => f.debug_tuple("Irreversible").field(reason).finish(),
        }
    }
}

/// Where a migration was defined, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// SQL files on disk (or embedded from disk at compile time).
    Files {
        /// The up file.
        up: PathBuf,
        /// The down file.
        down: Option<PathBuf>,
    },
    /// A `#[migration]` item.
    Rust {
        /// Source file.
        file: &'static str,
        /// Line of the attribute.
        line: u32,
        /// Module path of the item.
        module: &'static str,
    },
    /// Built in code with [`Migration::sql`] and no location given.
    Memory,
}

/// A migration: one versioned, reversible change to a database schema or its data.
///
/// ```
/// use dbguard::Migration;
/// let m = Migration::sql(1, "create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY);", "DROP TABLE users;")
///     .preserving(["accounts"]);
/// assert_eq!(m.version(), 1);
/// assert!(m.is_transactional());
/// assert_eq!(m.checksum().len(), 64);
/// ```
#[derive(Debug, Clone)]
pub struct Migration {
    version: i64,
    name: String,
    up: Step,
    down: Step,
    preserves: Vec<String>,
    exact: Vec<String>,
    values: Vec<(String, Vec<String>)>,
    transactional: bool,
    checksum: String,
    origin: Origin,
}

impl Migration {
    /// A migration from any two steps.
    pub fn new(version: i64, name: impl Into<String>, up: Step, down: Step) -> Self {
        let checksum = dbguard_lint::checksum::checksum(up.checksum_text(), down.checksum_text());
        Migration {
            version,
            name: name.into(),
            up,
            down,
            preserves: Vec::new(),
            exact: Vec::new(),
            values: Vec::new(),
            transactional: true,
            checksum,
            origin: Origin::Memory,
        }
    }

    /// A migration from SQL text.
    pub fn sql(
        version: i64,
        name: impl Into<String>,
        up: impl Into<Cow<'static, str>>,
        down: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(version, name, Step::Sql(up.into()), Step::Sql(down.into()))
    }

    /// Declares tables whose rows this migration must keep.
    pub fn preserving<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.preserves.extend(tables.into_iter().map(Into::into));
        self
    }

    /// Declares tables whose row count this migration must leave exactly as it was: no rows
    /// removed, and none added either.
    pub fn preserving_exactly<I, S>(mut self, tables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for t in tables {
            let t = t.into();
            if !self.preserves.contains(&t) {
                self.preserves.push(t.clone());
            }
            self.exact.push(t);
        }
        self
    }

    /// Declares columns whose values this migration must leave exactly as they were (and the
    /// table preserved): a checksum of those columns over every row, before and after, must
    /// match. `-- dbguard: preserves = users(email, name)` in SQL.
    ///
    /// ```
    /// use dbguard::Migration;
    /// let m = Migration::sql(2, "split_name", "ALTER TABLE users ADD COLUMN first TEXT;", "ALTER TABLE users DROP COLUMN first;")
    ///     .preserving_values("users", ["email", "name"]);
    /// assert_eq!(m.preserves(), ["users"]);
    /// assert_eq!(m.preserves_values()[0].1, ["email", "name"]);
    /// ```
    pub fn preserving_values<I, S>(mut self, table: impl Into<String>, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let table = table.into();
        if !self.preserves.contains(&table) {
            self.preserves.push(table.clone());
        }
        self.values.push((table, columns.into_iter().map(Into::into).collect()));
        self
    }

    /// Runs this migration outside a transaction (for `CREATE INDEX CONCURRENTLY` and the like).
    /// A failure then leaves it dirty instead of rolled back.
    pub fn without_transaction(mut self) -> Self {
        self.transactional = false;
        self
    }

    /// Records where the migration was defined.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Overrides the checksum (the macro computes it at compile time).
    pub fn with_checksum(mut self, checksum: impl Into<String>) -> Self {
        self.checksum = checksum.into();
        self
    }

    /// The version, unique among a project's migrations.
    pub fn version(&self) -> i64 {
        self.version
    }
    /// The name (the part after the version in a file name).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The step that applies the change.
    pub fn up(&self) -> &Step {
        &self.up
    }
    /// The step that reverts it.
    pub fn down(&self) -> &Step {
        &self.down
    }
    /// The step that runs in `direction`.
    pub fn step(&self, direction: crate::model::direction::Direction) -> &Step {
        match direction {
            crate::model::direction::Direction::Up => &self.up,
            crate::model::direction::Direction::Down => &self.down,
        }
    }
    /// The tables whose rows must survive (including those preserved exactly).
    pub fn preserves(&self) -> &[String] {
        &self.preserves
    }
    /// The tables whose row count must not change at all.
    pub fn preserves_exactly(&self) -> &[String] {
        &self.exact
    }
    /// Columns whose values must stay as they were, by table.
    pub fn preserves_values(&self) -> &[(String, Vec<String>)] {
        &self.values
    }
    /// Whether it runs in a transaction.
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }
    /// SHA-256 of the normalised up and down texts.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }
    /// Where it was defined.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// The connection a Rust migration step runs on: inside the migration's transaction, unless it
/// is non-transactional. Dereferences to sqlx's [`AnyConnection`] for typed queries.
///
/// ```no_run
/// async fn up(tx: &mut dbguard::Tx<'_>) -> dbguard::Result<()> {
///     tx.execute("UPDATE users SET email = lower(email) WHERE email IS NOT NULL").await?;
///     Ok(())
/// }
/// ```
pub struct Tx<'c> {
    conn: &'c mut AnyConnection,
    backend: BackendKind,
    transactional: bool,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c mut AnyConnection, backend: BackendKind, transactional: bool) -> Self {
        Tx { conn, backend, transactional }
    }

    /// Which database this is, for steps that must differ per backend.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// Runs SQL (one or several statements) and returns the number of rows affected. In a
    /// migration that runs in a transaction, statements that would end or split that
    /// transaction (`COMMIT`, `ROLLBACK`, ...) are refused: the migration would no longer be
    /// undone as a whole on failure.
    pub async fn execute(&mut self, sql: &str) -> Result<u64> {
        use sqlx::Executor;
        if self.transactional
            && let Some((line, words)) =
                dbguard_lint::transaction_statements(sql, self.backend.dialect()).into_iter().next()
        {
            return Err(crate::error::Error::Step(format!(
                "`{words}` (line {line} of the SQL) would end the transaction this migration runs in; refused. next: remove it, or make the migration non-transactional (`transaction = false`)"
            )));
        }
        let done = self
            .conn
            .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())))
            .await
            .map_err(|e| crate::error::Error::Step(e.to_string()))?;
        Ok(done.rows_affected())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn
    }
}

impl Origin {
    /// A short human location: the file (and line) a migration or step came from.
    pub fn describe(&self, down: bool) -> String {
        match self {
            Origin::Files { up, down: d } => match (down, d) {
                (true, Some(d)) => d.display().to_string(),
                _ => up.display().to_string(),
            },
            Origin::Rust { file, line, module } => format!("{file}:{line} ({module})"),
            Origin::Memory => "(built in code)".to_string(),
        }
    }
}
