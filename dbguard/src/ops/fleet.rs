//! Fleet runs: one migration set over many databases (a database or schema per customer,
//! shards, regions), each target a full guarded run (lock, snapshots, audit, tiers), with
//! bounded concurrency, canaries that go first, and a halt on the first failure.
//!
//! The fleet file (TOML) lists the targets:
//!
//! ```toml
//! [[target]]
//! name = "acme"
//! url = "postgres://app:${ACME_PASSWORD}@db1/acme"   # ${VAR} from the environment
//! tags = ["eu"]
//!
//! [[target]]
//! name = "globex"
//! url = "postgres://app@db1/shared"
//! schema = "globex"          # PostgreSQL: search_path pinned for the run
//! tier = "prod"
//! ```
//!
//! A re-run after a failure or an interruption continues where it stopped: each target's own
//! version table says what it still needs.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::StreamExt;

use crate::db::database::Database;
use crate::db::url::{database_name, mask_url};
use crate::error::{Error, Result};
use crate::migrate::Migrator;
use crate::model::kind::BackendKind;
use crate::safety::tier::{Tier, TierPolicy};

/// One database (or schema) of a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name in the fleet file (unique).
    pub name: String,
    /// Its URL, `${VAR}`s expanded (holds passwords: print [`Target::masked_url`]).
    pub url: String,
    /// PostgreSQL: the schema the run works in (`search_path` pinned on its connections).
    pub schema: Option<String>,
    /// Its tier as the file declares it (it can raise the tier dbguard decides, never lower it).
    pub tier: Option<Tier>,
    /// Tags, for `--only`.
    pub tags: Vec<String>,
}

impl Target {
    /// The URL without its password, with the schema: `postgres://app@db1/shared (schema globex)`.
    pub fn masked_url(&self) -> String {
        match &self.schema {
            Some(s) => format!("{} (schema {s})", mask_url(&self.url)),
            None => mask_url(&self.url),
        }
    }

    /// The URL a run connects to: the schema pinned as the connection's `search_path`.
    pub fn connect_url(&self) -> String {
        let Some(schema) = &self.schema else { return self.url.clone() };
        let sep = if self.url.contains('?') { '&' } else { '?' };
        // `options=-c search_path=<schema>`, percent-encoded; the schema is quoted so that
        // its case and any character survive, and its spaces and backslashes escaped with a
        // backslash (the server splits `options` on whitespace).
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        let escaped: String =
            quoted.chars().flat_map(|c| if c == ' ' || c == '\\' { vec!['\\', c] } else { vec![c] }).collect();
        let option = format!("-c search_path={escaped}");
        // Everything but RFC 3986's unreserved characters is encoded.
        const VALUE: &percent_encoding::AsciiSet =
            &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
        format!("{}{sep}options={}", self.url, percent_encoding::utf8_percent_encode(&option, VALUE))
    }
}

/// A fleet file, read and checked: every target has a name, a URL whose variables are set, and
/// only the keys dbguard knows (a typo such as `tag =` is an error, not a silent no-op).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetFile {
    /// The file's name (`tenants.toml`), which a production fleet's confirmation names.
    pub name: String,
    /// The targets, in the file's order.
    pub targets: Vec<Target>,
}

/// A fleet as written (a fleet file, or `[package.metadata.dbguard.fleet]`), before its
/// variables are expanded and it is checked ([`FleetFile::from_spec`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// The `[[target]]` tables.
    #[serde(default)]
    pub target: Vec<TargetSpec>,
}

