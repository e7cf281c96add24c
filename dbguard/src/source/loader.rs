//! Loading migrations from a directory of SQL files.
//!
//! Both common layouts are read, and may even be mixed:
//! - diesel: `migrations/<version>_<name>/up.sql` + `down.sql` (+ optional `metadata.toml` with
//!   `run_in_transaction = false`);
//! - sqlx: `migrations/<version>_<name>.up.sql` + `<version>_<name>.down.sql`.
//!
//! Every problem in the directory is reported at once, each with its file, line and fix.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dbguard_lint::version::{FileRole, MigrationName, parse_file_name, parse_migration_name};
use dbguard_lint::{Dialect, directives, placeholder};

use crate::error::{LoadError, Problem};
use crate::model::migration::{Migration, Origin, Step};

/// Reads a migrations directory.
///
/// ```no_run
/// let migrations = dbguard::Loader::new().load("migrations")?;
/// # Ok::<(), dbguard::LoadError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Loader {
    accept_legacy_downs: bool,
    dialect: Dialect,
}

/// The fix shown for a missing or placeholder down.
const DOWN_FIX: &str = "write the SQL that reverts up.sql; if it truly cannot be reverted, say so with a first line `-- dbguard: irreversible = \"reason\"`";

impl Loader {
    /// A strict loader: every migration needs a real down.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts existing empty or placeholder downs as irreversible instead of refusing them.
    /// Meant for adopting dbguard on a project with history (reverting past such a migration
    /// is still refused); new migrations should carry a real down or an explicit marker.
    pub fn accept_legacy_downs(mut self, accept: bool) -> Self {
        self.accept_legacy_downs = accept;
        self
    }

    /// The dialect used to read the SQL (default PostgreSQL).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Loads every migration under `dir`, in the order they run.
    pub fn load(&self, dir: impl AsRef<Path>) -> Result<Vec<Migration>, LoadError> {
        self.load_from(&Disk, dir.as_ref())
    }

    /// Loads migrations embedded at compile time (by `embed_migrations!`): `files` pairs each
    /// path under `dir` with its text. The rules are those of [`Loader::load`].
    pub fn load_embedded(&self, dir: &str, files: &[(&str, &str)]) -> Result<Vec<Migration>, LoadError> {
        self.load_from(&Embedded(files), Path::new(dir))
    }

    fn load_from(&self, src: &dyn Source, dir: &Path) -> Result<Vec<Migration>, LoadError> {
        let mut problems = Vec::new();
        let entries = match src.list(dir) {
            Ok(mut v) => {
                v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                v
            }
            Err(e) => {
                let fix = if e.kind() == std::io::ErrorKind::NotFound {
                    "create it, point dbguard at the right directory (--migrations or DBGUARD_MIGRATIONS), or run `cargo dbguard init`"
                } else {
                    "check the directory's permissions"
                };
                return Err(LoadError {
                    problems: vec![Problem::new(dir, format!("cannot read the migrations directory: {e}"), fix)],
                });
            }
        };

        // version -> files found for it
        let mut found: BTreeMap<i64, Vec<Found>> = BTreeMap::new();
        for (file_name, path, is_dir) in entries {
            if file_name.starts_with('.') {
                continue;
            }
            if is_dir {
                let looks_like_migration = src.exists(&path.join("up.sql")) || src.exists(&path.join("down.sql"));
                match parse_migration_name(&file_name) {
                    Ok(name) => found.entry(name.version).or_default().push(Found::Dir { path, name }),
                    Err(e) if looks_like_migration => problems.push(Problem::new(&path, e.problem, e.fix)),
                    Err(_) => {} // an unrelated folder (sql/ for macro files, say)
                }
                continue;
            }
            match parse_file_name(&file_name) {
                Ok(Some((name, role))) => found.entry(name.version).or_default().push(Found::File { path, name, role }),
                Ok(None) => {} // README.md, .gitkeep, ...
                Err(e) => problems.push(Problem::new(&path, e.problem, e.fix)),
            }
        }

        let mut migrations = Vec::new();
        for (_, group) in found {
            if let Some(m) = self.assemble(src, group, &mut problems) {
                migrations.push(m);
            }
        }
        if problems.is_empty() {
            sort_and_check(&mut migrations)?;
            Ok(migrations)
        } else {
            Err(LoadError { problems })
        }
    }

