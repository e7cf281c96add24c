//! `cargo dbguard doctor`: checks a project's safety setup, point by point, and says what to
//! do for each missing one.

use std::path::{Path, PathBuf};

use dbguard::{Database, Loader, Step};

use crate::config::Project;

/// One point of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Point {
    /// Short, stable name (`lint-clean`, `downs`, ...).
    pub name: &'static str,
    /// Whether it holds.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do when it does not hold.
    pub fix: String,
}

/// The whole checklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Points held.
    pub score: usize,
    /// Points checked.
    pub total: usize,
    /// Each point.
    pub points: Vec<Point>,
}

fn point(name: &'static str, ok: bool, detail: impl Into<String>, fix: impl Into<String>) -> Point {
    Point { name, ok, detail: detail.into(), fix: fix.into() }
}

/// CI configuration files, relative to a repository root.
const CI_FILES: &[&str] = &[
    ".gitlab-ci.yml",
    "Jenkinsfile",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".travis.yml",
];
/// Directories whose every file is CI configuration.
const CI_DIRS: &[&str] = &[".github/workflows", ".ci", ".buildkite"];

/// The CI files under `root` that run `dbguard lint`.
fn ci_files_running_lint(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = CI_FILES.iter().map(|f| root.join(f)).filter(|p| p.is_file()).collect();
    for d in CI_DIRS {
        if let Ok(entries) = std::fs::read_dir(root.join(d)) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    let running = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("dbguard lint")))
        .cloned()
        .collect();
    (files, running)
}

/// The repository root: the nearest directory at or above `from` with a `.git`, else `from`.
fn repository_root(from: &Path) -> PathBuf {
    from.ancestors().find(|d| d.join(".git").exists()).unwrap_or(from).to_path_buf()
}

/// Runs every check. `url` is the database the project is configured for; `migrations` its
/// migrations directory.
pub async fn examine(project: &Project, migrations: &Path, url: &str) -> Report {
    let c = &project.config;
    let dialect = dbguard::BackendKind::from_url(url).map(|k| k.dialect()).unwrap_or_default();
    let mut points = Vec::new();

    // 1. The migrations lint clean.
    let lint = dbguard::lint_paths(&[migrations.to_path_buf()], dialect, 1, &c.lint.clone().unwrap_or_default());
    points.push(match lint {
        Ok(r) if r.summary.errors == 0 => point(
            "lint-clean",
            true,
            format!("{} files, no errors ({} warnings)", r.summary.files, r.summary.warnings),
            "",
        ),
        Ok(r) => point(
            "lint-clean",
            false,
            format!("{} error(s) in {} files", r.summary.errors, r.summary.files),
            "run `cargo dbguard lint` and fix each finding, or allow it with `-- dbguard:allow <rule> reason=\"...\"`",
        ),
        Err(e) => {
            point("lint-clean", false, format!("cannot load the migrations: {e}"), "fix the loading errors first")
        }
    });

    // 2. Every migration has a down that reverts it.
    let loaded = Loader::new().accept_legacy_downs(true).dialect(dialect).load(migrations);
    let migrations_loaded = loaded.as_ref().ok().cloned().unwrap_or_default();
    let irreversible: Vec<String> = migrations_loaded
        .iter()
        .filter(|m| matches!(m.down(), Step::Irreversible { .. }))
        .map(|m| format!("{} {}", m.version(), m.name()))
        .collect();
    points.push(match &loaded {
        Err(e) => point("downs", false, format!("cannot load the migrations: {e}"), "fix the loading errors first"),
        Ok(all) if irreversible.is_empty() => {
            point("downs", true, format!("all {} migrations have a down", all.len()), "")
        }
        Ok(all) => point(
            "downs",
            false,
            format!("{} of {} have no real down: {}", irreversible.len(), all.len(), irreversible.join(", ")),
            "write the SQL that reverts each one (check it with `cargo dbguard rehearse`)",
        ),
    });

    // 3. CI runs the linter.
    let repo = repository_root(&project.root);
    let (ci, running) = ci_files_running_lint(&repo);
    points.push(if running.is_empty() {
        point(
            "ci-lint",
            false,
            if ci.is_empty() {
                format!("no CI configuration found under {}", repo.display())
            } else {
                format!("{} CI file(s), none runs `dbguard lint`", ci.len())
            },
            "add `cargo dbguard lint --format github` (or sarif) to the CI pipeline",
        )
    } else {
        let names: Vec<String> =
            running.iter().map(|p| p.strip_prefix(&repo).unwrap_or(p).display().to_string()).collect();
        point("ci-lint", true, format!("run by {}", names.join(", ")), "")
    });

    // 4. A verified backup, recent enough.
    let days = c.backup_max_age_days.unwrap_or(7);
    points.push(backup_point(project, url, days).await);

    // 5. The audit log can be written.
    let audit = project.root.join(c.audit_log.clone().unwrap_or_else(|| "dbguard-audit.jsonl".into()));
    let existed = audit.exists();
    let writable = std::fs::OpenOptions::new().create(true).append(true).open(&audit);
    if !existed && writable.is_ok() {
        let _ = std::fs::remove_file(&audit);
    }
    points.push(match writable {
        Ok(_) => point("audit-log", true, format!("{} is writable", audit.display()), ""),
        Err(e) => point(
            "audit-log",
            false,
            format!("{} cannot be written: {e}", audit.display()),
            "point `audit-log` in [package.metadata.dbguard] at a writable file",
        ),
    });

    // 6. A production tier is configured.
    let prod_url = c.databases.as_ref().and_then(|d| d.get("prod"));
    let prod_env = c.env.as_deref().and_then(dbguard::Tier::parse) == Some(dbguard::Tier::Prod);
    points.push(if prod_url.is_some() || prod_env {
        point("prod-tier", true, if prod_env { "env = \"prod\"" } else { "databases.prod is set" }, "")
    } else {
        point(
            "prod-tier",
            false,
            "no production database configured",
            "add [package.metadata.dbguard.databases] with `prod = \"postgres://...\"` (and dev, staging), so `--env prod` asks for confirmation before destructive changes",
        )
    });

    // 7. The tables that hold users' data are declared preserved where migrations touch them.
    let critical = c.critical_tables.clone().unwrap_or_default();
    points.push(if critical.is_empty() {
        point(
            "preserves",
            false,
            "no critical tables configured",
            "list the tables that hold users' data in `critical-tables`; `check` then watches their row counts",
        )
    } else {
        let mut undeclared = Vec::new();
        for m in &migrations_loaded {
            for (step, is_down) in [(m.up(), false), (m.down(), true)] {
                let Some(sql) = step.sql() else { continue };
                for (rule, table) in dbguard::lint::destroyed_tables(sql, dialect) {
                    // The down of the migration that creates a table drops it: nothing to keep.
                    if is_down && creates(m.up().sql().unwrap_or_default(), &table) {
                        continue;
                    }
                    if critical.iter().any(|c| c.eq_ignore_ascii_case(&table))
                        && !m.preserves().iter().any(|p| p.eq_ignore_ascii_case(&table))
                    {
                        undeclared.push(format!("{} {} ({rule} on {table})", m.version(), m.name()));
                    }
                }
            }
        }
        undeclared.dedup();
        if undeclared.is_empty() {
            point("preserves", true, format!("critical tables: {}", critical.join(", ")), "")
        } else {
            point(
                "preserves",
                false,
                format!("migrations that rewrite critical tables without `preserves`: {}", undeclared.join("; ")),
                "add `-- dbguard: preserves = <table>` to each (rows lost are then rolled back)",
            )
        }
    });

    let score = points.iter().filter(|p| p.ok).count();
    Report { score, total: points.len(), points }
}

