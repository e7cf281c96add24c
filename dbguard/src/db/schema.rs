//! A database schema, introspected into a normalised, comparable form.

use std::collections::BTreeSet;
use std::fmt;

/// The schema of a database: one line per object (`kind table name: definition`), sorted, so
/// two schemas compare equal exactly when they have the same tables, columns, indexes,
/// constraints, views, triggers and functions. dbguard's own tables are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Schema {
    objects: BTreeSet<String>,
}

impl Schema {
    pub(crate) fn from_objects(objects: Vec<[String; 4]>) -> Self {
        let ours = |s: &str| {
            let base = s.rsplit('.').next().unwrap_or(s).trim_matches('"');
            base.starts_with("dbguard_")
        };
        let objects = objects
            .into_iter()
            .filter(|[_, table, name, _]| !ours(table) && !ours(name))
            // One line per object, whitespace collapsed: definitions (SQLite's CREATE text, view
            // bodies) span lines, and their layout means nothing.
            .map(|[kind, table, name, def]| {
                let def = def.split_whitespace().collect::<Vec<_>>().join(" ");
                format!("{kind} {table} {name}: {def}")
            })
            .collect();
        Schema { objects }
    }

    /// A schema from its [`Display`](fmt::Display) text (as stored after a run).
    pub(crate) fn from_lines(text: &str) -> Self {
        Schema { objects: text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect() }
    }

    /// The objects, one normalised line each.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        self.objects.iter().map(String::as_str)
    }

    /// SHA-256 of the normalised schema.
    pub fn fingerprint(&self) -> String {
        let text: Vec<&str> = self.objects().collect();
        dbguard_lint::checksum::checksum(&text.join("\n"), "")
    }

    /// Lines only in `self` (`+`) or only in `other` (`-`).
    pub fn diff(&self, other: &Schema) -> Vec<String> {
        let removed = other.objects.difference(&self.objects).map(|s| format!("- {s}"));
        let added = self.objects.difference(&other.objects).map(|s| format!("+ {s}"));
        removed.chain(added).collect()
    }

    /// What `self` becomes when the change from `before` to `after` is undone: the objects
    /// that change added are taken out, the ones it removed put back.
    ///
    /// Objects are matched by kind, table and name, so that an object the change touched is
    /// put back as it was before it, whatever it looks like in `self`.
    pub(crate) fn undoing(&self, before: &Schema, after: &Schema) -> Schema {
        use std::collections::BTreeMap;
        let keyed = |s: &Schema| -> BTreeMap<String, String> {
            s.objects
                .iter()
                .map(|o| (object_key(o).to_string(), o.split_once(": ").map_or("", |(_, d)| d).to_string()))
                .collect()
        };
        let (mut out, before, after) = (keyed(self), keyed(before), keyed(after));
        for (key, def) in &after {
            if before.get(key) != Some(def) {
                out.remove(key);
            }
        }
        for (key, def) in &before {
            if after.get(key) != Some(def) {
                out.insert(key.clone(), def.clone());
            }
        }
        Schema { objects: out.into_iter().map(|(k, d)| format!("{k}: {d}")).collect() }
    }

    /// The objects (kind, table, name) that differ between `self` and `other`.
    pub(crate) fn changed_objects(&self, other: &Schema) -> BTreeSet<String> {
        self.objects.symmetric_difference(&other.objects).map(|o| object_key(o).to_string()).collect()
    }

    /// Whether there is nothing but dbguard's own tables.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Whether it has any table besides dbguard's (a PostgreSQL database always has its
    /// `public` schema and `plpgsql`, which are not tables).
    pub fn has_tables(&self) -> bool {
        self.objects().any(|o| o.starts_with("column ") || o.starts_with("table "))
    }
}

/// The part of an object's line (or of a diff line, after its `+ `/`- `) that names it.
pub(crate) fn object_key(line: &str) -> &str {
    let line = line.strip_prefix("+ ").or_else(|| line.strip_prefix("- ")).unwrap_or(line);
    line.split_once(": ").map_or(line, |(k, _)| k)
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.objects {
            writeln!(f, "{o}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, table: &str, name: &str, def: &str) -> [String; 4] {
        [kind.into(), table.into(), name.into(), def.into()]
    }

    #[test]
    fn leaves_out_dbguard_tables_and_diffs() {
        let a = Schema::from_objects(vec![
            obj("table", "users", "users", "CREATE TABLE users"),
            obj("index", "public.dbguard_schema_version", "dbguard_schema_version_pkey", ""),
        ]);
        assert_eq!(a.objects().count(), 1);
        let b = Schema::from_objects(vec![obj("table", "users", "users", "CREATE TABLE users (x)")]);
        assert_eq!(
            a.diff(&b),
            ["- table users users: CREATE TABLE users (x)", "+ table users users: CREATE TABLE users"]
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(Schema::from_lines(&a.to_string()), a, "stored text reads back equal");
        // Undoing a change from b to a, on a schema that also has c, gives b plus c.
        let c = obj("table", "extra", "extra", "CREATE TABLE extra");
        let with_c = Schema::from_objects(vec![obj("table", "users", "users", "CREATE TABLE users"), c.clone()]);
        let expected = Schema::from_objects(vec![obj("table", "users", "users", "CREATE TABLE users (x)"), c]);
        assert_eq!(with_c.undoing(&b, &a), expected);
    }
}
