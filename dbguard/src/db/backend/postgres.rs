//! PostgreSQL.

use super::{Backend, ContentHash, CopyMethod, Explained, ForeignKeys, LockMethod, history_columns, quote_with};
use crate::db::url::Parts;
use crate::model::fault::Fault;
use crate::model::kind::BackendKind;

#[derive(Debug)]
pub(crate) struct Postgres;

impl Backend for Postgres {
    fn failure_aborts_transaction(&self) -> bool {
        true
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn quote(&self, ident: &str) -> String {
        quote_with(ident, '"')
    }

    fn param(&self, n: usize) -> String {
        format!("${n}")
    }

    fn history_ddl(&self, table: &str) -> String {
        history_columns(self, table)
    }

    // Polled with pg_try_advisory_lock: a blocking pg_advisory_lock held by one session
    // deadlocks with `CREATE INDEX CONCURRENTLY` run by another. Advisory locks are scoped to
    // the current database and released when the session ends.
    fn lock_method(&self, key: &str) -> LockMethod {
        let id = lock_id(key);
        LockMethod::Sql {
            acquire: format!("SELECT CAST(CASE WHEN pg_try_advisory_lock({id}) THEN 1 ELSE 0 END AS BIGINT)"),
            release: format!("SELECT CAST(CASE WHEN pg_advisory_unlock({id}) THEN 1 ELSE 0 END AS BIGINT)"),
        }
    }

    // A runner killed mid-statement must not leave its statement running on the server (and
    // the lock held until it ends): from PostgreSQL 14 the server checks every second that
    // the client is still there and cancels the statement if not.
    fn session_setup(&self) -> &'static [&'static str] {
        &["SELECT set_config('client_connection_check_interval', '1s', false) \
           WHERE current_setting('server_version_num')::int >= 140000"]
    }

    fn lock_holder_sql(&self, key: &str) -> Option<String> {
        let id = lock_id(key);
        let (high, low) = ((id >> 32) as u32, (id & 0xffff_ffff) as u32);
        Some(format!(
            "SELECT 'pid ' || a.pid || ' from ' || COALESCE(host(a.client_addr), 'a local socket') || \
             ' (' || COALESCE(NULLIF(a.application_name, ''), 'no application name') || '), ' || COALESCE(a.state, '?') || \
             ' since ' || COALESCE(to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', '?') || \
             ': ' || regexp_replace(LEFT(COALESCE(a.query, ''), 200), '\\s+', ' ', 'g') \
             FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {high} AND l.objid = {low} AND l.objsubid = 1"
        ))
    }

    fn admin_url(&self, url: &str) -> Option<String> {
        Some(crate::db::url::url_with_database(url, "postgres"))
    }

    fn drop_database_sql(&self, quoted: &str) -> String {
        format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    }

    fn concat_rows(&self, columns: &[&str]) -> Option<String> {
        let fields: Vec<String> = columns.iter().map(|c| format!("{c}::text")).collect();
        Some(format!("string_agg({}, chr(30))", fields.join(" || chr(31) || ")))
    }

    fn elapsed_ms_sql(&self, _started: &str) -> Option<String> {
        Some("CAST(EXTRACT(EPOCH FROM clock_timestamp() - now()) * 1000 AS BIGINT)".into())
    }

    // One round trip per megabyte, in the step's transaction: a 50 MB seed file is never
    // copied whole to be sent, and its progress is seen as it goes.
    fn batch_bytes(&self) -> Option<usize> {
        Some(1 << 20)
    }

    fn copy_method(&self) -> CopyMethod {
        CopyMethod::Template
    }

