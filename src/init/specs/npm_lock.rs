//! Whether `npm ci` accepts a `package-lock.json` as it is. `npm ci` loads the tree the lock
//! describes, walks it from the root along every dependency edge, re-resolves each package with
//! an edge the lock does not satisfy (missing, or a version outside the range — after
//! `overrides` are applied) and refuses when the result differs from the lock. So a lock is
//! in sync when every edge reachable from package.json resolves, by Node's `node_modules`
//! lookup, to a locked version inside its range; packages nothing reaches do not matter (npm
//! prunes them). A root entry that matches package.json is not enough: a changed `overrides`
//! makes nested entries stale while the root stays the same.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;

use nodejs_semver::{Range, Version};
use serde_json::{Map, Value};

#[derive(Debug, PartialEq, Eq)]
pub enum LockState {
    Missing,
    /// The first edge `npm ci` would re-resolve, for the user.
    Stale(String),
    InSync,
}

/// The state of `dir`'s lock. `legacy_peers`: installs use `--legacy-peer-deps`, which makes
/// no peer edges (a lock written that way has no peers to check).
pub fn lock_state(dir: &Path, legacy_peers: bool) -> LockState {
    let read = |f: &str| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).ok()?).ok()
    };
    let Some(lock) = read("package-lock.json") else {
        return LockState::Missing;
    };
    let Some(package) = read("package.json") else {
        return LockState::InSync;
    };
    // Lock files before v2 have no `packages` map; npm rebuilds those from the registry anyway.
    let Some(packages) = lock.get("packages").and_then(Value::as_object) else {
        return LockState::InSync;
    };
    match Walk::new(packages, &package, legacy_peers).run() {
        Some(problem) => LockState::Stale(problem),
        None => LockState::InSync,
    }
}

/// One `overrides` rule: the spec it puts on matching edges (`None` for an object without
/// `"."`) and the rules for that package's own dependencies.
#[derive(Debug, Default)]
struct Rules(Vec<Rule>);

#[derive(Debug)]
struct Rule {
    name: String,
    /// `name@range` keys apply only to edges whose range meets this one.
    key_range: Option<String>,
    spec: Option<String>,
    children: Rules,
}

impl Rules {
    /// Read an `overrides` object; `$name` takes the root's own spec of `name`.
    fn parse(value: Option<&Value>, root: &Value) -> Rules {
        let Some(map) = value.and_then(Value::as_object) else {
            return Rules::default();
        };
        let resolve = |spec: &str| match spec.strip_prefix('$') {
            Some(name) => root_spec(root, name),
            None => Some(spec.to_string()),
        };
        let mut rules = Vec::new();
        for (key, value) in map {
            if key == "." {
                continue;
            }
            // `@scope/name@range`: the version part follows the last `@` after the first char.
            let (name, key_range) = match key[1..].rfind('@') {
                Some(at) => (key[..=at].to_string(), Some(key[at + 2..].to_string())),
                None => (key.clone(), None),
            };
            let (spec, children) = match value {
                Value::String(s) => (resolve(s), Rules::default()),
                Value::Object(o) => (
                    o.get(".").and_then(Value::as_str).and_then(resolve),
                    Rules::parse(Some(value), root),
                ),
                _ => continue,
            };
            rules.push(Rule {
                name,
                key_range,
                spec,
                children,
            });
        }
        Rules(rules)
    }
}

/// The root's spec of `name` in any of its dependency fields.
fn root_spec(root: &Value, name: &str) -> Option<String> {
    [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ]
    .iter()
    .find_map(|f| root.get(f)?.get(name)?.as_str().map(str::to_string))
}

/// A dependency edge: its name, spec and whether a missing target is allowed.
struct Edge {
    name: String,
    spec: String,
    may_be_missing: bool,
}

/// The edges out of a lock entry (or of package.json for the root). Dev dependencies count for
/// the root and for linked packages (workspaces) only, as npm installs them for those alone.
fn edges(entry: &Value, with_dev: bool, legacy_peers: bool) -> Vec<Edge> {
    let mut out = Vec::new();
    let mut add = |field: &str, may_be_missing: &dyn Fn(&str) -> bool| {
        if let Some(deps) = entry.get(field).and_then(Value::as_object) {
            for (name, spec) in deps {
                out.push(Edge {
                    name: name.clone(),
                    spec: spec.as_str().unwrap_or("*").to_string(),
                    may_be_missing: may_be_missing(name),
                });
            }
        }
    };
    add("dependencies", &|_| false);
    add("optionalDependencies", &|_| false);
    if with_dev {
        add("devDependencies", &|_| false);
    }
    if !legacy_peers {
        let meta = entry.get("peerDependenciesMeta");
        add("peerDependencies", &|name| {
            meta.and_then(|m| m.get(name)?.get("optional")?.as_bool())
                .unwrap_or(false)
        });
    }
    out
}

