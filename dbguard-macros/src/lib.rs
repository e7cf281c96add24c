//! Proc-macros for dbguard; use them through the `dbguard` crate (`dbguard::migration`,
//! `dbguard::embed_migrations!`), which re-exports everything the generated code needs.
//!
//! The work happens at compile time: arguments are checked, SQL is read (from string literals
//! or files), linted with `dbguard-lint` and checksummed, and a registration is generated.
//! Every mistake is a compile error pointing at the token to fix.

mod args;
mod checks;
mod embed;
mod expand;
mod items;

use proc_macro::TokenStream;

/// Turns a `mod` into a registered, checked migration.
///
/// ```ignore
/// #[dbguard::migration(version = 4, preserves = "users")]
/// mod add_email_to_users {
///     pub const UP: &str = "ALTER TABLE users ADD COLUMN email TEXT";
///     pub const DOWN: &str = "ALTER TABLE users DROP COLUMN email";
/// }
/// ```
/// See `docs/macro.md` for every argument and every compile error.
#[proc_macro_attribute]
pub fn migration(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::migration(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Embeds a directory of SQL migrations (diesel or sqlx layout) into the binary and evaluates
/// to a `dbguard::Result<Vec<dbguard::Migration>>`, loaded with the same rules as
/// `Migrator::from_dir`. The path is relative to the crate root; cargo rebuilds when a file
/// changes.
///
/// ```ignore
/// let migrator = dbguard::Migrator::new(dbguard::embed_migrations!("migrations")?)?;
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    embed::embed(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