    fn introspection_queries(&self) -> &'static [&'static str] {
        &[
            "SELECT 'column', (table_schema || '.' || table_name)::text, column_name::text, \
             (data_type || COALESCE('(' || character_maximum_length || ')', '') || \
              CASE WHEN is_nullable = 'YES' THEN ' NULL' ELSE ' NOT NULL' END || \
              COALESCE(' DEFAULT ' || column_default, ''))::text \
             FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'index', (schemaname || '.' || tablename)::text, indexname::text, indexdef::text \
             FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'constraint', c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)::text \
             FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE c.conrelid <> 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'view', (schemaname || '.' || viewname)::text, viewname::text, definition::text \
             FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'matview', (schemaname || '.' || matviewname)::text, matviewname::text, definition::text \
             FROM pg_matviews WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'trigger', t.tgrelid::regclass::text, t.tgname::text, pg_get_triggerdef(t.oid)::text \
             FROM pg_trigger t WHERE NOT t.tgisinternal",
            "SELECT 'function', n.nspname::text, (p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')')::text, md5(p.prosrc)::text \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
            "SELECT 'sequence', sequence_schema::text, sequence_name::text, data_type::text \
             FROM information_schema.sequences WHERE sequence_schema NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'type', n.nspname::text, t.typname::text, \
             COALESCE((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), t.typtype::text)::text \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype IN ('e', 'd') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            "SELECT 'extension', ''::text, extname::text, ''::text FROM pg_extension",
            "SELECT 'schema', ''::text, nspname::text, ''::text FROM pg_namespace \
             WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'",
        ]
    }

    // `AS TABLE` keeps every column's type (numeric precision, timestamptz, arrays, enums).
    fn copy_table(&self, src: &str, dest: &str, _written: Option<&str>) -> Vec<String> {
        vec![format!("CREATE TABLE {dest} AS TABLE {src}")]
    }

    fn defined_type_columns_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)::text FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped \
             AND (tn.nspname NOT IN ('pg_catalog', 'information_schema') OR a.attcollation IN (SELECT co.oid \
               FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace \
               WHERE cn.nspname <> 'pg_catalog')) ORDER BY a.attnum",
        )
    }

    // Without the column's collation either: a copy keeping it goes with `DROP COLLATION ...
    // CASCADE`.
    fn as_plain_text(&self, quoted: &str) -> String {
        format!("CAST({quoted} AS TEXT) COLLATE \"default\"")
    }

    fn primary_key_sql(&self) -> String {
        "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
         WHERE i.indisprimary AND c.relname = $1 AND n.nspname = current_schema() \
         ORDER BY array_position(i.indkey::int2[], a.attnum)"
            .into()
    }

    fn columns_sql(&self) -> String {
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position"
            .into()
    }

    fn own_rows(&self, quoted: &str) -> String {
        format!("ONLY {quoted}")
    }

    fn generated_columns_sql(&self) -> &'static str {
        "SELECT a.attname::text FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema()) \
         AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '' ORDER BY a.attnum"
    }

    fn content_hash(&self, table: &str, cols: &[String]) -> ContentHash {
        let row = if cols.is_empty() { "''".to_string() } else { format!("ROW({})::text", cols.join(", ")) };
        ContentHash::Aggregate(format!(
            "SELECT (COUNT(*)::text || ':' || COALESCE(SUM((hashtextextended({row}, 0) >> 4)::numeric + 576460752303423488), 0)::text) FROM {table}"
        ))
    }

    // session_replication_role = replica skips foreign-key triggers (and their cascades) for
    // this transaction only; it needs a superuser or the table's owner with that privilege.
    fn without_foreign_keys(&self) -> ForeignKeys {
        ForeignKeys { session: None, in_transaction: Some("SET LOCAL session_replication_role = replica") }
    }

    // The driver's own rendering appends `at line N`: a line of the server's C source, which
    // reads like a line of the migration. The position in the statement is what matters.
    fn explain(&self, e: &(dyn sqlx::error::DatabaseError + 'static)) -> Explained {
        let Some(pg) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() else {
            return Explained { message: e.message().to_string(), position: None, extra: Vec::new() };
        };
        let position = match pg.position() {
            Some(sqlx::postgres::PgErrorPosition::Original(p)) => Some(p),
            _ => None,
        };
        let mut extra = Vec::new();
        extra.extend(pg.detail().map(|d| format!("detail: {d}")));
        extra.extend(pg.hint().map(|h| format!("hint: {h}")));
        Explained { message: pg.message().to_string(), position, extra }
    }

    // An interrupted `CREATE INDEX CONCURRENTLY` leaves its index INVALID: named as such.
    fn table_identities_sql(&self) -> &'static [&'static str] {
        &["SELECT c.relname::text, (c.relkind::text || c.oid::text) FROM pg_catalog.pg_class c \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
           UNION ALL \
           SELECT t.relname::text, ('i' || i.oid::text || CASE WHEN x.indisvalid THEN '' ELSE ' INVALID ' || i.relname::text END) \
           FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
           JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
           WHERE n.nspname = current_schema()"]
    }

    fn fault(&self, e: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<Fault> {
        match e.code()?.as_ref() {
            "53100" => Some(Fault::DiskFull),
            "25006" => Some(Fault::ReadOnly),
            "42501" => Some(Fault::PermissionDenied),
            "57P01" | "57P02" | "57P03" => Some(Fault::ServerGone),
            _ => None,
        }
    }

    fn read_only_session(&self) -> (&'static str, &'static str) {
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        )
    }

    fn inheriting_tables_sql(&self, here: bool) -> Option<String> {
        Some(format!(
            "SELECT {} FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid \
             JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
             JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace \
             WHERE p.relname = $1 AND n.nspname = current_schema() AND NOT c.relispartition \
             AND cn.nspname {} current_schema() ORDER BY 1",
            where_(here).0,
            where_(here).1
        ))
    }

    fn tables_owned_sql(&self, here: bool) -> Option<String> {
        // `current_user`, `current_role`, `session_user` name the roles they stand for.
        Some(format!(
            "SELECT {} FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND cn.nspname {} current_schema() \
             AND cn.nspname NOT IN ('pg_catalog', 'information_schema') AND pg_catalog.pg_get_userbyid(c.relowner) = \
             CASE lower($1) WHEN 'current_user' THEN current_user WHEN 'current_role' THEN current_user \
             WHEN 'session_user' THEN session_user ELSE $1 END",
            where_(here).0,
            where_(here).1
        ))
    }

    // Compared as values (`100.00` and `100` are equal; cents rounded, a string cut,
    // microseconds dropped are not), else as text; a cast that fails makes the count fail.
    // `char(n)` compares ignoring trailing spaces, which the conversion drops: as text first.
    fn value_changes(&self, col: &str, to: &str, using: Option<&str>) -> Vec<String> {
        let from = using.unwrap_or(col);
        let typed = format!("{col} IS DISTINCT FROM CAST({from} AS {to})");
        let text = format!("CAST({col} AS TEXT) IS DISTINCT FROM CAST(CAST({from} AS {to}) AS TEXT)");
        let upper = to.trim().to_ascii_uppercase();
        let padded = ["CHAR", "CHARACTER", "BPCHAR", "NCHAR"]
            .iter()
            .any(|p| upper == *p || upper.strip_prefix(p).is_some_and(|r| r.trim_start().starts_with('(')));
        if padded { vec![text] } else { vec![typed, text] }
    }

    fn keep_identity_values(&self) -> &'static str {
        " OVERRIDING SYSTEM VALUE"
    }

    fn referencing_tables_sql(&self, every: bool) -> String {
        referencing("ch.relname::text", "=", every)
    }

    fn tables_using_type_sql(&self, here: bool) -> Option<String> {
        Some(column_users(here, TYPES, "$1 IN (t.typname, e.typname, b.typname)"))
    }

    fn tables_using_collation_sql(&self, here: bool) -> Option<String> {
        Some(column_users(here, COLLATION, "co.collname = $1"))
    }

    fn tables_using_schema_sql(&self, here: bool) -> Option<String> {
        let joins = format!("{TYPES} {COLLATION}");
        let condition = "cn.nspname <> $1 AND (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1) \
                         IN (t.typnamespace, e.typnamespace, b.typnamespace, co.collnamespace)";
        Some(column_users(here, &joins, condition))
    }

    fn tables_using_extension_sql(&self, here: bool) -> Option<String> {
        let condition = "EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid \
                         WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.deptype = 'e' AND x.extname = $1 \
                         AND d.objid IN (t.oid, t.typelem, t.typbasetype))";
        Some(column_users(here, TYPES, condition))
    }

    fn dump_tool(&self) -> Option<&'static str> {
        Some("pg_dump")
    }

    // The password goes through the environment, never the command line (visible in `ps`).
    fn dump_args(&self, cmd: &mut std::process::Command, p: &Parts, out: &std::path::Path) {
        cmd.arg("--no-password").arg("-h").arg(&p.host).arg("-U").arg(&p.user).arg("-f").arg(out).arg(&p.database);
        if let Some(port) = &p.port {
            cmd.arg("-p").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("PGPASSWORD", pw);
        }
    }

    // CREATE DATABASE ... TEMPLATE needs the original to have no other session.
    fn copy_refused_while_in_use(&self, message: &str) -> bool {
        message.contains("being accessed by other users")
    }

    fn copy_with_client_tools(&self, url: &str, into: &str) -> crate::error::Result<()> {
        pg_copy(url, into)
    }

    fn current_schema_sql(&self) -> Option<&'static str> {
        Some("SELECT COALESCE(current_schema(), '')::text")
    }

    // A custom setting local to the transaction holds the schema the step started in.
    fn home_kept_sql(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "SELECT set_config('dbguard.home', COALESCE(current_schema(), ''), true)",
            "DO $dbguard$ BEGIN IF COALESCE(current_schema(), '') IS DISTINCT FROM current_setting('dbguard.home') \
             THEN RAISE EXCEPTION 'the step moved unqualified names away from %', current_setting('dbguard.home'); \
             END IF; \
             IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_class h ON h.relname = c.relname \
             AND h.relkind IN ('r', 'p', 'v', 'm', 'f') AND h.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace \
             WHERE nspname = current_setting('dbguard.home')) WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() \
             AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) THEN RAISE EXCEPTION 'a temporary table hides a table'; END IF; \
             END $dbguard$",
        ))
    }

    // The role and the path as the connection had them (dbguard's tables are in `home`).
    fn go_home_sql(&self, home: &str) -> Option<String> {
        (!home.is_empty())
            .then(|| format!("RESET SESSION AUTHORIZATION; RESET ROLE; SET search_path TO {}", self.quote(home)))
    }

    fn shadowing_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_class h ON h.relname = c.relname \
             AND h.relkind IN ('r', 'p', 'v', 'm', 'f') AND h.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace \
             WHERE nspname = current_schema()) WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() \
             AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1",
        )
    }

    // `$user` is the user's own schema; a schema that does not exist (and that the step does
    // not create) is passed over. `pg_temp` and `pg_catalog`, written out, come first: a table
    // created with `pg_temp` first is a temporary one.
    fn path_schema_sql(&self) -> Option<&'static str> {
        Some(
            "WITH a AS (SELECT split_part($1, E'\\n\\t\\n', 1) AS path, string_to_array(split_part($1, E'\\n\\t\\n', 2), E'\\n') AS made) \
             SELECT s FROM a CROSS JOIN LATERAL unnest(string_to_array(a.path, E'\\n')) WITH ORDINALITY AS p(name, o) \
             CROSS JOIN LATERAL (SELECT CASE WHEN p.name = '$user' THEN current_user::text ELSE p.name END AS s) r \
             WHERE r.s LIKE 'pg\\_temp%' OR r.s = 'pg_catalog' OR r.s = ANY(a.made) \
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = r.s) ORDER BY o LIMIT 1",
        )
    }

    fn list_tables_sql(&self) -> &'static str {
        "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    }

    fn table_exists_sql(&self) -> String {
        "SELECT tablename::text FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = current_schema()".into()
    }

    fn rewrites_on_update_sql(&self) -> &'static str {
        "SELECT t.tgname::text FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
         WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema()) \
         AND NOT t.tgisinternal"
    }

    fn routine_bodies_sql(&self, qualified: bool) -> &'static str {
        if qualified {
            "SELECT CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname::text END, \
             p.prosrc || ' ' || COALESCE(array_to_string(p.proconfig, ' '), '') \
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.proname = $1 AND n.nspname = $2"
        } else {
            "SELECT CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname::text END, \
             p.prosrc || ' ' || COALESCE(array_to_string(p.proconfig, ' '), '') \
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.proname = $1 AND n.nspname = ANY(current_schemas(false))"
        }
    }

    // The table's own, and those of its partitions and children (a row inserted into a
    // partitioned table fires its partition's triggers; a DELETE of a parent, its children's).
    fn trigger_bodies_sql(&self) -> &'static str {
        "WITH RECURSIVE tree(oid) AS (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname = $1 \
         AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema()) \
         UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree ON i.inhparent = tree.oid) \
         SELECT p.prosrc::text FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
         WHERE t.tgrelid IN (SELECT oid FROM tree) AND NOT t.tgisinternal \
         UNION ALL SELECT pg_catalog.pg_get_ruledef(w.oid)::text FROM pg_catalog.pg_rewrite w \
         WHERE w.ev_class IN (SELECT oid FROM tree) AND w.rulename <> '_RETURN'"
    }

    // MySQL/MariaDB defaults and checks cannot call stored functions; SQLite has none.
    fn insert_expressions_sql(&self) -> Option<&'static str> {
        // The types of its columns, and in turn the domains' base types, arrays' elements and
        // composite types' fields: a domain's DEFAULT and CHECK apply wherever it is used.
        Some(
            "WITH RECURSIVE t AS (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname = $1 \
             AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())), \
             types(oid) AS (SELECT a.atttypid FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid IN (SELECT oid FROM t) AND a.attnum > 0 AND NOT a.attisdropped \
             UNION SELECT n.x FROM types JOIN pg_catalog.pg_type ty ON ty.oid = types.oid, \
             LATERAL (SELECT ty.typbasetype UNION ALL SELECT ty.typelem UNION ALL SELECT f.atttypid \
             FROM pg_catalog.pg_attribute f WHERE f.attrelid = ty.typrelid AND f.attnum > 0) n(x) WHERE n.x <> 0) \
             SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)::text FROM pg_catalog.pg_attrdef d \
             WHERE d.adrelid IN (SELECT oid FROM t) \
             UNION ALL SELECT pg_catalog.pg_get_constraintdef(k.oid)::text FROM pg_catalog.pg_constraint k \
             WHERE k.contype = 'c' AND (k.conrelid IN (SELECT oid FROM t) OR k.contypid IN (SELECT oid FROM types)) \
             UNION ALL SELECT ty.typdefault::text FROM pg_catalog.pg_type ty \
             WHERE ty.oid IN (SELECT oid FROM types) AND ty.typdefault IS NOT NULL",
        )
    }

    // With the tables whose partitions or children have them (see `trigger_bodies_sql`).
    fn schemas_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' \
             AND nspname <> 'information_schema' ORDER BY 1",
        )
    }

    fn routine_names_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT DISTINCT CASE WHEN n.nspname = ANY(current_schemas(false)) THEN '' ELSE n.nspname::text END, p.proname::text \
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
               WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')",
        )
    }

    fn views_sql(&self) -> &'static str {
        "SELECT viewname::text FROM pg_catalog.pg_views WHERE schemaname = current_schema()"
    }

    fn event_trigger_bodies_sql(&self) -> Option<&'static str> {
        Some(
            "SELECT p.prosrc::text FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid \
             WHERE e.evtenabled <> 'D'",
        )
    }

    fn view_definition_sql(&self) -> &'static str {
        "SELECT pg_catalog.pg_get_viewdef(c.oid)::text FROM pg_catalog.pg_class c WHERE c.relname = $1 \
         AND c.relkind IN ('v', 'm') AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())"
    }

    fn triggered_tables_sql(&self) -> &'static str {
        "WITH RECURSIVE fired(oid) AS (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal \
         UNION SELECT w.ev_class FROM pg_catalog.pg_rewrite w WHERE w.rulename <> '_RETURN' \
         UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN fired ON i.inhrelid = fired.oid) \
         SELECT c.relname::text FROM pg_catalog.pg_class c JOIN fired ON fired.oid = c.oid \
         WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())"
    }

    fn run_against(&self, schema: &str) -> String {
        format!(
            "the schema {schema} (first in the URL's search_path, `?options=-csearch_path%3D{schema}`, or a fleet target with `schema = \"{schema}\"`)"
        )
    }

    fn tables_in_schema_sql(&self) -> &'static str {
        "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_tables WHERE lower(schemaname) = lower($1)"
    }

    fn referencing_elsewhere_sql(&self, every: bool) -> String {
        referencing("cn.nspname::text, ch.relname::text", "<>", every)
    }

    fn view_exists_sql(&self) -> &'static str {
        "SELECT viewname::text FROM pg_catalog.pg_views WHERE viewname = $1 AND schemaname = current_schema()"
    }

    fn tables_elsewhere_sql(&self) -> &'static str {
        "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_tables WHERE lower(tablename) = lower($1) \
         AND schemaname IS DISTINCT FROM current_schema() AND schemaname NOT IN ('pg_catalog', 'information_schema')"
    }

    fn estimated_rows_sql(&self) -> Option<&'static str> {
        // -1 until the table was first analysed: no estimate then.
        Some(
            "SELECT c.reltuples::bigint::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema() AND c.reltuples >= 0",
        )
    }
}