    /// Builds one migration from the files found for one version.
    fn assemble(&self, src: &dyn Source, group: Vec<Found>, problems: &mut Vec<Problem>) -> Option<Migration> {
        let mut up: Option<(PathBuf, &MigrationName)> = None;
        let mut down: Option<PathBuf> = None;
        let mut meta: Option<PathBuf> = None;
        let mut sources: Vec<&Path> = Vec::new();
        for f in &group {
            match f {
                Found::Dir { path, name } => {
                    sources.push(path);
                    up = Some((path.join("up.sql"), name));
                    down = Some(path.join("down.sql"));
                    meta = Some(path.join("metadata.toml"));
                }
                Found::File { path, name, role } => match role {
                    FileRole::Up => {
                        sources.push(path);
                        up = Some((path.clone(), name));
                    }
                    FileRole::Down => down = Some(path.clone()),
                    FileRole::UpOnly => {
                        sources.push(path);
                        problems.push(Problem::new(
                            path,
                            "a migration without a down (sqlx's simple `<version>_<name>.sql` form)",
                            format!(
                                "rename it to `{}_{}.up.sql` and add `{0}_{1}.down.sql` that reverts it",
                                name.version_text, name.name
                            ),
                        ));
                        return None;
                    }
                },
            }
        }
        if sources.len() > 1 {
            let mut all = sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
            all.sort();
            problems.push(Problem::new(
                sources[1],
                format!("duplicate version: {} all have the same version", all.join(" and ")),
                "give one of them a new version (the next free number or a current timestamp)",
            ));
            return None;
        }
        let Some((up_path, name)) = up else {
            let path = down.unwrap_or_default();
            problems.push(Problem::new(
                &path,
                "a down migration without its up",
                "add the matching `.up.sql` file, or delete this one",
            ));
            return None;
        };

        let before = problems.len();
        let up_sql = read_text(src, &up_path, problems);
        // Read without checking existence first: a missing file is reported by the read.
        let down_path =
            down.unwrap_or_else(|| up_path.with_file_name(format!("{}_{}.down.sql", name.version_text, name.name)));
        let down_sql = read_text(src, &down_path, problems);
        let (up_sql, down_sql) = (up_sql?, down_sql?);

        let up_directives = match directives::parse(&up_sql) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem::new(&up_path, e.message, "see docs/guide.md#directives").at_line(e.line));
                directives::Directives::default()
            }
        };
        if up_directives.irreversible.is_some() {
            problems.push(Problem::new(
                &up_path,
                "`irreversible` belongs in the down file",
                "move the line into the down migration",
            ));
        }
        if up_directives.empty.is_none()
            && placeholder::check(&up_sql, self.dialect) == Some(placeholder::Placeholder::Empty)
        {
            problems.push(Problem::new(
                &up_path,
                "the up migration is empty or only comments: applying it would record a change that never happened",
                "write its SQL; if the migration is empty on purpose, say so on its first line: `-- dbguard: empty = \"reason\"`",
            ));
        }
        let down_directives = match directives::parse(&down_sql) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem::new(&down_path, e.message, "see docs/guide.md#directives").at_line(e.line));
                directives::Directives::default()
            }
        };
        if !down_directives.preserves.is_empty()
            || !down_directives.preserves_exactly.is_empty()
            || down_directives.no_transaction
            || down_directives.empty.is_some()
        {
            problems.push(Problem::new(
                &down_path,
                "`preserves`, `no-transaction` and `empty` are read from the up file (the first two apply to both directions)",
                "move the line into the up migration",
            ));
        }

        let down_step = if let Some(reason) = down_directives.irreversible {
            Step::Irreversible { reason: reason.into(), text: down_sql }
        } else if let Some(kind) = placeholder::check(&down_sql, self.dialect) {
            if self.accept_legacy_downs {
                Step::Irreversible { reason: format!("its down {}", kind.describe()).into(), text: down_sql }
            } else {
                problems.push(Problem::new(&down_path, format!("the down migration {}", kind.describe()), DOWN_FIX));
                return None;
            }
        } else {
            Step::Sql(down_sql)
        };

        let run_in_transaction = meta.as_deref().map_or(Some(true), |p| read_metadata(src, p, problems));
        if !up_directives.no_transaction && run_in_transaction == Some(true) {
            problems.extend(transaction_problems(&up_path, &up_sql, self.dialect));
            if let Step::Sql(down) = &down_step {
                problems.extend(transaction_problems(&down_path, down, self.dialect));
            }
        }

        if problems.len() > before {
            return None;
        }
        let mut m = Migration::new(name.version, name.name.clone(), Step::Sql(up_sql), down_step)
            .preserving(up_directives.preserves)
            .preserving_exactly(up_directives.preserves_exactly)
            .with_origin(Origin::Files { up: up_path, down: Some(down_path) });
        for (table, columns) in up_directives.preserves_values {
            m = m.preserving_values(table, columns);
        }
        if up_directives.no_transaction || run_in_transaction == Some(false) {
            m = m.without_transaction();
        }
        Some(m)
    }
}

