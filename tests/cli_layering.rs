//! The CLI only turns arguments into settings, calls the library and prints:
//! it never talks to the Kubernetes API itself, and its command modules do
//! not import each other in a cycle; nor do the engine's. Only the CLI and
//! its output module write to the terminal: libraries report events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn cli_sources() -> BTreeMap<String, String> {
    module_sources("src/cli")
}

/// The `.rs` files directly in `dir`, by module name.
fn module_sources(dir: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
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

/// Panics on a path of `super::` imports from a module back to itself; returns the graph.
fn assert_no_import_cycle(
    sources: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources.keys().filter(|k| *k != "mod").cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .filter(|(name, _)| *name != "mod")
        .map(|(name, text)| (name.clone(), imports(text, &modules)))
        .collect();
    // Depth-first search from every module for a path back to itself.
    for start in graph.keys() {
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                assert!(
                    next != start,
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
    graph
}

#[test]
fn command_modules_do_not_import_each_other_in_a_cycle() {
    let graph = assert_no_import_cycle(&cli_sources());
    // The check sees real imports: deploy uses diff's plan printing.
    assert!(graph["deploy"].contains("diff"), "{graph:?}");
}

#[test]
fn engine_modules_do_not_import_each_other_in_a_cycle() {
    let graph = assert_no_import_cycle(&module_sources("src/apply"));
    // The check sees real imports: deploy plans with plan's code.
    assert!(graph["deploy"].contains("plan"), "{graph:?}");
}

/// Every `.rs` file under `dir`, recursively, by path relative to the crate.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_cli_and_ui_write_to_the_terminal() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let allowed = [root.join("src/cli"), root.join("src/ui")];
    let mut checked = 0;
    let mut offenders = Vec::new();
    for path in files
        .iter()
        .filter(|p| !allowed.iter().any(|a| p.starts_with(a)))
    {
        checked += 1;
        let text = std::fs::read_to_string(path).unwrap();
        for (number, line) in text.lines().enumerate() {
            // Doc examples show what a caller might do; they are not the library printing.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for printing in ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("] {
                if line.contains(printing) {
                    let shown = path.strip_prefix(root).unwrap().display();
                    offenders.push(format!("{shown}:{}: {}", number + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files outside src/cli and src/ui"
    );
    assert!(
        offenders.is_empty(),
        "libraries report events and let src/cli (via src/ui) print:\n{}",
        offenders.join("\n")
    );
}