/// A `[[target]]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Its name (unique).
    pub name: String,
    /// Its URL, with `${VAR}`s.
    pub url: String,
    /// PostgreSQL: the schema.
    pub schema: Option<String>,
    /// `dev`, `staging` or `prod`.
    pub tier: Option<String>,
    /// Tags, for `--only`.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl FleetFile {
    /// Reads a fleet file's text; `name` is the file's name, `var` reads the environment.
    ///
    /// ```
    /// let f = dbguard::FleetFile::parse(
    ///     "[[target]]\nname = \"a\"\nurl = \"sqlite://${DIR}/a.db\"\n",
    ///     "fleet.toml",
    ///     &|k| (k == "DIR").then(|| "/srv".to_string()),
    /// )
    /// .unwrap();
    /// assert_eq!(f.targets[0].url, "sqlite:///srv/a.db");
    /// ```
    pub fn parse(text: &str, name: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<FleetFile> {
        let bad = |message: String| Error::FleetFile { file: name.to_string(), message };
        let spec: FleetSpec = toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;
        Self::from_spec(spec, name, var)
    }

    /// A fleet as written (`[package.metadata.dbguard.fleet]`), checked like a file.
    pub fn from_spec(raw: FleetSpec, name: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<FleetFile> {
        let bad = |message: String| Error::FleetFile { file: name.to_string(), message };
        if raw.target.is_empty() {
            return Err(bad("it lists no target: add `[[target]]` tables with `name` and `url`".into()));
        }
        let mut targets: Vec<Target> = Vec::new();
        for (i, t) in raw.target.into_iter().enumerate() {
            let which = format!("target {} (`{}`)", i + 1, t.name);
            if t.name.trim().is_empty() {
                return Err(bad(format!("target {} has an empty name", i + 1)));
            }
            if targets.iter().any(|o| o.name == t.name) {
                return Err(bad(format!("{which}: the name is used twice; names must be unique")));
            }
            let url = expand(&t.url, var).map_err(|v| {
                bad(format!("{which}: its url needs ${{{v}}}, which is not set; export {v} or write the value"))
            })?;
            crate::db::url::check(&url).map_err(|e| bad(format!("{which}: {e}")))?;
            let tier = match &t.tier {
                Some(s) => Some(
                    Tier::parse(s)
                        .ok_or_else(|| bad(format!("{which}: unknown tier `{s}`; use dev, staging or prod")))?,
                ),
                None => None,
            };
            if let Some(s) = &t.schema {
                if BackendKind::from_url(&url) != Some(BackendKind::Postgres) {
                    return Err(bad(format!(
                        "{which}: `schema` is for PostgreSQL targets only (a MySQL database is its own schema, named in the url; SQLite has none)"
                    )));
                }
                if s.is_empty() {
                    return Err(bad(format!("{which}: `schema` is empty")));
                }
            }
            targets.push(Target { name: t.name, url, schema: t.schema, tier, tags: t.tags });
        }
        Ok(FleetFile { name: name.to_string(), targets })
    }
}

/// `${VAR}` replaced from `var`; the name of the first variable that is not set otherwise.
fn expand(text: &str, var: &dyn Fn(&str) -> Option<String>) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start + 2..].find('}') else { break };
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&var(name).ok_or_else(|| name.to_string())?);
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How one target's run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum TargetStatus {
    /// It ran to the end.
    Ok,
    /// It failed: the error, as it would be printed.
    Failed(String),
    /// It was not started: why (a canary failed, an earlier target failed).
    Skipped(String),
}

/// What a fleet operation reports for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TargetOutcome {
    /// The newest applied version before the run.
    pub before: Option<i64>,
    /// The newest applied version after it.
    pub after: Option<i64>,
    /// Migrations applied or reverted.
    pub changed: usize,
    /// Snapshots taken.
    pub snapshots: usize,
    /// A one-line summary (`up to date`, `2 pending`, `healthy`, ...).
    pub note: String,
}

/// A target whose run failed: the error, and where the target stands (its version before
/// and after: migrations applied before the failing one stand) when that could be read.
#[derive(Debug)]
pub struct TargetFailure {
    /// What failed.
    pub error: Error,
    /// The versions before and after, and the snapshots taken.
    pub outcome: Option<TargetOutcome>,
}

impl From<Error> for TargetFailure {
    fn from(error: Error) -> Self {
        TargetFailure { error, outcome: None }
    }
}

/// One target's line of the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetRun {
    /// The target's name.
    pub name: String,
    /// Its URL, masked, with the schema.
    pub url: String,
    /// Whether it was a canary.
    pub canary: bool,
    /// How it ended.
    #[serde(flatten)]
    pub status: TargetStatus,
    /// What it did, or where a failed target stands (`None` when not even that could be read).
    pub outcome: Option<TargetOutcome>,
    /// Wall time, in milliseconds.
    pub duration_ms: i64,
}

/// A fleet run's summary, in the order of the file (canaries first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FleetReport {
    /// The fleet file's name.
    pub fleet: String,
    /// One line per selected target.
    pub targets: Vec<TargetRun>,
    /// Why the run stopped early, if it did.
    pub halted: Option<String>,
}

