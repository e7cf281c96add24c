//! The row guard around each migration step: snapshot what the step may destroy, count the
//! tables it must preserve, and find what it lost.

use crate::backup::snapshot::{self, RowsSnapshot, reason};
use crate::db::database::Session;
use crate::error::Loss;
use crate::error::Result;
use crate::migrate::radius::{self, RowTarget, Target, ValueChange, ValueTarget, Verb};
use crate::migrate::report::Radius;
use crate::model::migration::{Migration, Step};
use crate::store::catalog::SnapshotInfo;

/// What one step must protect.
#[derive(Debug, Default)]
pub(crate) struct Protect {
    /// The migration, for messages: version, name, location.
    migration: (i64, String, String),
    /// The step changes `sql_mode` itself: whether a `NOT NULL` replaces NULLs or refuses
    /// them cannot be read from the session before it.
    sets_sql_mode: bool,
    /// Declared preserved tables, and whether their count must stay exactly the same.
    preserved: Vec<(String, bool)>,
    /// Preserved columns, by table: their values must stay exactly as they were.
    values_kept: Vec<(String, Vec<String>)>,
    /// Tables the linter finds the step destroys or rewrites.
    destroyed: Vec<String>,
    /// Tables the step truncates: with `CASCADE`, every table referencing them is emptied too.
    truncated: Vec<String>,
    /// Names in text the linter could not read statement by statement: every existing table
    /// among them is snapshotted, since what hides there cannot be classified.
    unchecked: Vec<String>,
    /// Objects dropped with CASCADE: the tables with columns depending on them are snapshotted.
    cascades: Vec<dbguard_lint::Cascade>,
    /// Statements that delete or overwrite the rows a predicate chooses: those rows are
    /// measured and copied just before each runs (unless the table is kept whole anyway).
    rows: Vec<RowTarget>,
    /// Columns an `ALTER TABLE` drops or converts: their values are measured before the step.
    values: Vec<ValueTarget>,
    /// Tables kept whole only for columns dropped or converted: none is kept when no value of
    /// those columns is lost.
    for_values_only: Vec<String>,
    /// What [`measure_values`] found.
    measured: Vec<Radius>,
    /// For each value target counted zero: its statement, table and the condition counted,
    /// to count again just before the statement runs (a function or trigger may write first).
    zero_counts: Vec<(usize, String, String)>,
    /// Tables not copied because none of their dropped or converted values held anything.
    skipped_for_values: Vec<String>,
    /// For each column dropped or converted whose values were counted: its table, the column,
    /// and the condition of the rows that lose a value; and the tables one of whose columns
    /// could not be counted. A table kept only for such columns, all counted, keeps its key and
    /// those values of those rows, not every row.
    lost_values: Vec<(String, String, String)>,
    uncounted_values: Vec<String>,
    /// What the step reaches beyond the current schema's tables (`other.users`, `SET
    /// search_path`, `DROP SCHEMA`): checked by [`Protect::check_reach`].
    reach: radius::Reach,
    /// The tables the parser found the step deletes or overwrites rows of (DML, not DDL).
    dml_tables: Vec<String>,
    /// The tables the step creates (or renames to), as the linter reads it.
    created: Vec<String>,
    /// Routines the step may call, `(schema as written or empty, name)`: their bodies, read
    /// from the database, are text the guard cannot follow (every table they name is kept).
    called: Vec<(String, String)>,
    /// The words of the bodies of those routines, and of the triggers on the tables the step
    /// changes, that may destroy something.
    body_words: Vec<String>,
    /// The tables those bodies insert into (an audit trigger's log): written, though nothing
    /// is destroyed there.
    body_inserts: Vec<String>,
    /// The tables the step inserts into: the triggers on them run what the step does not say.
    inserted: Vec<String>,
    /// Every word before a `(` in the step, with its qualifier: the routines among them are read.
    call_candidates: Vec<(String, String)>,
    /// Routines (`r:name`) and tables (`t:name`) whose bodies [`Protect::follow`] has read.
    followed: std::collections::HashSet<String>,

    /// Whether [`Protect::resolve`] has run.
    resolved: bool,
    /// Resuming a step that was interrupted: the preserved tables' counts from before it
    /// started (they cannot be counted again now), and a preserved table already gone is no
    /// surprise (its rows are in the snapshot the first run took).
    pub resumed: Option<Vec<Counted>>,
}

