//! The project's migrations, one module per file. `cargo dbguard new <name> --rust` adds the
//! file and its line here.