impl FleetReport {
    /// Whether every selected target ran to the end.
    pub fn all_ok(&self) -> bool {
        self.targets.iter().all(|t| t.status == TargetStatus::Ok)
    }

    /// How many targets ended each way: (ok, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |f: fn(&TargetStatus) -> bool| self.targets.iter().filter(|t| f(&t.status)).count();
        (
            n(|s| *s == TargetStatus::Ok),
            n(|s| matches!(s, TargetStatus::Failed(_))),
            n(|s| matches!(s, TargetStatus::Skipped(_))),
        )
    }
}

/// What a fleet operation does to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetOp {
    /// Apply pending migrations (to the newest, or to a version).
    Up(Option<i64>),
    /// What `Up` would do on each target, read-only: the migrations it would apply and the
    /// blast radius measured now.
    DryRunUp(Option<i64>),
    /// Revert to a version.
    Down(i64),
    /// Read each target's status (read-only).
    Status,
    /// Check each target's health (read-only).
    Check,
    /// Rehearse the pending migrations on a scratch copy of each target.
    Rehearse,
}

impl FleetOp {
    fn writes(self) -> bool {
        matches!(self, FleetOp::Up(_) | FleetOp::Down(_))
    }
}

/// One migration set over many databases.
///
/// ```no_run
/// # async fn run() -> dbguard::Result<()> {
/// let file = dbguard::FleetFile::parse(&std::fs::read_to_string("tenants.toml").unwrap(), "tenants.toml", &|k| std::env::var(k).ok())?;
/// let report = dbguard::Fleet::new(file)
///     .parallel(4)
///     .canary(["acme"])
///     .run(&dbguard::Migrator::from_dir("migrations")?, dbguard::FleetOp::Up(None))
///     .await?;
/// assert!(report.all_ok());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fleet {
    file: FleetFile,
    parallel: usize,
    canary: Vec<String>,
    halt_on_failure: bool,
    only: Vec<String>,
    confirmed: Option<String>,
    on_target: Option<TargetHook>,
}

/// Told each target's line as it ends, with how many have ended and how many there are.
type TargetHook = std::sync::Arc<dyn Fn(&TargetRun, usize, usize) + Send + Sync>;

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("file", &self.file)
            .field("parallel", &self.parallel)
            .field("canary", &self.canary)
            .field("halt_on_failure", &self.halt_on_failure)
            .field("only", &self.only)
            .field("confirmed", &self.confirmed)
            .field("on_target", &self.on_target.as_ref().map(|_| "set"))
            .finish()
    }
}

impl Fleet {
    /// A fleet over the targets of `file`: one at a time, halting on the first failure.
    pub fn new(file: FleetFile) -> Self {
        Fleet {
            file,
            parallel: 1,
            canary: Vec::new(),
            halt_on_failure: true,
            only: Vec::new(),
            confirmed: None,
            on_target: None,
        }
    }

    /// Calls `f` as each target ends (ran, failed or skipped), with how many have ended and
    /// how many there are: progress for a long fleet run (the command line prints a line).
    pub fn on_target(mut self, f: impl Fn(&TargetRun, usize, usize) + Send + Sync + 'static) -> Self {
        self.on_target = Some(std::sync::Arc::new(f));
        self
    }

    /// How many targets run at once (at least 1).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Targets run first, before any other; if one fails, no other starts.
    pub fn canary<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.canary = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a failure stops targets not yet started (default: yes).
    pub fn halt_on_failure(mut self, halt: bool) -> Self {
        self.halt_on_failure = halt;
        self
    }

    /// Only targets with one of these tags.
    pub fn only<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.only = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Confirms a change to a fleet with production targets: `fleet:<file name>`. Each
    /// production target is then confirmed by it (the fleet's count was shown before).
    pub fn confirm(mut self, confirmation: impl Into<String>) -> Self {
        self.confirmed = Some(confirmation.into());
        self
    }

