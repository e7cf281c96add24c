//! `{"findings": [...], "summary": {...}}`, pretty-printed, stable keys (see docs/cli.md).

use dbguard::lint::{Finding, Summary};

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    findings: &'a [Finding],
    summary: &'a Summary,
}

/// The JSON report as a string.
pub fn json(findings: &[Finding], summary: &Summary) -> String {
    serde_json::to_string_pretty(&JsonOut { findings, summary }).expect("findings serialize")
}

/// The JSON report, written to `w` as it is produced (no copy of the whole output in memory).
pub fn write_json(w: impl std::io::Write, findings: &[Finding], summary: &Summary) -> std::io::Result<()> {
    serde_json::to_writer_pretty(w, &JsonOut { findings, summary }).map_err(std::io::Error::other)
}

/// The JSON report written as batches of findings come: the same bytes as [`json`], with no
/// copy of the findings kept. Nothing is written before the first batch (or the end), so a run
/// that fails before linting leaves no half document.
pub struct JsonStream<W: std::io::Write> {
    w: W,
    started: bool,
    any: bool,
}

impl<W: std::io::Write> JsonStream<W> {
    pub fn new(w: W) -> Self {
        JsonStream { w, started: false, any: false }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if !self.started {
            self.started = true;
            self.w.write_all(b"{\n  \"findings\": [")?;
        }
        Ok(())
    }

    pub fn findings(&mut self, findings: &[Finding]) -> std::io::Result<()> {
        self.start()?;
        for f in findings {
            self.w.write_all(if self.any { b",\n" } else { b"\n" })?;
            self.any = true;
            indented(&mut self.w, &serde_json::to_string_pretty(f).map_err(std::io::Error::other)?, "    ", true)?;
        }
        Ok(())
    }

    pub fn finish(mut self, summary: &Summary) -> std::io::Result<()> {
        self.start()?;
        self.w.write_all(if self.any { b"\n  ],\n  \"summary\": " } else { b"],\n  \"summary\": " })?;
        indented(&mut self.w, &serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?, "  ", false)?;
        self.w.write_all(b"\n}")
    }
}

/// `text`'s lines, each but (unless `first`) the first prefixed with `indent`: a value printed
/// pretty on its own, placed at its depth in the report. (JSON strings hold no raw newline.)
pub(super) fn indented(w: &mut impl std::io::Write, text: &str, indent: &str, first: bool) -> std::io::Result<()> {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            w.write_all(b"\n")?;
        }
        if i > 0 || first {
            w.write_all(indent.as_bytes())?;
        }
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use dbguard::lint::{Dialect, Summary, lint_sql};

    /// Streamed in batches, the same bytes as the report printed at once.
    #[test]
    fn the_stream_writes_what_the_whole_report_would() {
        let findings =
            lint_sql("up.sql", "DROP TABLE a;\nALTER TABLE b DROP COLUMN c;\nTRUNCATE d;", Dialect::Postgres);
        assert_eq!(findings.len(), 3);
        for batches in [&[][..], &[0..2, 2..3][..], &[0..1, 1..1, 1..3][..]] {
            let taken: Vec<_> = batches.iter().flat_map(|r| findings[r.clone()].to_vec()).collect();
            let summary = Summary::of(&taken, 1);
            let mut out = Vec::new();
            let mut s = super::JsonStream::new(&mut out);
            for r in batches {
                s.findings(&findings[r.clone()]).unwrap();
            }
            s.finish(&summary).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), super::json(&taken, &summary), "{batches:?}");
        }
    }
}
