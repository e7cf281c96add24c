//! The linter on real-world SQL: the 285 crates.io migrations, every `.sql` in this
//! repository, and random input. No panic on any of it, and exactly the expected findings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dbguard_lint::{Dialect, MigrationFiles, lint_migration, lint_sql};
use proptest::prelude::*;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/cratesio");
    if p.is_dir() {
        return Some(p);
    }
    assert!(std::env::var("CI").is_err(), "the crates.io corpus must be beside the checkout in CI: {}", p.display());
    eprintln!("notice: skipping: {} not found", p.display());
    None
}

/// The migrations whose up.sql drops tables or columns, checked by hand against the SQL
/// (a grep for DROP/DELETE/UPDATE/TRUNCATE finds 13 more files: their statements have a WHERE,
/// sit inside function or trigger bodies that run later, or are commented out).
const DROPS: &[&str] = &[
    "20140930082104_dumped_migration_36",
    "20160219125609_dumped_migration_105",
    "20160717174656_dumped_migration_108",
    "2017-09-23-182408_move_tokens_to_emails_table",
    "2017-09-23-210614_move_readme_rendering_onto_versions",
    "2017-10-16-200404_stop_lying_to_schema",
    "20170308191449_crate_owners_does_not_need_id",
    "20170318181441_downloads_need_no_id",
    "20170502181306_drop_schema_migrations",
    "2018-01-18-174843_create_readme_renderings",
    "2019-03-22-170700_remove_crate_downloads",
    "2019-03-22-174825_remove_version_downloads_pk",
    "2019-05-13-192055_remove_readme_from_crates",
    "2019-08-28-224353_remove_licenses_column_from_crates",
    "2019-11-11-162609_drop_email_from_user",
    "2020-02-14-183929_remove_version_authors_user_id",
    "2021-04-24-115720_remove_version_authors",
    "2024-02-19-113226_delete-badges-table",
    "2024-04-12-144536_remove-downloads-column",
    "2024-06-14-084455_remove-semver-no-prerelease-column",
    "2025-02-11-115609_remove-token-generated-at-column",
    "2025-07-16-170846_drop_gh_access_token",
    "2026-05-27-130000-0000_drop_semver_ord",
    "2026-06-17-112535-0000_drop_versions_checksum",
    "2026-06-18-084149-0000_drop_users_gh_avatar",
    "2026-07-15-182934-0000_drop_users_gh_encrypted_token",
    "2026-07-24-154000-0000_drop_cache_tags_backfills",
];

/// UPDATEs with no WHERE that rewrite every row (checked by hand: `replace(badge_type, ...)` on
/// all badges, `lower(login)` on all teams). Data-rewriting, so reported too.
const UPDATES_ALL_ROWS: &[&str] = &["20170711193021_rerename_gitlab", "2017-11-12-195324_lower_teams_names"];

#[test]
fn crates_io_data_loss_findings_are_exactly_the_drops() {
    let Some(dir) = corpus() else { return };
    let mut drops = BTreeSet::new();
    let mut updates = BTreeSet::new();
    let mut other_data_loss = Vec::new();
    for name in std::fs::read_to_string(dir.join("ORDER")).unwrap().lines() {
        let up = std::fs::read_to_string(dir.join(name).join("up.sql")).unwrap();
        for f in lint_sql("up.sql", &up, Dialect::Postgres) {
            match &*f.rule {
                "drop-table" | "drop-column" => drop(drops.insert(name.to_string())),
                "update-without-where" => drop(updates.insert(name.to_string())),
                "truncate" | "delete-without-where" | "recreate-table" | "drop-database" | "drop-schema" => {
                    other_data_loss.push(format!("{name}: {}", f.message))
                }
                _ => {}
            }
        }
    }
    assert_eq!(drops, DROPS.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    assert_eq!(updates, UPDATES_ALL_ROWS.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    assert!(other_data_loss.is_empty(), "{other_data_loss:#?}");
}

#[test]
fn crates_io_migrations_lint_as_pairs_without_panic() {
    let Some(dir) = corpus() else { return };
    let mut placeholder_downs = 0;
    for name in std::fs::read_to_string(dir.join("ORDER")).unwrap().lines() {
        let up = std::fs::read_to_string(dir.join(name).join("up.sql")).unwrap();
        let down = std::fs::read_to_string(dir.join(name).join("down.sql")).unwrap();
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let files = MigrationFiles { up: ("up.sql", &up), down: Some(("down.sql", &down)) };
            let findings = lint_migration(files, d);
            if d == Dialect::Postgres {
                placeholder_downs += findings.iter().filter(|f| f.rule == "placeholder-down").count();
            }
        }
    }
    assert_eq!(placeholder_downs, 9, "the corpus's empty and comment-only downs");
}

#[test]
fn every_sql_file_in_the_repository_lints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stack = vec![root];
    let mut n = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() && !name.starts_with('.') && name != "target" {
                stack.push(p);
            } else if name.ends_with(".sql") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                    let _ = lint_sql(&name, &text, d);
                }
                n += 1;
            }
        }
    }
    assert!(n >= 8, "found only {n} .sql files");
}