struct Walk<'a> {
    packages: &'a Map<String, Value>,
    root: &'a Value,
    rules: Rules,
    legacy_peers: bool,
}

impl<'a> Walk<'a> {
    fn new(packages: &'a Map<String, Value>, root: &'a Value, legacy_peers: bool) -> Self {
        let rules = Rules::parse(root.get("overrides"), root);
        Walk {
            packages,
            root,
            rules,
            legacy_peers,
        }
    }

    /// The first problem edge, breadth first from the root (shallow problems explain deep ones).
    fn run(&self) -> Option<String> {
        // (location, the override rule sets in force there, innermost last)
        let mut queue: VecDeque<(String, Vec<&Rules>)> = VecDeque::new();
        let mut seen = BTreeSet::new();
        queue.push_back((String::new(), vec![&self.rules]));
        // Workspaces hang off the root by their links (`node_modules/web` → `packages/web`).
        if self.root.get("workspaces").is_some() {
            for entry in self.packages.values() {
                if entry.get("link").and_then(Value::as_bool) == Some(true)
                    && let Some(target) = entry.get("resolved").and_then(Value::as_str)
                {
                    queue.push_back((target.to_string(), vec![&self.rules]));
                }
            }
        }
        while let Some((location, scopes)) = queue.pop_front() {
            if !seen.insert(location.clone()) {
                continue;
            }
            let (entry, with_dev) = if location.is_empty() {
                (self.root, true)
            } else {
                let Some(entry) = self.packages.get(&location) else {
                    continue;
                };
                // A bundled package's or a shrinkwrapped one's dependencies come with its tarball.
                let flag = |f: &str| entry.get(f).and_then(Value::as_bool) == Some(true);
                if flag("inBundle") || flag("hasShrinkwrap") {
                    continue;
                }
                (entry, !location.contains("node_modules/"))
            };
            let bundled = |name: &str| match entry.get("bundleDependencies") {
                Some(Value::Bool(all)) => *all,
                Some(Value::Array(names)) => names.iter().any(|n| n.as_str() == Some(name)),
                _ => false,
            };
            for edge in edges(entry, with_dev, self.legacy_peers) {
                if !location.is_empty() && bundled(&edge.name) {
                    continue;
                }
                let rule = find_rule(&scopes, &edge);
                // The root's own edges keep package.json's spec (npm refuses an override that
                // contradicts a direct dependency); a rule's nested rules still scope the subtree.
                let spec = rule
                    .filter(|_| !location.is_empty())
                    .and_then(|r| r.spec.clone())
                    .unwrap_or_else(|| edge.spec.clone());
                let from = if location.is_empty() {
                    "package.json".to_string()
                } else {
                    location.clone()
                };
                let Some(found) = self.resolve(&location, &edge.name) else {
                    if edge.may_be_missing {
                        continue;
                    }
                    return Some(format!(
                        "{}@{spec} (needed by {from}) is not in the lock",
                        edge.name
                    ));
                };
                let (target, locked) = self.follow_link(&found);
                if let Some(problem) = unsatisfied(&edge.name, &spec, locked) {
                    return Some(format!("{problem} (needed by {from})"));
                }
                let mut inner = scopes.clone();
                if let Some(rule) = rule.filter(|r| !r.children.0.is_empty()) {
                    inner.push(&rule.children);
                }
                queue.push_back((target, inner));
            }
        }
        None
    }

    /// Node's lookup: `<dir>/node_modules/<name>` from the package's own directory upwards.
    fn resolve(&self, from: &str, name: &str) -> Option<String> {
        let mut dir = from;
        loop {
            let key = if dir.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{dir}/node_modules/{name}")
            };
            if self.packages.contains_key(&key) {
                return Some(key);
            }
            if dir.is_empty() {
                return None;
            }
            dir = dir.rfind('/').map_or("", |i| &dir[..i]);
        }
    }

    /// A `link: true` entry (a workspace) stands for the package at its `resolved` path.
    fn follow_link(&self, location: &str) -> (String, &'a Value) {
        let entry = &self.packages[location];
        if entry.get("link").and_then(Value::as_bool) == Some(true)
            && let Some(target) = entry.get("resolved").and_then(Value::as_str)
            && let Some(linked) = self.packages.get(target)
        {
            return (target.to_string(), linked);
        }
        (location.to_string(), entry)
    }
}

