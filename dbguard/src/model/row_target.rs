//! The rows one statement of a step deletes or overwrites, as a query can choose them: what
//! the guard measures and copies just before the statement runs (found by
//! `migrate::radius`).

/// Whether a [`RowTarget`]'s statement deletes or updates its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// `DELETE`: the rows go.
    Delete,
    /// `UPDATE`: the rows' values are overwritten.
    Update,
    /// `DROP COLUMN`: the column's values go.
    #[serde(rename = "drop-column")]
    DropColumn,
    /// A new column type: the values it cannot hold as they are change.
    #[serde(rename = "change-type")]
    ChangeType,
    /// A new constraint (`UNIQUE`, `PRIMARY KEY`, `NOT NULL`, `CHECK`): the rows it would
    /// refuse, on which the statement fails (nothing is lost; the migration stops).
    Rejects,
}

impl Verb {
    /// The rule whose allow (with a reason) lets a statement of this kind change every row:
    /// `delete-without-where` for a DELETE, `update-without-where` otherwise.
    pub fn allow_rule(self) -> &'static str {
        match self {
            Verb::Delete => "delete-without-where",
            _ => "update-without-where",
        }
    }

    /// `deleted`, `updated`, `dropped` or `changed`.
    pub fn past(self) -> &'static str {
        match self {
            Verb::Delete => "deleted",
            Verb::Update => "updated",
            Verb::DropColumn => "dropped",
            Verb::ChangeType => "changed",
            Verb::Rejects => "rejected",
        }
    }
}

/// The rows one statement deletes or overwrites, as a query can choose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowTarget {
    /// The statement's index in the step (0-based, as `dbguard_lint::split::split` counts).
    pub statement: usize,
    /// Its first line in the step.
    pub line: usize,
    /// The table, normalised (quotes removed, unquoted names lowercased).
    pub table: String,
    /// The table as the statement refers to it, alias included (`users AS u`): the predicate
    /// may name the alias.
    pub relation: String,
    /// The `WHERE` condition, as SQL.
    pub predicate: String,
    /// Delete or update.
    pub verb: Verb,
    /// The columns an UPDATE assigns (normalised): when they include the primary key, rows
    /// cannot be put back by it, and the table is kept whole.
    pub assigned: Vec<String>,
    /// Whether an earlier statement of the step may write to the table: a count made before
    /// the step is then not the statement's (a dry run says so).
    pub after_writes: bool,
    /// Whether it is allowed, with a reason, to change every row (`delete-without-where`,
    /// `update-without-where`): otherwise a condition that matches them all is refused.
    pub every_row_allowed: bool,
    /// Whether an allow for it is there but gives no reason (it does not count).
    pub allow_without_reason: bool,
    /// A DELETE or UPDATE with no `WHERE` at all (its predicate is `1 = 1`), checked like one
    /// whose condition matches every row.
    pub no_where: bool,
    /// Only checked (refused when it reaches every row without the allow): its table is kept
    /// whole instead of its rows (a DELETE of every row, a table reshaped earlier in the step,
    /// too many statements on one table).
    pub kept_whole: bool,
    /// For an UPDATE: the condition on a row under which it loses a value (a non-NULL value
    /// overwritten by another). Every row matching it is what needs the allow; `None`: every
    /// row the predicate matches.
    pub destroys: Option<String>,
}

/// The values one `ALTER TABLE` action destroys or changes: a dropped column's values, or
/// those a new type alters (`numeric(10,2)` to `numeric(10,0)` rounds the cents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTarget {
    /// The statement's index in the step (0-based).
    pub statement: usize,
    /// Its first line in the step.
    pub line: usize,
    /// The table, normalised.
    pub table: String,
    /// The column, normalised.
    pub column: String,
    /// Dropped, or converted to a type.
    pub change: ValueChange,
    /// Whether an earlier statement of the step may write to the table or change its shape:
    /// values counted before the step are then not the statement's.
    pub after_writes: bool,
}

/// What an `ALTER TABLE` action does to a column's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueChange {
    /// `DROP COLUMN`: every value goes.
    Drop,
    /// `ALTER COLUMN ... TYPE`, `MODIFY`, `CHANGE`: every value is converted to `to` (SQL), from
    /// `using` when given (PostgreSQL `USING expr`).
    Convert {
        /// The new type, as SQL.
        to: String,
        /// The conversion expression, if any.
        using: Option<String>,
    },
    /// MySQL `MODIFY ... NOT NULL`: outside strict mode the NULLs become the type's default
    /// (`''`, `0`) instead of being refused.
    NullsReplaced,
    /// A new constraint the existing rows must satisfy: those that do not are counted (the
    /// statement fails on them), nothing is kept for it.
    Rejects {
        /// The constraint, as SQL (`UNIQUE (email)`).
        constraint: String,
        /// The condition on the table's rows that holds for those it refuses.
        condition: String,
    },
}
