//! Linting Rust sources: the SQL of `#[migration]` items (string constants and the files they
//! name), duplicate versions across them, and, with `--rust-sql`, SQL string literals passed to
//! sqlx (`query`, `query_as`, `query!`, `.execute(...)`...) anywhere in the code: destructive
//! SQL run by scripts and app code outside migrations wiped several of the databases this tool
//! exists for.

use std::path::{Path, PathBuf};

use dbguard::lint::{Dialect, Finding, MigrationFiles, Severity, duplicate_versions, lint_migration, lint_sql};
use syn::visit::Visit;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token, punctuated::Punctuated};

/// What linting Rust sources found.
#[derive(Debug, Default)]
pub struct RustLint {
    /// Findings, positioned in the `.rs` files (or the SQL files they name).
    pub findings: Vec<Finding>,
    /// Rust files read.
    pub files: usize,
    /// `#[migration]` items found: version and `file:line (module)`.
    pub migrations: Vec<(i64, String)>,
}

/// A Rust file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file}:{line}: cannot parse this Rust file: {message}\n  fix: make it compile (`cargo check`), then lint again"
)]
pub struct ParseError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// syn's message.
    pub message: String,
}

/// The `.rs` files under `path` (itself, if it is one), skipping `target/` and hidden folders.
pub fn rust_files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_path_buf());
        }
        return out;
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Lints the given Rust files.
pub fn lint_rust(files: &[PathBuf], dialect: Dialect, sqlx_literals: bool) -> Result<RustLint, ParseError> {
    let mut out = RustLint::default();
    for path in files {
        let shown = path.display().to_string();
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let file = syn::parse_file(&text).map_err(|e| ParseError {
            file: shown.clone(),
            line: e.span().start().line,
            message: e.to_string(),
        })?;
        let crate_root = crate::config::find_manifest(path.parent().unwrap_or(Path::new(".")))
            .and_then(|m| m.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut v = Visitor { file: &shown, crate_root, dialect, sqlx_literals, in_migration: false, out: &mut out };
        v.visit_file(&file);
        out.files += 1;
    }
    let versions: Vec<(i64, &str)> = out.migrations.iter().map(|(v, l)| (*v, l.as_str())).collect();
    let mut dups = duplicate_versions(&versions);
    for d in &mut dups {
        // `file:line (module)` back into a position.
        if let Some((file, rest)) = d.file.split_once(':') {
            let line = rest.split(' ').next().and_then(|l| l.parse().ok()).unwrap_or(1);
            d.file = file.to_string();
            (d.line, d.end_line) = (line, line);
        }
    }
    out.findings.extend(dups);
    out.findings.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Ok(out)
}

struct Visitor<'a> {
    file: &'a str,
    crate_root: PathBuf,
    dialect: Dialect,
    sqlx_literals: bool,
    in_migration: bool,
    out: &'a mut RustLint,
}

/// Moves a finding from a position in a literal's value to the `.rs` file: exact when the
/// literal has no escapes (its value is its source text), else at the literal's start.
fn place(f: &mut Finding, file: &str, lit: &LitStr) {
    let start = lit.span().start();
    let plain = !lit.token().to_string().contains('\\');
    let shift = |line: usize, col: usize| {
        if !plain {
            (start.line, start.column + 1)
        } else if line == 1 {
            (start.line, start.column + 1 + col) // after the opening quote
        } else {
            (start.line + line - 1, col)
        }
    };
    (f.line, f.column) = shift(f.line, f.column);
    (f.end_line, f.end_column) = shift(f.end_line, f.end_column);
    f.file = file.to_string();
}