/// The innermost override rule for an edge: same name, and a key range (if any) that meets
/// the edge's own range.
fn find_rule<'r>(scopes: &[&'r Rules], edge: &Edge) -> Option<&'r Rule> {
    scopes.iter().rev().find_map(|rules| {
        rules.0.iter().find(|r| {
            r.name == edge.name
                && r.key_range.as_deref().is_none_or(|key| {
                    match (
                        Range::parse(key),
                        Range::parse(registry_range(&edge.spec).0),
                    ) {
                        (Ok(key), Ok(own)) => key.allows_any(&own),
                        _ => true,
                    }
                })
        })
    })
}

/// `npm:real@range` → (`range`, Some(`real`)); anything else is its own range.
fn registry_range(spec: &str) -> (&str, Option<&str>) {
    match spec.strip_prefix("npm:") {
        Some(alias) => match alias[1..].rfind('@') {
            Some(at) => (&alias[at + 2..], Some(&alias[..=at])),
            None => ("*", Some(alias)),
        },
        None => (spec, None),
    }
}

/// Why the locked package does not satisfy `spec`, when it is a registry range; other specs
/// (git, file, URL, dist-tags) are taken as the lock has them, as npm compares those by source.
fn unsatisfied(name: &str, spec: &str, locked: &Value) -> Option<String> {
    let (range, alias) = registry_range(spec.trim());
    if let (Some(real), Some(locked_name)) = (alias, locked.get("name").and_then(Value::as_str))
        && real != locked_name
    {
        return Some(format!(
            "{name} is {locked_name} in the lock, {real} in the spec {spec}"
        ));
    }
    if range.is_empty() || range == "*" || !looks_like_range(range) {
        return None;
    }
    let version = locked.get("version").and_then(Value::as_str)?;
    let (Ok(range_parsed), Ok(version_parsed)) = (Range::parse(range), Version::parse(version))
    else {
        return None;
    };
    (!range_parsed.satisfies(&version_parsed))
        .then(|| format!("{name}@{version} in the lock does not satisfy {spec}"))
}

