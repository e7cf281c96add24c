//! Fleet runs over many databases of the three kinds at once: every migration applied exactly
//! once on each target, canaries that stop the rest, halts, re-runs that continue, and the
//! production confirmation.

use dbguard::{BackendKind, Error, Fleet, FleetFile, FleetOp, Migrator, TargetStatus};
use dbguard_tests::{MigrationDir, TestDb};

const MIGRATIONS: i64 = 20;

fn migrations() -> MigrationDir {
    MigrationDir::logging(MIGRATIONS)
}

/// One fleet target: its name, URL, schema, and the database it lives in (kept alive).
struct Tenant {
    name: String,
    url: String,
    schema: Option<String>,
    _db: std::sync::Arc<TestDb>,
}

impl Tenant {
    fn toml(&self, extra: &str) -> String {
        let schema = self.schema.as_ref().map(|s| format!("schema = \"{s}\"\n")).unwrap_or_default();
        format!("[[target]]\nname = \"{}\"\nurl = \"{}\"\n{schema}{extra}\n", self.name, self.url)
    }

    async fn connect(&self) -> dbguard::Database {
        let t = dbguard::Target {
            name: self.name.clone(),
            url: self.url.clone(),
            schema: self.schema.clone(),
            tier: None,
            tags: vec![],
        };
        dbguard::Database::connect(&t.connect_url()).await.unwrap()
    }

    async fn version(&self, m: &Migrator) -> Option<i64> {
        let mut db = self.connect().await;
        let v = m.plan(&mut db).await.unwrap().current_version();
        db.close().await.unwrap();
        v
    }
}

/// `pg` PostgreSQL databases, 5 schemas in one more, `sqlite` SQLite files, `mysql` MariaDB
/// databases (the servers' share only where they are configured).
async fn tenants(pg: usize, sqlite: usize, mysql: usize) -> Vec<Tenant> {
    let mut out = Vec::new();
    for i in 0..sqlite {
        let t = std::sync::Arc::new(TestDb::new(BackendKind::Sqlite).await.unwrap());
        t.connect().await.close().await.unwrap(); // the file exists: a fleet never creates one
        out.push(Tenant { name: format!("sqlite{i}"), url: t.url.clone(), schema: None, _db: t });
    }
    for i in 0..pg {
        let Some(t) = TestDb::new(BackendKind::Postgres).await else { break };
        let t = std::sync::Arc::new(t);
        out.push(Tenant { name: format!("pg{i}"), url: t.url.clone(), schema: None, _db: t });
    }
    if pg > 0
        && let Some(t) = TestDb::new(BackendKind::Postgres).await
    {
        let t = std::sync::Arc::new(t);
        let mut db = t.connect().await;
        for i in 0..5 {
            db.execute(&format!("CREATE SCHEMA \"Tenant {i}\"")).await.unwrap();
            out.push(Tenant {
                name: format!("schema{i}"),
                url: t.url.clone(),
                schema: Some(format!("Tenant {i}")),
                _db: t.clone(),
            });
        }
        db.close().await.unwrap();
    }
    for i in 0..mysql {
        let Some(t) = TestDb::new(BackendKind::Mysql).await else { break };
        let t = std::sync::Arc::new(t);
        out.push(Tenant { name: format!("mysql{i}"), url: t.url.clone(), schema: None, _db: t });
    }
    out
}

fn fleet_file(tenants: &[Tenant], extra: impl Fn(&Tenant) -> String) -> FleetFile {
    let text: String = tenants.iter().map(|t| t.toml(&extra(t))).collect();
    FleetFile::parse(&text, "tenants.toml", &|_| None).unwrap()
}

async fn assert_each_ran_once(t: &Tenant, upto: i64) {
    let mut db = t.connect().await;
    assert_eq!(db.query_i64("SELECT COUNT(*) FROM runs").await.unwrap(), upto, "{}", t.name);
    assert_eq!(db.query_i64("SELECT COUNT(DISTINCT migration) FROM runs").await.unwrap(), upto, "{}", t.name);
    db.close().await.unwrap();
}