fn sqlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "DROP",
        "TABLE",
        "ALTER",
        "COLUMN",
        "DELETE",
        "FROM",
        "WHERE",
        "UPDATE",
        "SET",
        "TRUNCATE",
        "CREATE",
        "DO",
        "BEGIN",
        "END",
        "CASE",
        "IF",
        "EXISTS",
        "WITH",
        "AS",
        "(",
        ")",
        ",",
        ";",
        ".",
        "'",
        "\"",
        "`",
        "[",
        "]",
        "$$",
        "$t$",
        "--",
        "/*",
        "*/",
        "#",
        "\n",
        " ",
        "E'",
        "\\",
        "x",
        "é",
        "DELIMITER",
        "$1",
        "?",
        "0",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_on_random_sql_like_input(sql in sqlish()) {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let findings = lint_sql("f.sql", &sql, d);
            for f in findings {
                prop_assert!(f.line >= 1 && f.column >= 1 && (f.end_line, f.end_column) >= (f.line, f.column));
            }
            let _ = lint_migration(MigrationFiles { up: ("u.sql", &sql), down: Some(("d.sql", &sql)) }, d);
        }
    }

    #[test]
    fn no_panic_on_random_text(sql in "\\PC{0,200}") {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let _ = lint_sql("f.sql", &sql, d);
            let stmts = dbguard_lint::split::split(&sql, d);
            for s in stmts {
                prop_assert_eq!(&sql[s.offset..s.offset + s.text.len()], s.text);
            }
        }
    }
}

/// A reader that hands out at most `n` bytes per read, so chunk boundaries fall everywhere.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn streaming_gives_the_same_findings_as_whole_text() {
    let mut cases: Vec<String> = vec![
        "-- dbguard:allow drop-table reason=\"old\"\nDROP TABLE a;\nDROP TABLE b; -- ü\nDELETE FROM c;\n-- dbguard:allow-file truncate reason=\"x\"\nTRUNCATE d; SELECT 'unterminated".into(),
        "TRUNCATE early;\n-- dbguard:allow-file truncate reason=\"the whole file\"\nSELECT 1;".into(),
        "DO $$ BEGIN DELETE FROM t; END $$; CREATE FUNCTION f() AS $b$ DELETE FROM u; $b$; DROP TABLE \"é;x\"".into(),
    ];
    if let Some(dir) = corpus() {
        let mut all = String::new();
        for name in std::fs::read_to_string(dir.join("ORDER")).unwrap().lines() {
            all.push_str(&std::fs::read_to_string(dir.join(name).join("up.sql")).unwrap());
            all.push_str(&std::fs::read_to_string(dir.join(name).join("down.sql")).unwrap());
        }
        cases.push(all);
    }
    for sql in &cases {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let whole = lint_sql("f.sql", sql, d);
            // Every byte boundary on the small cases; coarser reads on the corpus (each short read
            // re-splits the unfinished statement, which only tiny reads make costly).
            let sizes: &[usize] = if sql.len() > 10_000 { &[997, 4096] } else { &[1, 7, 4096] };
            for &n in sizes {
                let streamed = dbguard_lint::lint_reader("f.sql", Trickle(sql.as_bytes(), n), d).unwrap();
                assert_eq!(streamed, whole, "{d:?}, reads of {n} bytes");
                if sql.contains("dbguard:allow") {
                    continue; // not for lint_reader_each
                }
                // Handed over in batches, the same findings in the same order, each batch with
                // the whole lines it points into (the very lines of the file).
                let mut each = Vec::new();
                dbguard_lint::lint_reader_each("f.sql", Trickle(sql.as_bytes(), n), d, &mut |batch, lines| {
                    for f in batch {
                        let mut file_lines = sql.split_inclusive('\n').skip(f.line - 1).take(f.end_line - f.line + 1);
                        let mut given = lines.text.split_inclusive('\n').skip(f.line - lines.first_line);
                        for (want, got) in (&mut file_lines).zip(&mut given) {
                            assert_eq!(
                                got.trim_end_matches('\n'),
                                want.trim_end_matches('\n'),
                                "{d:?}, reads of {n}: {f:?}"
                            );
                        }
                        assert!(file_lines.next().is_none(), "{d:?}, reads of {n}: the batch lacks lines of {f:?}");
                    }
                    each.extend_from_slice(batch);
                })
                .unwrap();
                assert_eq!(each, whole, "{d:?}, reads of {n} bytes, in batches");
            }
        }
    }
}

#[test]
fn streaming_refuses_text_that_is_not_utf8() {
    let err = dbguard_lint::lint_reader("f.sql", Trickle(b"SELECT 1;\n\xff\xfe", 3), Dialect::Postgres).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

/// Every `;`-terminated top-level statement of the crates.io migrations is seen by the
/// splitter, one by one: counted and located independently with sqlparser's tokenizer (another
/// implementation of PostgreSQL's lexical rules), not with the splitter under test.
#[test]
fn the_splitter_sees_every_statement_of_the_corpus() {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Some(dir) = corpus() else { return };
    let (mut files, mut statements) = (0, 0);
    for path in sql_files(&dir) {
        let sql = std::fs::read_to_string(&path).unwrap();
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, &sql)
            .tokenize_with_location()
            .unwrap_or_else(|e| panic!("{}: sqlparser cannot tokenize it: {e}", path.display()));
        // Where each statement starts (line, column): its first token after a `;`.
        let mut starts: Vec<(usize, usize)> = Vec::new();
        let mut in_statement = false;
        for t in &tokens {
            match &t.token {
                Token::Whitespace(_) | Token::EOF => {}
                Token::SemiColon => in_statement = false,
                _ if !in_statement => {
                    in_statement = true;
                    starts.push((t.span.start.line as usize, t.span.start.column as usize));
                }
                _ => {}
            }
        }
        let split: Vec<(usize, usize)> =
            dbguard_lint::split::split(&sql, Dialect::Postgres).iter().map(|s| (s.line, s.column)).collect();
        assert_eq!(split, starts, "{}: the splitter and sqlparser disagree on the statements", path.display());
        files += 1;
        statements += starts.len();
    }
    assert!(files >= 570 && statements >= 1100, "{files} files, {statements} statements");
}

/// The `.sql` files under `dir`, sorted.
fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(sql_files(&p));
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
    out.sort();
    out
}
