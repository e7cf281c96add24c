//! Findings as text for people, with rustc-style code frames (annotate-snippets).
//!
//! Each file is read once and its line starts found in one pass; each finding's frame is then
//! rendered from the lines it covers alone. Handing the renderer the whole file for every
//! finding, as this did before, made the output quadratic: a 3 MB schema dump with thousands
//! of findings took a minute.

use std::io::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use dbguard::lint::{Finding, Severity, Summary};

/// The text report as a string (for tests and small outputs).
pub fn text(findings: &[Finding], summary: &Summary, source: &dyn Fn(&str) -> Option<String>, color: bool) -> String {
    let mut out = Vec::new();
    write_text(&mut out, findings, summary, source, color).expect("writing to memory");
    String::from_utf8(out).expect("the renderer writes UTF-8")
}

/// Writes the text report to `w` as it goes. `source(file)` returns a file's text; findings in
/// files it cannot return are printed without a frame. Findings are expected grouped by file
/// (as the linter sorts them); each file is read once per group.
pub fn write_text(
    w: impl Write,
    findings: &[Finding],
    summary: &Summary,
    source: &dyn Fn(&str) -> Option<String>,
    color: bool,
) -> std::io::Result<()> {
    let mut t = TextStream::new(w, color);
    t.findings(findings, None, source)?;
    t.finish(summary)
}

/// The text report written as batches of findings come (see `dbguard::lint_paths_each`).
pub struct TextStream<W: Write> {
    w: W,
    renderer: Renderer,
    color: bool,
    /// The file whose text is at hand, for batches that come without their lines.
    current: Option<(String, Option<Lines<'static>>)>,
}

impl<W: Write> TextStream<W> {
    pub fn new(w: W, color: bool) -> Self {
        TextStream { w, renderer: if color { Renderer::styled() } else { Renderer::plain() }, color, current: None }
    }

    /// Renders a batch: from `lines` when given (the whole lines it points into), else from
    /// the file's text as `source` returns it, read once per run of findings in one file.
    pub fn findings(
        &mut self,
        findings: &[Finding],
        lines: Option<dbguard::lint::Lines<'_>>,
        source: &dyn Fn(&str) -> Option<String>,
    ) -> std::io::Result<()> {
        let given = lines.map(|l| Lines::new(std::borrow::Cow::Borrowed(l.text), l.first_line));
        for f in findings {
            let frame = match &given {
                Some(l) => l.excerpt(f),
                None => {
                    if self.current.as_ref().is_none_or(|(file, _)| *file != f.file) {
                        let text = source(&f.file).map(|t| Lines::new(std::borrow::Cow::Owned(t), 1));
                        self.current = Some((f.file.clone(), text));
                    }
                    self.current.as_ref().and_then(|(_, l)| l.as_ref()).and_then(|l| l.excerpt(f))
                }
            };
            match frame {
                Some(x) if !self.color && plain_frame(&mut self.w, f, &x)? => {}
                frame => render(&mut self.w, &self.renderer, f, frame)?,
            }
        }
        Ok(())
    }