/// The fleet: 40 PostgreSQL databases, 5 schemas of one more, 10 SQLite files and 5
/// MariaDB databases, 4 at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_sixty_gets_every_migration_exactly_once() {
    let tenants = tenants(40, 10, 5).await;
    let dir = migrations();
    let m = Migrator::from_dir(dir.path()).unwrap();
    let report =
        Fleet::new(fleet_file(&tenants, |_| String::new())).parallel(4).run(&m, FleetOp::Up(None)).await.unwrap();
    let failed: Vec<_> = report.targets.iter().filter(|t| t.status != TargetStatus::Ok).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(report.targets.len(), tenants.len());
    for (t, run) in tenants.iter().zip(&report.targets) {
        assert_eq!(run.name, t.name, "the summary keeps the file's order");
        let o = run.outcome.as_ref().unwrap();
        assert_eq!((o.before, o.after, o.changed), (None, Some(MIGRATIONS), MIGRATIONS as usize), "{}", t.name);
        assert_each_ran_once(t, MIGRATIONS).await;
    }
    // The schemas' tables are in their schemas, not in `public`.
    let schema_tenant = tenants.iter().find(|t| t.schema.is_some());
    if let Some(t) = schema_tenant {
        let mut db = dbguard::Database::connect(&t.url).await.unwrap();
        assert!(!db.table_exists("runs").await.unwrap(), "nothing was created in public");
        db.close().await.unwrap();
    }
    // Run again: nothing to do anywhere.
    let again =
        Fleet::new(fleet_file(&tenants, |_| String::new())).parallel(4).run(&m, FleetOp::Up(None)).await.unwrap();
    assert!(again.targets.iter().all(|t| t.outcome.as_ref().is_some_and(|o| o.changed == 0)), "{again:#?}");
}

/// A canary that fails stops the fleet: no other target gets anything. Fixed, the same run
/// continues everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_canary_stops_the_rest_and_a_rerun_continues() {
    let tenants = tenants(2, 3, 1).await;
    let dir = migrations();
    let m = Migrator::from_dir(dir.path()).unwrap();
    let fleet = || Fleet::new(fleet_file(&tenants, |_| String::new())).parallel(2);
    fleet().run(&m, FleetOp::Up(Some(3))).await.unwrap();
    // Migration 4 fails on the canary only: a table `t4` is already there.
    dir.add("21", "seed", "INSERT INTO t2 (id) VALUES (7);", "DELETE FROM t2 WHERE id = 7;");
    let canary = &tenants[1];
    let mut db = canary.connect().await;
    db.execute("CREATE TABLE t4 (id BIGINT)").await.unwrap();
    db.close().await.unwrap();
    let m = Migrator::from_dir(dir.path()).unwrap();
    let report = fleet().canary([canary.name.as_str()]).run(&m, FleetOp::Up(None)).await.unwrap();
    assert_eq!(report.targets[0].name, canary.name, "the canary runs first");
    assert!(matches!(report.targets[0].status, TargetStatus::Failed(_)), "{report:#?}");
    assert!(report.targets[1..].iter().all(|t| matches!(t.status, TargetStatus::Skipped(_))), "{report:#?}");
    assert!(report.halted.as_deref().is_some_and(|h| h.contains(&canary.name)), "{report:?}");
    for t in tenants.iter().filter(|t| t.name != canary.name) {
        assert_eq!(t.version(&m).await, Some(3), "{}: nothing applied past the canary's failure", t.name);
    }

    let mut db = canary.connect().await;
    db.execute("DROP TABLE t4").await.unwrap();
    db.close().await.unwrap();
    let report = fleet().canary([canary.name.as_str()]).run(&m, FleetOp::Up(None)).await.unwrap();
    assert!(report.all_ok(), "{report:#?}");
    for t in &tenants {
        assert_eq!(t.version(&m).await, Some(21), "{}", t.name);
        assert_each_ran_once(t, MIGRATIONS).await;
    }
}

