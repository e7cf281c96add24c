//! The arguments of `#[migration(...)]`.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// A string with the span of the literal it came from.
#[derive(Debug, Clone)]
pub struct At<T> {
    pub value: T,
    pub span: Span,
}

/// A `down` given in the attribute.
#[derive(Debug, Clone)]
pub enum DownArg {
    /// `down = "file.sql"`.
    File(At<String>),
    /// `down = irreversible("reason")`.
    Irreversible(At<String>),
}

/// Everything `#[migration(...)]` accepts.
#[derive(Debug, Default)]
pub struct Args {
    pub version: Option<At<i64>>,
    pub name: Option<At<String>>,
    pub preserves: Vec<At<String>>,
    pub preserves_exactly: Vec<At<String>>,
    pub transaction: Option<bool>,
    pub up: Option<At<String>>,
    pub down: Option<DownArg>,
    /// (rule id in kebab-case, reason, span of the key)
    pub allow: Vec<(String, At<String>)>,
    pub dialect: Option<At<dbguard_lint::Dialect>>,
}

const KEYS: &[&str] =
    &["version", "name", "preserves", "preserves_exactly", "transaction", "up", "down", "allow", "dialect"];

fn string(expr: &Expr, what: &str) -> syn::Result<At<String>> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Ok(At { value: s.value(), span: s.span() }),
        other => Err(syn::Error::new(other.span(), format!("{what} must be a string literal, like `\"users\"`"))),
    }
}

fn strings(expr: &Expr, key: &str) -> syn::Result<Vec<At<String>>> {
    let help = format!(
        "`{key}` takes a table name or a list of them: `{key} = \"users\"` or `{key} = [\"users\", \"orders\"]`"
    );
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Str(_), .. }) => Ok(vec![string(expr, "a table name")?]),
        Expr::Array(a) => a
            .elems
            .iter()
            .map(|e| {
                string(e, "each table name").map_err(|e| syn::Error::new(e.span(), format!("{e}\n  help: {help}")))
            })
            .collect(),
        other => {
            Err(syn::Error::new(other.span(), format!("`{key}` is not a string or a list of strings\n  help: {help}")))
        }
    }
}

impl Args {
    pub fn parse(attr: proc_macro2::TokenStream) -> syn::Result<Args> {
        let metas: Punctuated<Meta, Token![,]> = syn::parse::Parser::parse2(Punctuated::parse_terminated, attr)?;
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        for meta in &metas {
            let key = meta.path().get_ident().map(|i| i.to_string()).unwrap_or_default();
            let key_span = meta.path().span();
            if !KEYS.contains(&key.as_str()) {
                let close = KEYS.iter().find(|k| close_to(k, &key));
                let hint = close.map(|k| format!("did you mean `{k}`? ")).unwrap_or_default();
                return Err(syn::Error::new(
                    key_span,
                    format!("unknown argument `{key}`\n  help: {hint}the arguments are {}", KEYS.join(", ")),
                ));
            }
            if seen.contains(&key) && key != "allow" {
                return Err(syn::Error::new(key_span, format!("`{key}` is given twice; keep one")));
            }
            seen.push(key.clone());
            match (key.as_str(), meta) {
                ("allow", Meta::List(list)) => {
                    let inner: Punctuated<Meta, Token![,]> = list.parse_args_with(Punctuated::parse_terminated)?;
                    for m in inner {
                        let Meta::NameValue(nv) = &m else {
                            return Err(syn::Error::new(
                                m.span(),
                                "each allowed rule needs a reason: `allow(drop_column = \"email moved to contacts in v5\")`",
                            ));
                        };
                        let rule = nv.path.get_ident().map(|i| i.to_string().replace('_', "-")).unwrap_or_default();
                        let reason = string(&nv.value, "the reason")?;
                        if dbguard_lint::rules::info(&rule).is_none() {
                            return Err(syn::Error::new(
                                nv.path.span(),
                                format!(
                                    "`{}` is not a dbguard rule\n  help: write the rule id with underscores, e.g. `drop_table`, `drop_column`, `delete_without_where` (docs/rules/README.md)",
                                    rule.replace('-', "_")
                                ),
                            ));
                        }
                        if reason.value.trim().is_empty() {
                            return Err(syn::Error::new(
                                reason.span,
                                format!(
                                    "allowing `{}` needs a reason: say why the data may go",
                                    rule.replace('-', "_")
                                ),
                            ));
                        }
                        args.allow.push((rule, reason));
                    }
                }
                (_, Meta::NameValue(nv)) => args.set(&key, &nv.value)?,
                _ => {
                    return Err(syn::Error::new(
                        meta.span(),
                        if key == "allow" {
                            "write `allow(rule_name = \"reason\")`".to_string()
                        } else {
                            format!("write `{key} = ...`")
                        },
                    ));
                }
            }
        }
        Ok(args)
    }

