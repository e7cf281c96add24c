//! `embed_migrations!("migrations")`: every file of a migrations directory, embedded with
//! `include_str!` (so cargo rebuilds when one changes) and loaded at run time by the same
//! `Loader` as `Migrator::from_dir`.

use quote::quote;
use syn::LitStr;

use crate::expand::manifest_dir;

pub fn embed(input: proc_macro2::TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let lit: LitStr = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "write `embed_migrations!(\"migrations\")`: the directory, relative to the crate root",
        )
    })?;
    let rel = lit.value();
    let root = manifest_dir().join(&rel);
    let not_dir = |what: String| {
        syn::Error::new(
            lit.span(),
            format!(
                "{what}\n  help: the path is relative to the crate root (the directory of its Cargo.toml); `cargo dbguard init` creates `migrations/`"
            ),
        )
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let top = std::fs::read_dir(&root).map_err(|e| not_dir(format!("cannot read the directory `{rel}`: {e}")))?;
    for entry in top.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            // diesel layout: <version>_<name>/up.sql, down.sql, metadata.toml
            for inner in
                std::fs::read_dir(&path).map_err(|e| not_dir(format!("cannot read `{rel}/{name}`: {e}")))?.flatten()
            {
                let inner_name = inner.file_name().to_string_lossy().into_owned();
                if inner_name.ends_with(".sql") || inner_name == "metadata.toml" {
                    files.push((format!("{rel}/{name}/{inner_name}"), inner.path().to_string_lossy().into_owned()));
                }
            }
        } else if name.ends_with(".sql") {
            files.push((format!("{rel}/{name}"), path.to_string_lossy().into_owned()));
        }
    }
    files.sort();
    for (shown, full) in &files {
        if std::fs::read_to_string(full).is_err() {
            return Err(syn::Error::new(
                lit.span(),
                format!("`{shown}` is not readable UTF-8 text; re-save it as UTF-8"),
            ));
        }
    }
    let entries = files.iter().map(|(shown, full)| quote!((#shown, ::core::include_str!(#full))));
    Ok(quote! {
        ::dbguard::Loader::new()
            .load_embedded(#rel, &[#(#entries),*])
            .map_err(::dbguard::Error::from)
    })
}