/// Without canaries, a failure stops the targets not yet started (one at a time: all after
/// it); `halt_on_failure(false)` goes on.
#[tokio::test]
async fn a_failure_halts_the_fleet_unless_asked_to_go_on() {
    let tenants = tenants(0, 4, 0).await;
    let dir = migrations();
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = tenants[1].connect().await;
    db.execute("CREATE TABLE t5 (id BIGINT)").await.unwrap();
    db.close().await.unwrap();
    let report = Fleet::new(fleet_file(&tenants, |_| String::new())).run(&m, FleetOp::Up(None)).await.unwrap();
    let states: Vec<_> = report.targets.iter().map(|t| std::mem::discriminant(&t.status)).collect();
    assert_eq!(report.counts(), (1, 1, 2), "{report:#?}");
    assert_eq!(states[0], std::mem::discriminant(&TargetStatus::Ok));
    // The failed target says where it stands: what applied before the failing migration stands.
    let failed = report.targets[1].outcome.as_ref().map(|o| (o.before, o.after));
    assert_eq!(failed, Some((None, Some(4))), "{report:#?}");
    assert_eq!(tenants[3].version(&m).await, None, "not started");

    let report = Fleet::new(fleet_file(&tenants, |_| String::new()))
        .halt_on_failure(false)
        .run(&m, FleetOp::Up(None))
        .await
        .unwrap();
    assert_eq!(report.counts(), (3, 1, 0), "{report:#?}");
    assert_eq!(tenants[3].version(&m).await, Some(MIGRATIONS));
}

/// A fleet with a production target changes nothing anywhere until it is confirmed with
/// `fleet:<file name>`; reading it needs no confirmation.
#[tokio::test]
async fn a_production_fleet_needs_the_fleet_confirmation() {
    let tenants = tenants(0, 3, 0).await;
    let dir = migrations();
    let audit = dir.path().join("audit.jsonl");
    let m = Migrator::from_dir(dir.path()).unwrap().audit_file(&audit);
    let file = fleet_file(&tenants, |t| if t.name == "sqlite2" { "tier = \"prod\"\n".into() } else { String::new() });
    let err = Fleet::new(file.clone()).run(&m, FleetOp::Up(None)).await.unwrap_err();
    assert!(
        matches!(err, Error::FleetConfirmationRequired { ref production, selected: 3, .. } if production == &["sqlite2"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("--confirm fleet:tenants.toml"), "{err}");
    // The refusal is audited, for the production target it stopped at.
    let prod_url = &tenants.iter().find(|t| t.name == "sqlite2").unwrap().url;
    let refused = dbguard::audit::read_file(&audit, prod_url).unwrap();
    assert!(matches!(&refused[..], [e] if e.outcome == "refused" && e.command == "fleet up"), "{refused:#?}");
    for t in &tenants {
        assert_eq!(t.version(&m).await, None, "{}: nothing ran", t.name);
    }
    let wrong = Fleet::new(file.clone()).confirm("sqlite2").run(&m, FleetOp::Up(None)).await.unwrap_err();
    assert!(matches!(wrong, Error::FleetConfirmationRequired { .. }), "a database's name is not the fleet's: {wrong}");
    let status = Fleet::new(file.clone()).run(&m, FleetOp::Status).await.unwrap();
    assert!(status.targets.iter().all(|t| t.outcome.as_ref().unwrap().note == "20 pending"), "{status:#?}");
    // A dry run reads too: what each would apply, no confirmation, nothing written.
    let dry = Fleet::new(file.clone()).run(&m, FleetOp::DryRunUp(Some(5))).await.unwrap();
    let seen: Vec<_> = dry.targets.iter().map(|t| t.outcome.as_ref().map(|o| (o.note.as_str(), o.after))).collect();
    assert!(seen.iter().all(|o| *o == Some(("would apply 5", Some(5)))), "{dry:#?}");
    for t in &tenants {
        assert_eq!(t.version(&m).await, None, "{}: a dry run wrote nothing", t.name);
    }

    let report = Fleet::new(file).confirm("fleet:tenants.toml").run(&m, FleetOp::Up(None)).await.unwrap();
    assert!(report.all_ok(), "{report:#?}");
    for t in &tenants {
        assert_eq!(t.version(&m).await, Some(MIGRATIONS), "{}", t.name);
    }
    // The audit log says which confirmation stood for the production target.
    let prod = tenants.iter().find(|t| t.name == "sqlite2").unwrap();
    let entries = dbguard::audit::read_file(&audit, &prod.url).unwrap();
    let confirmations: Vec<_> = entries.iter().map(|e| (e.outcome.as_str(), e.confirmation.as_deref())).collect();
    // Newest first: the run, the refusal with a database's name, the refusal with none.
    let fleet = Some("fleet:tenants.toml (the fleet's confirmation)");
    assert_eq!(confirmations, [("ok", fleet), ("refused", Some("sqlite2")), ("refused", None)], "{entries:#?}");
}

/// Fleet files fail closed: a typo in a key, a variable that is not set, a name used twice, a
/// canary or tag that names nothing.
#[test]
fn a_fleet_file_with_a_mistake_is_refused_with_the_fix() {
    let parse = |text: &str| FleetFile::parse(text, "f.toml", &|k| (k == "SET").then(|| "x".to_string()));
    let cases = [
        ("[[target]]\nname = \"a\"\nurl = \"sqlite://a.db\"\ntag = [\"eu\"]\n", "unknown field `tag`"),
        ("[[target]]\nname = \"a\"\nurl = \"postgres://u:${PASSWORD}@h/db\"\n", "export PASSWORD"),
        (
            "[[target]]\nname = \"a\"\nurl = \"sqlite://a.db\"\n[[target]]\nname = \"a\"\nurl = \"sqlite://b.db\"\n",
            "used twice",
        ),
        ("[[target]]\nname = \"a\"\nurl = \"mysql://h/${SET}\"\nschema = \"s\"\n", "for PostgreSQL"),
        ("[[target]]\nname = \"a\"\nurl = \"sqlite://a.db\"\ntier = \"prdo\"\n", "unknown tier"),
        ("", "no target"),
    ];
    for (text, says) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.to_string().contains(says), "{text:?}: {err}");
        assert!(err.to_string().contains("nothing was run"), "{err}");
    }
    let ok = parse("[[target]]\nname = \"a\"\nurl = \"sqlite://a.db\"\ntags = [\"eu\"]\n[[target]]\nname = \"c\"\nurl = \"sqlite://c.db\"\n").unwrap();
    let err = Fleet::new(ok.clone()).canary(["c"]).only(["eu"]).selected().unwrap_err();
    assert!(err.to_string().contains("the canary `c` is not among the targets selected"), "{err}");
    let err = Fleet::new(ok.clone()).canary(["b"]).selected().unwrap_err();
    assert!(err.to_string().contains("no target is named `b`"), "{err}");
    let err = Fleet::new(ok).only(["us"]).selected().unwrap_err();
    assert!(err.to_string().contains("no target has the tag us"), "{err}");
}

