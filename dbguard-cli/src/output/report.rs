//! Text renderings of the library's reports: runs, dry runs, the status table.

use anstream::println;
use dbguard::{Direction, DryRun, Plan, Report};

use super::plural;
use super::style::{BOLD, DIM, ERROR, OK, WARN, paint};
use crate::cli::Format;

/// Prints a JSON value with stable keys.
pub fn json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
}

/// What an `up` or `down` did: each migration with the snapshots taken before it.
pub fn run(report: &Report, url: &str, direction: Direction, format: Format) {
    if format == Format::Json {
        return json(report);
    }
    if let Some(b) = &report.file_backup {
        println!("{} {}", paint(DIM, "backed up to"), b.path.display());
    }
    if let Some(d) = &report.dump {
        println!("{} {}", paint(DIM, "dumped to"), d.display());
    }
    let snapshots = |version: Option<i64>| {
        for r in report.radius.iter().filter(|r| Some(r.version) == version) {
            println!("  {} {}", paint(DIM, "blast radius"), radius(r));
        }
        for s in report.snapshots.iter().filter(|s| s.migration_version == version) {
            println!(
                "  {} {} ({} row{}, {}): snapshot {}",
                paint(DIM, "snapshot"),
                s.source_table,
                s.row_count,
                plural(s.row_count as usize),
                s.reason,
                s.id
            );
        }
    };
    snapshots(None);
    let steps = report
        .applied
        .iter()
        .map(|s| (s, paint(OK, "applied ")))
        .chain(report.reverted.iter().map(|s| (s, paint(WARN, "reverted"))));
    for (s, verb) in steps {
        for r in report.resumed.iter().filter(|r| r.version == s.version) {
            let in_flight = match r.in_flight_ran {
                Some(true) => " (the statement in flight when it stopped had run: not run again)",
                Some(false) => " (the statement in flight when it stopped had not run)",
                None => "",
            };
            let from = if r.from > r.total {
                format!("after its last statement (all {} had run)", r.total)
            } else {
                format!("from statement {} of {}: the earlier run stopped there", r.from, r.total)
            };
            println!("{} {} {} {from}{in_flight}", paint(WARN, "resumed "), r.version, r.name);
        }
        println!("{verb} {} {} {}", s.version, s.name, paint(DIM, format!("({} ms)", s.duration_ms)));
        snapshots(Some(s.version));
    }
    if !report.counts.is_empty() {
        let counts: Vec<String> = report.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("{} {}", paint(DIM, "row counts recorded:"), counts.join(", "));
    }
    if let Some(f) = &report.fingerprint {
        println!("{} {}", paint(DIM, "schema fingerprint recorded:"), &f[..f.len().min(16)]);
    }
    let (a, r) = (report.applied.len(), report.reverted.len());
    let newest = report.plan.current_version().map_or("none".to_string(), |v| v.to_string());
    match (a, r) {
        (0, 0) if direction == Direction::Down => {
            println!("nothing to revert: {url} is at version {newest}, not above the target")
        }
        (0, 0) => {
            println!("nothing to do: {url} is up to date ({} migrations, newest {newest})", report.plan.entries.len())
        }
        (a, 0) => println!(
            "{} {a} migration{} to {url} ({} snapshot{})",
            paint(OK, "applied"),
            plural(a),
            report.snapshots.len(),
            plural(report.snapshots.len())
        ),
        (_, r) => println!(
            "{} {r} migration{} on {url} ({} snapshot{}); now at version {newest}",
            paint(WARN, "reverted"),
            plural(r),
            report.snapshots.len(),
            plural(report.snapshots.len())
        ),
    }
}

/// `users: 1,000 rows deleted by statement 2 (line 3), kept in snapshot 7`;
/// `orders.amount: 12 values changed by NUMERIC(10,0) ...`.
pub fn radius(r: &dbguard::Radius) -> String {
    use dbguard::Verb;
    let what = match r.verb {
        Verb::Delete | Verb::Update | Verb::Rejects => "row",
        Verb::DropColumn => "non-null value",
        Verb::ChangeType => "value",
    };
    let change = match (&r.verb, &r.to) {
        (Verb::ChangeType, Some(to)) => format!("changed by the new type {to}"),
        (Verb::Rejects, Some(to)) => format!("refused by the new {to} (the statement fails while they are there)"),
        _ => r.verb.past().to_string(),
    };
    let rows = match r.rows {
        // Nothing there refuses it: it will not fail on the rows (said so, not "0 refused").
        Some(0) if r.verb == Verb::Rejects => {
            format!("no row refused by the new {}", r.to.as_deref().unwrap_or("constraint"))
        }
        None => "measured when it runs (not before: it needs what earlier statements or migrations make; its table is copied whole if it has rows)".to_string(),
        Some(n) => format!("{} {what}{} {change}", dbguard::thousands(n), plural(n as usize)),
    };
    let kept = match (r.snapshot, r.rows) {
        (Some(id), _) => format!(", kept in snapshot {id}"),
        (None, _) => String::new(),
    };
    let target = match &r.column {
        Some(c) => format!("{}.{c}", r.table),
        None => r.table.clone(),
    };
    let stop = if r.every_row {
        let rule = r.verb.allow_rule();
        format!(": every row of the table; the run would stop here without `-- dbguard:allow {rule} reason=\"...\"`")
    } else {
        String::new()
    };
    format!("{target}: {rows} by statement {} (line {}){kept}{stop}", r.statement, r.line)
}