    /// The selected targets, canaries first; refuses a canary or a tag that names nothing.
    pub fn selected(&self) -> Result<Vec<(&Target, bool)>> {
        let bad = |message: String| Error::FleetFile { file: self.file.name.clone(), message };
        for c in &self.canary {
            if !self.file.targets.iter().any(|t| &t.name == c) {
                return Err(bad(format!("no target is named `{c}` (given as a canary)")));
            }
        }
        let chosen: Vec<&Target> = self
            .file
            .targets
            .iter()
            .filter(|t| self.only.is_empty() || t.tags.iter().any(|g| self.only.contains(g)))
            .collect();
        if chosen.is_empty() {
            return Err(bad(format!("no target has the tag {}", self.only.join(" or "))));
        }
        if let Some(c) = self.canary.iter().find(|c| !chosen.iter().any(|t| &t.name == *c)) {
            return Err(bad(format!("the canary `{c}` is not among the targets selected with --only")));
        }
        let is_canary = |t: &Target| self.canary.contains(&t.name);
        let mut out: Vec<(&Target, bool)> = chosen.iter().filter(|t| is_canary(t)).map(|t| (*t, true)).collect();
        out.extend(chosen.iter().filter(|t| !is_canary(t)).map(|t| (*t, false)));
        Ok(out)
    }

    /// The production targets among the selected, by `tiers` (the migrator's) raised by each
    /// target's declared tier.
    pub fn production_targets(&self, tiers: &TierPolicy) -> Result<Vec<&Target>> {
        Ok(self.selected()?.into_iter().map(|(t, _)| t).filter(|t| tier_of(t, tiers) == Tier::Prod).collect())
    }

    /// Runs `op` with `migrator` on every selected target, canaries first, `parallel` at a
    /// time. Refuses up front, running nothing, a change to a fleet with production targets
    /// that was not confirmed with `fleet:<file name>`.
    pub async fn run(&self, migrator: &Migrator, op: FleetOp) -> Result<FleetReport> {
        let selected = self.selected()?;
        if op.writes() {
            let prod = self.production_targets(&migrator.safety.tiers)?;
            let expected = format!("fleet:{}", self.file.name);
            if !prod.is_empty() && self.confirmed.as_deref() != Some(expected.as_str()) {
                let refused = Error::FleetConfirmationRequired {
                    fleet: self.file.name.clone(),
                    production: prod.iter().map(|t| t.name.clone()).collect(),
                    selected: selected.len(),
                    given: self.confirmed.clone(),
                };
                // Refusals are audited: one entry for each production target it stopped at.
                for t in &prod {
                    let command = if matches!(op, FleetOp::Down(_)) { "fleet down" } else { "fleet up" };
                    let mut entry = crate::store::audit::AuditEntry::new(&t.connect_url(), Tier::Prod, command);
                    entry.outcome = "refused".into();
                    entry.confirmation = self.confirmed.clone();
                    entry.message = Some(crate::db::url::scrub(&refused.to_string(), &t.url));
                    migrator.safety.audit.append(&entry)?;
                }
                return Err(refused);
            }
        }
        let confirmed = self.confirmed.as_deref();
        self.run_each(&selected, |t| run_target(migrator, t, op, confirmed)).await
    }

