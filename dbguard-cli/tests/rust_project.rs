//! A project whose migrations are `#[migration]` items: `init --rust`, `new --rust`, then the
//! same `up`/`status`/`down` commands as for SQL directories, which build and run the
//! project's migrator binary. SQLite only: the forwarding does not depend on the database.

use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-dbguard"))
        .current_dir(dir)
        .arg("dbguard")
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DBGUARD_MIGRATIONS")
        .env("NO_COLOR", "1")
        .env("CARGO_TARGET_DIR", target)
        .output()
        .map(dbguard_tests::recorded)
        .unwrap()
}

fn ok(o: Output) -> String {
    let t = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "exit {:?}: {t}", o.status.code());
    t
}

/// The workspace manifest's `[profile...]` sections, for the same compiled dependencies; the
/// workspace's own crates unoptimised, as they are built there (optimising them took a minute).
fn profiles(workspace: &Path) -> String {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
    let start = manifest.find("[profile.").expect("the workspace sets profiles");
    let mut p = manifest[start..].to_string();
    for krate in ["dbguard", "dbguard-cli", "dbguard-lint", "dbguard-macros"] {
        p.push_str(&format!("\n[profile.dev.package.{krate}]\nopt-level = 0\n"));
    }
    p
}

#[test]
fn rust_migrations_run_through_the_projects_migrator() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // The workspace's target directory and profile: the project's dependencies are those of
    // `cargo run -p dbguard-cli` (README's first command), compiled once for both.
    let target = workspace.join("target");
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("Cargo.toml"),
        format!(
            "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\ndbguard = {{ path = \"{0}/dbguard\" }}\ndbguard-cli = {{ path = \"{0}/dbguard-cli\" }}\n\n{1}",
            workspace.display(),
            profiles(workspace)
        ),
    )
    .unwrap();
    // The workspace's lock file, so that the same dependency versions are built.
    std::fs::copy(workspace.join("Cargo.lock"), p.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();

    let init = ok(run(p, &target, &["init", "--rust"]));
    assert!(init.contains("src/bin/migrator.rs"), "{init}");
    assert!(std::fs::read_to_string(p.join("Cargo.toml")).unwrap().contains("migrator = true"));
    ok(run(p, &target, &["new", "create_users", "--rust"]));
    let file = p.join("src/migrations/v0001_create_users.rs");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replacen(
            "pub const UP: &str = \"\";",
            "pub const UP: &str = \"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)\";",
            1,
        )
        .replacen("pub const DOWN: &str = \"\";", "pub const DOWN: &str = \"DROP TABLE users\";", 1);
    std::fs::write(&file, text).unwrap();
    assert!(std::fs::read_to_string(p.join("src/migrations/mod.rs")).unwrap().contains("pub mod v0001_create_users;"));

    let lint = run(p, &target, &["lint"]);
    assert_eq!(lint.status.code(), Some(0), "{}", String::from_utf8_lossy(&lint.stdout));
    let up = ok(run(p, &target, &["up"]));
    assert!(up.contains("applied  1 create_users"), "{up}");
    let status = ok(run(p, &target, &["status"]));
    assert!(status.contains("applied") && status.contains("create_users"), "{status}");
    let down = ok(run(p, &target, &["down", "--to", "0"]));
    assert!(down.contains("reverted 1 create_users"), "{down}");
}