/// A schema target is judged by its own schema: an empty one beside schemas with tables is
/// empty (never "tables but no history: baseline it"), and a missing one is said to be missing.
#[tokio::test]
async fn a_schema_target_is_judged_by_its_own_schema() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let mut db = t.connect().await;
    db.execute("CREATE TABLE elsewhere (id BIGINT)").await.unwrap();
    db.execute("CREATE SCHEMA fresh").await.unwrap();
    db.close().await.unwrap();
    let dir = migrations();
    let m = Migrator::from_dir(dir.path()).unwrap();
    let text = format!(
        "[[target]]\nname = \"fresh\"\nurl = \"{0}\"\nschema = \"fresh\"\n[[target]]\nname = \"typo\"\nurl = \"{0}\"\nschema = \"Fresh\"\n",
        t.url
    );
    let file = FleetFile::parse(&text, "s.toml", &|_| None).unwrap();
    let check = Fleet::new(file.clone()).halt_on_failure(false).run(&m, FleetOp::Check).await.unwrap();
    let TargetStatus::Failed(fresh) = &check.targets[0].status else { panic!("{check:#?}") };
    assert!(fresh.contains("is empty") && !fresh.contains("baseline"), "{fresh}");
    let status = Fleet::new(file).halt_on_failure(false).run(&m, FleetOp::Status).await.unwrap();
    assert_eq!(status.targets[0].outcome.as_ref().unwrap().note, "20 pending");
    let TargetStatus::Failed(typo) = &status.targets[1].status else { panic!("{status:#?}") };
    assert!(typo.contains("the schema \"Fresh\" does not exist"), "{typo}");
    assert!(typo.contains("did you mean `schema = \"fresh\"`?"), "{typo}");
}

/// `fleet status` does not call a target with a stopped migration ok.
#[tokio::test]
async fn a_dirty_target_fails_the_fleet_status() {
    let tenants = tenants(0, 2, 0).await;
    let dir = MigrationDir::new();
    dir.add(
        "1",
        "steps",
        "-- dbguard: no-transaction\nCREATE TABLE f (id BIGINT);\nINSERT INTO missing_table (id) VALUES (1);\n",
        "DROP TABLE f;",
    );
    let m = Migrator::from_dir(dir.path()).unwrap();
    let mut db = tenants[0].connect().await;
    assert!(m.up(&mut db, None).await.is_err(), "stops at its second statement");
    db.close().await.unwrap();
    let report = Fleet::new(fleet_file(&tenants, |_| String::new()))
        .halt_on_failure(false)
        .run(&m, FleetOp::Status)
        .await
        .unwrap();
    let TargetStatus::Failed(why) = &report.targets[0].status else { panic!("{report:#?}") };
    assert!(why.contains("is dirty") && why.contains("statement 2 of 2"), "{why}");
    assert_eq!(report.targets[1].status, TargetStatus::Ok);
}