impl Protect {
    pub fn for_step(m: &Migration, step: &Step, dialect: dbguard_lint::Dialect) -> Self {
        let preserved = m.preserves().iter().map(|t| (t.clone(), m.preserves_exactly().contains(t))).collect();
        let migration = (m.version(), m.name().to_string(), m.origin().describe(false));
        let values_kept = m.preserves_values().to_vec();
        let mut p = Protect { migration, preserved, values_kept, ..Protect::default() };
        if let Step::Sql(sql) = step {
            p.inserted = radius::inserted(sql);
            p.call_candidates = radius::call_candidates(sql);
        }
        if let Step::Sql(sql) = step
            && might_destroy(sql)
        {
            let targets = dbguard_lint::guard_targets(sql, dialect);
            let value_rules = |r: &str| matches!(r, "drop-column" | "alter-column-type");
            for (_, table) in targets.destroyed.iter().filter(|(r, _)| value_rules(r)) {
                let only = targets.destroyed.iter().filter(|(_, t)| t == table).all(|(r, _)| value_rules(r));
                if only && !p.for_values_only.contains(table) {
                    p.for_values_only.push(table.clone());
                }
            }
            let radius = radius::targets(sql, dialect);
            p.sets_sql_mode = sql.as_bytes().windows(8).any(|w| w.eq_ignore_ascii_case(b"sql_mode"));
            // An UPDATE with no WHERE that the parser read keeps what it overwrites, not the
            // whole table (one it could not read is kept whole below).
            let narrowed: Vec<&str> = radius
                .iter()
                .filter_map(|t| match t {
                    Target::Rows(r) if r.no_where && r.verb == Verb::Update && !r.kept_whole => Some(r.table.as_str()),
                    _ => None,
                })
                .collect();
            for (rule, table) in targets.destroyed {
                if rule == "update-without-where" && narrowed.iter().any(|t| t.eq_ignore_ascii_case(&table)) {
                    continue;
                }
                if rule == "truncate" && !p.truncated.contains(&table) {
                    p.truncated.push(table.clone());
                }
                p.destroy(table);
            }
            (p.unchecked, p.cascades) = (targets.unchecked, targets.cascades);
            p.reach = radius::reach(sql, dialect);
            // A schema dropped takes the columns of its types and collations wherever they are.
            for (schema, ..) in &p.reach.dropped_schemas {
                p.cascades.push(dbguard_lint::Cascade::Schema(schema.clone()));
            }
            // What the linter's rules do not flag still changes rows: a DELETE or UPDATE with
            // a condition, REPLACE, upserts. Read with a parser; what it cannot read is kept whole.
            for t in radius {
                if let Target::Rows(RowTarget { table, .. }) | Target::Whole(table) = &t
                    && !p.dml_tables.contains(table)
                {
                    p.dml_tables.push(table.clone());
                }
                match t {
                    // Kept whole, and checked before it runs.
                    Target::Rows(r) if r.kept_whole => {
                        p.destroy(r.table.clone());
                        p.rows.push(r);
                    }
                    Target::Rows(r) => p.rows.push(r),
                    Target::Values(v) => p.values.push(v),
                    Target::Whole(table) => {
                        p.for_values_only.retain(|t| *t != table);
                        p.destroy(table);
                    }
                    Target::Unknown(words) => p.unchecked.extend(words),
                }
            }
            // A view the step makes and then writes through: the tables its query names are
            // what changes, read like text the guard cannot follow.
            // (Only statements that start with CREATE, or with a MySQL executable comment, are
            // lexed: a seed's INSERTs cost nothing.)
            dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
                if !matches!(st.first_keyword().as_str(), "CREATE" | "") {
                    return;
                }
                let v = dbguard_lint::stmt::Stmt::new(st.text, st.offset, dialect);
                let at = if v.starts(&["CREATE", "VIEW"]) {
                    2
                } else if v.starts(&["CREATE", "OR", "REPLACE", "VIEW"]) {
                    4
                } else {
                    return;
                };
                if let Some((view, _)) = v.name(at)
                    && p.dml_tables.iter().chain(&p.destroyed).any(|t| t.eq_ignore_ascii_case(&view))
                {
                    p.unchecked.extend(radius::words(st.text));
                }
            });
            p.created = dbguard_lint::table_effects(sql, dialect).0;
            p.called = radius::called(sql, dialect);
            // A table renamed and then dropped, emptied or changed under its new name (which
            // the linter takes for a table the step made) is the table that had the old one.
            let renames = radius::renames(sql, dialect);
            if !renames.is_empty() {
                let mut gone = dbguard_lint::table_effects(sql, dialect).1;
                gone.extend(p.destroyed.iter().cloned());
                gone.extend(p.rows.iter().map(|r| r.table.clone()));
                // A column dropped or converted under the new name: the old table's values.
                gone.extend(
                    p.values
                        .iter()
                        .filter(|v| !matches!(v.change, ValueChange::Rejects { .. }))
                        .map(|v| v.table.clone()),
                );
                loop {
                    let back: Vec<String> = renames
                        .iter()
                        .filter(|(from, to)| {
                            gone.iter().any(|t| t.eq_ignore_ascii_case(to))
                                && !p.destroyed.iter().any(|t| t.eq_ignore_ascii_case(from))
                        })
                        .map(|(from, _)| from.clone())
                        .collect();
                    if back.is_empty() {
                        break;
                    }
                    for t in back {
                        gone.push(t.clone());
                        p.destroy(t);
                    }
                }
            }
        }
        p
    }

    pub fn is_empty(&self) -> bool {
        self.preserved.is_empty()
            && self.destroyed.is_empty()
            && self.unchecked.is_empty()
            && self.cascades.is_empty()
            && self.rows.is_empty()
            && self.values.is_empty()
            && self.reach.dropped_schemas.is_empty()
            && self.called.is_empty()
            && self.body_words.is_empty()
    }

    /// Whether `table` is copied whole before the step.
    fn kept_whole(&self, table: &str) -> bool {
        self.destroyed.iter().any(|t| t.eq_ignore_ascii_case(table))
            || self.preserved.iter().any(|(t, _)| t.eq_ignore_ascii_case(table))
    }

    /// The statements whose rows are copied one by one (their table is not kept whole).
    fn row_targets(&self) -> impl Iterator<Item = &RowTarget> {
        self.rows.iter().filter(|r| !self.kept_whole(&r.table))
    }

    fn destroy(&mut self, table: String) -> bool {
        let new = !self.destroyed.contains(&table);
        if new {
            self.destroyed.push(table);
        }
        new
    }

    /// Completes the tables destroyed from the live database (once): the existing tables named
    /// in text the linter could not check, the tables with columns depending on what is dropped
    /// with CASCADE, and, through foreign keys, the tables whose rows go or change with the
    /// rows of a table destroyed (`ON DELETE CASCADE`, `SET NULL`; everything that references
    /// a truncated table).
    async fn resolve(&mut self, s: &mut Session<'_>) -> Result<()> {
        self.read_routines(s).await?;
        if self.resolved
            || (self.destroyed.is_empty()
                && self.unchecked.is_empty()
                && self.cascades.is_empty()
                && self.rows.is_empty()
                && self.body_words.is_empty())
        {
            return Ok(());
        }
        self.resolved = true;
        // What runs on the server without being in the step's text: the bodies of the triggers
        // on the tables it changes (and of the routines it calls, read before), treated as
        // text the guard cannot follow statement by statement.
        let changed: Vec<String> = self.destroyed.iter().chain(&self.dml_tables).cloned().collect();
        self.follow(s, changed, Vec::new(), Vec::new()).await?;
        if !self.body_words.is_empty() {
            // The tables they name are kept whole; a column's values measured before the step
            // keep their own check just before its statement (what a routine writes there
            // first is copied then).
            for t in s.user_tables().await? {
                let named = self.body_words.iter().any(|n| n.eq_ignore_ascii_case(&t));
                if named && !self.for_values_only.iter().any(|v| v.eq_ignore_ascii_case(&t)) {
                    self.destroy(t);
                }
            }
        }
        if !self.unchecked.is_empty() {
            // A view named there (a block deleting through it): the tables its query names, in
            // turn, are what changes.
            let views = s.views().await?;
            let mut todo: Vec<String> =
                views.iter().filter(|v| self.unchecked.iter().any(|n| n.eq_ignore_ascii_case(v))).cloned().collect();
            let mut expanded: Vec<String> = Vec::new();
            while let Some(view) = todo.pop() {
                if expanded.contains(&view) {
                    continue;
                }
                if let Some(definition) = s.view_definition(&view).await? {
                    for w in radius::words(&definition) {
                        if let Some(v) = views.iter().find(|v| v.eq_ignore_ascii_case(&w)) {
                            todo.push(v.clone());
                        }
                        self.unchecked.push(w);
                    }
                }
                expanded.push(view);
            }
            for t in s.user_tables().await? {
                let named = self.unchecked.iter().any(|n| *n == t || n.eq_ignore_ascii_case(&t));
                if named {
                    self.destroy(t);
                }
            }
        }
        // Kept: `check_reach` looks for what they take from other schemas.
        for object in self.cascades.clone() {
            for t in s.tables_depending_on(&object).await? {
                self.destroy(t);
            }
        }
        // Rows deleted take with them (or change) the rows that reference them: those tables
        // are kept whole.
        for r in self.rows.clone() {
            for child in s.referencing_tables(&r.table, false).await? {
                self.destroy(child);
            }
            // A DELETE or UPDATE of a parent (PostgreSQL inheritance) changes its children's
            // rows too, with columns a copy of the parent does not have: kept whole, with them.
            if !s.inheriting_tables(&r.table).await?.is_empty() {
                self.destroy(r.table);
            }
        }
        // Foreign-key and inheritance closure: each table added is followed in turn.
        let mut i = 0;
        while i < self.destroyed.len() {
            let table = self.destroyed[i].clone();
            let every = self.truncated.contains(&table);
            for child in s.referencing_tables(&table, every).await? {
                if every && !self.truncated.contains(&child) {
                    self.truncated.push(child.clone());
                }
                self.destroy(child);
            }
            for child in s.inheriting_tables(&table).await? {
                if every && !self.truncated.contains(&child) {
                    self.truncated.push(child.clone());
                }
                self.destroy(child);
            }
            i += 1;
        }
        Ok(())
    }

    /// The words of the trigger and routine bodies the step runs that may destroy something,
    /// and the tables any of them inserts into: what the step may write without naming it
    /// (after [`Protect::read_routines`]).
    pub(crate) fn reached_words(&self) -> Vec<String> {
        self.body_words.iter().chain(&self.body_inserts).cloned().collect()
    }

    /// Reads the bodies of the routines the step calls (in any schema) and of the triggers on
    /// the tables it inserts into: those that may destroy something make the step one to
    /// guard (an `AFTER INSERT` trigger that deletes elsewhere). Before [`Protect::is_empty`]
    /// decides.
    pub(crate) async fn read_routines(&mut self, s: &mut Session<'_>) -> Result<()> {
        let written_by_step: Vec<String> = self.inserted.iter().chain(&self.dml_tables).cloned().collect();
        let mut names = std::mem::take(&mut self.called);
        // A routine called anywhere (`INSERT ... VALUES (f())`, `DEFAULT f()`, `SET @x = f()`).
        let candidates = std::mem::take(&mut self.call_candidates);
        if !candidates.is_empty() {
            // A bare name finds a routine of this schema (search path); a qualified one, that
            // schema's too.
            for (schema, r) in s.routine_names().await? {
                let called = candidates
                    .iter()
                    .any(|(q, n)| n.eq_ignore_ascii_case(&r) && (schema.is_empty() || q.eq_ignore_ascii_case(&schema)));
                let call = (schema, r);
                if called && !names.contains(&call) {
                    names.push(call);
                }
            }
        }
        let inserted = std::mem::take(&mut self.inserted);
        let mut tables = Vec::new();
        if !inserted.is_empty() {
            let triggered = s.triggered_tables().await?;
            // A view inserted into (an updatable one, or through its rules) writes its tables,
            // firing their triggers: the tables its definition names, views in turn.
            let views = if triggered.is_empty() { Vec::new() } else { s.views().await? };
            let (mut into, mut written) = (inserted.clone(), inserted.clone());
            let mut expanded: Vec<String> = Vec::new();
            while let Some(name) = into.pop() {
                let Some(view) = views.iter().find(|v| v.eq_ignore_ascii_case(&name)) else { continue };
                if expanded.contains(view) {
                    continue;
                }
                expanded.push(view.clone());
                if let Some(definition) = s.view_definition(view).await? {
                    let words = radius::words(&definition);
                    into.extend(words.iter().cloned());
                    written.extend(words);
                }
            }
            tables = triggered;
            tables.retain(|t| written.iter().any(|i| i.eq_ignore_ascii_case(t)));
            // A column's DEFAULT, a CHECK, a domain's CHECK may call a function that changes
            // other tables, for every row inserted (into the tables of a view too): followed
            // like a call in the step.
            let into = if expanded.is_empty() { &inserted } else { &written };
            for call in self.insert_calls(s, into).await? {
                if !names.contains(&call) {
                    names.push(call);
                }
            }
        }
        // What the database runs on any DDL (PostgreSQL event triggers), read once.
        let mut bodies = Vec::new();
        if self.followed.insert("e:".into()) {
            bodies = s.event_trigger_bodies().await?.into_iter().map(|b| (String::new(), b)).collect();
        }
        self.follow(s, tables, names, bodies).await?;
        // A table whose constraint replaces the rows a new value conflicts with (SQLite's `ON
        // CONFLICT REPLACE`) loses rows to a plain INSERT or UPDATE, the step's or a trigger's:
        // kept whole.
        if let Some(sql) = s.env.backend.replacing_tables_sql() {
            let written: Vec<String> = written_by_step.into_iter().chain(self.body_inserts.iter().cloned()).collect();
            if written.is_empty() {
                return Ok(());
            }
            let dialect = s.env.backend.kind().dialect();
            for row in s.strings(sql, "listing the tables that replace conflicting rows").await? {
                let Some((table, definition)) = row.split_once('\0') else { continue };
                if written.iter().any(|w| w.eq_ignore_ascii_case(table)) && replaces_on_conflict(definition, dialect) {
                    self.destroy(table.to_string());
                }
            }
        }
        Ok(())
    }

    /// The routines the server may call for each row inserted into `tables` (their columns'
    /// defaults and checks, see `Backend::insert_expressions_sql`), each table read once.
    async fn insert_calls(&mut self, s: &mut Session<'_>, tables: &[String]) -> Result<Vec<(String, String)>> {
        let dialect = s.env.backend.kind().dialect();
        let mut out = Vec::new();
        if s.env.backend.insert_expressions_sql().is_none() {
            return Ok(out);
        }
        for t in tables {
            if !self.followed.insert(format!("x:{}", t.to_lowercase())) {
                continue;
            }
            for expression in s.insert_expressions(t).await? {
                out.extend(radius::called(&expression, dialect));
            }
        }
        Ok(out)
    }

    /// Follows what runs on the server: the bodies of the routines named, of the triggers (and
    /// PostgreSQL rules) on the tables given, and, in turn, of the routines those bodies call
    /// and the triggers of the tables they name, each once. The words of the bodies that may
    /// destroy something are kept (with the schema of a routine of another schema, whose bare
    /// names mean its tables); an audit trigger that only inserts keeps nothing, but the triggers of
    /// the tables it inserts into are followed in turn.
    async fn follow(
        &mut self,
        s: &mut Session<'_>,
        tables: Vec<String>,
        names: Vec<(String, String)>,
        bodies: Vec<(String, String)>,
    ) -> Result<()> {
        let destroys = |b: &str| {
            let l = b.to_ascii_lowercase();
            ["delete", "update", "truncate", "drop", "replace", "merge", "execute", "alter", "call"]
                .iter()
                .any(|w| l.contains(w))
        };
        let dialect = s.env.backend.kind().dialect();
        let (mut tables, mut names, mut bodies) = (tables, names, bodies);
        let mut existing: Option<Vec<String>> = None;
        let mut triggered: Option<Vec<String>> = None;
        loop {
            if let Some(t) = tables.pop() {
                if self.followed.insert(format!("t:{}", t.to_lowercase())) {
                    bodies.extend(s.trigger_bodies(&t).await?.into_iter().map(|b| (String::new(), b)));
                }
                continue;
            }
            if let Some((q, n)) = names.pop() {
                if self.followed.insert(format!("r:{}.{}", q.to_lowercase(), n.to_lowercase())) {
                    let found = s.routine_bodies(&q, &n).await?;
                    // A procedure `CALL`ed whose body is read is followed like the step's own
                    // text: it no longer puts every table at stake.
                    if !found.is_empty() {
                        self.cascades
                            .retain(|c| !matches!(c, dbguard_lint::Cascade::Routine(r) if r.eq_ignore_ascii_case(&n)));
                    }
                    bodies.extend(found);
                }
                continue;
            }
            let Some((schema, body)) = bodies.pop() else { break };
            // A routine's calls are followed whatever it does itself (`RETURN g()`); its bare
            // names are of its own schema (database).
            names.extend(radius::called(&body, dialect).into_iter().map(|(q, n)| match q.is_empty() {
                true => (schema.clone(), n),
                false => (q, n),
            }));
            // SQL it builds at run time (`EXECUTE format(...)`) may touch any table.
            if dbguard_lint::builds_sql(&body, dialect) {
                let why = "every table: a routine or trigger the step runs builds its SQL at run time (EXECUTE)";
                let unknown = dbguard_lint::Cascade::Unknown(why.into());
                if !self.cascades.contains(&unknown) {
                    self.cascades.push(unknown);
                }
            }
            // The rows it inserts fire the triggers of their tables in turn (a chain of audit
            // triggers that ends in a DELETE).
            let into = radius::inserted(&body);
            self.body_inserts.extend(into.iter().cloned());
            // And what their columns' defaults and checks call.
            names.extend(self.insert_calls(s, &into).await?);
            if !into.is_empty() {
                let triggered = match &triggered {
                    Some(t) => t,
                    None => triggered.insert(s.triggered_tables().await?),
                };
                tables.extend(triggered.iter().filter(|t| into.iter().any(|i| i.eq_ignore_ascii_case(t))).cloned());
            }
            if !destroys(&body) {
                continue;
            }
            let words = radius::words(&body);
            if !schema.is_empty() {
                self.body_words.push(schema.to_lowercase());
            }
            let tables_here = match &existing {
                Some(t) => t,
                None => existing.insert(s.user_tables().await?),
            };
            tables.extend(tables_here.iter().filter(|t| words.iter().any(|w| w.eq_ignore_ascii_case(t))).cloned());
            self.body_words.extend(words);
        }
        Ok(())
    }

    /// Refuses a step that would delete or overwrite rows that no snapshot keeps (snapshots
    /// keep the current schema's tables): of another schema's (or database's) table, named
    /// `other.users`, reached after `SET search_path`/`USE`/`ATTACH`, named in text the guard
    /// cannot read statement by statement, or changed with a row here by a foreign key; of a
    /// schema dropped whole; through a view. One that is empty, or allowed with a reason,
    /// passes.
    async fn check_reach(&self, s: &mut Session<'_>) -> Result<()> {
        let r = &self.reach;
        let (version, name, location) = self.migration.clone();
        let refuse = |table: String, why: String, next: &str, at: Option<(usize, usize)>| {
            crate::error::Error::OutsideSchema(Box::new(crate::error::OutsideSchema {
                version,
                name: name.clone(),
                location: location.clone(),
                table,
                why,
                next: next.to_string(),
                at: at.map(|(i, line)| (i + 1, line)),
            }))
        };
        let backend = &s.env.backend;
        let elsewhere = |schema: &str, table: &str| {
            format!(
                "run the migration against {} so that dbguard snapshots the table, naming it without `{schema}.`; or, with your own backup of {schema}.{table}, put `-- dbguard:allow outside-schema reason=\"...\"` before the statement",
                backend.run_against(schema)
            )
        };
        for (schema, i, line, _) in r.dropped_schemas.iter().filter(|d| !d.3) {
            for (sch, table) in s.tables_in_schema(schema).await? {
                if !s.is_empty_in(&sch, &table).await? {
                    let why = format!("dropped with its schema (DROP SCHEMA/DATABASE {schema}), and it holds rows");
                    let next = "keep what it holds first (move the tables you need out of it, or back it up yourself), then put `-- dbguard:allow drop-schema reason=\"...\"` (`drop-database` on MySQL) before the statement".to_string();
                    return Err(refuse(format!("{sch}.{table}"), why, &next, Some((*i, *line))));
                }
            }
        }
        if r.allowed_anywhere {
            return Ok(());
        }
        // What an object dropped with CASCADE (a type, an extension) or `DROP OWNED BY` takes
        // from other schemas' tables: columns, or the tables themselves.
        for object in &self.cascades {
            for (schema, table) in s.depending_elsewhere(object).await? {
                if !s.is_empty_in(&schema, &table).await? {
                    let why = format!(
                        "in another schema, it loses columns, or goes, with what the step drops ({object}), and it holds rows"
                    );
                    return Err(refuse(format!("{schema}.{table}"), why, &elsewhere(&schema, &table), None));
                }
            }
        }
        // The tables whose rows the step deletes or overwrites, as the guard reads them.
        let mut names: Vec<String> = self
            .destroyed
            .iter()
            .chain(&self.unchecked)
            .chain(&self.body_words)
            .chain(self.rows.iter().map(|r| &r.table))
            .chain(self.values.iter().map(|v| &v.table))
            .map(|t| t.to_lowercase())
            .collect();
        names.sort();
        names.dedup();
        let mut dml = self.dml_tables.clone();
        dml.extend(self.truncated.iter().filter(|t| !self.dml_tables.contains(t)).cloned());
        for t in &dml {
            if s.is_view(t).await? && !s.is_empty(t).await? {
                let why =
                    "a view: the rows a statement changes through it are its tables', which no snapshot of it keeps"
                        .to_string();
                let next = "name the table in the statement instead of the view, so that dbguard snapshots it";
                return Err(refuse(t.clone(), why, next, None));
            }
            let every = self.truncated.iter().any(|x| x.eq_ignore_ascii_case(t));
            for (schema, table) in s.referencing_elsewhere(t, every).await? {
                if !s.is_empty_in(&schema, &table).await? {
                    let why = format!(
                        "in another schema, its rows go or change with the rows of {t} (a foreign key ON DELETE/UPDATE CASCADE or SET NULL), and it holds rows"
                    );
                    return Err(refuse(format!("{schema}.{table}"), why, &elsewhere(&schema, &table), None));
                }
            }
        }
        // A child in another schema (PostgreSQL `INHERITS`) changes, or goes, with its parent.
        for t in dml.iter().chain(&self.destroyed) {
            for (schema, table) in s.inheriting_elsewhere(t).await? {
                if !s.is_empty_in(&schema, &table).await? {
                    let why = format!(
                        "in another schema, it inherits from {t}, so what the step does to {t} reaches its rows too, and it holds rows"
                    );
                    return Err(refuse(format!("{schema}.{table}"), why, &elsewhere(&schema, &table), None));
                }
            }
        }
        // After `ATTACH ... AS o`, a bare name that no table here has may be o's table: it
        // cannot be looked at before the step attaches it.
        if r.attaches {
            for t in dml.iter().chain(&self.destroyed) {
                let made = self.created.iter().any(|c| c.eq_ignore_ascii_case(t));
                if !made && !s.table_exists(t).await? {
                    let why = "not a table here, so after the step's ATTACH it may be the attached database's, where nothing can be looked at before it runs".to_string();
                    let next = format!(
                        "name it with its database (`other.{t}`) and keep your own copy of that file, then put `-- dbguard:allow outside-schema reason=\"...\"` before the statement; or, if it is this database's table made earlier in the step, check its name"
                    );
                    return Err(refuse(t.clone(), why, &next, None));
                }
            }
        }
        for q in r.names.iter().filter(|q| !q.allowed && names.contains(&q.table.to_lowercase())) {
            if q.attached {
                let why = "in a database the step attaches itself, where nothing can be looked at before it runs";
                let at = Some((q.statement, q.line));
                return Err(refuse(
                    format!("{}.{}", q.qualifier, q.table),
                    why.into(),
                    &elsewhere(&q.qualifier, &q.table),
                    at,
                ));
            }
            for (schema, table) in s.tables_elsewhere(&q.table).await? {
                if schema.eq_ignore_ascii_case(&q.qualifier) && !s.is_empty_in(&schema, &table).await? {
                    let why =
                        "outside the schema dbguard snapshots, named with its schema, and it holds rows".to_string();
                    let next = elsewhere(&schema, &table);
                    return Err(refuse(format!("{schema}.{table}"), why, &next, Some((q.statement, q.line))));
                }
            }
        }
        // Words of text the guard cannot read statement by statement (a `DO` block, a
        // function's body, SQL built in strings): another schema's table whose schema and name
        // both appear there may be what it changes.
        let words: Vec<String> = self.unchecked.iter().chain(&self.body_words).map(|w| w.to_lowercase()).collect();
        let moved = r.moves;
        for name in names.iter().filter(|n| moved.is_some() || words.contains(n)) {
            for (schema, table) in s.tables_elsewhere(name).await? {
                let named = words.contains(&schema.to_lowercase());
                // Moved to schemas the step names: only their tables can be meant.
                let moved_here = moved.is_some()
                    && r.moved_to.as_ref().is_none_or(|to| to.iter().any(|m| m.eq_ignore_ascii_case(&schema)));
                if (moved_here || named) && !s.is_empty_in(&schema, &table).await? {
                    let why = match moved {
                        Some((i, line)) if !named => format!(
                            "outside the schema dbguard snapshots; statement {} (line {line}) moves the step's names to another schema or database (SET search_path, USE), so a name after it may mean this table, and it holds rows",
                            i + 1
                        ),
                        _ => "outside the schema dbguard snapshots, named in text dbguard cannot read statement by statement (a DO block, a function's body, SQL built in strings), and it holds rows".to_string(),
                    };
                    return Err(refuse(format!("{schema}.{table}"), why, &elsewhere(&schema, &table), None));
                }
            }
        }
        Ok(())
    }

    /// Every table to snapshot, each once, preserved ones first.
    fn tables(&self) -> impl Iterator<Item = (&str, &'static str)> {
        let preserved = self.preserved.iter().map(|(t, _)| (t.as_str(), reason::PRESERVES));
        let destroyed = self
            .destroyed
            .iter()
            .filter(|t| !self.preserved.iter().any(|(p, _)| p.eq_ignore_ascii_case(t)))
            .map(|t| (t.as_str(), reason::DESTRUCTIVE));
        preserved.chain(destroyed)
    }
}

