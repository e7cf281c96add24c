//! What the migration module defines: `UP`/`DOWN` string constants or `async fn up`/`down`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Item, ItemMod, Lit};

/// One direction as the module defines it.
pub enum Found {
    /// `const UP: &str = "...";`
    Const { ident: syn::Ident, sql: String, span: Span },
    /// `async fn up(tx: &mut dbguard::Tx<'_>) -> dbguard::Result<()>`
    Fn { ident: syn::Ident, source: String },
}

/// The `up` and `down` items of the module.
#[derive(Default)]
pub struct Items {
    pub up: Option<Found>,
    pub down: Option<Found>,
}

impl Found {
    pub fn span(&self) -> Span {
        match self {
            Found::Const { span, .. } => *span,
            Found::Fn { ident, .. } => ident.span(),
        }
    }
}

pub fn scan(module: &ItemMod) -> syn::Result<Items> {
    let mut items = Items::default();
    let Some((_, content)) = &module.content else {
        return Err(syn::Error::new(
            module.span(),
            "`#[migration]` needs an inline module: `mod name { ... }` (or `mod name {}` with `up = \"...\"` and `down = \"...\"` files)",
        ));
    };
    for item in content {
        let (slot, found) = match item {
            Item::Const(c) if c.ident == "UP" || c.ident == "DOWN" => {
                let sql = match &*c.expr {
                    Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => (s.value(), s.span()),
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            format!(
                                "`{}` must be a string literal, so that dbguard can lint and checksum it at compile time\n  help: for SQL in a file, write `{} = \"sql/file.sql\"` in the attribute",
                                c.ident,
                                c.ident.to_string().to_lowercase()
                            ),
                        ));
                    }
                };
                let up = c.ident == "UP";
                (up, Found::Const { ident: c.ident.clone(), sql: sql.0, span: sql.1 })
            }
            Item::Fn(f) if f.sig.ident == "up" || f.sig.ident == "down" => {
                if f.sig.asyncness.is_none() {
                    return Err(syn::Error::new(
                        f.sig.fn_token.span,
                        format!(
                            "`{}` must be an async fn: `pub async fn {0}(tx: &mut dbguard::Tx<'_>) -> dbguard::Result<()>`",
                            f.sig.ident
                        ),
                    ));
                }
                let source = token_text(quote::quote!(#f));
                (f.sig.ident == "up", Found::Fn { ident: f.sig.ident.clone(), source })
            }
            _ => continue,
        };
        let slot = if slot { &mut items.up } else { &mut items.down };
        if let Some(prev) = slot {
            let mut e = syn::Error::new(found.span(), "a second definition of this direction; keep one");
            e.combine(syn::Error::new(prev.span(), "the first one is here"));
            return Err(e);
        }
        *slot = Some(found);
    }
    Ok(items)
}

/// The function's tokens as text, one space between tokens: the checksum input for a Rust step.
/// Written out here rather than with `TokenStream::to_string`, whose spacing may change between
/// compiler releases and would then report every Rust migration as edited.
pub fn token_text(tokens: proc_macro2::TokenStream) -> String {
    use proc_macro2::{Delimiter, Spacing, TokenTree};
    let mut out = String::new();
    let mut glue = false; // the previous token was a punctuation joined to this one (`->`, `'a`)
    for t in tokens {
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        glue = false;
        match t {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                let inner = token_text(g.stream());
                out.push_str(open);
                out.push_str(&inner);
                out.push_str(close);
            }
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                glue = p.spacing() == Spacing::Joint;
            }
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_text_is_spaced_uniformly() {
        let t = super::token_text(quote::quote!(
            async fn up(tx: &mut Tx<'_>) {
                tx.execute("A  B").await?;
            }
        ));
        assert_eq!(t, "async fn up (tx : & mut Tx < '_ >) {tx . execute (\"A  B\") . await ? ;}");
    }
}
