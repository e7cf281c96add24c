//! Rendering findings: human text with code frames, JSON, SARIF 2.1.0 and GitHub Actions
//! annotations. Pure: strings out; the command line decides where they go.

use std::collections::BTreeMap;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::finding::{Finding, Severity, Summary};

/// Human-readable text with rustc-style code frames. `source(file)` returns a file's text;
/// findings in files it cannot return are printed without a frame.
pub fn text(findings: &[Finding], summary: &Summary, source: &dyn Fn(&str) -> Option<String>, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let mut cache: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut out = String::new();
    for f in findings {
        let src = cache.entry(&f.file).or_insert_with(|| source(&f.file)).as_deref();
        let level = match f.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = level.primary_title(&f.message).id(&*f.rule);
        let first = match src.and_then(|s| span(s, f).map(|r| (s, r))) {
            Some((s, range)) => title.element(
                Snippet::source(s).path(&f.file).annotation(AnnotationKind::Primary.span(range).label(&*f.rule)),
            ),
            None => title.element(annotate_snippets::Origin::path(&f.file).line(f.line).char_column(f.column)),
        };
        let report = [
            first,
            Group::with_title(Level::HELP.secondary_title(&*f.help)),
            Group::with_title(Level::NOTE.secondary_title(format!("see {}", f.docs))),
        ];
        out.push_str(&renderer.render(&report));
        out.push_str("\n\n");
    }
    out.push_str(&summary_line(summary));
    out.push('\n');
    out
}

/// `2 errors, 1 warning in 3 files`.
pub fn summary_line(s: &Summary) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!("{}, {} in {}", plural(s.errors, "error"), plural(s.warnings, "warning"), plural(s.files, "file"))
}

/// The byte range of a finding in its source, from its line and column.
fn span(src: &str, f: &Finding) -> Option<std::ops::Range<usize>> {
    let at = |line: usize, col: usize| -> Option<usize> {
        let line_start = if line == 1 { 0 } else { src.match_indices('\n').nth(line - 2)?.0 + 1 };
        let rest = &src[line_start..];
        Some(line_start + rest.char_indices().nth(col - 1).map_or(rest.len(), |(i, _)| i))
    };
    let (start, end) = (at(f.line, f.column)?, at(f.end_line, f.end_column)?);
    Some(start..end.max(start))
}

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    findings: &'a [Finding],
    summary: &'a Summary,
}

/// `{"findings": [...], "summary": {...}}`, pretty-printed, stable keys (see docs/cli.md).
pub fn json(findings: &[Finding], summary: &Summary) -> String {
    serde_json::to_string_pretty(&JsonOut { findings, summary }).expect("findings serialize")
}

/// [`json`], written to `w` as it is produced (no copy of the whole output in memory).
pub fn write_json(w: impl std::io::Write, findings: &[Finding], summary: &Summary) -> std::io::Result<()> {
    serde_json::to_writer_pretty(w, &JsonOut { findings, summary }).map_err(std::io::Error::other)
}

/// A SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers.
pub fn sarif(findings: &[Finding]) -> String {
    use serde_sarif::sarif;
    let rules: Vec<sarif::ReportingDescriptor> = crate::rules::all()
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
    let results: Vec<sarif::Result> = findings
        .iter()
        .map(|f| {
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
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("dbguard")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://example.invalid/dbguard/docs/rules/README.md")
        .rules(rules)
        .build();
    let run = sarif::Run::builder().tool(sarif::Tool::builder().driver(driver).build()).results(results).build();
    let log = sarif::Sarif::builder()
        .version(sarif::Version::V2_1_0.to_string())
        .schema(sarif::SCHEMA_URL)
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&log).expect("SARIF serializes")
}

fn sarif_level(s: Severity) -> serde_json::Value {
    serde_json::Value::String(match s {
        Severity::Error => "error".into(),
        Severity::Warning => "warning".into(),
    })
}

/// GitHub Actions workflow commands: one `::error` / `::warning` line per finding.
pub fn github(findings: &[Finding]) -> String {
    findings.iter().map(github_line).collect()
}

/// One GitHub Actions workflow command.
pub fn github_line(f: &Finding) -> String {
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    {
        {
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
    }
}
