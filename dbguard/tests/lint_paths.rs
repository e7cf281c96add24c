//! Linting migration directories from disk, with configuration.

use std::path::Path;

use dbguard::lint::{Dialect, LintConfig, Severity};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn rules(dir: &Path, cfg: &LintConfig, jobs: usize) -> Vec<String> {
    let r = dbguard::lint_paths(&[dir.to_path_buf()], Dialect::Postgres, jobs, cfg).unwrap();
    r.findings.into_iter().map(|f| f.rule.into_owned()).collect()
}

#[test]
fn both_layouts_duplicates_and_config() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "1_old/up.sql", "DROP TABLE legacy;");
    write(d.path(), "1_old/down.sql", "-- dbguard: irreversible = \"legacy is archived\"");
    write(d.path(), "2_new.up.sql", "TRUNCATE sessions;");
    write(d.path(), "2_new.down.sql", "SELECT 1;");
    write(d.path(), "0002_dup.up.sql", "CREATE TABLE t (id int);");
    write(d.path(), "0002_dup.down.sql", "DROP TABLE t;");

    let all = rules(d.path(), &LintConfig::default(), 2);
    assert_eq!(
        all,
        ["drop-table", "placeholder-down", "duplicate-version", "truncate"],
        "sorted by file, then position"
    );
    assert_eq!(rules(d.path(), &LintConfig::default(), 1), all, "threads do not change the result");

    let adopt = LintConfig { start_after: Some(1), ..LintConfig::default() };
    assert!(!rules(d.path(), &adopt, 2).contains(&"drop-table".to_string()));
    let exclude = LintConfig { exclude: vec![d.path().join("2_new").display().to_string()], ..LintConfig::default() };
    assert!(!rules(d.path(), &exclude, 2).contains(&"truncate".to_string()));

    let relaxed: LintConfig = serde_json::from_str(r#"{"severity": {"truncate": "warning"}}"#).unwrap();
    let r = dbguard::lint_paths(&[d.path().to_path_buf()], Dialect::Postgres, 2, &relaxed).unwrap();
    assert_eq!(r.findings.iter().find(|f| f.rule == "truncate").unwrap().severity, Severity::Warning);
    assert_eq!((r.summary.errors, r.summary.warnings), (3, 1));
}

#[test]
fn unreadable_paths_are_errors_not_findings() {
    let err =
        dbguard::lint_paths(&["/nonexistent/dir".into()], Dialect::Postgres, 1, &LintConfig::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/dir"), "{err}");
}
