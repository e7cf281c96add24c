//! A SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers.

use dbguard::lint::{Finding, Severity};

/// A SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers.
pub fn sarif(findings: &[Finding]) -> String {
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
