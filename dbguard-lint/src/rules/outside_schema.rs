//! `outside-schema`: a statement that deletes or overwrites rows of a table named with another
//! schema (or database): dbguard's snapshots keep the tables of the schema it migrates.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "outside-schema",
    severity: Severity::Warning,
    category: Category::DataLoss,
    summary: "deletes or overwrites rows of a table in another schema or database, which dbguard cannot snapshot",
    help: "run the migration against the schema it changes (a `search_path`/database in the URL, or a fleet target with that `schema`) and name the table without the qualifier; `up` refuses to change rows outside its schema unless allowed with a reason (take your own backup first)",
    dialects: &[],
    verbs: &["DELETE", "UPDATE", "TRUNCATE", "DROP", "ALTER", "REPLACE", "INSERT", "MERGE"],
};

/// Qualifiers that name the schema a migration runs in by default: not another one.
const OWN: [&str; 4] = ["public", "main", "temp", "pg_temp"];

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _cx: &FileContext, hits: &mut Vec<Hit>) {
        for i in targets(s) {
            let Some((Some(q), name, next)) = s.qualified_name(i) else { continue };
            if !OWN.contains(&q.as_str()) {
                let message = format!(
                    "changes rows of `{q}.{name}`, outside the schema dbguard snapshots: `up` refuses when it holds rows"
                );
                hits.push(Hit::new(i, next - 1, message));
            }
        }
    }
}

/// The tokens where the names of the tables whose rows the statement deletes or overwrites
/// start.
fn targets(s: &Stmt) -> Vec<usize> {
    let skip = |mut i: usize, words: &[&str]| {
        while words.iter().any(|w| s.is(i, w)) {
            i += 1;
        }
        i
    };
    let list = |from: usize| {
        let mut out = vec![from];
        let mut i = from;
        while let Some((_, next)) = s.name(i) {
            if s.tok(next) != "," {
                break;
            }
            i = next + 1;
            out.push(i);
        }
        out
    };
    let upsert = || {
        s.tokens.iter().any(|t| {
            let w = t.text(s.text);
            ["CONFLICT", "DUPLICATE", "REPLACE"].iter().any(|k| w.eq_ignore_ascii_case(k))
        })
    };
    let first = s.tok(0).to_ascii_uppercase();
    match first.as_str() {
        "DELETE" => s.find_top(1, "FROM").map(|f| vec![skip(f + 1, &["ONLY"])]).unwrap_or_default(),
        "UPDATE" => {
            let i = skip(1, &["ONLY", "LOW_PRIORITY", "IGNORE"]);
            vec![if s.is(i, "OR") { i + 2 } else { i }]
        }
        "TRUNCATE" => list(skip(1, &["TABLE", "ONLY"])),
        "DROP" if s.is(1, "TABLE") => list(if s.seq(2, &["IF", "EXISTS"]) { 4 } else { 2 }),
        "ALTER"
            if s.altered().is_some_and(|a| {
                a.parts
                    .iter()
                    .any(|p| p.clone().any(|i| ["DROP", "TYPE", "MODIFY", "CHANGE"].iter().any(|k| s.is(i, k))))
            }) =>
        {
            vec![skip(if s.seq(2, &["IF", "EXISTS"]) { 4 } else { 2 }, &["ONLY"])]
        }
        "REPLACE" | "INSERT" | "MERGE" if first != "INSERT" || upsert() => {
            s.find_top(1, "INTO").map(|i| vec![i + 1]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_util::check;

    #[test]
    fn finds_rows_changed_in_another_schema() {
        check(
            "outside-schema",
            &[
                "DELETE FROM other.users WHERE id > 0",
                "UPDATE billing.invoices SET paid = 1",
                "TRUNCATE a, other.b",
                "DROP TABLE IF EXISTS archive.events",
                "ALTER TABLE other.users DROP COLUMN email",
                "REPLACE INTO other.users VALUES (1)",
                "INSERT INTO other.users (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2",
            ],
            &[
                "DELETE FROM public.users WHERE id > 0",
                "DELETE FROM users WHERE id IN (SELECT id FROM other.bans)",
                "UPDATE users SET a = 1 WHERE users.id = 4",
                "INSERT INTO other.users (id) VALUES (1)",
                "ALTER TABLE other.users ADD COLUMN note TEXT",
                "SELECT * FROM other.users",
                "DROP TABLE main.t",
            ],
        );
    }
}