    fn set(&mut self, key: &str, value: &Expr) -> syn::Result<()> {
        match key {
            "version" => self.version = Some(version(value)?),
            "name" => self.name = Some(string(value, "`name`")?),
            "preserves" => self.preserves = strings(value, key)?,
            "preserves_exactly" => self.preserves_exactly = strings(value, key)?,
            "transaction" => match value {
                Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => self.transaction = Some(b.value),
                other => return Err(syn::Error::new(other.span(), "`transaction` is `true` or `false`")),
            },
            "up" => self.up = Some(string(value, "`up` (a file path relative to the crate root)")?),
            "down" => {
                self.down = Some(match value {
                    Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("irreversible")) => {
                        let reason = match call.args.first() {
                            Some(a) if call.args.len() == 1 => string(a, "the reason")?,
                            _ => {
                                return Err(syn::Error::new(
                                    call.span(),
                                    "write `down = irreversible(\"why it cannot be undone\")`",
                                ));
                            }
                        };
                        if reason.value.trim().is_empty() {
                            return Err(syn::Error::new(
                                reason.span,
                                "an irreversible down needs a reason: say why it cannot be undone and where the data can be found",
                            ));
                        }
                        DownArg::Irreversible(reason)
                    }
                    other => DownArg::File(string(other, "`down` (a file path, or `irreversible(\"reason\")`)")?),
                })
            }
            "dialect" => {
                let s = string(value, "`dialect`")?;
                let d = match s.value.as_str() {
                    "postgres" | "postgresql" => dbguard_lint::Dialect::Postgres,
                    "mysql" | "mariadb" => dbguard_lint::Dialect::Mysql,
                    "sqlite" => dbguard_lint::Dialect::Sqlite,
                    _ => return Err(syn::Error::new(s.span, "`dialect` is \"postgres\", \"mysql\" or \"sqlite\"")),
                };
                self.dialect = Some(At { value: d, span: s.span });
            }
            _ => unreachable!("keys are checked first"),
        }
        Ok(())
    }
}

fn version(expr: &Expr) -> syn::Result<At<i64>> {
    let help =
        "  help: versions are positive integers that order the migrations: `version = 4` or `version = 20261121101500`";
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => match i.base10_parse::<i64>() {
            Ok(0) => Err(syn::Error::new(
                i.span(),
                format!("version 0 is not allowed (`down --to 0` means \"revert everything\")\n{help}"),
            )),
            Ok(v) if v < 0 => Err(syn::Error::new(i.span(), format!("the version must be positive\n{help}"))),
            Ok(v) => Ok(At { value: v, span: i.span() }),
            Err(_) => Err(syn::Error::new(i.span(), format!("the version does not fit in an i64\n{help}"))),
        },
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
            Err(syn::Error::new(u.span(), format!("the version must be positive\n{help}")))
        }
        other => Err(syn::Error::new(other.span(), format!("the version must be an integer literal\n{help}"))),
    }
}

/// One edit apart (a typo).
fn close_to(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}
