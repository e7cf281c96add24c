//! GitHub Actions workflow commands: one `::error` / `::warning` line per finding.

use dbguard::lint::{Finding, Severity};

/// Every finding's workflow command.
pub fn github(findings: &[Finding]) -> String {
    findings.iter().map(github_line).collect()
}

/// One GitHub Actions workflow command.
pub fn github_line(f: &Finding) -> String {
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let kind = if f.severity == Severity::Error { "error" } else { "warning" };
    format!(
        "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{} ({})\n",
        prop(&f.file),
        f.line,
        f.column,
        f.end_line,
        f.end_column,
        prop(&format!("dbguard {}", f.rule)),
        data(&f.message),
        data(&f.help)
    )
}
