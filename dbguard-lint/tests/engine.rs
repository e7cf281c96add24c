//! The engine on the tricky cases: DO blocks, function bodies, DELIMITER, suppressions,
//! migration pairs.

use dbguard_lint::{Dialect, MigrationFiles, Severity, duplicate_versions, fails, lint_migration, lint_sql};

fn rules(sql: &str, d: Dialect) -> Vec<String> {
    lint_sql("f.sql", sql, d).into_iter().map(|f| f.rule.into_owned()).collect()
}

#[test]
fn do_blocks_run_now_and_are_linted() {
    let sql = "DO $$\nBEGIN\n  IF true THEN\n    DELETE FROM users;\n  ELSE\n    UPDATE t SET a = 1 WHERE b;\n  END IF;\n  FOR r IN SELECT 1 LOOP TRUNCATE logs; END LOOP;\nEND\n$$;";
    let f = lint_sql("f.sql", sql, Dialect::Postgres);
    let got: Vec<_> = f.iter().map(|f| (&*f.rule, f.line, f.column)).collect();
    assert_eq!(got, [("delete-without-where", 4, 5), ("truncate", 8, 26)]);
}

/// MariaDB's compound statements run now too (a new-user trial found them unlinted).
#[test]
fn mariadb_compound_statements_run_now_and_are_linted() {
    let sql = "BEGIN NOT ATOMIC\n  DELETE FROM users;\n  WHILE 1 DO TRUNCATE logs; END WHILE;\nEND;\nSELECT 1;";
    let f = lint_sql("f.sql", sql, Dialect::Mysql);
    let got: Vec<_> = f.iter().map(|f| (&*f.rule, f.line)).collect();
    assert_eq!(got, [("delete-without-where", 2), ("truncate", 3)]);
    let names = dbguard_lint::guard_targets(sql, Dialect::Mysql).unchecked;
    assert!(names.contains(&"users".to_string()) && names.contains(&"logs".to_string()), "{names:?}");
}

#[test]
fn function_and_trigger_bodies_run_later_and_are_not() {
    let sql = "CREATE FUNCTION purge() RETURNS trigger AS $body$\nBEGIN\n  DELETE FROM sessions;\n  DROP TABLE tmp;\n  RETURN NULL;\nEND;\n$body$ LANGUAGE plpgsql;\nCREATE TRIGGER t AFTER TRUNCATE ON users EXECUTE FUNCTION purge();";
    assert!(rules(sql, Dialect::Postgres).is_empty(), "{:?}", rules(sql, Dialect::Postgres));
}

#[test]
fn mysql_delimiter_procedures_are_one_statement() {
    let sql =
        "DELIMITER //\nCREATE PROCEDURE p() BEGIN DELETE FROM t WHERE id = 1; END//\nDELIMITER ;\nDELETE FROM audit;";
    assert_eq!(rules(sql, Dialect::Mysql), ["delete-without-where"]);
}

#[test]
fn keywords_in_strings_comments_and_identifiers_are_not_statements() {
    let sql = "/* DROP TABLE a; /* nested DROP TABLE b; */ TRUNCATE c; */\nINSERT INTO log (msg) VALUES ('DROP TABLE users; DELETE FROM x');\nSELECT \"delete\", drop_table FROM `truncate`;";
    assert!(rules(sql, Dialect::Postgres).is_empty());
    // SQLite does not nest comments: there, `TRUNCATE c;` is outside the comment and runs.
    assert_eq!(rules(&sql.replace('`', "\""), Dialect::Sqlite), ["truncate"]);
}

#[test]
fn findings_point_at_the_offending_part() {
    let f = &lint_sql("up.sql", "ALTER TABLE users\n  ADD COLUMN x int,\n  DROP COLUMN email;", Dialect::Postgres)[0];
    assert_eq!((f.line, f.column, f.end_line, f.end_column), (3, 3, 3, 20));
    assert_eq!(f.table.as_deref(), Some("users"));
    assert_eq!(f.docs, "docs/rules/drop-column.md");
    assert!(f.help.contains("later release"));
}

