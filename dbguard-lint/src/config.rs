//! Linter configuration, as read by the command line from `[package.metadata.dbguard.lint]`
//! (or `[workspace.metadata.dbguard.lint]`):
//!
//! ```toml
//! [package.metadata.dbguard.lint]
//! disable = ["rename-column"]
//! severity = { create-index-not-concurrently = "error" }
//! exclude = ["migrations/legacy/"]
//! start_after = 20240101000000   # adopting dbguard: older migrations are not linted
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::finding::{Finding, Severity};
use crate::rules;

/// The linter's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Rules not to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// If set, only these rules run.
    #[serde(default)]
    pub enable: Option<Vec<String>>,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Paths (prefixes, relative to the project) that are not linted.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Migrations with this version or older are not linted.
    #[serde(default)]
    pub start_after: Option<i64>,
}

impl LintConfig {
    /// Checks that every rule id named exists; the error names the key and lists the rules.
    pub fn validate(&self) -> Result<(), String> {
        let named = self.disable.iter().chain(self.enable.iter().flatten()).chain(self.severity.keys());
        for id in named {
            if rules::info(id).is_none() {
                let all: Vec<&str> = rules::all().iter().map(|r| r.id).collect();
                return Err(format!(
                    "unknown rule `{id}` in the lint configuration; the rules are: {}",
                    all.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Whether a rule runs.
    pub fn runs(&self, rule: &str) -> bool {
        !self.disable.iter().any(|d| d == rule) && self.enable.as_ref().is_none_or(|e| e.iter().any(|r| r == rule))
    }

    /// Whether a path is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./");
        self.exclude.iter().any(|e| path.starts_with(e.trim_start_matches("./")))
    }

    /// Whether a migration version is too old to lint.
    pub fn skips_version(&self, version: i64) -> bool {
        self.start_after.is_some_and(|s| crate::version::cmp_versions(version, s).is_le())
    }

    /// Drops findings of rules that do not run and applies severity overrides.
    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| self.runs(&f.rule))
            .map(|mut f| {
                if let Some(s) = self.severity.get(&*f.rule) {
                    f.severity = *s;
                }
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dialect, lint_sql};

    #[test]
    fn reads_validates_and_applies() {
        let cfg: LintConfig = toml_like(
            r#"{"disable": ["truncate"], "severity": {"rename-table": "error"}, "exclude": ["migrations/legacy/"], "start_after": 20240101000000}"#,
        );
        cfg.validate().unwrap();
        let f = cfg.apply(lint_sql("f.sql", "TRUNCATE t; ALTER TABLE a RENAME TO b;", Dialect::Postgres));
        assert_eq!(f.iter().map(|f| (&*f.rule, f.severity)).collect::<Vec<_>>(), [("rename-table", Severity::Error)]);
        assert!(cfg.excludes("./migrations/legacy/1_x/up.sql") && !cfg.excludes("migrations/2_y/up.sql"));
        assert!(
            cfg.skips_version(20231231000000)
                && cfg.skips_version(20240101000000)
                && !cfg.skips_version(20240102000000)
        );
        let only: LintConfig = toml_like(r#"{"enable": ["drop-table"]}"#);
        assert!(only.runs("drop-table") && !only.runs("truncate"));
    }

    #[test]
    fn unknown_rules_and_keys_are_errors() {
        let typo: LintConfig = toml_like(r#"{"disable": ["drop-tabel"]}"#);
        let err = typo.validate().unwrap_err();
        assert!(err.contains("`drop-tabel`") && err.contains("drop-table"), "{err}");
        assert!(
            serde_json::from_str::<LintConfig>(r#"{"disabled": []}"#).unwrap_err().to_string().contains("disabled")
        );
    }

    fn toml_like(json: &str) -> LintConfig {
        serde_json::from_str(json).unwrap()
    }
}
