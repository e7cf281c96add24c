//! Snapshots of every output format for one representative migration, so that changes to
//! what users read are reviewed.

use dbguard_cli::output::lint as render;
use dbguard_lint::{Dialect, MigrationFiles, Summary, lint_migration};

const UP: &str = "-- Move email to contacts and clean up.\n\
CREATE TABLE contacts (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, email TEXT NOT NULL);\n\
INSERT INTO contacts (id, user_id, email) SELECT id, id, email FROM users;\n\
-- dbguard:allow drop-column reason=\"email moved to contacts\"\n\
ALTER TABLE users DROP COLUMN email;\n\
DELETE FROM sessions;\n\
ALTER TABLE users\n    ALTER COLUMN name TYPE varchar(50),\n    ADD COLUMN locale TEXT NOT NULL;\n\
CREATE INDEX users_locale ON users (locale);\n";

const DOWN: &str = "DROP TABLE contacts;\n";

fn findings() -> Vec<dbguard_lint::Finding> {
    lint_migration(
        MigrationFiles {
            up: ("migrations/0007_contacts/up.sql", UP),
            down: Some(("migrations/0007_contacts/down.sql", DOWN)),
        },
        Dialect::Postgres,
    )
}

#[test]
fn text() {
    let f = findings();
    let source = |file: &str| match file {
        "migrations/0007_contacts/up.sql" => Some(UP.to_string()),
        "migrations/0007_contacts/down.sql" => Some(DOWN.to_string()),
        _ => None,
    };
    insta::assert_snapshot!(render::text(&f, &Summary::of(&f, 2), &source, false));
}

#[test]
fn json() {
    let f = findings();
    insta::assert_snapshot!(render::json(&f, &Summary::of(&f, 2)));
}

#[test]
fn github() {
    insta::assert_snapshot!(render::github(&findings()));
}

#[test]
fn sarif() {
    let log: serde_json::Value = serde_json::from_str(&render::sarif(&findings())).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(), dbguard_lint::rules::all().len());
    insta::assert_json_snapshot!(log["runs"][0]["results"]);
}