    /// Runs `f` on each selected target, canaries first (if one fails, nothing else starts),
    /// then the rest `parallel` at a time, halting on a failure when asked. For operations
    /// that [`Fleet::run`] does not cover.
    pub async fn run_each<F, Fut>(&self, selected: &[(&Target, bool)], f: F) -> Result<FleetReport>
    where
        F: Fn(Target) -> Fut,
        Fut: Future<Output = std::result::Result<TargetOutcome, TargetFailure>>,
    {
        let halted: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let stop = AtomicBool::new(false);
        let ended = std::sync::atomic::AtomicUsize::new(0);
        let total = selected.len();
        let one = |t: &Target, canary: bool| {
            let (t, f, stop, halted, ended) = (t.clone(), &f, &stop, &halted, &ended);
            async move {
                let run = |status, outcome, ms| {
                    let r = TargetRun {
                        name: t.name.clone(),
                        url: t.masked_url(),
                        canary,
                        status,
                        outcome,
                        duration_ms: ms,
                    };
                    if let Some(hook) = &self.on_target {
                        hook(&r, ended.fetch_add(1, Ordering::SeqCst) + 1, total);
                    }
                    r
                };
                if stop.load(Ordering::SeqCst) {
                    let why = halted.lock().map(|h| h.clone()).ok().flatten().unwrap_or_default();
                    return run(TargetStatus::Skipped(why), None, 0);
                }
                let started = Instant::now();
                let result = f(t.clone()).await;
                let ms = started.elapsed().as_millis() as i64;
                match result {
                    Ok(o) => run(TargetStatus::Ok, Some(o), ms),
                    Err(TargetFailure { error: e, outcome }) => {
                        let halts = canary || self.halt_on_failure;
                        if halts && !stop.swap(true, Ordering::SeqCst) {
                            let why = if canary {
                                format!("the canary {} failed", t.name)
                            } else {
                                format!("{} failed (--continue-on-failure goes on past failures)", t.name)
                            };
                            if let Ok(mut h) = halted.lock() {
                                *h = Some(why);
                            }
                        }
                        run(TargetStatus::Failed(e.to_string()), outcome, ms)
                    }
                }
            }
        };
        let (canaries, rest): (Vec<_>, Vec<_>) = selected.iter().partition(|(_, c)| *c);
        let mut runs: Vec<TargetRun> = futures_util::stream::iter(canaries.iter().map(|(t, _)| one(t, true)))
            .buffered(self.parallel)
            .collect()
            .await;
        // A failed canary stops the rest even with --continue-on-failure.
        let rest_runs: Vec<TargetRun> =
            futures_util::stream::iter(rest.iter().map(|(t, _)| one(t, false))).buffered(self.parallel).collect().await;
        runs.extend(rest_runs);
        // Nothing left to stop (the failure was the last target): no halt to report.
        let skipped = runs.iter().any(|r| matches!(r.status, TargetStatus::Skipped(_)));
        let halted = halted.into_inner().ok().flatten().filter(|_| skipped);
        Ok(FleetReport { fleet: self.file.name.clone(), targets: runs, halted })
    }
}

fn tier_of(t: &Target, tiers: &TierPolicy) -> Tier {
    let decided = tiers.resolve(&t.url).tier;
    t.tier.map_or(decided, |declared| declared.max(decided))
}

