//! The code `#[migration]` generates: the module as written, plus a function building the
//! `dbguard::Migration` and its registration.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::ItemMod;

use crate::args::{Args, At, DownArg};
use crate::checks::{self, Errors};
use crate::items::{self, Found};

/// One direction, resolved from the module or the attribute.
enum Source {
    Sql { text: String, span: Span, tokens: TokenStream },
    Rust { ident: syn::Ident, source: String },
    Irreversible { reason: String },
}

impl Source {
    fn checksum_text(&self) -> &str {
        match self {
            Source::Sql { text, .. } => text,
            Source::Rust { source, .. } => source,
            Source::Irreversible { .. } => "",
        }
    }
}

/// The crate root, where `up = "..."` paths start.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map(Into::into).unwrap_or_default()
}

/// Reads an SQL file named in the attribute.
pub fn read_file(path: &At<String>) -> syn::Result<(String, TokenStream)> {
    let full = manifest_dir().join(&path.value);
    let text = std::fs::read(&full).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound { "does not exist".to_string() } else { e.to_string() };
        syn::Error::new(
            path.span,
            format!(
                "the file `{}` {why}\n  help: paths are relative to the crate root (the directory of its Cargo.toml)",
                path.value
            ),
        )
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| syn::Error::new(path.span, format!("`{}` is not valid UTF-8; re-save it as UTF-8", path.value)))?;
    let full = full.to_string_lossy().into_owned();
    Ok((text, quote!(::core::include_str!(#full))))
}

fn from_found(f: Found) -> Source {
    match f {
        Found::Const { ident, sql, span } => Source::Sql { text: sql, span, tokens: quote!(#ident) },
        Found::Fn { ident, source } => Source::Rust { ident, source },
    }
}

fn twice(span: Span, dir: &str) -> syn::Error {
    syn::Error::new(span, format!("the {dir} is given twice: in the attribute and in the module; keep one"))
}

pub fn migration(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut args = Args::parse(attr)?;
    // `preserves = ["users(email, name)"]`: the table, and columns whose values must stay.
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    for p in args.preserves.iter_mut().chain(args.preserves_exactly.iter_mut()) {
        let (table, columns) = dbguard_lint::directives::preserved_item(&p.value).map_err(|why| {
            syn::Error::new(
                p.span,
                format!("cannot read `{}`: {why}\n  help: write `\"users\"` or `\"users(email, name)\"`", p.value),
            )
        })?;
        if !columns.is_empty() {
            values.push((table.clone(), columns));
        }
        p.value = table;
    }
    let mut module: ItemMod = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[migration]` goes on a module: `#[migration(version = 1)] mod create_users { ... }`",
        )
    })?;
    let found = items::scan(&module)?;
    let Some(version) = args.version.as_ref().map(|v| v.value) else {
        return Err(syn::Error::new(
            Span::call_site(),
            "missing `version = N`\n  help: versions are positive integers that order the migrations: `#[migration(version = 4)]`",
        ));
    };
    let dialect = args.dialect.as_ref().map_or(dbguard_lint::Dialect::Postgres, |d| d.value);

    let up = match (found.up, &args.up) {
        (Some(f), Some(p)) => return Err(twice(f.span().join(p.span).unwrap_or(p.span), "up")),
        (Some(f), None) => from_found(f),
        (None, Some(p)) => {
            let (text, tokens) = read_file(p)?;
            Source::Sql { text, span: p.span, tokens }
        }
        (None, None) => {
            return Err(syn::Error::new(
                Span::call_site(),
                "this migration has no up\n  help: add `pub const UP: &str = \"...\";`, `pub async fn up(tx: &mut dbguard::Tx<'_>) -> dbguard::Result<()>`, or `up = \"sql/file.sql\"`",
            ));
        }
    };
    let down = match (found.down, &args.down) {
        (Some(f), Some(_)) => return Err(twice(f.span(), "down")),
        (Some(f), None) => from_found(f),
        (None, Some(DownArg::File(p))) => {
            let (text, tokens) = read_file(p)?;
            Source::Sql { text, span: p.span, tokens }
        }
        (None, Some(DownArg::Irreversible(r))) => Source::Irreversible { reason: r.value.clone() },
        (None, None) => {
            return Err(syn::Error::new(
                Span::call_site(),
                "every migration needs a down, so that a bad deploy can be reverted\n  help: write one (`pub const DOWN: &str = \"...\";`, `pub async fn down(...)`, or `down = \"sql/file.sql\"`), or, if it truly cannot be undone, `down = irreversible(\"why, and where the data can be found\")`",
            ));
        }
    };

    let mut errors = Errors::default();
    if let Source::Sql { text, span, .. } = &down {
        checks::down_is_real(text, *span, dialect, &mut errors);
    }
    if let Source::Sql { text, span, .. } = &up {
        checks::up_is_safe(text, *span, "the up", &args, dialect, &mut errors);
        let mut preserved = args.preserves.clone();
        preserved.extend(args.preserves_exactly.iter().cloned());
        checks::preserves_survive(text, &preserved, dialect, &mut errors);
    } else if let Some((_, reason)) = args.allow.first() {
        errors.push(syn::Error::new(reason.span, "`allow` applies to SQL; a Rust up is not linted"));
    }
    errors.finish()?;

    let checksum = dbguard_lint::checksum::checksum(up.checksum_text(), down.checksum_text());
    let name = args.name.as_ref().map_or_else(|| module.ident.to_string(), |n| n.value.clone());
    let (up_step, up_fn) = step(&up, "up");
    let (down_step, down_fn) = step(&down, "down");
    let preserves: Vec<&String> = args.preserves.iter().map(|p| &p.value).collect();
    let exact: Vec<&String> = args.preserves_exactly.iter().map(|p| &p.value).collect();
    let preserving = (!preserves.is_empty()).then(|| quote!(.preserving([#(#preserves),*])));
    let preserving_exactly = (!exact.is_empty()).then(|| quote!(.preserving_exactly([#(#exact),*])));
    let no_tx = (args.transaction == Some(false)).then(|| quote!(.without_transaction()));
    let preserving_values = values.iter().map(|(t, cols)| quote!(.preserving_values(#t, [#(#cols),*])));

    let generated: Vec<syn::Item> = vec![
        syn::parse_quote! {
            #[doc(hidden)]
            fn __dbguard_build() -> ::dbguard::Migration {
                ::dbguard::Migration::new(#version, #name, #up_step, #down_step)
                    #preserving
                    #preserving_exactly
                    #(#preserving_values)*
                    #no_tx
                    .with_checksum(#checksum)
                    .with_origin(::dbguard::Origin::Rust {
                        file: ::core::file!(),
                        line: ::core::line!(),
                        module: ::core::module_path!(),
                    })
            }
        },
        syn::parse_quote! {
            ::dbguard::__private::inventory::submit! {
                ::dbguard::Registration { build: __dbguard_build }
            }
        },
    ];
    let content = &mut module.content.as_mut().expect("scan checked the module is inline").1;
    content.extend(up_fn.into_iter().chain(down_fn));
    content.extend(generated);
    Ok(quote!(#module))
}

/// The `Step` expression for a direction, and the wrapper function a Rust step needs.
fn step(src: &Source, dir: &str) -> (TokenStream, Option<syn::Item>) {
    match src {
        Source::Sql { tokens, .. } => (quote!(::dbguard::Step::Sql(::std::borrow::Cow::Borrowed(#tokens))), None),
        Source::Irreversible { reason } => (
            quote!(::dbguard::Step::Irreversible {
                reason: ::std::borrow::Cow::Borrowed(#reason),
                text: ::std::borrow::Cow::Borrowed(""),
            }),
            None,
        ),
        Source::Rust { ident, source } => {
            let wrapper = format_ident!("__dbguard_{dir}");
            let item: syn::Item = syn::parse_quote! {
                #[doc(hidden)]
                fn #wrapper<'a, 'c>(tx: &'a mut ::dbguard::Tx<'c>) -> ::dbguard::StepFuture<'a> {
                    ::std::boxed::Box::pin(#ident(tx))
                }
            };
            (quote!(::dbguard::Step::Rust { run: #wrapper, source: ::std::borrow::Cow::Borrowed(#source) }), Some(item))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(attr: TokenStream, item: TokenStream) -> String {
        let out = migration(attr, item).unwrap();
        prettyplease::unparse(&syn::parse2(out).unwrap())
    }

    #[test]
    fn sql_constants() {
        insta::assert_snapshot!(expand(
            quote!(version = 4, preserves = "users"),
            quote!(
                mod add_email_to_users {
                    pub const UP: &str = "ALTER TABLE users ADD COLUMN email TEXT";
                    pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
                }
            ),
        ));
    }

    #[test]
    fn async_functions_without_transaction() {
        insta::assert_snapshot!(expand(
            quote!(version = 5, preserves = ["users", "orders"], transaction = false, name = "backfill_emails"),
            quote!(
                mod backfill {
                    use dbguard::Tx;
                    pub async fn up(tx: &mut Tx<'_>) -> dbguard::Result<()> {
                        tx.execute("UPDATE users SET email = lower(email) WHERE email IS NOT NULL").await?;
                        Ok(())
                    }
                    pub async fn down(_tx: &mut Tx<'_>) -> dbguard::Result<()> {
                        Ok(())
                    }
                }
            ),
        ));
    }
}