/// Whether `sql` contains a keyword of a destructive statement (`DROP`, `TRUNCATE`, `DELETE`,
/// `UPDATE`, `ALTER`, `REPLACE`). A byte scan, so that the common migration (CREATE and
/// INSERT) skips the linter; a false positive only costs the lint.
pub(crate) fn might_destroy(sql: &str) -> bool {
    // `select`, `call`, `perform`: a routine called may change anything.
    const WORDS: [&[u8]; 10] =
        [b"drop", b"truncate", b"delete", b"update", b"alter", b"replace", b"unique", b"select", b"call", b"perform"];
    let b = sql.as_bytes();
    // The first two letters of a word first: most text (a seed file's values) fails there.
    b.windows(2).enumerate().any(|(i, pair)| {
        matches!(
            (pair[0] | 0x20, pair[1] | 0x20),
            (b'd', b'r' | b'e')
                | (b't', b'r')
                | (b'u', b'p' | b'n')
                | (b'a', b'l')
                | (b'r', b'e')
                | (b's', b'e')
                | (b'c', b'a')
                | (b'p', b'e')
        ) && WORDS.iter().any(|w| b.len() - i >= w.len() && b[i..i + w.len()].eq_ignore_ascii_case(w))
    })
}

/// A preserved table's count before the step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Counted {
    table: String,
    before: i64,
    exact: bool,
    /// Preserved columns, the columns hashed (the key first), and a checksum of them before
    /// the step.
    values: Option<(Vec<String>, Vec<String>, String)>,
}