    pub fn finish(mut self, summary: &Summary) -> std::io::Result<()> {
        writeln!(self.w, "{}", summary_line(summary))
    }
}

/// The common frame, written directly: one line of printable ASCII, a span on it, no colour.
/// The same bytes as the snippet renderer (a test compares them over the crates.io corpus),
/// at a fraction of its cost; anything else (several lines, tabs, wide characters, long lines
/// the renderer would cut) returns `false` and goes to the renderer.
fn plain_frame(w: &mut impl Write, f: &Finding, x: &Excerpt<'_>) -> std::io::Result<bool> {
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let simple = x.text.len() <= PLAIN_MAX
        && x.span.start < x.span.end
        && x.span.end <= x.text.len()
        && printable(x.text)
        && !x.text.ends_with(' ')
        && !x.text.starts_with(' ')
        && printable(&f.message)
        && printable(&f.help)
        && printable(&f.file)
        && printable(&f.rule);
    if !simple {
        return Ok(false);
    }
    let n = x.first_line.to_string();
    let pad = " ".repeat(n.len());
    let kind = if f.severity == Severity::Error { "error" } else { "warning" };
    write!(
        w,
        "{kind}[{rule}]: {msg}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{n} | {text}\n{pad} | {gap}{carets} {rule}\n{pad} |\nhelp: {help}\nnote: see {docs}\n\n",
        rule = f.rule,
        msg = f.message,
        file = f.file,
        line = f.line,
        col = f.column,
        text = x.text,
        gap = " ".repeat(x.span.start),
        carets = "^".repeat(x.span.end - x.span.start),
        help = f.help,
        docs = f.docs,
    )?;
    Ok(true)
}

/// Longest source line [`plain_frame`] writes itself (the renderer shortens long lines).
const PLAIN_MAX: usize = 120;

fn render(w: &mut impl Write, renderer: &Renderer, f: &Finding, frame: Option<Excerpt<'_>>) -> std::io::Result<()> {
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(&f.message).id(&*f.rule);
    let first = match frame {
        Some(x) => title.element(
            Snippet::source(x.text)
                .line_start(x.first_line)
                .path(&f.file)
                .annotation(AnnotationKind::Primary.span(x.span).label(&*f.rule)),
        ),
        None => title.element(annotate_snippets::Origin::path(&f.file).line(f.line).char_column(f.column)),
    };
    let report = [
        first,
        Group::with_title(Level::HELP.secondary_title(&*f.help)),
        Group::with_title(Level::NOTE.secondary_title(format!("see {}", f.docs))),
    ];
    writeln!(w, "{}\n", renderer.render(&report))
}

/// `2 errors, 1 warning in 3 files`.
pub fn summary_line(s: &Summary) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!("{}, {} in {}", plural(s.errors, "error"), plural(s.warnings, "warning"), plural(s.files, "file"))
}

/// Whole lines of a file (from line `first`) and where each starts.
struct Lines<'a> {
    text: std::borrow::Cow<'a, str>,
    first: usize,
    starts: Vec<usize>,
}

