//! Loading migration directories: both layouts, the real-world order, and every error case.

use std::path::{Path, PathBuf};

use dbguard::{Loader, Migrator, Step};

fn write(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn problems(dir: &Path) -> String {
    Loader::new().load(dir).unwrap_err().to_string()
}

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/cratesio");
    if p.is_dir() {
        return Some(p);
    }
    assert!(std::env::var("CI").is_err(), "the crates.io corpus must be beside the checkout in CI: {}", p.display());
    eprintln!("notice: skipping: {} not found", p.display());
    None
}

#[test]
fn both_layouts_mix_and_sort() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "2_b/up.sql", "CREATE TABLE b (id INT);");
    write(d.path(), "2_b/down.sql", "DROP TABLE b;");
    write(d.path(), "10_c.up.sql", "CREATE TABLE c (id INT);");
    write(d.path(), "10_c.down.sql", "DROP TABLE c;");
    write(d.path(), "1_a.up.sql", "CREATE TABLE a (id INT);");
    write(d.path(), "1_a.down.sql", "DROP TABLE a;");
    write(d.path(), "README.md", "not a migration");
    write(d.path(), "sql/0006_up.sql", "files used by #[migration] live in other folders");
    let ms = Loader::new().load(d.path()).unwrap();
    let got: Vec<_> = ms.iter().map(|m| (m.version(), m.name())).collect();
    assert_eq!(got, [(1, "a"), (2, "b"), (10, "c")]);
}

#[test]
fn crates_io_corpus_loads_in_diesel_order() {
    let Some(dir) = corpus() else { return };
    let order: Vec<String> = std::fs::read_to_string(dir.join("ORDER")).unwrap().lines().map(String::from).collect();
    assert_eq!(order.len(), 285);
    // Strict loading refuses the corpus's empty downs, naming each.
    let strict = problems(&dir);
    assert!(strict.contains("2019-11-11-162609_drop_email_from_user/down.sql"), "{strict}");
    assert!(strict.contains("9 problems"), "{}", strict.lines().next().unwrap());

    let ms = Loader::new().accept_legacy_downs(true).load(&dir).unwrap();
    let names: Vec<String> = ms
        .iter()
        .map(|m| match m.origin() {
            dbguard::Origin::Files { up, .. } => {
                up.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned()
            }
            o => panic!("{o:?}"),
        })
        .collect();
    assert_eq!(names, order, "the order diesel applies them in");
    let irreversible = ms.iter().filter(|m| matches!(m.down(), Step::Irreversible { .. })).count();
    assert_eq!(irreversible, 9);
    let no_tx: Vec<_> = ms.iter().filter(|m| !m.is_transactional()).map(|m| m.version()).collect();
    assert_eq!(no_tx.len(), 7, "metadata.toml run_in_transaction = false: {no_tx:?}");
    assert!(no_tx.contains(&20240527142004));
}

#[test]
fn duplicate_versions_name_both_files() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "0004_a/up.sql", "SELECT 1;");
    write(d.path(), "0004_a/down.sql", "DROP TABLE x;");
    write(d.path(), "4_b.up.sql", "SELECT 2;");
    write(d.path(), "4_b.down.sql", "DROP TABLE y;");
    let msg = problems(d.path());
    assert!(msg.contains("duplicate version") && msg.contains("0004_a") && msg.contains("4_b.up.sql"), "{msg}");
    assert!(msg.contains("fix: give one of them a new version"), "{msg}");
}

#[test]
fn missing_and_placeholder_downs_are_refused_with_the_fix() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "1_no_down/up.sql", "CREATE TABLE a (id INT);");
    write(d.path(), "2_empty/up.sql", "CREATE TABLE b (id INT);");
    write(d.path(), "2_empty/down.sql", "-- Not reversible\n");
    write(d.path(), "3_todo/up.sql", "CREATE TABLE c (id INT);");
    write(d.path(), "3_todo/down.sql", "TODO");
    write(d.path(), "4_simple.sql", "CREATE TABLE d (id INT);");
    write(d.path(), "5_orphan.down.sql", "DROP TABLE e;");
    let msg = problems(d.path());
    assert!(msg.starts_with("5 problems"), "{msg}");
    for needle in [
        "1_no_down/down.sql: missing down migration",
        "2_empty/down.sql: the down migration is empty or only comments",
        "3_todo/down.sql: the down migration is a placeholder",
        "4_simple.sql: a migration without a down",
        "rename it to `4_simple.up.sql`",
        "5_orphan.down.sql: a down migration without its up",
        "-- dbguard: irreversible = \"reason\"",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
}