/// What [`before`] did: the snapshots taken and the counts to compare with afterwards.
#[derive(Debug, Default)]
pub(crate) struct Taken {
    pub snapshots: Vec<SnapshotInfo>,
    pub counted: Vec<Counted>,
    /// Empty snapshot tables for the rows statements will change, filled just before each.
    pub rows: Vec<RowsSnapshot>,
    /// Every `DELETE`/`UPDATE ... WHERE` of the step not allowed to change every row: checked
    /// just before it runs, whether its rows are copied or its table kept whole.
    pub checks: Vec<RowTarget>,
    /// Values counted zero before the step, of tables not copied for it: counted again just
    /// before their statement runs, and the table copied then if any is there.
    pub recount: Vec<(usize, String, String)>,
    /// What the recount found, by statement and table.
    pub recounted: Vec<(usize, String, i64)>,
    /// The migration's version, for snapshots taken during the step.
    pub version: i64,
}

/// Snapshots every existing table the step may destroy or must preserve; a snapshot's row
/// count is the preserved table's count before the step (no second scan).
pub(crate) async fn before(s: &mut Session<'_>, protect: &mut Protect, version: i64) -> Result<Taken> {
    protect.resolve(s).await?;
    protect.check_reach(s).await?;
    let mut taken = Taken { version, ..Taken::default() };
    for (table, why) in protect.tables() {
        let kept = protect.resumed.as_ref().and_then(|r| r.iter().find(|c| c.table == table)).cloned();
        let resumed = protect.resumed.is_some();
        if let Some(c) = kept {
            taken.counted.push(c);
            // The copy the first run took holds the rows as they were before the step: that
            // is the one to put back from, not a copy of what is left now.
            let first = crate::store::catalog::list(s).await?.into_iter().rev().find(|sn| {
                sn.migration_version == Some(version) && sn.source_table == table && !reason::is_rows(&sn.reason)
            });
            if let Some(first) = first {
                taken.snapshots.push(first);
                continue;
            }
        }
        if !s.table_exists(table).await? {
            if why == reason::PRESERVES && !resumed {
                // A guard on a table that is not there protects nothing: never pass silently.
                let (version, name, location) = protect.migration.clone();
                let existing = s.user_tables().await?;
                return Err(crate::error::Error::PreservedTableMissing(Box::new(crate::error::MissingPreserved {
                    column: None,
                    version,
                    name,
                    closest: closest(table, &existing),
                    table: table.to_string(),
                    location,
                    when: "in the database when it was about to run".into(),
                    done: Default::default(),
                })));
            }
            continue; // created later in the step, or already gone: nothing to keep
        }
        let exact = protect.preserved.iter().find(|(t, _)| t == table).map(|(_, e)| *e).filter(|_| !resumed);
        let values = match protect.values_kept.iter().find(|(t, _)| t == table).filter(|_| !resumed) {
            Some((_, cols)) => Some(kept_values(s, protect, table, cols).await?),
            None => None,
        };
        // An empty table holds nothing to lose: no snapshot of nothing (its count still is checked).
        if s.is_empty(table).await? {
            if let Some(exact) = exact {
                taken.counted.push(Counted { table: table.to_string(), before: 0, exact, values });
            }
            continue;
        }
        if exact.is_none()
            && let Some(kept) = column_values(s, protect, table, version).await?
        {
            taken.snapshots.push(kept);
            continue;
        }
        let snap = snapshot::take(s, table, Some(version), why).await?;
        if let Some(exact) = exact {
            taken.counted.push(Counted { table: table.to_string(), before: snap.row_count, exact, values });
        }
        taken.snapshots.push(snap);
    }
    taken.checks = protect.rows.iter().filter(|r| !r.every_row_allowed).cloned().collect();
    taken.recount = protect
        .zero_counts
        .iter()
        .filter(|(_, t, _)| protect.skipped_for_values.iter().any(|k| k.eq_ignore_ascii_case(t)))
        .cloned()
        .collect();
    let targets: Vec<RowTarget> = protect.row_targets().cloned().collect();
    let mut whole: Vec<String> = Vec::new();
    for r in targets {
        // Rows the step itself inserts are not data to keep; a table with no primary key
        // cannot have rows put back one by one, so it is kept whole.
        if whole.contains(&r.table) || !s.table_exists(&r.table).await? || s.is_empty(&r.table).await? {
            continue;
        }
        // An UPDATE of the key moves rows to other keys: they cannot be put back by it. A
        // condition the server cannot evaluate as the guard wrote it chooses no rows: the table
        // is kept whole, here, before the step (on MySQL, outside its transaction).
        let pk = s.primary_key(&r.table).await?;
        let unreadable = !r.after_writes && refused(s, &r).await?.is_some();
        if pk.is_empty() || unreadable || r.assigned.iter().any(|c| pk.iter().any(|k| k.eq_ignore_ascii_case(c))) {
            taken.snapshots.push(snapshot::take(s, &r.table, Some(version), reason::DESTRUCTIVE).await?);
            whole.push(r.table.clone());
            continue;
        }
        let values = update_values(s, &r, &pk).await?;
        taken.rows.push(snapshot::prepare_rows(s, &r, Some(version), values.as_deref()).await?);
    }
    Ok(taken)
}