#[test]
fn suppressions_need_a_reason_and_a_known_rule_and_a_use() {
    let allowed =
        "-- dbguard:allow drop-column reason=\"moved to contacts in v5\"\nALTER TABLE users DROP COLUMN email;";
    assert!(rules(allowed, Dialect::Postgres).is_empty());

    let no_reason = "-- dbguard:allow drop-column\nALTER TABLE users DROP COLUMN email;";
    assert_eq!(rules(no_reason, Dialect::Postgres), ["suppression-without-reason", "drop-column"]);

    let unknown = "-- dbguard:allow drop-colum reason=\"typo\"\nALTER TABLE users DROP COLUMN email;";
    assert_eq!(rules(unknown, Dialect::Postgres), ["unknown-rule", "drop-column"]);

    let unused = "-- dbguard:allow truncate reason=\"not needed\"\nALTER TABLE users DROP COLUMN email;";
    let f = lint_sql("f.sql", unused, Dialect::Postgres);
    assert_eq!(
        f.iter().map(|f| (&*f.rule, f.severity)).collect::<Vec<_>>(),
        [("unused-suppression", Severity::Warning), ("drop-column", Severity::Error)]
    );

    // Only the next statement is covered, unless the whole file is.
    let next_only = "-- dbguard:allow drop-table reason=\"old\"\nDROP TABLE a;\nDROP TABLE b;";
    assert_eq!(rules(next_only, Dialect::Postgres), ["drop-table"]);
    let file = "DROP TABLE a;\n-- dbguard:allow-file drop-table reason=\"retiring the legacy schema\"\nDROP TABLE b;";
    assert!(rules(file, Dialect::Postgres).is_empty());
}

#[test]
fn migration_pairs() {
    let up = "CREATE TABLE contacts (id int);\nALTER TABLE users ADD COLUMN phone text;";
    let lint = |down: Option<&str>| -> Vec<String> {
        let files = MigrationFiles { up: ("up.sql", up), down: down.map(|d| ("down.sql", d)) };
        lint_migration(files, Dialect::Postgres).into_iter().map(|f| format!("{} {}", f.rule, f.message)).collect()
    };
    // A proper down: dropping what the up created is its revert, not data loss.
    assert_eq!(lint(Some("ALTER TABLE users DROP COLUMN phone;\nDROP TABLE contacts;")), Vec::<String>::new());
    assert_eq!(lint(None), ["missing-down up.sql has no down migration"]);
    assert_eq!(lint(Some("-- Not reversible")), ["placeholder-down the down migration is empty or only comments"]);
    assert!(lint(Some("-- dbguard: irreversible = \"contacts are exported\"\n")).is_empty());
    assert_eq!(
        lint(Some("DROP TABLE contacts;")),
        ["down-does-not-revert the up adds column `users.phone` but the down does not drop it"]
    );
    // A down that drops something the up did not create is still data loss.
    let f = lint(Some("ALTER TABLE users DROP COLUMN phone;\nDROP TABLE contacts;\nDROP TABLE users;"));
    assert_eq!(f, ["drop-table drops table `users` and every row in it"]);
}

#[test]
fn duplicate_versions_and_exit_policy() {
    let d = duplicate_versions(&[(1, "1_a/up.sql"), (2, "2_b/up.sql"), (1, "0001_c.up.sql")]);
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("0001_c.up.sql") && d[0].message.contains("1_a/up.sql"));
    let warn = lint_sql("f.sql", "ALTER TABLE t RENAME TO u", Dialect::Postgres);
    assert!(!fails(&warn, false) && fails(&warn, true));
    assert!(fails(&lint_sql("f.sql", "TRUNCATE t", Dialect::Postgres), false));
}

#[test]
fn every_rule_has_a_docs_page() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules");
    let index = std::fs::read_to_string(docs.join("README.md")).unwrap();
    for rule in dbguard_lint::rules::all() {
        let page = std::fs::read_to_string(docs.join(format!("{}.md", rule.id)))
            .unwrap_or_else(|_| panic!("docs/rules/{}.md is missing", rule.id));
        assert!(page.starts_with(&format!("# {}\n", rule.id)), "{}", rule.id);
        assert!(index.contains(&format!("[`{}`]({}.md)", rule.id, rule.id)), "{} missing from the index", rule.id);
    }
    assert_eq!(dbguard_lint::rules::all().len(), 32);
}

/// Streaming holds no more than a piece of the file: a large file's findings come in many
/// small batches, each with a bounded window of its lines, never the whole file.
#[test]
fn streamed_findings_come_in_bounded_batches() {
    let sql = "ALTER TABLE users DROP COLUMN email;\n".repeat(40_000); // 1.4 MB, 40,000 findings
    let (mut batches, mut total, mut largest_batch, mut widest) = (0, 0, 0, 0);
    dbguard_lint::lint_reader_each("big.sql", sql.as_bytes(), dbguard_lint::Dialect::Postgres, &mut |found, lines| {
        batches += 1;
        total += found.len();
        largest_batch = largest_batch.max(found.len());
        widest = widest.max(lines.text.len());
    })
    .unwrap();
    assert_eq!(total, 40_000);
    assert!(batches >= 20, "{batches} batches");
    assert!(largest_batch < 4_000, "a batch of {largest_batch} findings");
    assert!(widest <= 2 * 64 * 1024, "a window of {widest} bytes");
}
