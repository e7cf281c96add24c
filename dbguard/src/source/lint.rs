//! Linting files and migration directories from disk: pairs each up with its down (both
//! layouts), reports duplicate versions, and lints files in parallel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dbguard_lint::version::{FileRole, parse_file_name, parse_migration_name};
use dbguard_lint::{Dialect, Finding, LintConfig, MigrationFiles, Summary};

use crate::error::{LoadError, Problem};

/// What linting found.
#[derive(Debug, Default)]
pub struct LintReport {
    /// Every finding, sorted by file and position.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
}

/// One unit of work: a migration pair or a lone SQL file.
enum Unit {
    Migration { up: PathBuf, down: Option<PathBuf> },
    File(PathBuf),
}

/// Lints `paths` (files, or migration directories in either layout) with `jobs` threads,
/// under `config` (excluded paths and migrations up to `start_after` are skipped).
/// Errors only when a path cannot be read; everything wrong *in* the SQL is a finding.
pub fn lint_paths(
    paths: &[PathBuf],
    dialect: Dialect,
    jobs: usize,
    config: &LintConfig,
) -> Result<LintReport, LoadError> {
    let (units, versions) = collect_units(paths, config)?;
    lint_units(&units, &versions, dialect, jobs, config)
}

/// Like [`lint_paths`], but hands the findings to `sink` as they are found, in the same order,
/// and keeps none of them; returns the counts. A lone SQL file without lint suppressions (a
/// schema dump, say) is streamed: each batch comes with the whole lines it points into, and
/// memory stays bounded by its largest statement whatever its size. Otherwise the findings come
/// in one batch, without lines (the caller reads the files it needs).
pub fn lint_paths_each(
    paths: &[PathBuf],
    dialect: Dialect,
    jobs: usize,
    config: &LintConfig,
    sink: &mut dyn FnMut(&[Finding], Option<dbguard_lint::Lines<'_>>),
) -> Result<Summary, LoadError> {
    let (units, versions) = collect_units(paths, config)?;
    if let [Unit::File(p)] = units.as_slice()
        && !mentions(p, "dbguard:allow").map_err(|e| LoadError { problems: vec![unreadable(p, e)] })?
    {
        let mut summary = Summary { files: 1, ..Summary::default() };
        let file = std::fs::File::open(p).map_err(|e| LoadError { problems: vec![unreadable(p, e)] })?;
        let name = p.display().to_string();
        dbguard_lint::lint_reader_each(&name, std::io::BufReader::new(file), dialect, &mut |batch, lines| {
            let batch = config.apply(batch.to_vec());
            let s = Summary::of(&batch, 0);
            (summary.errors, summary.warnings) = (summary.errors + s.errors, summary.warnings + s.warnings);
            sink(&batch, Some(lines));
        })
        .map_err(|e| LoadError { problems: vec![unreadable(p, e)] })?;
        return Ok(summary);
    }
    let report = lint_units(&units, &versions, dialect, jobs, config)?;
    sink(&report.findings, None);
    Ok(report.summary)
}

/// Whether the file's bytes contain `needle`, read in pieces (a large file is never held).
fn mentions(path: &Path, needle: &str) -> std::io::Result<bool> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let keep = needle.len() - 1;
    let mut filled = 0;
    loop {
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
        if memchr::memmem::find(&buf[..filled], needle.as_bytes()).is_some() {
            return Ok(true);
        }
        // The tail may hold the needle's start: keep it in front of the next read.
        let from = filled.saturating_sub(keep);
        buf.copy_within(from..filled, 0);
        filled -= from;
    }
}

/// Migration versions and the file that has each.
type Versions = Vec<(i64, String)>;

/// The units of work under `paths` (a missing path is an error), less those `config` skips.
fn collect_units(paths: &[PathBuf], config: &LintConfig) -> Result<(Vec<Unit>, Versions), LoadError> {
    let mut units = Vec::new();
    let mut versions: Vec<(i64, String)> = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_dir(path, &mut units, &mut versions, &mut problems);
        } else if path.is_file() {
            units.push(Unit::File(path.clone()));
        } else {
            problems.push(Problem::new(path, "no such file or directory", "check the path"));
        }
    }
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    units.retain(|u| {
        let path = match u {
            Unit::Migration { up, .. } => up,
            Unit::File(p) => p,
        };
        !config.excludes(&path.display().to_string()) && !unit_version(path).is_some_and(|v| config.skips_version(v))
    });
    Ok((units, versions))
}