/// Whether `sql` creates `table` (`CREATE TABLE [IF NOT EXISTS] table`, quoted or not).
fn creates(sql: &str, table: &str) -> bool {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(['"', '`', '[', ']']).to_ascii_lowercase())
        .collect();
    let table = table.to_ascii_lowercase();
    words.windows(2).enumerate().any(|(i, w)| {
        w[0] == "create"
            && w[1] == "table"
            && words[i + 2..].iter().find(|x| !matches!(x.as_str(), "if" | "not" | "exists")) == Some(&table)
    })
}

async fn backup_point(project: &Project, url: &str, days: u32) -> Point {
    let fix = format!(
        "take one: `cargo dbguard backup` (SQLite) or `cargo dbguard backup --table <t>`, then `cargo dbguard backups verify`; or set `dump-dir` so each run dumps first (newer than {days} days)"
    );
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let recent = |at: &str| chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t >= cutoff);
    let mut found: Vec<String> = Vec::new();
    if let Some(file) = dbguard::sqlite_file(url) {
        for b in dbguard::file_backup::list(&file).unwrap_or_default() {
            if b.verified && recent(&b.created_at) {
                found.push(format!("file backup {} ({})", b.path.display(), b.created_at));
            }
        }
    }
    if let Some(dir) = &project.config.dump_dir {
        let dir = project.root.join(dir);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let fresh = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| chrono::DateTime::<chrono::Utc>::from(t) >= cutoff);
            if fresh && e.path().extension().is_some_and(|x| x == "sql") {
                found.push(format!("dump {}", e.path().display()));
            }
        }
    }
    // Snapshots count once verified (their checksum recorded).
    if dbguard::sqlite_file(url).is_none_or(|f| f.exists())
        && let Ok(mut db) = Database::connect(url).await
    {
        if let Ok(list) = dbguard::Backups::new().list(&mut db).await {
            for s in list.iter().filter(|s| s.checksum.is_some() && recent(&s.created_at)) {
                found.push(format!("snapshot {} of {} ({})", s.id, s.source_table, s.created_at));
            }
        }
        let _ = db.close().await;
    }
    match found.last() {
        Some(newest) => point(
            "backup",
            true,
            format!("{} verified backup(s) newer than {days} days, e.g. {newest}", found.len()),
            "",
        ),
        None => point("backup", false, format!("no verified backup newer than {days} days"), fix),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_table_a_migration_creates() {
        assert!(super::creates("CREATE TABLE users (id INT);", "users"));
        assert!(super::creates("create table if not exists \"Users\"(id int)", "users"));
        assert!(!super::creates("CREATE TABLE user_roles (id INT); ALTER TABLE users ADD x INT;", "users"));
    }
}