/// A registry range, not a git/file/URL spec or a dist-tag (`latest`).
fn looks_like_range(spec: &str) -> bool {
    let first = spec.chars().next().unwrap_or(' ');
    !spec.contains(':')
        && !spec.contains('/')
        && (first.is_ascii_digit() || "^~<>=vxX*|".contains(first) || spec.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(package: &str, lock: &str) -> LockState {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), package).unwrap();
        std::fs::write(dir.path().join("package-lock.json"), lock).unwrap();
        lock_state(dir.path(), false)
    }

    /// A lock as npm writes it: `a` needs `b@^1.0.0`; `c` carries its own nested `b@2`.
    fn lock(b: &str, nested_b: &str) -> String {
        format!(
            r#"{{"lockfileVersion": 3, "packages": {{
                "": {{"dependencies": {{"a": "^1.0.0", "c": "^3.0.0"}}}},
                "node_modules/a": {{"version": "1.2.0", "dependencies": {{"b": "^1.0.0"}}}},
                "node_modules/b": {{"version": "{b}"}},
                "node_modules/c": {{"version": "3.0.0", "dependencies": {{"b": "^2.0.0"}}}},
                "node_modules/c/node_modules/b": {{"version": "{nested_b}"}},
                "node_modules/orphan": {{"version": "0.0.1", "dependencies": {{"gone": "1"}}}}
            }}}}"#
        )
    }

    const PACKAGE: &str = r#"{"dependencies": {"a": "^1.0.0", "c": "^3.0.0"}}"#;

    #[test]
    fn nested_entries_resolve_by_node_lookup_and_unreached_ones_do_not_count() {
        assert_eq!(state(PACKAGE, &lock("1.4.0", "2.1.0")), LockState::InSync);
        // The nested b@1 is found before the hoisted one and breaks c's ^2.0.0.
        assert!(matches!(
            state(PACKAGE, &lock("1.4.0", "1.9.9")),
            LockState::Stale(w) if w == "b@1.9.9 in the lock does not satisfy ^2.0.0 (needed by node_modules/c)"
        ));
    }

    #[test]
    fn an_override_the_lock_does_not_follow_makes_it_stale_with_the_same_root() {
        let with = |overrides: &str| {
            format!(
                r#"{{"dependencies": {{"a": "^1.0.0", "c": "^3.0.0"}}, "overrides": {overrides}}}"#
            )
        };
        let l = lock("1.4.0", "2.1.0");
        assert!(matches!(
            state(&with(r#"{"b": "^1.5.0"}"#), &l),
            LockState::Stale(w) if w.starts_with("b@1.4.0 in the lock does not satisfy ^1.5.0")
        ));
        // Scoped to c's subtree, and by key range: only c's b is overridden.
        assert_eq!(
            state(&with(r#"{"c": {"b": "2.1.0"}}"#), &l),
            LockState::InSync
        );
        assert!(matches!(
            state(&with(r#"{"c": {"b": "2.2.0"}}"#), &l),
            LockState::Stale(_)
        ));
        assert_eq!(state(&with(r#"{"b@^2": "~2.1.0"}"#), &l), LockState::InSync);
        assert!(matches!(
            state(&with(r#"{"b@^1": "^1.5.0"}"#), &l),
            LockState::Stale(_)
        ));
        // `$name` is the root's own spec.
        let dollar = r#"{"dependencies": {"a": "^1.0.0", "c": "^3.0.0", "b": "^1.4.0"}, "overrides": {"b": "$b"}}"#;
        assert!(
            matches!(state(dollar, &l), LockState::Stale(w) if w.contains("needed by node_modules/c"))
        );
    }

    #[test]
    fn root_ranges_missing_packages_peers_and_aliases() {
        // The root range changed but the locked version still satisfies it: npm ci accepts.
        let narrower = r#"{"dependencies": {"a": "^1.1.0", "c": "^3.0.0"}}"#;
        assert_eq!(state(narrower, &lock("1.4.0", "2.1.0")), LockState::InSync);
        let newer = r#"{"dependencies": {"a": "^1.3.0", "c": "^3.0.0"}}"#;
        assert!(matches!(
            state(newer, &lock("1.4.0", "2.1.0")),
            LockState::Stale(w) if w.contains("(needed by package.json)")
        ));
        let added =
            r#"{"dependencies": {"a": "^1.0.0", "c": "^3.0.0"}, "devDependencies": {"d": "1"}}"#;
        assert!(matches!(
            state(added, &lock("1.4.0", "2.1.0")),
            LockState::Stale(w) if w == "d@1 (needed by package.json) is not in the lock"
        ));
        let peers = |meta: &str| {
            format!(
                r#"{{"lockfileVersion": 3, "packages": {{"": {{}}, "node_modules/p": {{"version": "1.0.0", "peerDependencies": {{"q": "^1"}}{meta}}}}}}}"#
            )
        };
        let pkg = r#"{"dependencies": {"p": "1.0.0"}}"#;
        assert!(matches!(state(pkg, &peers("")), LockState::Stale(_)));
        assert_eq!(
            state(
                pkg,
                &peers(r#", "peerDependenciesMeta": {"q": {"optional": true}}"#)
            ),
            LockState::InSync
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), pkg).unwrap();
        std::fs::write(dir.path().join("package-lock.json"), peers("")).unwrap();
        assert_eq!(lock_state(dir.path(), true), LockState::InSync);
        let alias = |name: &str| {
            format!(
                r#"{{"lockfileVersion": 3, "packages": {{"": {{}}, "node_modules/r": {{"name": "{name}", "version": "2.0.0"}}}}}}"#
            )
        };
        let pkg = r#"{"dependencies": {"r": "npm:real@^2.0.0", "t": "github:o/t"}}"#;
        let with_t = |l: String| {
            l.replace(
                r#""packages": {"#,
                r#""packages": {"node_modules/t": {"version": "0.1.0"}, "#,
            )
        };
        assert_eq!(state(pkg, &with_t(alias("real"))), LockState::InSync);
        assert!(matches!(
            state(pkg, &with_t(alias("other"))),
            LockState::Stale(_)
        ));
    }

    #[test]
    fn bundled_dependencies_come_with_their_package() {
        let l = r#"{"lockfileVersion": 3, "packages": {"": {},
            "node_modules/w": {"version": "1.0.0", "bundleDependencies": ["rt"], "dependencies": {"rt": "^1.0.7", "x": "^2"}},
            "node_modules/rt": {"version": "0.2.12", "inBundle": true, "dependencies": {"gone": "1"}},
            "node_modules/x": {"version": "2.0.1"}
        }}"#;
        let pkg = r#"{"dependencies": {"w": "1.0.0"}}"#;
        assert_eq!(state(pkg, l), LockState::InSync);
        assert!(matches!(
            state(pkg, &l.replace("2.0.1", "3.0.0")),
            LockState::Stale(_)
        ));
    }

    #[test]
    fn workspaces_are_followed_through_their_links() {
        let l = r#"{"lockfileVersion": 3, "packages": {
            "": {"workspaces": ["packages/*"]},
            "node_modules/web": {"resolved": "packages/web", "link": true},
            "packages/web": {"version": "0.0.0", "devDependencies": {"v": "^5"}},
            "packages/old": {"version": "0.0.0", "extraneous": true, "dependencies": {"gone": "1"}},
            "node_modules/v": {"version": "4.0.0"}
        }}"#;
        let pkg = r#"{"workspaces": ["packages/*"]}"#;
        assert!(
            matches!(state(pkg, l), LockState::Stale(w) if w.contains("needed by packages/web"))
        );
        assert_eq!(state(pkg, &l.replace("4.0.0", "5.1.0")), LockState::InSync);
    }
}
