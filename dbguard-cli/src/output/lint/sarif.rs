//! A SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers.

use dbguard::lint::{Finding, Severity};

/// A SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers.
pub fn sarif(findings: &[Finding]) -> String {
    let mut out = Vec::new();
    let mut s = SarifStream::new(&mut out);
    s.findings(findings).expect("writing to memory");
    s.finish().expect("writing to memory");
    String::from_utf8(out).expect("SARIF is UTF-8")
}

/// The SARIF log written as batches of findings come: the log around the results is written
/// first, each result as it comes, and none is kept (a large run's log is not held whole).
/// Nothing is written before the first batch (or the end), so a run that fails before linting
/// leaves no half document.
pub struct SarifStream<W: std::io::Write> {
    w: W,
    any: bool,
    /// What follows the results array, once the part before it is written.
    rest: Option<String>,
}

/// How deep the results sit in the log (`runs[0].results[i]`), in the pretty printer's spaces.
const RESULT_INDENT: &str = "        ";

impl<W: std::io::Write> SarifStream<W> {
    pub fn new(w: W) -> Self {
        SarifStream { w, any: false, rest: None }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.rest.is_none() {
            let skeleton = serde_json::to_string_pretty(&log(Vec::new())).map_err(std::io::Error::other)?;
            let at = skeleton
                .find("\"results\": []")
                .ok_or_else(|| std::io::Error::other("the SARIF log has no results"))?;
            let open = at + "\"results\": [".len();
            self.w.write_all(&skeleton.as_bytes()[..open])?;
            self.rest = Some(skeleton[open + 1..].to_string());
        }
        Ok(())
    }

    pub fn findings(&mut self, findings: &[Finding]) -> std::io::Result<()> {
        self.start()?;
        for f in findings {
            self.w.write_all(if self.any { b",\n" } else { b"\n" })?;
            self.any = true;
            let text = serde_json::to_string_pretty(&result(f)).map_err(std::io::Error::other)?;
            super::json::indented(&mut self.w, &text, RESULT_INDENT, true)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.start()?;
        if self.any {
            self.w.write_all(b"\n")?;
            self.w.write_all(&RESULT_INDENT.as_bytes()[2..])?;
        }
        self.w.write_all(b"]")?;
        self.w.write_all(self.rest.take().unwrap_or_default().as_bytes())
    }
}

/// The log, with `results`.
fn log(results: Vec<serde_sarif::sarif::Result>) -> serde_sarif::sarif::Sarif {
    use serde_sarif::sarif;
    let rules: Vec<sarif::ReportingDescriptor> = dbguard::lint::rules::all()
        .into_iter()
        .map(|r| {
            sarif::ReportingDescriptor::builder()
                .id(r.id)
                .short_description(sarif::MultiformatMessageString::builder().text(r.summary).build())
                .help(sarif::MultiformatMessageString::builder().text(r.help).build())
                .default_configuration(sarif::ReportingConfiguration::builder().level(sarif_level(r.severity)).build())
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("dbguard")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://example.invalid/dbguard/docs/rules/README.md")
        .rules(rules)
        .build();
    let run = sarif::Run::builder().tool(sarif::Tool::builder().driver(driver).build()).results(results).build();
    sarif::Sarif::builder()
        .version(sarif::Version::V2_1_0.to_string())
        .schema(sarif::SCHEMA_URL)
        .runs(vec![run])
        .build()
}

/// One finding as a SARIF result.
fn result(f: &Finding) -> serde_sarif::sarif::Result {
    use serde_sarif::sarif;
    let region = sarif::Region::builder()
        .start_line(f.line as i64)
        .start_column(f.column as i64)
        .end_line(f.end_line as i64)
        .end_column(f.end_column as i64)
        .build();
    let location = sarif::Location::builder()
        .physical_location(
            sarif::PhysicalLocation::builder()
                .artifact_location(sarif::ArtifactLocation::builder().uri(f.file.clone()).build())
                .region(region)
                .build(),
        )
        .build();
    sarif::Result::builder()
        .rule_id(f.rule.clone())
        .level(match f.severity {
            Severity::Error => sarif::ResultLevel::Error,
            Severity::Warning => sarif::ResultLevel::Warning,
        })
        .message(sarif::Message::builder().text(format!("{} ({})", f.message, f.help)).build())
        .locations(vec![location])
        .build()
}

fn sarif_level(s: Severity) -> serde_json::Value {
    serde_json::Value::String(match s {
        Severity::Error => "error".into(),
        Severity::Warning => "warning".into(),
    })
}

#[cfg(test)]
mod tests {
    use dbguard::lint::{Dialect, lint_sql};

    /// Streamed, the same log as serialised whole (the way it was written before streaming).
    #[test]
    fn the_stream_writes_the_whole_log() {
        let findings =
            lint_sql("up.sql", "DROP TABLE a;\nALTER TABLE b DROP COLUMN c;\nTRUNCATE d;", Dialect::Postgres);
        for n in [0, 1, 3] {
            let whole =
                serde_json::to_string_pretty(&super::log(findings[..n].iter().map(super::result).collect())).unwrap();
            assert_eq!(super::sarif(&findings[..n]), whole, "{n} findings");
        }
    }
}