/// Copies the PostgreSQL database at `url` into the (existing, empty) database `into` on the
/// same server with `pg_dump | psql`: for when `CREATE DATABASE ... TEMPLATE` cannot be used
/// because other sessions are connected to the original.
fn pg_copy(url: &str, into: &str) -> crate::error::Result<()> {
    let masked = crate::db::url::mask_url(url);
    let p = crate::db::url::parts(url).ok_or_else(|| crate::error::Error::BadUrl {
        url: masked.clone(),
        problem: "cannot read host and database".into(),
    })?;
    let connect = |cmd: &mut std::process::Command| {
        cmd.arg("--no-password").arg("-h").arg(&p.host).arg("-U").arg(&p.user);
        if let Some(port) = &p.port {
            cmd.arg("-p").arg(port);
        }
        if let Some(pw) = &p.password {
            cmd.env("PGPASSWORD", pw);
        }
    };
    let failed = |what: &str, e: String| {
        crate::error::Error::Backup(format!(
            "could not copy {masked} into the scratch database {into} with pg_dump | psql ({what}): {}\n  the original database was only read.\n  next: install postgresql-client, or rehearse when no other session is connected (then CREATE DATABASE ... TEMPLATE is used)",
            crate::db::url::scrub(&e, url)
        ))
    };
    let mut dump = std::process::Command::new("pg_dump");
    connect(&mut dump);
    dump.arg("--no-owner")
        .arg("--no-privileges")
        .arg(&p.database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut dump = dump.spawn().map_err(|e| failed("starting pg_dump", e.to_string()))?;
    let mut load = std::process::Command::new("psql");
    connect(&mut load);
    load.arg("-q").arg("-v").arg("ON_ERROR_STOP=1").arg("-d").arg(into);
    load.stdin(dump.stdout.take().expect("piped"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let loaded = load.output().map_err(|e| failed("starting psql", e.to_string()))?;
    let dumped = dump.wait_with_output().map_err(|e| failed("pg_dump", e.to_string()))?;
    if !dumped.status.success() {
        return Err(failed("pg_dump", String::from_utf8_lossy(&dumped.stderr).trim().to_string()));
    }
    if !loaded.status.success() {
        return Err(failed("psql", String::from_utf8_lossy(&loaded.stderr).trim().to_string()));
    }
    Ok(())
}

/// A stable 63-bit lock id from the lock's name (FNV-1a; std's hashers are not stable across
/// releases, and every runner must compute the same id).
fn lock_id(key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("dbguard:{key}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 1) as i64
}

/// The tables with a foreign key to the table `$1` of the current schema, selecting `columns`,
/// in the current schema (`=`) or in others (`<>`): those whose rows go or change with its
/// rows (`ON DELETE/UPDATE CASCADE`, `SET NULL`, `SET DEFAULT`), or with `every` all of them.
/// What the catalog queries that look here or elsewhere select and how they compare the
/// table's schema (`cn`) with the current one: this schema's table names, or other schemas'
/// `(schema, table)`.
fn where_(here: bool) -> (&'static str, &'static str) {
    if here { ("c.relname::text", "=") } else { ("cn.nspname::text, c.relname::text", "<>") }
}

/// The joins giving a column's type (`t`), the element type of an array (`e`) and the base type
/// of a domain (`b`).
const TYPES: &str = "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                     LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype";

/// The join giving a column's collation (`co`).
const COLLATION: &str = "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation";

/// The tables (here: names; elsewhere: `(schema, table)`, see [`where_`]) with a column (`a`)
/// that `condition` holds for, over `joins`: what an object dropped with CASCADE takes.
fn column_users(here: bool, joins: &str, condition: &str) -> String {
    let (select, cmp) = where_(here);
    format!(
        "SELECT DISTINCT {select} FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace {joins} \
         WHERE c.relkind IN ('r', 'p') AND cn.nspname {cmp} current_schema() AND a.attnum > 0 AND NOT a.attisdropped \
         AND {condition}"
    )
}

fn referencing(columns: &str, schema: &str, every: bool) -> String {
    let changes =
        if every { "" } else { " AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd'))" };
    format!(
        "SELECT DISTINCT {columns} FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class p ON p.oid = k.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
         JOIN pg_catalog.pg_class ch ON ch.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = ch.relnamespace \
         WHERE k.contype = 'f' AND p.relname = $1 AND pn.nspname = current_schema() AND cn.nspname {schema} current_schema(){changes}"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_ids_are_stable_and_distinct() {
        assert_eq!(super::lock_id("dbguard_schema_version"), super::lock_id("dbguard_schema_version"));
        assert_ne!(super::lock_id("a"), super::lock_id("b"));
        assert!(super::lock_id("x") >= 0);
    }
}