/// Prints where the run a dry run describes would stop (on stderr); its exit code: a run that
/// would stop partway fails its dry run too, so that CI gates on it.
pub fn stops(run: &DryRun) -> std::process::ExitCode {
    let label = format!("`{}` would stop", run.direction);
    for stop in &run.stops {
        anstream::eprintln!("{}: {stop}", paint(ERROR, &label));
    }
    if run.stops.is_empty() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(1) }
}

/// What an `up --dry-run` or `down --dry-run` would do.
pub fn dry_run(run: &DryRun, format: Format) {
    if format == Format::Json {
        return json(run);
    }
    let direction = run.direction.as_str();
    println!("{}", paint(BOLD, format!("dry run of `{direction}`: nothing will be changed")));
    if run.steps.is_empty() {
        println!("nothing to do");
        return;
    }
    if let Some(d) = &run.file_backup {
        println!("would back up the database file into {}", d.display());
    }
    if let Some(d) = &run.dump {
        println!("would dump the database into {}", d.display());
    }
    for s in &run.steps {
        let tx = if s.transactional { "" } else { " (no transaction)" };
        println!(
            "\n{} {} {} {}{tx}",
            paint(BOLD, direction),
            s.version,
            s.name,
            paint(DIM, format!("[{}]", s.location))
        );
        for t in &s.snapshots {
            println!("  would snapshot {t}");
        }
        for r in &s.radius {
            println!("  blast radius now: {}", radius(r));
        }
        for (t, n) in &s.preserved_counts {
            println!("  would check {t} keeps its {n} rows");
        }
        for f in &s.findings {
            let style = if f.severity == dbguard::lint::Severity::Error { ERROR } else { WARN };
            println!(
                "  {} {} line {}: {}",
                paint(style, format!("{:?}", f.severity).to_lowercase()),
                f.rule,
                f.line,
                f.message
            );
        }
        match &s.sql {
            Some(sql) => {
                for line in sql.lines() {
                    println!("    {}", paint(DIM, line));
                }
            }
            None => println!("    {}", paint(DIM, format!("({} step)", s.kind.as_str()))),
        }
    }
}

/// Every migration and its state.
pub fn status(plan: &Plan, format: Format) {
    if format == Format::Json {
        return json(plan);
    }
    println!(
        "{}",
        paint(BOLD, format!("{:<20} {:<10} {:<14} {:<26} name", "version", "state", "checksum", "applied at"))
    );
    for e in &plan.entries {
        let style = match e.state {
            dbguard::EntryState::Applied | dbguard::EntryState::Baseline => OK,
            dbguard::EntryState::Pending => WARN,
            _ => ERROR,
        };
        let state = e.state.as_str();
        let checksum = e.checksum.as_deref().or(e.applied.as_ref().map(|r| r.checksum.as_str())).unwrap_or("");
        let at = e.applied.as_ref().map_or("", |r| r.applied_at.as_str());
        println!(
            "{:<20} {} {:<14} {:<26} {}",
            e.version,
            paint(style, format!("{state:<10}")),
            &checksum[..checksum.len().min(12)],
            at,
            e.name
        );
        if let Some(p) = &e.stopped_at {
            let line = match (&e.cannot_continue, p.direction) {
                (Some(why), _) => format!("cannot be continued{why}"),
                (None, Direction::Up) => {
                    format!("stopped at {} during up: `cargo dbguard up` continues it from there", p.describe())
                }
                (None, Direction::Down) => {
                    format!("stopped at {} during down: the same `cargo dbguard down` again continues it", p.describe())
                }
            };
            println!("{:<20} {}", "", paint(WARN, line));
        }
    }
}