/// For a table kept only for the values of columns an `ALTER TABLE` drops or converts, all
/// counted: its key and those columns, of the rows that lose a value (a `column-values`
/// snapshot), instead of every row. `None` keeps the table whole (no primary key, a key column
/// among those changed, a column the table does not name as written).
async fn column_values(
    s: &mut Session<'_>,
    protect: &Protect,
    table: &str,
    version: i64,
) -> Result<Option<SnapshotInfo>> {
    let same = |t: &String| t.eq_ignore_ascii_case(table);
    let lost: Vec<&(String, String, String)> = protect.lost_values.iter().filter(|(t, ..)| same(t)).collect();
    if lost.is_empty()
        || !protect.for_values_only.iter().any(same)
        || protect.uncounted_values.iter().any(same)
        || protect.resumed.is_some()
    {
        return Ok(None);
    }
    let pk = s.primary_key(table).await?;
    let columns = s.columns(table).await?;
    let mut keep = pk.clone();
    for (_, c, _) in &lost {
        let named = match columns.iter().filter(|n| n.eq_ignore_ascii_case(c)).collect::<Vec<_>>()[..] {
            [one] => one.clone(),
            _ => return Ok(None),
        };
        if pk.iter().any(|k| k.eq_ignore_ascii_case(&named)) {
            return Ok(None);
        }
        if !keep.contains(&named) {
            keep.push(named);
        }
    }
    if pk.is_empty() {
        return Ok(None);
    }
    let condition = lost.iter().map(|(.., l)| format!("({l})")).collect::<Vec<_>>().join(" OR ");
    Ok(Some(snapshot::take_values(s, table, Some(version), &keep, &condition).await?))
}