enum Found {
    Dir { path: PathBuf, name: MigrationName },
    File { path: PathBuf, name: MigrationName, role: FileRole },
}

/// Where migration files come from: the disk, or texts embedded at compile time.
trait Source {
    /// The entries of `dir`: name, path, whether it is a directory.
    fn list(&self, dir: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>>;
    fn exists(&self, path: &Path) -> bool;
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// The file's bytes, borrowed where they can stay where they are (a big file, mapped).
    fn read_big(&self, path: &Path) -> std::io::Result<Cow<'static, [u8]>> {
        self.read(path).map(Cow::Owned)
    }
}

/// From this size a migration file is mapped into memory rather than read (see
/// [`Disk::read_big`]).
const MAP_FROM: u64 = 4 << 20;

struct Disk;

impl Source for Disk {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>> {
        // The entry's file type comes with the directory listing: no stat per file.
        Ok(std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| {
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or_else(|_| e.path().is_dir());
                (e.file_name().to_string_lossy().into_owned(), e.path(), is_dir)
            })
            .collect())
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn read_big(&self, path: &Path) -> std::io::Result<Cow<'static, [u8]>> {
        match Self::map(path)? {
            Some(bytes) => Ok(Cow::Borrowed(bytes)),
            None => self.read(path).map(Cow::Owned),
        }
    }

    // Not std::fs::read nor File::read_to_end: both stat the file and ask for its position
    // first, to size the buffer: two more system calls per file on every run, for files that
    // are small. Here: open, read, read (end of file), close, into a vector of the file's size
    // (measured: reading into a 4 KiB vector per file instead costs 2 ms more for 1,000 files,
    // in page faults).
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut chunk = [0u8; 16 * 1024];
        let mut buf = Vec::new();
        loop {
            match file.read(&mut chunk) {
                Ok(0) => return Ok(buf),
                Ok(n) => {
                    // A file bigger than one chunk is sized once from its length: growing the
                    // vector by doubling copied a 10 MB migration again and again.
                    if buf.is_empty() && n == chunk.len() {
                        buf.reserve(file.metadata().map_or(0, |m| m.len() as usize));
                    }
                    buf.extend_from_slice(&chunk[..n])
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Disk {
    /// A file of [`MAP_FROM`] bytes or more, mapped for the rest of the process: its pages are
    /// the file's, read when touched and dropped by the system when memory is short, so the
    /// memory a migration takes does not grow with its size (a 1 GB seed runs in a process of
    /// tens of megabytes). Kept for the process's life: the migrations that borrow the text
    /// live as long as the migrator, which a program keeps.
    fn map(path: &Path) -> std::io::Result<Option<&'static [u8]>> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() < MAP_FROM {
            return Ok(None);
        }
        // SAFETY: the mapping is read only. A file truncated while the migration runs would
        // end the process (SIGBUS) as a crash does, which the per-statement progress and the
        // snapshots are made for; one rewritten in place changes the text under the run,
        // which the checksum kept with the progress catches at the next run.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Some(Box::leak(Box::new(map))))
    }
}

/// Files embedded by `embed_migrations!`: (path, text) pairs.
struct Embedded<'a>(&'a [(&'a str, &'a str)]);