/// The lines a finding covers, and its span within them.
struct Excerpt<'a> {
    text: &'a str,
    first_line: usize,
    span: std::ops::Range<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: std::borrow::Cow<'a, str>, first: usize) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, first, starts }
    }

    /// Byte offset of the start of 1-based `line` (the end of the text past the last line).
    fn start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(self.first)?).copied()
    }

    /// The whole lines from the finding's first to its last, and its span in them: the
    /// renderer's work for this finding is bounded by these lines, whatever the file's size.
    fn excerpt(&self, f: &Finding) -> Option<Excerpt<'_>> {
        let from = self.start(f.line)?;
        let to = self.start(f.end_line + 1).map_or(self.text.len(), |e| e.saturating_sub(1)).max(from);
        let text = &self.text[from..to];
        let at = |line: usize, col: usize| -> Option<usize> {
            let line_start = self.start(line)? - from;
            let rest = text.get(line_start..)?;
            Some(line_start + rest.char_indices().nth(col.checked_sub(1)?).map_or(rest.len(), |(i, _)| i))
        };
        let (start, end) = (at(f.line, f.column)?, at(f.end_line, f.end_column)?);
        #[cfg(test)]
        tests::HANDED.with(|h| h.set(h.get() + text.len()));
        Some(Excerpt { text, first_line: f.line, span: start..end.max(start) })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use dbguard::lint::{Dialect, Summary, lint_sql};

    thread_local! {
        /// Bytes of source handed to the snippet renderer, summed over findings.
        pub(super) static HANDED: Cell<usize> = const { Cell::new(0) };
    }

    /// The renderer's cost per finding is its own lines, not the file: no timing, a count.
    /// With the whole file handed per finding (quadratic), the sum would be findings × size.
    #[test]
    fn each_frame_gets_only_its_own_lines() {
        let statement = "ALTER TABLE users DROP COLUMN email;\nCREATE TABLE t (id INT);\n";
        let sql = statement.repeat(5_000);
        let findings = lint_sql("big.sql", &sql, Dialect::Postgres);
        assert_eq!(findings.len(), 5_000);
        HANDED.with(|h| h.set(0));
        let out = super::text(&findings, &Summary::of(&findings, 1), &|_| Some(sql.clone()), false);
        let handed = HANDED.with(Cell::get);
        let own: usize = "ALTER TABLE users DROP COLUMN email;".len() * findings.len();
        assert_eq!(handed, own, "each finding was handed exactly its own line");
        assert!(handed < sql.len() * 2, "linear in the file: {handed} bytes for a {} byte file", sql.len());
        assert!(out.contains(" --> big.sql:9999:19") && out.contains("9999 | ALTER TABLE users DROP COLUMN email;"));
    }

    /// The frames written directly are the renderer's, byte for byte: over the crates.io
    /// corpus and over lines of every length around the cut-off.
    #[test]
    fn plain_frames_are_the_renderers() {
        // Every length around the cut-off (also on line 1,000,000 below: a wider margin).
        let mut cases: Vec<String> = (1..200).map(|n| format!("{}DROP TABLE t;", "x".repeat(n))).collect();
        cases.push("ALTER TABLE users DROP COLUMN email;".into());
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/cratesio");
        if let Ok(order) = std::fs::read_to_string(corpus.join("ORDER")) {
            for m in order.lines() {
                for f in ["up.sql", "down.sql"] {
                    cases.extend(std::fs::read_to_string(corpus.join(m).join(f)));
                }
            }
        }
        let (mut direct, renderer) = (0, annotate_snippets::Renderer::plain());
        for sql in &cases {
            let lines = super::Lines::new(std::borrow::Cow::Borrowed(sql.as_str()), 1);
            for f in lint_sql("up.sql", sql, Dialect::Postgres) {
                let Some(x) = lines.excerpt(&f) else { continue };
                let mut fast = Vec::new();
                if !super::plain_frame(&mut fast, &f, &x).unwrap() {
                    continue;
                }
                direct += 1;
                let mut slow = Vec::new();
                super::render(&mut slow, &renderer, &f, lines.excerpt(&f)).unwrap();
                assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(slow).unwrap());
            }
        }
        for n in 80..140 {
            let line = format!("{}ALTER TABLE t DROP COLUMN c;", "x".repeat(n));
            for mut f in lint_sql("up.sql", &line, Dialect::Postgres) {
                (f.line, f.end_line) = (1_000_000, 1_000_000);
                let (start, end) = (f.column - 1, f.end_column - 1);
                let x = || super::Excerpt { text: &line, first_line: 1_000_000, span: start..end };
                let mut fast = Vec::new();
                if super::plain_frame(&mut fast, &f, &x()).unwrap() {
                    let mut slow = Vec::new();
                    super::render(&mut slow, &renderer, &f, Some(x())).unwrap();
                    assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(slow).unwrap());
                }
            }
        }
        assert!(direct > 100, "the direct path was taken {direct} times");
    }

    #[test]
    fn a_finding_across_lines_keeps_its_frame() {
        let sql = "SELECT 1;\nALTER TABLE users\n    ALTER COLUMN name TYPE varchar(50);\n";
        let findings = lint_sql("up.sql", sql, Dialect::Postgres);
        let out = super::text(&findings, &Summary::of(&findings, 1), &|_| Some(sql.to_string()), false);
        assert!(out.contains("3 |     ALTER COLUMN name TYPE varchar(50);"), "{out}");
        assert!(out.contains("^^^^"), "{out}");
    }
}