/// For an UPDATE that changes nothing but the columns it sets (no trigger on the table, no
/// column that updates itself): the key and those columns, as the table names them, which are
/// all a restore needs to write its rows back; `None` keeps whole rows.
async fn update_values(s: &mut Session<'_>, r: &RowTarget, pk: &[String]) -> Result<Option<Vec<String>>> {
    if r.verb != Verb::Update || r.assigned.is_empty() || s.rewrites_on_update(&r.table).await? {
        return Ok(None);
    }
    let columns = s.columns(&r.table).await?;
    let mut keep = pk.to_vec();
    for a in &r.assigned {
        // A column set that the table does not name as written (a typo the statement will
        // fail on): whole rows.
        let c = if columns.contains(a) {
            a.clone()
        } else {
            match columns.iter().filter(|c| c.eq_ignore_ascii_case(a)).collect::<Vec<_>>()[..] {
                [one] => one.clone(),
                _ => return Ok(None),
            }
        };
        if !keep.contains(&c) {
            keep.push(c);
        }
    }
    Ok(Some(keep))
}

/// Drops the row snapshot tables [`before`] made that hold no row.
pub(crate) async fn drop_empty(s: &mut Session<'_>, taken: &Taken) -> Result<()> {
    snapshot::drop_empty_rows(s, &taken.rows).await
}

/// After a step stopped before its first statement took effect: every copy made for it, of
/// tables, rows or values, is dropped, as the database is as it was.
pub(crate) async fn nothing_ran(s: &mut Session<'_>, taken: &Taken) -> Result<()> {
    let why = "not needed: the migration's first statement failed, and nothing of it ran";
    for snap in taken.snapshots.iter().chain(taken.rows.iter().filter_map(|r| r.filled.as_ref())) {
        snapshot::discard(s, snap, why).await?;
    }
    drop_empty(s, taken).await
}

/// After a step rolled back whole: what [`before`] kept in its transaction went with it; what
/// it kept outside (`inside` false: where making a snapshot commits, MySQL) is dropped too, as
/// the database is as it was. Nothing is left behind.
pub(crate) async fn rolled_back(s: &mut Session<'_>, taken: &Taken, inside: bool) -> Result<()> {
    if !inside {
        for snap in &taken.snapshots {
            snapshot::discard(s, snap, "not needed after the migration was rolled back").await?;
        }
    }
    drop_empty(s, taken).await
}

/// Counts, before the step and outside its transaction (a conversion that fails must not abort
/// it), the values each `ALTER TABLE` action drops (non-null) or changes (those that read
/// differently after the cast). A table kept whole only for such columns, none of whose values
/// is lost, is not copied: a `DROP COLUMN` of an all-NULL column loses nothing.
pub(crate) async fn measure_values(s: &mut Session<'_>, protect: &mut Protect, version: i64) -> Result<()> {
    // A strict server refuses the NULLs a new `NOT NULL` meets instead of replacing them: the
    // statement fails. Reported so (the values are still kept, in case it does not).
    let strict = match s.env.backend.nulls_refused_sql() {
        Some(sql)
            if !protect.sets_sql_mode && protect.values.iter().any(|v| v.change == ValueChange::NullsReplaced) =>
        {
            s.query_i64(sql, "reading whether the server is strict").await? > 0
        }
        _ => false,
    };
    for v in protect.values.clone() {
        let (verb, to) = match &v.change {
            ValueChange::Drop => (Verb::DropColumn, None),
            ValueChange::Convert { to, using } => {
                (Verb::ChangeType, Some(using.as_ref().map_or_else(|| to.clone(), |u| format!("{to} USING {u}"))))
            }
            ValueChange::NullsReplaced => (Verb::ChangeType, Some("NOT NULL (a NULL becomes the default)".to_string())),
            ValueChange::Rejects { constraint, .. } => (Verb::Rejects, Some(constraint.clone())),
        };
        let rows = if v.after_writes || !s.table_exists(&v.table).await? {
            None
        } else {
            let (t, c) = (s.env.backend.quote(&v.table), s.env.backend.quote(&v.column));
            let conditions = match &v.change {
                ValueChange::Drop => vec![format!("{c} IS NOT NULL")],
                ValueChange::Convert { to, using } => {
                    let to = with_default_charset(s, &v.table, to).await?;
                    s.env.backend.value_changes(&c, &to, using.as_deref())
                }
                ValueChange::NullsReplaced => vec![format!("{c} IS NULL")],
                ValueChange::Rejects { condition, .. } => vec![condition.clone()],
            };
            let mut counted = None;
            for lost in conditions {
                let sql = format!("SELECT COUNT(*) FROM {t} WHERE {lost}");
                counted = s.query_i64(&sql, "measuring a column's values").await.ok();
                // Rows a constraint refuses make the statement fail: nothing to copy later.
                if counted == Some(0) && verb != Verb::Rejects {
                    protect.zero_counts.push((v.statement, v.table.clone(), lost.clone()));
                }
                if counted.is_some_and(|n| n > 0) && verb != Verb::Rejects {
                    protect.lost_values.push((v.table.clone(), v.column.clone(), lost));
                }
                if counted.is_some() {
                    break;
                }
            }
            counted
        };
        // Not counted (a cast that fails, a statement after a write to the table, a table the
        // step makes or renames): its values cannot be chosen, so the table is kept whole.
        if rows.is_none() && verb != Verb::Rejects {
            protect.uncounted_values.push(v.table.clone());
        }
        let column = Some(v.column.clone()).filter(|c| !c.is_empty());
        let (statement, line, table) = (v.statement + 1, v.line, v.table.clone());
        let (snapshot, every_row) = (None, false);
        let (verb, to) = match v.change {
            ValueChange::NullsReplaced if strict => {
                (Verb::Rejects, Some("NOT NULL (a strict server refuses NULLs)".into()))
            }
            _ => (verb, to),
        };
        protect.measured.push(Radius { version, statement, line, table, column, verb, to, rows, snapshot, every_row });
    }
    for t in protect.for_values_only.clone() {
        let mut of_table =
            protect.measured.iter().filter(|r| r.table.eq_ignore_ascii_case(&t) && r.verb != Verb::Rejects).peekable();
        let nothing_lost = of_table.peek().is_some() && of_table.all(|r| r.rows == Some(0));
        if nothing_lost {
            protect.destroyed.retain(|d| !d.eq_ignore_ascii_case(&t));
            protect.skipped_for_values.push(t);
        }
    }
    Ok(())
}