impl Source for Embedded<'_> {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<(String, PathBuf, bool)>> {
        let mut out: Vec<(String, PathBuf, bool)> = Vec::new();
        for (path, _) in self.0 {
            let Ok(rest) = Path::new(path).strip_prefix(dir) else { continue };
            let mut parts = rest.components();
            let Some(first) = parts.next() else { continue };
            let name = first.as_os_str().to_string_lossy().into_owned();
            let is_dir = parts.next().is_some();
            if !out.iter().any(|(n, _, _)| *n == name) {
                out.push((name.clone(), dir.join(&name), is_dir));
            }
        }
        Ok(out)
    }

    fn exists(&self, path: &Path) -> bool {
        self.0.iter().any(|(p, _)| Path::new(p) == path)
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0
            .iter()
            .find(|(p, _)| Path::new(p) == path)
            .map(|(_, text)| text.as_bytes().to_vec())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

fn read_text(src: &dyn Source, path: &Path, problems: &mut Vec<Problem>) -> Option<Cow<'static, str>> {
    let bytes = match src.read_big(path) {
        Ok(b) => b,
        Err(e) => {
            let is_down = path.file_name().is_some_and(|n| n.to_string_lossy().ends_with("down.sql"));
            let (message, fix) = if e.kind() == std::io::ErrorKind::NotFound && is_down {
                ("missing down migration".to_string(), DOWN_FIX.to_string())
            } else if e.kind() == std::io::ErrorKind::NotFound {
                (
                    format!("missing file `{}`", path.file_name().unwrap_or_default().to_string_lossy()),
                    "create it".to_string(),
                )
            } else {
                (format!("cannot read the file: {e}"), "check its permissions".to_string())
            };
            problems.push(Problem::new(path, message, fix));
            return None;
        }
    };
    if let Err(e) = std::str::from_utf8(&bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        problems.push(
            Problem::new(
                path,
                "the file is not valid UTF-8",
                "re-save it as UTF-8 (iconv -f latin1 -t utf-8, or your editor's encoding menu)",
            )
            .at_line(line),
        );
        return None;
    }
    // An editor's byte-order mark is no SQL: PostgreSQL and MySQL refuse it as a character of
    // the first word. (The checksum ignores it too.)
    let bom = if bytes.starts_with("\u{feff}".as_bytes()) { "\u{feff}".len() } else { 0 };
    match bytes {
        Cow::Owned(mut b) => {
            b.drain(..bom);
            String::from_utf8(b).ok().map(Cow::Owned)
        }
        Cow::Borrowed(b) => std::str::from_utf8(&b[bom..]).ok().map(Cow::Borrowed),
    }
}

/// diesel's `metadata.toml`: `run_in_transaction = false`. A missing file means the default.
fn read_metadata(src: &dyn Source, path: &Path, problems: &mut Vec<Problem>) -> Option<bool> {
    if !src.exists(path) {
        return Some(true);
    }
    let text = read_text(src, path, problems)?;
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            let mut p =
                Problem::new(path, format!("not valid TOML: {}", e.message()), "write `run_in_transaction = false`");
            p.line = line;
            problems.push(p);
            return None;
        }
    };
    let mut run = Some(true);
    for (key, value) in &table {
        match (key.as_str(), value.as_bool()) {
            ("run_in_transaction", Some(b)) => run = Some(b),
            _ => {
                problems.push(Problem::new(
                    path,
                    format!("unknown setting `{key} = {value}`"),
                    "the only setting is `run_in_transaction = false` (true is the default)",
                ));
                run = None;
            }
        }
    }
    run
}

/// Transaction statements in a file that runs in a transaction: one problem each, at its line.
fn transaction_problems(path: &Path, sql: &str, dialect: Dialect) -> Vec<Problem> {
    dbguard_lint::transaction_statements(sql, dialect)
        .into_iter()
        .map(|(line, words)| {
            Problem::new(
                path,
                format!(
                    "`{words}` in a migration that runs in a transaction: what runs before it would be committed, and a failure after it could no longer be rolled back"
                ),
                "remove it (dbguard runs each migration in one transaction), or mark the migration `-- dbguard: no-transaction` on the first line of its up file",
            )
            .at_line(line)
        })
        .collect()
}

/// Refuses migrations built in code (or registered by `#[migration]`) that control the
/// transaction dbguard runs them in.
pub(crate) fn check_in_code(migrations: &[Migration]) -> Result<(), LoadError> {
    let mut problems = Vec::new();
    // Files were checked when they were loaded, with their lines.
    for m in migrations.iter().filter(|m| m.is_transactional() && !matches!(m.origin(), Origin::Files { .. })) {
        for (down, step) in [(false, m.up()), (true, m.down())] {
            if let Step::Sql(sql) = step {
                // The dialect does not change which statements control a transaction.
                problems.extend(transaction_problems(Path::new(&m.origin().describe(down)), sql, Dialect::Postgres));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(LoadError { problems }) }
}

/// Sorts migrations into run order and refuses duplicate versions, naming both places.
pub(crate) fn sort_and_check(migrations: &mut [Migration]) -> Result<(), LoadError> {
    migrations.sort_by(|a, b| dbguard_lint::version::cmp_versions(a.version(), b.version()));
    let mut problems = Vec::new();
    for pair in migrations.windows(2) {
        if pair[0].version() == pair[1].version() {
            problems.push(Problem::new(
                pair[1].origin().describe(false),
                format!(
                    "duplicate version {}: `{}` at {} and `{}` at {}",
                    pair[0].version(),
                    pair[0].name(),
                    pair[0].origin().describe(false),
                    pair[1].name(),
                    pair[1].origin().describe(false)
                ),
                "give one of them a new version (the next free number or a current timestamp)",
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(LoadError { problems }) }
}
