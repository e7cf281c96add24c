//! MySQL and MariaDB.

use super::{Backend, ContentHash, CopyMethod, ForeignKeys, LockMethod, StaleRunner, history_columns, quote_with};
use crate::db::url::Parts;
use crate::model::fault::Fault;
use crate::model::kind::BackendKind;

#[derive(Debug)]
pub(crate) struct Mysql;

/// The server-wide name of the migration lock `key` (GET_LOCK names are limited to 64
/// characters).
fn lock_name(key: &str) -> String {
    let key = key.replace('\'', "''");
    format!("LEFT(CONCAT('dbguard:', DATABASE(), ':', '{key}'), 64)")
}

/// Statements that certainly stay inside the open transaction in MySQL/MariaDB: rows read and
/// written. Everything else may commit it implicitly (DDL, and also `CALL` of a procedure that
/// runs DDL, `EXECUTE`, `FLUSH`, `CHECK TABLE`, `SET PASSWORD`, `SET STATEMENT ... FOR ALTER`,
/// executable comments `/*! ... */`): treated as committing, so that a failure after it is
/// never reported as undone (fail closed).
const STAYS_IN_TRANSACTION: &[&str] = &["INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "DO"];

/// `SET` stays inside the transaction, except these forms.
const SET_THAT_COMMITS: &[&str] = &["PASSWORD", "STATEMENT", "AUTOCOMMIT", "DEFAULT", "ROLE"];

impl Backend for Mysql {
    // InnoDB's table ids follow a table through RENAME (MariaDB's view, then MySQL 8's).
    fn table_identities_sql(&self) -> &'static [&'static str] {
        &[
            "SELECT CAST(SUBSTRING_INDEX(name, '/', -1) AS CHAR), CAST(table_id AS CHAR) \
             FROM information_schema.INNODB_SYS_TABLES WHERE name LIKE CONCAT(DATABASE(), '/%')",
            "SELECT CAST(SUBSTRING_INDEX(name, '/', -1) AS CHAR), CAST(table_id AS CHAR) \
             FROM information_schema.INNODB_TABLES WHERE name LIKE CONCAT(DATABASE(), '/%')",
        ]
    }

    fn fault(&self, e: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<Fault> {
        let number = e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()?.number();
        match number {
            // The table is full, the disk is full, a write failed (errno 28: no space).
            1114 | 1021 | 3 => Some(Fault::DiskFull),
            // --read-only, super-read-only.
            1290 | 1836 => Some(Fault::ReadOnly),
            1142 | 1143 | 1044 | 1227 => Some(Fault::PermissionDenied),
            1927 | 2006 | 2013 => Some(Fault::ServerGone),
            _ => None,
        }
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Mysql
    }

    fn quote(&self, ident: &str) -> String {
        quote_with(ident, '`')
    }

    fn param(&self, _n: usize) -> String {
        "?".into()
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn commits_implicitly(&self, statement: &dbguard_lint::split::Statement<'_>) -> bool {
        // Code in executable comments runs on the server but is hidden from the keywords.
        if statement.text.contains("/*!") || statement.text.contains("/*M!") {
            return true;
        }
        match statement.keywords(2).as_slice() {
            [set, what, ..] if set == "SET" => SET_THAT_COMMITS.contains(&what.as_str()),
            [first, ..] => !STAYS_IN_TRANSACTION.contains(&first.as_str()) && first != "SET",
            [] => true,
        }
    }

    fn history_ddl(&self, table: &str) -> String {
        history_columns(self, table)
    }

    // GET_LOCK names are server-wide, so the name includes the database; the lock is released
    // when the session ends. Names are limited to 64 characters.
    fn admin_url(&self, url: &str) -> Option<String> {
        Some(url.to_string())
    }

    fn copy_method(&self) -> CopyMethod {
        CopyMethod::TableByTable {
            list: "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                   WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
        }
    }

    fn long_text(&self) -> &'static str {
        "LONGTEXT"
    }

    fn lock_method(&self, key: &str) -> LockMethod {
        let name = lock_name(key);
        LockMethod::Sql {
            acquire: format!("SELECT CAST(COALESCE(GET_LOCK({name}, 0), 0) AS SIGNED)"),
            release: format!("SELECT CAST(COALESCE(RELEASE_LOCK({name}), 0) AS SIGNED)"),
        }
    }

    // Connection ids are unique on a server until it restarts, so the alive lock of a gone
    // runner's connection is never taken again by someone else.
    fn stale_runner(&self, key: &str) -> Option<StaleRunner> {
        Some(StaleRunner {
            session_id: "SELECT CAST(CONNECTION_ID() AS SIGNED)",
            keep_open: "SET SESSION wait_timeout = 31536000",
            alive: |id| format!("SELECT CAST(COALESCE(GET_LOCK('dbguard-alive:{id}', 10), 0) AS SIGNED)"),
            release: |id| format!("SELECT CAST(COALESCE(RELEASE_LOCK('dbguard-alive:{id}'), 0) AS SIGNED)"),
            holder: format!("SELECT CAST(COALESCE(IS_USED_LOCK({}), 0) AS SIGNED)", lock_name(key)),
            gone: |id| format!("SELECT CAST(COALESCE(IS_FREE_LOCK('dbguard-alive:{id}'), 0) AS SIGNED)"),
            end: |id| format!("KILL CONNECTION {id}"),
        })
    }

    fn lock_holder_sql(&self, key: &str) -> Option<String> {
        let name = lock_name(key);
        Some(format!(
            "SELECT CAST(CONCAT('connection ', p.id, ' from ', p.host, ', ', COALESCE(p.command, '?'), ' for ', p.time, 's: ', \
             REPLACE(LEFT(COALESCE(p.info, ''), 200), '\\n', ' ')) AS CHAR) FROM information_schema.processlist p WHERE p.id = IS_USED_LOCK({name})"
        ))
    }

    fn introspection_queries(&self) -> &'static [&'static str] {
        &[
            "SELECT 'column', CAST(table_name AS CHAR), CAST(column_name AS CHAR), \
             CAST(CONCAT(column_type, IF(is_nullable = 'YES', ' NULL', ' NOT NULL'), COALESCE(CONCAT(' DEFAULT ', column_default), ''), ' ', extra) AS CHAR) \
             FROM information_schema.columns WHERE table_schema = DATABASE()",
            "SELECT 'index', CAST(table_name AS CHAR), CAST(index_name AS CHAR), \
             CAST(CONCAT(IF(non_unique = 0, 'UNIQUE ', ''), GROUP_CONCAT(column_name ORDER BY seq_in_index)) AS CHAR) \
             FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY table_name, index_name, non_unique",
            "SELECT 'constraint', CAST(table_name AS CHAR), CAST(constraint_name AS CHAR), CAST(constraint_type AS CHAR) \
             FROM information_schema.table_constraints WHERE table_schema = DATABASE()",
            "SELECT 'view', CAST(table_name AS CHAR), CAST(table_name AS CHAR), CAST(view_definition AS CHAR) \
             FROM information_schema.views WHERE table_schema = DATABASE()",
            "SELECT 'trigger', CAST(event_object_table AS CHAR), CAST(trigger_name AS CHAR), CAST(action_statement AS CHAR) \
             FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
            "SELECT 'routine', '', CAST(routine_name AS CHAR), CAST(MD5(COALESCE(routine_definition, '')) AS CHAR) \
             FROM information_schema.routines WHERE routine_schema = DATABASE()",
        ]
    }

    fn max_identifier_len(&self) -> usize {
        64
    }

    // `LIKE` + `INSERT` keeps the indexes and AUTO_INCREMENT, so a table dropped by a
    // non-transactional migration comes back usable, not only its rows.
    fn copy_table(&self, src: &str, dest: &str, written: Option<&str>) -> Vec<String> {
        let insert = match written {
            Some(cols) => format!("INSERT INTO {dest} ({cols}) SELECT {cols} FROM {src}"),
            None => format!("INSERT INTO {dest} SELECT * FROM {src}"),
        };
        vec![format!("CREATE TABLE {dest} LIKE {src}"), insert]
    }

    // `CREATE TABLE ... AS SELECT` is refused under GTID consistency; LIKE keeps the types.
    fn home_sql(&self) -> Option<&'static str> {
        Some("SELECT COALESCE(DATABASE(), '')")
    }

    // `USE` is not undone by a rollback.
    fn go_home_sql(&self, home: &str) -> Option<String> {
        Some(format!("USE {}", self.quote(home)))
    }

    fn copy_as_statement(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "SET @dbguard_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = \
             REPLACE(REPLACE(@@SESSION.sql_mode, 'STRICT_TRANS_TABLES', ''), 'STRICT_ALL_TABLES', '')",
            "SET SESSION sql_mode = @dbguard_sql_mode",
        ))
    }

    fn empty_copy(&self, src: &str, dest: &str, list: &str) -> String {
        // Whole rows keep the table's definition, keys included; some of its columns (an
        // UPDATE's key and values) take the types of the select.
        if list == "*" {
            format!("CREATE TABLE {dest} LIKE {src}")
        } else {
            format!("CREATE TABLE {dest} AS SELECT {list} FROM {src} WHERE 1 = 0")
        }
    }

    fn update_from(&self, dest: &str, src: &str, on: &str, sets: &[(String, String)]) -> String {
        let sets: Vec<String> = sets.iter().map(|(c, v)| format!("{dest}.{c} = {v}")).collect();
        format!("UPDATE {dest} JOIN {src} AS dbguard_src ON {on} SET {}", sets.join(", "))
    }

    fn rewrites_on_update_sql(&self) -> &'static str {
        "SELECT CAST(name AS CHAR) FROM (SELECT trigger_name AS name, event_object_table AS tbl \
         FROM information_schema.triggers WHERE event_object_schema = DATABASE() UNION ALL \
         SELECT column_name, table_name FROM information_schema.columns WHERE table_schema = DATABASE() \
         AND LOWER(extra) LIKE '%on update%') x WHERE tbl = ?"
    }

    // Only where CAST converts as the column will (strings cut to a length, decimals rounded,
    // temporal precision): integers of another width are clamped by the column, not by CAST.
    // Strings compared byte for byte (a PAD SPACE collation would call a cut of trailing
    // spaces equal).
    fn value_changes(&self, col: &str, to: &str, _using: Option<&str>) -> Vec<String> {
        let upper = to.to_ascii_uppercase();
        let base = upper.split(['(', ' ']).next().unwrap_or("").trim();
        // The length, and a character set when given (`(20) CHARACTER SET LATIN1`).
        let args = upper.find('(').map(|i| &to[i..]).unwrap_or("");
        if upper.contains(" COLLATE ") {
            return Vec::new();
        }
        match base {
            "VARCHAR" | "CHAR" if args.starts_with('(') => {
                vec![format!("NOT (BINARY {col} <=> BINARY CAST({col} AS CHAR{args}))")]
            }
            "DECIMAL" | "NUMERIC" | "DATETIME" | "TIME" | "DATE" if !upper.contains("CHARACTER SET") => {
                vec![format!("NOT ({col} <=> CAST({col} AS {base}{args}))")]
            }
            _ => Vec::new(),
        }
    }

    // Strict modes (MariaDB's and MySQL's default) refuse the NULLs; without one, `MODIFY c
    // INT NOT NULL` writes 0 over them with a warning.
    fn nulls_refused_sql(&self) -> Option<&'static str> {
        Some("SELECT CAST(@@SESSION.sql_mode LIKE '%STRICT%' AS SIGNED)")
    }

    // InnoDB alone rolls back (Aria's "transactional" tables are crash-safe, not undone).
    fn untransactional_tables_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() \
             AND table_type = 'BASE TABLE' AND engine IS NOT NULL AND engine <> 'InnoDB'",
        )
    }

    // A MyISAM or Aria table keeps the rows a failed UPDATE changed before it failed.
    fn failed_statement_undone(&self) -> bool {
        false
    }

    fn default_charset_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT CAST(c.character_set_name AS CHAR) FROM information_schema.tables t \
             JOIN information_schema.collation_character_set_applicability c ON c.collation_name = t.table_collation \
             WHERE t.table_schema = DATABASE() AND t.table_name = ?",
        )
    }

    fn primary_key_sql(&self) -> String {
        "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
         WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY' ORDER BY ordinal_position"
            .into()
    }

    fn columns_sql(&self) -> String {
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            .into()
    }

    fn insert_converting(&self) -> &'static str {
        "INSERT IGNORE"
    }

    fn generated_columns_sql(&self) -> &'static str {
        // `DEFAULT_GENERATED` (MySQL 8) is an expression default, written like any value.
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() \
         AND table_name = ? AND (extra LIKE '%STORED GENERATED%' OR extra LIKE '%VIRTUAL GENERATED%') \
         ORDER BY ordinal_position"
    }

    fn content_hash(&self, table: &str, cols: &[String]) -> ContentHash {
        let quoted: Vec<String> = cols.iter().map(|c| format!("QUOTE({c})")).collect();
        let row =
            if cols.is_empty() { "''".to_string() } else { format!("CONCAT_WS(CHAR(31), {})", quoted.join(", ")) };
        ContentHash::Aggregate(format!(
            "SELECT CAST(CONCAT(COUNT(*), ':', COALESCE(SUM(CAST(CONV(LEFT(SHA2({row}, 256), 15), 16, 10) AS DECIMAL(40))), 0)) AS CHAR) FROM {table}"
        ))
    }

    fn without_foreign_keys(&self) -> ForeignKeys {
        ForeignKeys {
            session: Some(("SET FOREIGN_KEY_CHECKS = 0", "SET FOREIGN_KEY_CHECKS = 1")),
            in_transaction: None,
        }
    }

    fn read_only_session(&self) -> (&'static str, &'static str) {
        ("SET SESSION TRANSACTION READ ONLY", "SET SESSION TRANSACTION READ WRITE")
    }

    fn dump_tool(&self) -> Option<&'static str> {
        Some("mysqldump")
    }

    // The password goes through the environment, never the command line (visible in `ps`).
    fn dump_args(&self, cmd: &mut std::process::Command, p: &Parts, out: &std::path::Path) {
        cmd.arg("--single-transaction").arg("-h").arg(&p.host).arg("-u").arg(&p.user);
        cmd.arg(format!("--result-file={}", out.display())).arg(&p.database);
        if let Some(port) = &p.port {
            cmd.arg("-P").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("MYSQL_PWD", pw);
        }
    }

    fn referencing_tables_sql(&self, every: bool) -> String {
        referencing("CAST(TABLE_NAME AS CHAR)", "=", every)
    }

    fn list_tables_sql(&self) -> &'static str {
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"
    }

    fn table_exists_sql(&self) -> String {
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?".into()
    }

    fn routine_bodies_sql(&self, qualified: bool) -> &'static str {
        if qualified {
            "SELECT CAST(IF(ROUTINE_SCHEMA = DATABASE(), '', ROUTINE_SCHEMA) AS CHAR), \
             CAST(COALESCE(ROUTINE_DEFINITION, '') AS CHAR) FROM information_schema.ROUTINES \
             WHERE ROUTINE_NAME = ? AND LOWER(ROUTINE_SCHEMA) = LOWER(?)"
        } else {
            "SELECT '', CAST(COALESCE(ROUTINE_DEFINITION, '') AS CHAR) FROM information_schema.ROUTINES \
             WHERE ROUTINE_NAME = ? AND ROUTINE_SCHEMA = DATABASE()"
        }
    }

    fn trigger_bodies_sql(&self) -> &'static str {
        "SELECT CAST(ACTION_STATEMENT AS CHAR) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() \
         AND EVENT_OBJECT_TABLE = ?"
    }

    fn routine_names_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT DISTINCT CAST(IF(ROUTINE_SCHEMA = DATABASE(), '', ROUTINE_SCHEMA) AS CHAR), CAST(ROUTINE_NAME AS CHAR) \
             FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')",
        )
    }

    fn views_sql(&self) -> &'static str {
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()"
    }

    fn view_definition_sql(&self) -> &'static str {
        "SELECT CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
    }

    fn triggered_tables_sql(&self) -> &'static str {
        "SELECT DISTINCT CAST(EVENT_OBJECT_TABLE AS CHAR) FROM information_schema.TRIGGERS \
         WHERE EVENT_OBJECT_SCHEMA = DATABASE()"
    }

    fn run_against(&self, schema: &str) -> String {
        format!("the database {schema} (as the URL's database, or a fleet target with that URL)")
    }

    fn tables_in_schema_sql(&self) -> &'static str {
        "SELECT CAST(table_schema AS CHAR), CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE lower(table_schema) = lower(?) AND table_type = 'BASE TABLE'"
    }

    fn referencing_elsewhere_sql(&self, every: bool) -> String {
        referencing("CAST(CONSTRAINT_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR)", "<>", every)
    }

    fn view_exists_sql(&self) -> &'static str {
        "SELECT CAST(table_name AS CHAR) FROM information_schema.views WHERE table_schema = DATABASE() AND table_name = ?"
    }

    fn tables_elsewhere_sql(&self) -> &'static str {
        "SELECT CAST(table_schema AS CHAR), CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE lower(table_name) = lower(?) AND table_type = 'BASE TABLE' AND table_schema <> COALESCE(DATABASE(), '') \
         AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
    }

    fn estimated_rows_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT CAST(table_rows AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ? AND table_rows IS NOT NULL",
        )
    }
}