/// `to` with the character set a string type without one gets (see
/// `Backend::default_charset_sql`), so that the count converts as the server will.
async fn with_default_charset(s: &mut Session<'_>, table: &str, to: &str) -> Result<String> {
    let upper = to.to_ascii_uppercase();
    let string = ["CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "TEXT"].iter().any(|t| upper.starts_with(t));
    match s.env.backend.default_charset_sql() {
        Some(sql) if string && !upper.contains("CHARACTER SET") && !upper.contains("CHARSET") => {
            let found = s.texts(sql.to_string(), table, "reading a table's default character set").await?;
            Ok(match found.first() {
                Some(cs) => format!("{to} CHARACTER SET {cs}"),
                None => to.to_string(),
            })
        }
        _ => Ok(to.to_string()),
    }
}

/// What [`measure_values`] found, each with the snapshot of its table when one was taken.
pub(crate) fn measured_values(protect: &Protect, taken: &Taken) -> Vec<Radius> {
    let mut out = protect.measured.clone();
    for r in &mut out {
        if let Some((_, _, n)) = taken.recounted.iter().find(|(i, t, _)| i + 1 == r.statement && *t == r.table) {
            r.rows = r.rows.map(|before| before.max(*n));
        }
        r.snapshot = taken.snapshots.iter().find(|s| s.source_table.eq_ignore_ascii_case(&r.table)).map(|s| s.id);
    }
    out
}

/// Discards the copies of rows made for statements `from..=to`, which were rolled back (the
/// copies, made outside their transaction, were not): rows never deleted or changed are no
/// data to keep, and a restore of them would only be refused.
pub(crate) async fn forget_rows(s: &mut Session<'_>, taken: &mut Taken, from: usize, to: usize) -> Result<()> {
    for r in taken.rows.iter_mut().filter(|r| (from..=to).contains(&r.target.statement)) {
        if let Some(info) = r.filled.take() {
            snapshot::discard(s, &info, "its statement was rolled back").await?;
        }
    }
    Ok(())
}

/// Whether a table's definition holds `ON CONFLICT REPLACE`, whatever comments and spacing
/// sit between the words.
fn replaces_on_conflict(definition: &str, dialect: dbguard_lint::Dialect) -> bool {
    let words: Vec<String> = dbguard_lint::lexer::Lexer::new(definition, dialect)
        .filter(|t| !t.is_trivia())
        .map(|t| t.text(definition).to_ascii_uppercase())
        .collect();
    words.windows(3).any(|w| w[0] == "ON" && w[1] == "CONFLICT" && w[2] == "REPLACE")
}

/// Whether [`before_statement`] has work to do before statement `index` (which may create a
/// table, committing an open transaction on MySQL).
pub(crate) fn acts_before(taken: &Taken, index: usize) -> bool {
    taken.recount.iter().any(|(i, ..)| *i == index)
        || taken.checks.iter().any(|t| t.statement == index)
        || taken.rows.iter().any(|r| r.target.statement == index)
}

/// Copies the rows statement `index` of the step is about to change, when it is one that
/// [`before`] prepared for: its measured blast radius.
pub(crate) async fn before_statement(s: &mut Session<'_>, taken: &mut Taken, index: usize) -> Result<()> {
    // Values counted zero before the step may have been written since (a function, a
    // trigger): counted again now, and the table copied if any is there.
    let recount: Vec<(usize, String, String)> = taken.recount.iter().filter(|(i, ..)| *i == index).cloned().collect();
    for (i, table, lost) in recount {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {lost}", s.env.backend.quote(&table));
        let n = s.query_i64(&sql, "measuring a column's values again").await?;
        taken.recounted.push((i, table.clone(), n));
        if n > 0 && !taken.snapshots.iter().any(|sn| sn.source_table == table) {
            let version = taken.version;
            taken.snapshots.push(snapshot::take(s, &table, Some(version), reason::DESTRUCTIVE).await?);
        }
    }
    // A condition the server cannot evaluate as the guard wrote it (built from the statement's
    // text): its rows cannot be chosen, so its table is kept whole, now.
    let mut whole: Vec<String> = Vec::new();
    let targets = taken.checks.iter().chain(taken.rows.iter().map(|r| &r.target));
    for t in targets.filter(|t| t.statement == index).cloned().collect::<Vec<_>>() {
        if whole.contains(&t.table) || !s.table_exists(&t.table).await? {
            continue;
        }
        let Some(message) = refused(s, &t).await? else { continue };
        whole.push(t.table.clone());
        if taken.snapshots.iter().any(|sn| sn.source_table == t.table && !reason::is_rows(&sn.reason)) {
            continue; // kept whole before the step
        }
        // Where making the copy commits (MySQL), it cannot be made inside the step's transaction.
        if !s.env.backend.transactional_ddl() {
            return Err(crate::error::Error::Unmeasurable { table: t.table.clone(), message });
        }
        let version = taken.version;
        taken.snapshots.push(snapshot::take(s, &t.table, Some(version), reason::DESTRUCTIVE).await?);
    }
    // Their prepared row copies are not needed (and would report no row changed).
    let (dropped, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut taken.rows)
        .into_iter()
        .partition(|r| r.target.statement == index && whole.contains(&r.target.table));
    taken.rows = kept;
    snapshot::drop_empty_rows(s, &dropped).await?;
    // `WHERE id > 0` is no narrower than no WHERE at all: measured, it needs the same allow.
    // Checked before anything is copied for it: refused, it leaves nothing behind.
    for t in taken.checks.iter().filter(|t| t.statement == index && !whole.contains(&t.table)) {
        let has_rows = s.table_exists(&t.table).await? && !s.is_empty(&t.table).await?;
        if has_rows && matches_every_row(s, t).await? {
            let rule = t.verb.allow_rule();
            let verb = if t.verb == Verb::Delete { "delete" } else { "update" };
            // As the statement sees the table: with its children's rows.
            let rows =
                s.query_i64(&format!("SELECT COUNT(*) FROM {}", t.relation), "counting the rows it changes").await?;
            let next = if t.allow_without_reason {
                format!(
                    "the `-- dbguard:allow {rule}` before it gives no reason, so it does not count: add `reason=\"...\"` to it"
                )
            } else {
                format!(
                    "if that is intended, put `-- dbguard:allow {rule} reason=\"...\"` before it; otherwise narrow its condition"
                )
            };
            return Err(crate::error::Error::EveryRow {
                no_where: t.no_where,
                table: t.table.clone(),
                rows,
                verb,
                next,
            });
        }
    }
    for r in taken.rows.iter_mut().filter(|r| r.target.statement == index && !whole.contains(&r.target.table)) {
        snapshot::fill_rows(s, r).await?;
    }
    Ok(())
}

/// Whether the server accepts the conditions the guard built for a statement (planned, not run:
/// `LIMIT 0`), without disturbing the transaction around it: its message when it does not.
async fn refused(s: &mut Session<'_>, r: &RowTarget) -> Result<Option<String>> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE ({}) AND ({}) LIMIT 0) dbguard_probe",
        r.relation,
        r.predicate,
        r.destroys.as_deref().unwrap_or("1 = 1")
    );
    Ok(s.probe_i64(&sql, "checking a statement's condition").await?.err())
}

/// Whether no row of the table escapes the statement (found by looking for one): a DELETE
/// matches it, an UPDATE overwrites a non-NULL value in it.
async fn matches_every_row(s: &mut Session<'_>, r: &RowTarget) -> Result<bool> {
    let destroyed = match &r.destroys {
        Some(d) => format!("({}) AND ({d})", r.predicate),
        None => r.predicate.clone(),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE ({destroyed}) IS NOT TRUE LIMIT 1) dbguard_rest",
        r.relation
    );
    // Not evaluable: no row can be shown to escape, nor to match.
    Ok(s.probe_i64(&sql, "looking for a row the condition keeps").await? == Ok(0))
}