fn lint_units(
    units: &[Unit],
    versions: &[(i64, String)],
    dialect: Dialect,
    jobs: usize,
    config: &LintConfig,
) -> Result<LintReport, LoadError> {
    let mut problems = Vec::new();
    let chunk = units.len().div_ceil(jobs.max(1)).max(1);
    let results: Vec<Result<Vec<Finding>, Problem>> = std::thread::scope(|scope| {
        let handles: Vec<_> = units
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|u| lint_unit(u, dialect)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    // The first unit's findings become the result and the others are appended: linting one
    // large file moves nothing, and peak memory stays at one copy of the findings.
    let mut findings: Vec<Finding> = Vec::new();
    for r in results {
        match r {
            Ok(f) if findings.is_empty() => findings = f,
            Ok(f) => findings.extend(f),
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    let refs: Vec<(i64, &str)> = versions.iter().map(|(v, f)| (*v, f.as_str())).collect();
    findings.extend(dbguard_lint::duplicate_versions(&refs));
    let mut findings = config.apply(findings);
    // Unstable: no scratch buffer; the key is complete enough to be deterministic.
    findings.sort_unstable_by(|a, b| {
        (&a.file, a.line, a.column, &a.rule, &a.message).cmp(&(&b.file, b.line, b.column, &b.rule, &b.message))
    });
    let files = units.iter().map(|u| if let Unit::Migration { down: Some(_), .. } = u { 2 } else { 1 }).sum();
    Ok(LintReport { summary: Summary::of(&findings, files), findings })
}

fn collect_dir(dir: &Path, units: &mut Vec<Unit>, versions: &mut Vec<(i64, String)>, problems: &mut Vec<Problem>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        problems.push(Problem::new(dir, "cannot read the directory", "check its permissions"));
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    // sqlx layout: version -> (up, down)
    let mut pairs: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if p.join("up.sql").exists() {
                if let Ok(m) = parse_migration_name(&name) {
                    versions.push((m.version, p.join("up.sql").display().to_string()));
                }
                let down = Some(p.join("down.sql")).filter(|d| d.exists());
                units.push(Unit::Migration { up: p.join("up.sql"), down });
            }
            continue;
        }
        match parse_file_name(&name) {
            Ok(Some((m, role))) => {
                let e = pairs.entry(format!("{}_{}", m.version_text, m.name)).or_default();
                if role == FileRole::Down {
                    e.1 = Some(p);
                } else {
                    versions.push((m.version, p.display().to_string()));
                    e.0 = Some(p);
                }
            }
            Ok(None) => {}
            Err(_) if name.ends_with(".sql") => units.push(Unit::File(p)),
            Err(_) => {}
        }
    }
    for (_, (up, down)) in pairs {
        match (up, down) {
            (Some(up), down) => units.push(Unit::Migration { up, down }),
            (None, Some(down)) => units.push(Unit::File(down)),
            (None, None) => {}
        }
    }
}

/// The version of a migration file (`.../<v>_<name>/up.sql` or `<v>_<name>.up.sql`).
fn unit_version(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_string_lossy();
    if name == "up.sql" || name == "down.sql" {
        let dir = path.parent()?.file_name()?.to_string_lossy().into_owned();
        return parse_migration_name(&dir).ok().map(|m| m.version);
    }
    parse_file_name(&name).ok().flatten().map(|(m, _)| m.version)
}

fn unreadable(path: &Path, e: std::io::Error) -> Problem {
    Problem::new(path, format!("cannot read the file: {e}"), "check that it exists, is readable and is UTF-8")
}

fn read(path: &Path) -> Result<String, Problem> {
    std::fs::read_to_string(path).map_err(|e| unreadable(path, e))
}

fn lint_unit(unit: &Unit, dialect: Dialect) -> Result<Vec<Finding>, Problem> {
    match unit {
        Unit::File(p) => {
            // Streamed: a large file is never held whole.
            let file = std::fs::File::open(p).map_err(|e| unreadable(p, e))?;
            dbguard_lint::lint_reader(&p.display().to_string(), std::io::BufReader::new(file), dialect)
                .map_err(|e| unreadable(p, e))
        }
        Unit::Migration { up, down } => {
            let (up_name, up_sql) = (up.display().to_string(), read(up)?);
            let down = match down {
                Some(d) => Some((d.display().to_string(), read(d)?)),
                None => None,
            };
            let files =
                MigrationFiles { up: (&up_name, &up_sql), down: down.as_ref().map(|(n, s)| (n.as_str(), s.as_str())) };
            Ok(dbguard_lint::lint_migration(files, dialect))
        }
    }
}

#[cfg(test)]
mod tests {
    /// The search for suppressions that decides whether a file may be streamed finds them
    /// wherever they sit, across the pieces the file is read in too.
    #[test]
    fn mentions_finds_the_needle_across_reads() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big.sql");
        for at in [0, 10, 64 * 1024 - 13, 64 * 1024 - 5, 64 * 1024, 3 * 64 * 1024 + 7] {
            let mut text = "x".repeat(4 * 64 * 1024);
            text.replace_range(at..at + 13, "dbguard:allow");
            std::fs::write(&p, &text).unwrap();
            assert!(super::mentions(&p, "dbguard:allow").unwrap(), "at {at}");
        }
        std::fs::write(&p, "dbguard:allo".repeat(20_000)).unwrap();
        assert!(!super::mentions(&p, "dbguard:allow").unwrap());
    }
}