/// The tables with a foreign key to the table `?` of this database, selecting `columns`, in
/// this database (`=`) or in others (`<>`): those whose rows go or change with its rows
/// (`ON DELETE/UPDATE CASCADE`, `SET NULL`, `SET DEFAULT`), or with `every` all of them.
fn referencing(columns: &str, schema: &str, every: bool) -> String {
    let changes = if every {
        ""
    } else {
        " AND (DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') OR UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))"
    };
    format!(
        "SELECT DISTINCT {columns} FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA {schema} DATABASE() AND UNIQUE_CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ?{changes}"
    )
}

#[cfg(test)]
mod tests {
    use super::{Backend, Mysql};

    /// Only reads, writes and plain `SET` are known to stay inside a transaction; anything else
    /// may commit it (a procedure's DDL, `EXECUTE`, executable comments), found by a new-user
    /// trial where rows before such a statement stayed after a failure reported as undone.
    #[test]
    fn what_may_commit_is_taken_to_commit() {
        let m = Mysql;
        let commits = |sql: &str| {
            let statements = dbguard_lint::split::split(sql, dbguard_lint::Dialect::Mysql);
            m.commits_implicitly(&statements[0])
        };
        for sql in [
            "CALL pd()",
            "/*M! CREATE TABLE x1 (id INT) */",
            "/*!50000 ALTER TABLE t ADD COLUMN c INT */",
            "EXECUTE IMMEDIATE 'CREATE TABLE x2 (id INT)'",
            "SET STATEMENT max_statement_time=100 FOR ALTER TABLE t ADD c INT",
            "FLUSH TABLES",
            "CHECK TABLE t",
            "SET PASSWORD = PASSWORD('x')",
            "set autocommit = 1",
            "CREATE TABLE t (id INT)",
            "LOCK TABLES t WRITE",
        ] {
            assert!(commits(sql), "{sql}");
        }
        for sql in ["INSERT INTO t VALUES (1)", "update t set a = 1", "SET @a = 'x'", "SELECT 1", "DELETE FROM t"] {
            assert!(!commits(sql), "{sql}");
        }
    }
}
