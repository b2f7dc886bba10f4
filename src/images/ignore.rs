//! `.dockerignore` semantics: patterns relative to the context root, `*`/`?` within one path
//! component, `**` across components, `!` re-includes, the last matching pattern wins, and a
//! pattern that matches a directory excludes everything below it.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher};

use super::error::ErrorKind;

/// Compiled ignore rules.
#[derive(Debug, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    matcher: GlobMatcher,
    negated: bool,
}

impl IgnoreRules {
    /// Compile patterns from a `.dockerignore` text followed by `extra` patterns.
    pub fn new(dockerignore: &str, extra: &[String]) -> Result<Self, ErrorKind> {
        let lines = dockerignore
            .lines()
            .map(str::to_owned)
            .chain(extra.iter().cloned());
        let mut rules = Vec::new();
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            rules.push(Rule {
                matcher: compile(&pattern)?.compile_matcher(),
                negated,
            });
        }
        Ok(Self { rules })
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        let mut excluded = false;
        for rule in &self.rules {
            if matches_self_or_parent(&rule.matcher, path) {
                excluded = !rule.negated;
            }
        }
        excluded
    }

    /// Whether some `!` rule exists: then an excluded directory must still be walked.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.negated)
    }
}

/// What a directory is when it holds a machine's installed environment rather than a project's
/// code: a Python virtualenv (any directory with a `pyvenv.cfg`, whatever its name or depth) or
/// `node_modules`. Their content belongs to the host (its interpreter's paths, its platform's
/// native modules) and the image installs its own, so a copy never takes one, whatever the
/// ignore rules say.
pub fn host_environment(dir: &Path) -> Option<&'static str> {
    if dir.file_name().is_some_and(|n| n == "node_modules") {
        Some("node_modules")
    } else if dir.join("pyvenv.cfg").is_file() {
        Some("a virtualenv")
    } else {
        None
    }
}

fn compile(pattern: &str) -> Result<Glob, ErrorKind> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| ErrorKind::Spec(format!("ignore pattern {pattern:?}: {e}")))
}

/// Docker cleans patterns like paths: no leading `/` or `./`, no trailing `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn matches_self_or_parent(matcher: &GlobMatcher, path: &str) -> bool {
    if matcher.is_match(path) {
        return true;
    }
    path.match_indices('/')
        .any(|(i, _)| matcher.is_match(&path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::new(text, &[]).unwrap()
    }

    #[test]
    fn dockerignore_semantics() {
        let r = rules(
            "# comment\n/node_modules\n*.pyc\n**/__pycache__\ndocs/*.md\n!docs/KEEP.md\n.env\n",
        );
        assert!(r.is_excluded("node_modules"));
        assert!(
            r.is_excluded("node_modules/react/index.js"),
            "directory match excludes its content"
        );
        assert!(r.is_excluded("x.pyc"));
        assert!(
            !r.is_excluded("app/x.pyc"),
            "`*` does not cross `/` (as in Docker)"
        );
        assert!(r.is_excluded("app/deep/__pycache__/x.cpython-312.pyc"));
        assert!(r.is_excluded("docs/README.md"));
        assert!(
            !r.is_excluded("docs/KEEP.md"),
            "`!` re-includes; last match wins"
        );
        assert!(!r.is_excluded("docs/sub/README.md"));
        assert!(r.is_excluded(".env"));
        assert!(!r.is_excluded("main.py"));
        assert!(r.has_exceptions());
    }

    #[test]
    fn virtualenvs_and_node_modules_are_host_environments() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("backend/env-3.12");
        std::fs::create_dir_all(venv.join("lib")).unwrap();
        std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        let modules = dir.path().join("web/node_modules");
        std::fs::create_dir_all(&modules).unwrap();
        assert_eq!(host_environment(&venv), Some("a virtualenv"));
        assert_eq!(host_environment(&modules), Some("node_modules"));
        assert_eq!(host_environment(&venv.join("lib")), None);
        assert_eq!(host_environment(&dir.path().join("backend")), None);
    }

    #[test]
    fn extra_patterns_and_errors() {
        let r = IgnoreRules::new("", &["tests/".to_owned()]).unwrap();
        assert!(r.is_excluded("tests/test_app.py"));
        assert!(!r.has_exceptions());
        assert!(IgnoreRules::new("a[", &[]).is_err());
    }
}
