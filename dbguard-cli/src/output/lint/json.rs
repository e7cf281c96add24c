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
