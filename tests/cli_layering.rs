//! The CLI only turns arguments into settings, calls the library and prints:
//! it never talks to the Kubernetes API itself, and its command modules do
//! not import each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn cli_sources() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn no_kubernetes_api_calls_under_src_cli() {
    let sources = cli_sources();
    assert!(sources.contains_key("deploy"), "src/cli not found");
    for (name, text) in &sources {
        for forbidden in [
            "kube::Api",
            "kube::api::",
            "Api::<",
            "Api<",
            "Api::namespaced",
            "Api::all",
        ] {
            assert!(
                !text.contains(forbidden),
                "src/cli/{name}.rs uses `{forbidden}`: cluster work belongs in the apply engine"
            );
        }
    }
}

/// Modules a CLI module names through `super::` (`super::x`, `super::{x, y::z}`).
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("super::") {
        let rest = &text[i + "super::".len()..];
        let list = match rest.strip_prefix('{') {
            Some(inner) => &inner[..inner.find('}').unwrap_or(inner.len())],
            None => &rest[..ident_end(rest)],
        };
        for word in list.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if modules.contains(word) {
                found.insert(word.to_string());
            }
        }
    }
    found
}

#[test]
fn command_modules_do_not_import_each_other_in_a_cycle() {
    let sources = cli_sources();
    let modules: BTreeSet<String> = sources.keys().filter(|k| *k != "mod").cloned().collect();
    let graph: BTreeMap<&String, BTreeSet<String>> = sources
        .iter()
        .filter(|(name, _)| *name != "mod")
        .map(|(name, text)| (name, imports(text, &modules)))
        .collect();
    // Depth-first search from every module for a path back to itself.
    for start in graph.keys() {
        let mut stack: Vec<(String, Vec<String>)> =
            vec![((*start).clone(), vec![(*start).clone()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                assert!(
                    next != *start,
                    "import cycle: {} -> {next}",
                    path.join(" -> ")
                );
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    // The check sees real imports: deploy uses diff's plan printing.
    assert!(graph[&"deploy".to_string()].contains("diff"), "{graph:?}");
}