fn string_const(item: &syn::Item, name: &str) -> Option<LitStr> {
    match item {
        syn::Item::Const(c) if c.ident == name => match &*c.expr {
            Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// What `lint` needs from `#[migration(...)]`: version, files, allowed rules.
#[derive(Default)]
struct Attr {
    version: Option<i64>,
    up: Option<String>,
    down: Option<String>,
    irreversible: bool,
    allow: Vec<String>,
}

fn read_attr(attr: &syn::Attribute) -> Attr {
    let mut a = Attr::default();
    let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
        return a;
    };
    for m in metas {
        let key = m.path().get_ident().map(|i| i.to_string()).unwrap_or_default();
        match (key.as_str(), &m) {
            ("allow", Meta::List(l)) => {
                if let Ok(inner) = l.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
                    a.allow.extend(
                        inner.iter().filter_map(|i| i.path().get_ident()).map(|i| i.to_string().replace('_', "-")),
                    );
                }
            }
            (_, Meta::NameValue(nv)) => match (key.as_str(), &nv.value) {
                ("version", Expr::Lit(ExprLit { lit: Lit::Int(i), .. })) => a.version = i.base10_parse().ok(),
                ("up", Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => a.up = Some(s.value()),
                ("down", Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => a.down = Some(s.value()),
                ("down", Expr::Call(_)) => a.irreversible = true,
                _ => {}
            },
            _ => {}
        }
    }
    a
}

impl Visitor<'_> {
    fn migration(&mut self, m: &syn::ItemMod, attr: &Attr) {
        let line = m.ident.span().start().line;
        if let Some(v) = attr.version {
            self.out.migrations.push((v, format!("{}:{line} ({})", self.file, m.ident)));
        }
        let items = m.content.as_ref().map(|(_, i)| i.as_slice()).unwrap_or_default();
        // Each direction: (name shown, SQL, literal to place findings at, or the SQL file).
        let side = |konst: &str, file: &Option<String>| -> Option<(String, String, Option<LitStr>)> {
            if let Some(lit) = items.iter().find_map(|i| string_const(i, konst)) {
                return Some((self.file.to_string(), lit.value(), Some(lit)));
            }
            let path = self.crate_root.join(file.as_ref()?);
            let sql = std::fs::read_to_string(&path).ok()?;
            Some((path.display().to_string(), sql, None))
        };
        let Some((up_name, up_sql, up_lit)) = side("UP", &attr.up) else { return };
        let down = side("DOWN", &attr.down);
        let has_rust_down = items.iter().any(|i| matches!(i, syn::Item::Fn(f) if f.sig.ident == "down"));
        let files = MigrationFiles {
            up: (&up_name, &up_sql),
            down: down.as_ref().map(|(n, s, _)| (n.as_str(), s.as_str())).or_else(|| {
                // An explicit irreversible down, or a Rust one: nothing to check here.
                (attr.irreversible || has_rust_down)
                    .then_some((up_name.as_str(), "-- dbguard: irreversible = \"declared in the attribute\""))
            }),
        };
        for mut f in lint_migration(files, self.dialect) {
            if attr.allow.iter().any(|a| *a == f.rule) {
                continue;
            }
            let lit = if f.file == up_name && up_lit.is_some() {
                up_lit.as_ref()
            } else {
                down.as_ref().and_then(|d| d.2.as_ref())
            };
            if f.file == self.file
                && let Some(lit) = lit
            {
                place(&mut f, self.file, lit);
            } else if f.file == self.file {
                (f.line, f.column, f.end_line, f.end_column) = (line, 1, line, 1);
            }
            self.out.findings.push(f);
        }
    }

    fn sql_literal(&mut self, lit: &LitStr) {
        if self.in_migration || !self.sqlx_literals {
            return;
        }
        for mut f in lint_sql(self.file, &lit.value(), self.dialect) {
            // Outside migrations only what destroys data: the rest (locks, downs) is about
            // migrations.
            if f.severity == Severity::Error && f.table.is_some() {
                place(&mut f, self.file, lit);
                self.out.findings.push(f);
            }
        }
    }
}

const SQLX_FUNCTIONS: &[&str] = &["query", "query_as", "query_scalar", "query_with", "query_as_with", "raw_sql"];
const SQLX_MACROS: &[&str] = &["query", "query_as", "query_scalar", "query_unchecked", "query_as_unchecked"];
const SQLX_METHODS: &[&str] = &["execute", "fetch", "fetch_one", "fetch_all", "fetch_optional"];

fn first_string(args: &Punctuated<Expr, Token![,]>) -> Option<&LitStr> {
    match args.first()? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let attr = m.attrs.iter().find(|a| a.path().segments.last().is_some_and(|s| s.ident == "migration"));
        if let Some(attr) = attr {
            let parsed = read_attr(attr);
            self.migration(m, &parsed);
            let was = std::mem::replace(&mut self.in_migration, true);
            syn::visit::visit_item_mod(self, m);
            self.in_migration = was;
        } else {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func
            && p.path.segments.last().is_some_and(|s| SQLX_FUNCTIONS.contains(&s.ident.to_string().as_str()))
            && let Some(lit) = first_string(&c.args)
        {
            self.sql_literal(lit);
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, c: &'ast syn::ExprMethodCall) {
        if SQLX_METHODS.contains(&c.method.to_string().as_str())
            && let Some(lit) = first_string(&c.args)
        {
            self.sql_literal(lit);
        }
        syn::visit::visit_expr_method_call(self, c);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if m.path.segments.last().is_some_and(|s| SQLX_MACROS.contains(&s.ident.to_string().as_str()))
            && let Ok(args) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
            && let Some(lit) = first_string(&args)
        {
            self.sql_literal(lit);
        }
        syn::visit::visit_macro(self, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(src: &str, sqlx: bool) -> RustLint {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("lib.rs");
        std::fs::write(&f, src).unwrap();
        lint_rust(&[f], Dialect::Postgres, sqlx).unwrap()
    }

    #[test]
    fn migration_items_are_linted_at_the_right_line() {
        let r = lint(
            "use dbguard::migration;\n\n#[migration(version = 3)]\nmod m {\n    pub const UP: &str = \"ALTER TABLE users\n  DROP COLUMN email\";\n    pub const DOWN: &str = \"ALTER TABLE users ADD COLUMN email TEXT\";\n}\n",
            false,
        );
        let f = r.findings.iter().find(|f| f.rule == "drop-column").expect("drop-column found");
        assert_eq!((f.line, f.column), (6, 3), "the DROP COLUMN on the second line of the literal: {f:?}");
        assert_eq!(r.migrations[0].0, 3);
    }

    #[test]
    fn allowed_rules_and_duplicates() {
        let src = "#[migration(version = 3, allow(drop_table = \"merged\"))]\nmod a { pub const UP: &str = \"DROP TABLE t\"; pub const DOWN: &str = \"CREATE TABLE t (id INT)\"; }\n#[migration(version = 3)]\nmod b { pub const UP: &str = \"CREATE TABLE u (id INT)\"; pub const DOWN: &str = \"DROP TABLE u\"; }\n";
        let r = lint(src, false);
        assert!(!r.findings.iter().any(|f| f.rule == "drop-table"), "{:?}", r.findings);
        let dup = r.findings.iter().find(|f| f.rule == "duplicate-version").expect("duplicates found");
        assert_eq!(dup.line, 4);
        assert!(dup.message.contains("(a)") && dup.message.contains("(b)"), "{}", dup.message);
    }

    #[test]
    fn sqlx_literals_only_with_the_flag() {
        let src = "async fn reset(pool: &Pool) {\n    sqlx::query(\"DELETE FROM users\").execute(pool).await.unwrap();\n    sqlx::query!(\"TRUNCATE sessions\");\n    conn.execute(\"SELECT 1\").await;\n}\n";
        assert!(lint(src, false).findings.is_empty());
        let r = lint(src, true);
        let rules: Vec<_> = r.findings.iter().map(|f| (f.rule.as_ref(), f.line)).collect();
        assert_eq!(rules, [("delete-without-where", 2), ("truncate", 3)]);
        assert_eq!(r.findings[0].column, 18, "{:?}", r.findings[0]);
    }
}