/// Schemas of one database keep their own history: the audit log files each schema target's
/// entries under its schema, and `history` of one does not show the others'.
#[tokio::test]
async fn each_schema_has_its_own_history() {
    let Some(t) = TestDb::new(BackendKind::Postgres).await else { return };
    let mut db = t.connect().await;
    db.execute("CREATE SCHEMA a").await.unwrap();
    db.execute("CREATE SCHEMA b").await.unwrap();
    db.close().await.unwrap();
    let dir = migrations();
    let audit = dir.path().join("audit.jsonl");
    let m = Migrator::from_dir(dir.path()).unwrap().audit_file(&audit);
    let text = format!(
        "[[target]]\nname = \"a\"\nurl = \"{0}\"\nschema = \"a\"\n[[target]]\nname = \"b\"\nurl = \"{0}\"\nschema = \"b\"\n",
        t.url
    );
    let file = FleetFile::parse(&text, "s.toml", &|_| None).unwrap();
    Fleet::new(file.clone()).run(&m, FleetOp::Up(Some(3))).await.unwrap();
    Fleet::new(file.clone()).run(&m, FleetOp::Up(None)).await.unwrap();
    for target in &file.targets {
        let entries = dbguard::audit::read_file(&audit, &target.connect_url()).unwrap();
        let runs: Vec<_> = entries.iter().map(|e| e.migrations.len()).collect();
        assert_eq!(runs, [MIGRATIONS as usize - 3, 3], "{} (newest first): {entries:#?}", target.name);
    }
    // The database itself, without a schema, has no entry of theirs.
    assert!(dbguard::audit::read_file(&audit, &t.url).unwrap().is_empty());
}

/// A dry run is not ok for a target where `up` would stop: rows there that the new unique index
/// refuses fail it with the reason (and halt the rest, as a failed `up` would); a target
/// without them stays ok.
#[tokio::test]
async fn a_dry_run_fails_a_target_whose_rows_a_new_constraint_refuses() {
    let tenants = tenants(1, 1, 1).await;
    let dir = MigrationDir::new();
    dir.add("1", "emails", "CREATE TABLE emails (id BIGINT PRIMARY KEY, address VARCHAR(80));", "DROP TABLE emails;");
    let m1 = Migrator::from_dir(dir.path()).unwrap();
    for t in &tenants {
        let mut db = t.connect().await;
        m1.up(&mut db, None).await.unwrap();
        let second = if t.name == "sqlite0" { "a@x" } else { "b@x" };
        db.execute(&format!("INSERT INTO emails (id, address) VALUES (1, 'a@x'), (2, '{second}')")).await.unwrap();
        db.close().await.unwrap();
    }
    dir.add("2", "unique", "CREATE UNIQUE INDEX emails_address ON emails (address);", "DROP INDEX emails_address;");
    let m = Migrator::from_dir(dir.path()).unwrap();
    let file = fleet_file(&tenants, |_| String::new());
    let dry = Fleet::new(file).halt_on_failure(false).run(&m, FleetOp::DryRunUp(None)).await.unwrap();
    assert!(!dry.all_ok(), "{dry:#?}");
    for t in &dry.targets {
        match &t.status {
            TargetStatus::Failed(why) if t.name == "sqlite0" => {
                assert!(why.contains("migration 2 (unique) statement 1") && why.contains("would fail"), "{why}");
                assert!(why.contains("2 row(s) of emails are refused by the new UNIQUE"), "{why}");
            }
            TargetStatus::Ok if t.name != "sqlite0" => {
                assert_eq!(t.outcome.as_ref().unwrap().note, "would apply 1", "{}", t.name)
            }
            other => panic!("{}: {other:?}", t.name),
        }
    }
    for t in &tenants {
        assert_eq!(t.version(&m).await, Some(1), "{}: a dry run wrote nothing", t.name);
    }
}