/// One target's run: a full guarded run on its own connection.
async fn run_target(
    migrator: &Migrator,
    t: Target,
    op: FleetOp,
    confirmed: Option<&str>,
) -> std::result::Result<TargetOutcome, TargetFailure> {
    let mut m = migrator.clone();
    if let Some(tier) = t.tier {
        m = m.tier(tier);
    }
    if let Some(given) = confirmed {
        // The fleet's confirmation, checked against its production count, stands for each;
        // the audit log says it was that one.
        m = m.confirm_production(database_name(&t.url));
        m.safety.confirmed_as = Some(format!("{given} (the fleet's confirmation)"));
    }
    let url = t.connect_url();
    // A missing SQLite file in a fleet is a typo, not a new tenant: never created here.
    let mut db = match op {
        FleetOp::Status | FleetOp::Check | FleetOp::DryRunUp(_) => Database::connect_read_only(&url).await?,
        _ => Database::connect(&url).await?,
    };
    match db.session().current_schema().await? {
        // None of the search path exists: no schema to work in. Said as such, never reported
        // as a database with everything pending.
        Some(s) if s.is_empty() => {
            let schemas = db.session().schemas().await.unwrap_or_default();
            db.close().await.ok();
            let schema = t.schema.as_deref().unwrap_or("(the default search path)");
            let closest = t.schema.as_deref().and_then(|s| crate::migrate::guard::closest(s, &schemas));
            return Err(Error::FleetSchemaMissing { schema: schema.to_string(), closest, url: mask_url(&t.url) }.into());
        }
        // Each schema has its own version table: its own lock, named after the schema the
        // names resolve to (whether the file names it or the search path picks it, such as
        // `$user`), so that schemas of one database migrate side by side and two targets
        // on one schema never do. `public` keeps the lock a plain `up` takes.
        Some(s) if s != "public" => {
            let key = format!("{}@{s}", m.safety.lock.key);
            m.safety.lock.key = key;
        }
        _ => {}
    }
    let before = m.plan(&mut db).await?.current_version();
    let result = match op {
        FleetOp::Up(to) => m.up(&mut db, to).await.map(|r| TargetOutcome {
            before,
            after: r.plan.current_version(),
            changed: r.applied.len(),
            snapshots: r.snapshots.len(),
            note: if r.applied.is_empty() { "up to date".into() } else { format!("applied {}", r.applied.len()) },
        }),
        // A target whose run would stop partway (a constraint its rows refuse, a statement
        // reaching every row without an allow) is not ok: it fails the dry run, as `up` would.
        FleetOp::DryRunUp(to) => m
            .dry_run_up(&mut db, to)
            .await
            .and_then(|r| match r.stops.is_empty() {
                true => Ok(r),
                false => Err(Error::FleetTargetUnhealthy { messages: r.stops }),
            })
            .map(|r| {
                let radius: Vec<String> = r
                    .steps
                    .iter()
                    .flat_map(|s| s.radius.iter().filter(|x| x.rows.is_some_and(|n| n > 0)))
                    .map(|x| format!("{}: {} {}", x.table, crate::thousands(x.rows.unwrap_or(0)), x.verb.past()))
                    .collect();
                let mut note = match r.steps.len() {
                    0 => "up to date".to_string(),
                    n => format!("would apply {n}"),
                };
                if !radius.is_empty() {
                    note.push_str(&format!(" ({})", radius.join("; ")));
                }
                TargetOutcome {
                    before,
                    after: r.steps.last().map(|s| s.version).or(before),
                    changed: r.steps.len(),
                    snapshots: r.steps.iter().map(|s| s.snapshots.len()).sum(),
                    note,
                }
            }),
        FleetOp::Down(to) => m.down(&mut db, to).await.map(|r| TargetOutcome {
            before,
            after: r.plan.current_version(),
            changed: r.reverted.len(),
            snapshots: r.snapshots.len(),
            note: format!("reverted {}", r.reverted.len()),
        }),
        FleetOp::Status => m.status(&mut db).await.and_then(|p| {
            let pending = p.in_state(crate::model::plan::EntryState::Pending).count();
            // A migration that stopped partway needs someone: never listed as ok.
            let dirty: Vec<String> = p
                .in_state(crate::model::plan::EntryState::Dirty)
                .map(|e| match &e.stopped_at {
                    Some(at) => {
                        format!("migration {} ({}) is dirty: it stopped at {}", e.version, e.name, at.describe())
                    }
                    None => format!("migration {} ({}) is dirty: it did not finish", e.version, e.name),
                })
                .collect();
            if !dirty.is_empty() {
                return Err(Error::FleetTargetUnhealthy { messages: dirty });
            }
            Ok(TargetOutcome {
                before,
                after: before,
                note: if pending == 0 { "up to date".into() } else { format!("{pending} pending") },
                ..Default::default()
            })
        }),
        FleetOp::Check => m.health(&mut db, &[]).await.and_then(|h| match h.status {
            crate::model::health::Status::Critical => Err(Error::FleetTargetUnhealthy { messages: h.messages }),
            status => Ok(TargetOutcome {
                before,
                after: before,
                note: std::iter::once(format!("{status:?}").to_lowercase())
                    .chain(h.messages)
                    .collect::<Vec<_>>()
                    .join("; "),
                ..Default::default()
            }),
        }),
        FleetOp::Rehearse => {
            db.close().await.ok();
            let r = m.rehearse(&url).await?;
            return if r.findings.is_empty() {
                Ok(TargetOutcome {
                    before,
                    after: before,
                    note: format!("{} rehearsed", r.steps.len()),
                    ..Default::default()
                })
            } else {
                let messages = r
                    .findings
                    .iter()
                    .map(|f| {
                        let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(String::from));
                        format!("{} {}: {}: {}", f.version, f.name, kind.unwrap_or_default(), f.details.join("; "))
                    })
                    .collect();
                Err(Error::FleetTargetUnhealthy { messages }.into())
            };
        }
    };
    let result = match result {
        Ok(o) => Ok(o),
        // Where the target stands now: what applied before the failing migration stands.
        Err(error) => {
            let after = m.plan(&mut db).await.map(|p| p.current_version());
            let snapshots = error.done().map_or(0, |d| d.snapshots.len());
            let outcome = after.ok().map(|after| TargetOutcome { before, after, snapshots, ..Default::default() });
            Err(TargetFailure { error, outcome })
        }
    };
    db.close().await.ok();
    result
}