#[test]
fn explicit_irreversible_marker_is_accepted() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "1_lossy/up.sql", "-- dbguard: preserves = users, orders\nUPDATE users SET email = NULL;");
    write(d.path(), "1_lossy/down.sql", "-- dbguard: irreversible = \"emails are gone\"\n");
    let ms = Loader::new().load(d.path()).unwrap();
    assert!(matches!(ms[0].down(), Step::Irreversible { reason, .. } if reason == "emails are gone"));
    assert_eq!(ms[0].preserves(), ["users", "orders"]);
}

#[test]
fn bad_names_directives_metadata_and_encoding_name_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "add_users/up.sql", "CREATE TABLE u (id INT);");
    write(d.path(), "7_x.up.sql", "-- header\n-- dbguard: preserve = users\nSELECT 1;");
    write(d.path(), "7_x.down.sql", "DROP TABLE x;");
    write(d.path(), "8_latin1.up.sql", b"CREATE TABLE t (id INT);\n-- caf\xe9\n".as_slice());
    write(d.path(), "8_latin1.down.sql", "DROP TABLE t;");
    write(d.path(), "9_meta/up.sql", "CREATE TABLE m (id INT);");
    write(d.path(), "9_meta/down.sql", "DROP TABLE m;");
    write(d.path(), "9_meta/metadata.toml", "run_in_transaction = no\n");
    write(d.path(), "99999999999999999999_huge.up.sql", "SELECT 1;");
    let msg = problems(d.path());
    for needle in [
        "add_users: `add_users` does not start with a version number",
        "7_x.up.sql:2: unknown or malformed directive",
        "8_latin1.up.sql:2: the file is not valid UTF-8",
        "9_meta/metadata.toml:1: not valid TOML",
        "is too large",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
}

#[test]
fn no_transaction_from_directive_and_metadata() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "1_a/up.sql", "-- dbguard: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);");
    write(d.path(), "1_a/down.sql", "DROP INDEX CONCURRENTLY i;");
    write(d.path(), "2_b/up.sql", "CREATE INDEX CONCURRENTLY j ON t (x);");
    write(d.path(), "2_b/down.sql", "DROP INDEX CONCURRENTLY j;");
    write(d.path(), "2_b/metadata.toml", "run_in_transaction = false\n");
    write(d.path(), "3_c/up.sql", "CREATE TABLE c (id INT);");
    write(d.path(), "3_c/down.sql", "DROP TABLE c;");
    let ms = Loader::new().load(d.path()).unwrap();
    let tx: Vec<bool> = ms.iter().map(|m| m.is_transactional()).collect();
    assert_eq!(tx, [false, false, true]);
}

#[test]
fn missing_directory_says_what_to_do() {
    let err = Loader::new().load("/nonexistent/migrations").unwrap_err().to_string();
    assert!(err.contains("/nonexistent/migrations") && err.contains("cargo dbguard init"), "{err}");
}

#[test]
fn migrator_refuses_duplicate_versions_from_code() {
    let a = dbguard::Migration::sql(1, "a", "SELECT 1", "SELECT 2");
    let b = dbguard::Migration::sql(1, "b", "SELECT 3", "SELECT 4");
    let err = Migrator::new(vec![a, b]).unwrap_err().to_string();
    assert!(err.contains("duplicate version 1") && err.contains("`a`") && err.contains("`b`"), "{err}");
}

#[test]
fn no_panic_on_odd_file_system_entries() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "1_a/up.sql", "SELECT 1;");
    std::fs::create_dir_all(d.path().join("1_a/down.sql")).unwrap(); // a directory named down.sql
    write(d.path(), ".hidden.up.sql", "x");
    write(d.path(), "2_/up.sql", "SELECT 1;");
    let msg = problems(d.path());
    assert!(msg.contains("1_a/down.sql"), "{msg}");
    assert!(msg.contains("2_"), "{msg}");
}

#[test]
fn scaffold_templates_load_only_once_filled_in() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/sql");
    let d = tempfile::tempdir().unwrap();
    for f in ["up.sql", "down.sql"] {
        let text =
            std::fs::read_to_string(templates.join(f)).unwrap().replace("{{version}}", "1").replace("{{name}}", "x");
        write(d.path(), &format!("1_x/{f}"), text);
    }
    // A fresh scaffold is a placeholder in both files: refused until written.
    let msg = problems(d.path());
    assert!(
        msg.starts_with("2 problems")
            && msg.contains("up.sql: the up migration is empty or only comments")
            && msg.contains("down.sql: the down migration is empty or only comments"),
        "{msg}"
    );
    for (f, sql) in [("1_x/up.sql", "CREATE TABLE x (id INT);\n"), ("1_x/down.sql", "DROP TABLE x;\n")] {
        let path = d.path().join(f);
        let filled = std::fs::read_to_string(&path).unwrap() + sql;
        std::fs::write(&path, filled).unwrap();
    }
    assert_eq!(Loader::new().load(d.path()).unwrap().len(), 1, "the template's comments are valid directives-wise");
}
