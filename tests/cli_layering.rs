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

/// Modules a module names through `prefix` (`super::x`, `super::{x, y::z}`): a module's own
/// name, or a name the parent re-exports (`aliases`: `Plan` → `plan`). Comment lines and the
/// `#[cfg(test)] mod tests` at the end of a file are not imports of the code.
fn imports(
    text: &str,
    prefix: &str,
    modules: &BTreeSet<String>,
    aliases: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        let list = match rest.strip_prefix('{') {
            Some(inner) => &inner[..inner.find('}').unwrap_or(inner.len())],
            None => &rest[..ident_end(rest)],
        };
        for word in list.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if modules.contains(word) {
                found.insert(word.to_string());
            } else if let Some(module) = aliases.get(word) {
                found.insert(module.clone());
            }
        }
    }
    found
}

/// The child module of each name `mod_rs` re-exports (`pub use plan::{Plan, plan};`,
/// `pub use revision::list as history;`).
fn reexports(mod_rs: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in mod_rs.lines() {
        let Some(rest) = line.strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, list)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        let list = list.trim_start_matches('{').trim_end_matches('}');
        for item in list.split(',') {
            let name = item.rsplit(" as ").next().unwrap_or(item).trim();
            if !name.is_empty() && name != "self" {
                names.insert(name.to_string(), module.to_string());
            }
        }
    }
    names
}

/// Panics on a path of imports from a module back to itself; returns the graph.
/// Imports are `super::` paths (and `also`, e.g. `crate::apply::`), resolved through the
/// parent's re-exports.
fn assert_no_import_cycle(
    sources: &BTreeMap<String, String>,
    also: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources.keys().filter(|k| *k != "mod").cloned().collect();
    let aliases = sources.get("mod").map(|m| reexports(m)).unwrap_or_default();
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .filter(|(name, _)| *name != "mod")
        .map(|(name, text)| {
            let mut found = imports(text, "super::", &modules, &aliases);
            found.extend(imports(text, also, &modules, &aliases));
            found.remove(name);
            (name.clone(), found)
        })
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
    let graph = assert_no_import_cycle(&cli_sources(), "crate::cli::");
    // The check sees real imports: deploy uses diff's plan printing.
    assert!(graph["deploy"].contains("diff"), "{graph:?}");
}

/// The modules of src/apply by name: its files, and its directories (readiness) as one
/// module whose mod.rs imports from apply (its other files import from it, not from apply).
fn engine_sources() -> BTreeMap<String, String> {
    let mut sources = module_sources("src/apply");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/apply");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mod_rs = path.join("mod.rs");
        // engine_tests is `#[cfg(test)]`: test code, not the engine's structure.
        if mod_rs.is_file() && name != "engine_tests" {
            sources.insert(name, std::fs::read_to_string(mod_rs).unwrap());
        }
    }
    sources
}

#[test]
fn engine_modules_do_not_import_each_other_in_a_cycle() {
    let sources = engine_sources();
    assert!(sources.contains_key("readiness"), "{:?}", sources.keys());
    let graph = assert_no_import_cycle(&sources, "crate::apply::");
    // The check sees real imports: deploy plans with plan's code, and a name re-exported by
    // apply/mod.rs counts for the module defining it (diff's `super::Planned` is plan's).
    assert!(graph["deploy"].contains("plan"), "{graph:?}");
    assert!(graph["diff"].contains("plan"), "{graph:?}");
    assert!(!graph["plan"].contains("deploy"), "{graph:?}");
}

#[test]
fn the_import_check_resolves_reexports_and_finds_a_cycle() {
    let sources: BTreeMap<String, String> = [
        (
            "mod",
            "pub use deploy::{DeployOptions, deploy};\npub use plan::Plan;\n",
        ),
        ("plan", "use super::{DeployOptions, Release};\n"),
        ("deploy", "use super::plan::Plan;\n// super::nothing\n"),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), text.to_string()))
    .collect();
    let found = std::panic::catch_unwind(|| assert_no_import_cycle(&sources, "crate::apply::"));
    let message = *found.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("import cycle"), "{message}");
    assert!(
        message.contains("deploy") && message.contains("plan"),
        "{message}"
    );
}

/// Lines of the non-test code under `dir` (recursively) that name one of `paths`.
fn uses_of(dir: &str, paths: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join(dir), &mut files);
    assert!(files.len() > 5, "{dir}: only {} files", files.len());
    let mut found = Vec::new();
    for path in files {
        let shown = path.strip_prefix(root).unwrap().display().to_string();
        if shown.contains("/engine_tests/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (number, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in paths.iter().filter(|p| line.contains(*p)) {
                found.push(format!("{shown}:{}: {used}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_manifest_model_never_reaches_the_engine_or_the_cluster() {
    let found = uses_of(
        "src/manifests",
        &[
            "crate::apply",
            "crate::cluster",
            "crate::pipeline",
            "kube::",
        ],
    );
    assert!(
        found.is_empty(),
        "the manifest model renders; it never talks to the cluster:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_knows_neither_components_nor_the_values_model() {
    // Two uses are the engine's input and a unit parser, not a component's meaning:
    // manifests::{Manifest, Stage} (object.rs: the typed kinds and their apply stage) and
    // values::quantity (volumes.rs: Kubernetes quantities such as 1Gi).
    let found: Vec<String> = uses_of(
        "src/apply",
        &[
            "crate::values",
            "crate::manifests",
            "crate::wizard",
            "crate::init",
            "crate::images",
            "crate::pipeline",
            "crate::operate",
            "crate::mcp",
            "crate::cli",
            "crate::ui",
            "crate::chart",
            "crate::compose",
        ],
    )
    .into_iter()
    .filter(|line| {
        !line.contains("crate::values::quantity::parse_quantity")
            && !line.contains("crate::manifests::{Manifest, Stage}")
    })
    .collect();
    assert!(
        found.is_empty(),
        "the apply engine never knows what a component is for:\n{}",
        found.join("\n")
    );
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
