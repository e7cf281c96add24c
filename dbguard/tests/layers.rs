//! The runtime's layers (docs/architecture.md): each folder of `src/` may use only the layers
//! below it. Reads every source file and fails on a `crate::` path that points up.

use std::collections::BTreeSet;
use std::path::Path;

/// Each layer and the layers it may use (itself always allowed).
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &["error"]),
    ("error", &["model"]),
    ("db", &["model", "error"]),
    ("store", &["db", "model", "error"]),
    ("safety", &["store", "db", "model", "error"]),
    ("backup", &["safety", "store", "db", "model", "error"]),
    ("source", &["model", "error"]),
    ("migrate", &["source", "backup", "safety", "store", "db", "model", "error"]),
    ("ops", &["migrate", "source", "backup", "safety", "store", "db", "model", "error"]),
];

/// The layers a file's code (not its comments or tests) names through `crate::`.
fn used_layers(src: &str) -> BTreeSet<String> {
    let code = src.split("#[cfg(test)]\nmod tests").next().unwrap_or(src);
    let mut out = BTreeSet::new();
    for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                // `use crate::{a::b, c}`: the first segment of each item.
                Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                None => vec![rest],
            };
            for n in names {
                let first: String = n.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !first.is_empty() {
                    out.insert(first);
                }
            }
        }
    }
    out
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            visit(&p, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: Vec<&str> = ALLOWED.iter().map(|(l, _)| *l).collect();
    let mut files = Vec::new();
    visit(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_str().unwrap();
        let layer = first.trim_end_matches(".rs");
        let Some((_, allowed)) = ALLOWED.iter().find(|(l, _)| *l == layer) else {
            // lib.rs, the table of contents, re-exports everything.
            assert!(
                layer == "lib",
                "{}: a file outside the layers; add its layer to docs/architecture.md",
                rel.display()
            );
            continue;
        };
        for used in used_layers(&std::fs::read_to_string(f).unwrap()) {
            if used != layer && layers.contains(&used.as_str()) && !allowed.contains(&used.as_str()) {
                wrong.push(format!("{} uses {used}", rel.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies that point up (docs/architecture.md):\n{}", wrong.join("\n"));
    assert!(files.len() > 30, "the source was read");
}

#[test]
fn the_scan_sees_paths_and_groups() {
    let found =
        used_layers("use crate::{db::Database, model::plan::Plan};\nfn f() { crate::ops::x(); }\n// crate::migrate\n");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["db", "model", "ops"]);
}

/// `error.rs` uses only leaves of the model, so that no cycle runs through it.
#[test]
fn errors_use_only_leaf_data() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let error = std::fs::read_to_string(src.join("error.rs")).unwrap();
    let mut rest = error.as_str();
    while let Some(i) = rest.find("crate::model::") {
        rest = &rest[i + "crate::model::".len()..];
        let module: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        assert!(["direction", "health", "fault"].contains(&module.as_str()), "error.rs uses model::{module}");
    }
    for leaf in ["model/direction.rs", "model/health.rs", "model/fault.rs"] {
        let text = std::fs::read_to_string(src.join(leaf)).unwrap();
        assert!(used_layers(&text).is_empty(), "{leaf} must use nothing of the crate: {:?}", used_layers(&text));
    }
}
