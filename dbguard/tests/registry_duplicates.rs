//! Two registered migrations with one version: refused at start, naming both places.

use dbguard::{Migration, Origin, Registration};

fn a() -> Migration {
    Migration::sql(5, "add_email", "SELECT 1", "SELECT 2").with_origin(Origin::Rust {
        file: "src/a.rs",
        line: 10,
        module: "app::a",
    })
}
fn b() -> Migration {
    Migration::sql(5, "add_phone", "SELECT 3", "SELECT 4").with_origin(Origin::Rust {
        file: "src/b.rs",
        line: 20,
        module: "app::b",
    })
}

dbguard::__private::inventory::submit! { Registration { build: a } }
dbguard::__private::inventory::submit! { Registration { build: b } }

#[test]
fn duplicate_versions_are_refused_with_both_locations() {
    let err = dbguard::Migrator::from_registry().unwrap_err().to_string();
    assert!(err.contains("duplicate version 5"), "{err}");
    assert!(err.contains("src/a.rs:10 (app::a)") && err.contains("src/b.rs:20 (app::b)"), "{err}");
}