/// What [`before`] would do, read-only: the existing tables it would snapshot, and the
/// preserved tables' counts now.
pub(crate) async fn preview(s: &mut Session<'_>, protect: &mut Protect, version: i64) -> Result<Preview> {
    protect.resolve(s).await?;
    protect.check_reach(s).await?;
    let mut out = Preview::default();
    out.radius.extend(protect.measured.iter().cloned());
    for (table, _) in protect.tables() {
        if !s.table_exists(table).await? {
            continue;
        }
        if protect.preserved.iter().any(|(t, _)| t == table) {
            out.counts.push((table.to_string(), s.count(table).await?));
        }
        if !s.is_empty(table).await? {
            out.tables.push(table.to_string());
        }
    }
    for r in protect.row_targets() {
        let rows = if r.after_writes {
            None
        } else if s.table_exists(&r.table).await? {
            // The condition may need what earlier statements of the step make: then it is
            // measured when the step runs.
            let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", r.relation, r.predicate);
            s.probe_i64(&sql, "measuring a statement's rows").await?.ok()
        } else {
            None // made by the step or one before it: measured when it runs
        };
        // What `up` would refuse: a condition that matches every row, without the allow.
        let every_row = !r.every_row_allowed && rows.is_some_and(|n| n > 0) && matches_every_row(s, r).await?;
        out.radius.push(Radius { every_row, ..row_radius(version, r, rows, None) });
    }
    // A table kept whole (`WHERE 1 = 1` reads as no WHERE to the linter) is still refused by
    // `up` when the condition matches every row: said here too.
    // Measured now, also after earlier statements of the step on the table (an index, a
    // column): `up` checks again just before it runs.
    let whole = protect.rows.iter().filter(|r| protect.kept_whole(&r.table) && !r.every_row_allowed);
    for r in whole.cloned().collect::<Vec<_>>() {
        if s.table_exists(&r.table).await? && !s.is_empty(&r.table).await? && matches_every_row(s, &r).await? {
            let rows =
                s.query_i64(&format!("SELECT COUNT(*) FROM {}", r.relation), "counting the rows it changes").await?;
            out.radius.push(Radius { every_row: true, ..row_radius(version, &r, Some(rows), None) });
        }
    }
    Ok(out)
}

/// The words naming tables a step may write to or create: every word of its statements that
/// are not plain queries (all of them for a Rust step, which is opaque: `*`).
pub(crate) fn written_tables(step: &Step, dialect: dbguard_lint::Dialect) -> Vec<String> {
    match step {
        Step::Sql(sql) => {
            // Unique as they are read: a seed repeats the same few words millions of times.
            let mut out = std::collections::BTreeSet::new();
            dbguard_lint::split::for_each(sql, dialect, &mut |st, _| {
                if st.first_keyword() != "SELECT" {
                    out.extend(radius::words(st.text));
                }
            });
            out.into_iter().collect()
        }
        _ => vec!["*".into()],
    }
}

/// What [`preview`] found.
#[derive(Debug, Default)]
pub(crate) struct Preview {
    /// The existing tables with rows that would be snapshotted whole.
    pub tables: Vec<String>,
    /// The preserved tables' counts now.
    pub counts: Vec<(String, i64)>,
    /// The rows each narrowed statement would change, counted now.
    pub radius: Vec<Radius>,
}

/// What the statements prepared for in `taken` changed, and the snapshots keeping it.
pub(crate) fn measured(taken: &Taken, version: i64) -> Vec<Radius> {
    taken
        .rows
        .iter()
        .map(|r| {
            let rows = Some(r.filled.as_ref().map_or(0, |f| f.row_count));
            row_radius(version, &r.target, rows, r.filled.as_ref().map(|f| f.id))
        })
        .collect()
}

/// The blast radius of a DELETE or UPDATE: `rows` it changes, kept in `snapshot`.
fn row_radius(version: i64, r: &RowTarget, rows: Option<i64>, snapshot: Option<i64>) -> Radius {
    Radius {
        version,
        statement: r.statement + 1,
        line: r.line,
        table: r.table.clone(),
        column: None,
        verb: r.verb,
        to: None,
        rows,
        snapshot,
        every_row: false,
    }
}

/// The preserved tables that lost rows (or changed count, when exact).
pub(crate) async fn losses(s: &mut Session<'_>, counted: &[Counted]) -> Result<Vec<Loss>> {
    let mut out = Vec::new();
    for c in counted {
        let after = if s.table_exists(&c.table).await? { Some(s.count(&c.table).await?) } else { None };
        let lost = match after {
            None => true,
            Some(n) => n < c.before || (c.exact && n != c.before),
        };
        if lost {
            let (table, exact) = (c.table.clone(), c.exact);
            out.push(Loss { table, before: c.before, after, exact, columns: None, column_gone: false });
        } else if let Some((cols, hashed, before)) = &c.values {
            let (table, exact) = (c.table.clone(), c.exact);
            // A preserved column dropped or renamed loses every value in it.
            let now = s.columns(&c.table).await?;
            let gone: Vec<String> = hashed.iter().filter(|h| !now.contains(h)).cloned().collect();
            if !gone.is_empty() {
                out.push(Loss { table, before: c.before, after, exact, columns: Some(gone), column_gone: true });
            } else if s.content_checksum(&c.table, hashed).await? != *before {
                out.push(Loss {
                    table,
                    before: c.before,
                    after,
                    exact,
                    columns: Some(cols.clone()),
                    column_gone: false,
                });
            }
        }
    }
    Ok(out)
}

/// A checksum of the preserved columns' values before the step; a column that is not there
/// is refused (a guard on nothing would pass silently), with the closest name.
async fn kept_values(
    s: &mut Session<'_>,
    protect: &Protect,
    table: &str,
    cols: &[String],
) -> Result<(Vec<String>, Vec<String>, String)> {
    let existing = s.columns(table).await?;
    let mut exact_cols = Vec::new();
    for c in cols {
        match existing.iter().find(|e| e.eq_ignore_ascii_case(c)) {
            Some(e) => exact_cols.push(e.clone()),
            None => {
                let (version, name, location) = protect.migration.clone();
                return Err(crate::error::Error::PreservedTableMissing(Box::new(crate::error::MissingPreserved {
                    column: Some(c.clone()),
                    version,
                    name,
                    closest: closest(c, &existing),
                    table: table.to_string(),
                    location,
                    when: String::new(),
                    done: Default::default(),
                })));
            }
        }
    }
    // Each row's key goes into its hash: values moved to another row, or a row deleted and
    // inserted again under a new key, are changes too.
    let mut hashed = s.primary_key(table).await?;
    hashed.retain(|k| !exact_cols.contains(k));
    hashed.extend(exact_cols.iter().cloned());
    let checksum = s.content_checksum(table, &hashed).await?;
    Ok((exact_cols, hashed, checksum))
}

/// The name in `names` closest to `wanted` (case-insensitive edit distance), if any is close.
pub(crate) fn closest(wanted: &str, names: &[String]) -> Option<String> {
    // `public.users`, `"users"`: names are bare, unquoted.
    let bare = wanted.rsplit('.').next().unwrap_or(wanted).trim_matches(|c| c == '"' || c == '`');
    if bare != wanted
        && let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(bare))
    {
        return Some(n.clone());
    }
    let w = bare.to_lowercase();
    names
        .iter()
        .map(|n| (edit_distance(&w, &n.to_lowercase()), n))
        .filter(|(d, n)| *d <= (n.len().max(w.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefilter_lets_every_destructive_keyword_through() {
        assert!(!super::might_destroy("CREATE TABLE t (id INT); INSERT INTO t VALUES (1);"));
        for sql in [
            "drop table t",
            "TRUNCATE t",
            "Delete from t",
            "update t set a = 1",
            "ALTER TABLE t DROP c",
            "REPLACE INTO t VALUES (1)",
        ] {
            assert!(super::might_destroy(sql), "{sql}");
        }
    }

    #[test]
    fn the_closest_table_name_is_suggested() {
        let names = ["users".to_string(), "orders".to_string(), "user_emails".to_string()];
        assert_eq!(super::closest("user", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("Users", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("ordres", &names).as_deref(), Some("orders"));
        assert_eq!(super::closest("invoices", &names), None);
        assert_eq!(super::closest("public.users", &names).as_deref(), Some("users"));
        assert_eq!(super::closest("\"orders\"", &names).as_deref(), Some("orders"));
    }
}
