//! `drop-cascade`: `DROP ... CASCADE` of a type, function, view, sequence, extension or other
//! object also drops whatever depends on it: columns of a dropped type, views, defaults,
//! triggers, foreign keys.

use super::{Category, FileContext, Hit, RuleInfo};
use crate::finding::Severity;
use crate::stmt::Stmt;

pub static INFO: RuleInfo = RuleInfo {
    id: "drop-cascade",
    severity: Severity::Error,
    category: Category::DataLoss,
    summary: "DROP ... CASCADE also drops everything that depends on the object, columns included",
    help: "drop the dependents yourself first, each in its own statement (so that each is checked and snapshotted), then drop the object without CASCADE; if the cascade is intended, allow it with a reason and dbguard snapshots the tables it can find that depend on it",
    dialects: &[Dialect::Postgres],
    verbs: &["DROP"],
};

use crate::{Cascade, Dialect};

/// Objects whose CASCADE other rules already report (`drop-table`, `drop-schema`,
/// `drop-column`, the view rules).
const REPORTED_ELSEWHERE: &[&str] = &["TABLE", "SCHEMA", "VIEW", "MATERIALIZED", "DATABASE"];

pub struct Rule;

impl super::Rule for Rule {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, s: &Stmt, _cx: &FileContext, hits: &mut Vec<Hit>) {
        if !s.is(0, "DROP") || REPORTED_ELSEWHERE.iter().any(|k| s.is(1, k)) {
            return;
        }
        // `DROP OWNED BY role`: the role's tables go with their rows, CASCADE or not; which
        // ones, only the database knows, so every table is protected.
        if s.seq(1, &["OWNED", "BY"]) {
            let mut roles = Vec::new();
            let mut i = 3;
            while let Some((n, next)) = s.name(i) {
                roles.push(n);
                if s.tok(next) != "," {
                    break;
                }
                i = next + 1;
            }
            let role = if roles.is_empty() { "a role".to_string() } else { format!("`{}`", roles.join("`, `")) };
            let mut hit = Hit::new(
                0,
                s.tokens.len() - 1,
                format!("drops every object owned by {role}: its tables (and their rows), views, functions and types"),
            );
            hit.cascade = Some(if roles.is_empty() {
                Cascade::Unknown(format!("every object owned by {role}"))
            } else {
                Cascade::Owned(roles)
            });
            hits.push(hit);
            return;
        }
        let depths = s.depths();
        let Some(c) = (2..s.tokens.len()).find(|&i| depths[i] == 0 && s.is(i, "CASCADE")) else { return };
        let kind = s.tok(1).to_ascii_lowercase();
        let mut i = 2;
        if s.seq(i, &["IF", "EXISTS"]) {
            i += 2;
        }
        let name = s.name(i).map(|(n, _)| n);
        let shown = name.as_ref().map_or_else(|| "it".to_string(), |n| format!("`{n}`"));
        let mut hit = Hit::new(
            0,
            c,
            format!(
                "drops {kind} {shown} with CASCADE: every column, view, default, trigger or key that depends on it goes too"
            ),
        );
        // What the runtime looks up to snapshot the tables that lose columns. A sequence's
        // dependents are defaults only; anything else unknown protects every table.
        let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
        hit.cascade = match (kind.as_str(), &name) {
            ("sequence", _) => None,
            ("type" | "domain", Some(n)) => Some(Cascade::Type(bare(n))),
            ("extension", Some(n)) => Some(Cascade::Extension(bare(n))),
            ("collation", Some(n)) => Some(Cascade::Collation(bare(n))),
            _ => Some(Cascade::Unknown(format!("{kind} {shown}"))),
        };
        hits.push(hit);
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::rules::test_util::hits;

    #[test]
    fn drop_owned_protects_every_table() {
        for sql in ["DROP OWNED BY app CASCADE", "DROP OWNED BY app"] {
            let h = hits("drop-cascade", sql, Dialect::Postgres);
            assert_eq!(h.len(), 1, "{sql}");
            assert!(h[0].contains("owned by `app`") && !h[0].contains("`by`"), "{}", h[0]);
            let t = crate::guard_targets(sql, Dialect::Postgres);
            assert_eq!(t.cascades, [crate::Cascade::Owned(vec!["app".into()])], "{t:?}");
        }
        let t = crate::guard_targets("DROP OWNED BY app, \"Ops\", CURRENT_USER", Dialect::Postgres);
        assert_eq!(t.cascades, [crate::Cascade::Owned(vec!["app".into(), "Ops".into(), "current_user".into()])]);
    }

    #[test]
    fn finds_cascading_drops() {
        for sql in [
            "DROP TYPE mood CASCADE",
            "drop function f(int) cascade",
            "DROP SEQUENCE IF EXISTS s CASCADE",
            "DROP EXTENSION hstore CASCADE",
        ] {
            assert_eq!(hits("drop-cascade", sql, Dialect::Postgres).len(), 1, "{sql}");
        }
        for sql in ["DROP TYPE mood", "DROP TABLE t CASCADE", "DROP SCHEMA s CASCADE", "DROP INDEX i"] {
            assert!(hits("drop-cascade", sql, Dialect::Postgres).is_empty(), "{sql}");
        }
    }

    #[test]
    fn names_what_the_runtime_must_look_up() {
        use crate::Cascade;
        let cascades = |sql| crate::guard_targets(sql, Dialect::Postgres).cascades;
        assert_eq!(cascades("DROP TYPE IF EXISTS public.mood CASCADE"), [Cascade::Type("mood".into())]);
        assert_eq!(cascades("DROP DOMAIN email CASCADE"), [Cascade::Type("email".into())]);
        assert_eq!(cascades("DROP EXTENSION hstore CASCADE"), [Cascade::Extension("hstore".into())]);
        assert_eq!(cascades("DROP COLLATION IF EXISTS s.mycoll CASCADE"), [Cascade::Collation("mycoll".into())]);
        assert!(cascades("DROP SEQUENCE s CASCADE").is_empty());
        assert!(matches!(&cascades("DROP FUNCTION f(int) CASCADE")[..], [Cascade::Unknown(_)]));
    }
}
