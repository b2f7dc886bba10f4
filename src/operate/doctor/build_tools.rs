//! The host tools the stack's image builds run (each spec's `tools`): on PATH, in berth's cache,
//! installable by berth (uv, Poetry), or missing — with the command that installs them. A local
//! check: it needs no cluster.

use std::collections::BTreeMap;
use std::path::Path;

use super::Check;
use crate::images::tools::{self, Availability};
use crate::values::Values;

/// A tool, where it would come from, and the specs that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolUse {
    pub tool: String,
    pub availability: Availability,
    pub specs: Vec<String>,
}

/// [`uses`] for the stack in the current directory (specs beside its `berth.yaml`) and berth's
/// cache.
pub fn uses_here(values: &Values) -> (Vec<ToolUse>, Vec<String>) {
    let root = crate::values::load::stack_file_here()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    uses(values, &root, &crate::images::default_cache_dir())
}

/// The tools of the specs the values build (`components.*.image.build`, relative to `root`),
/// and the specs that could not be read. Specs that do not exist are skipped (the images may
/// be built elsewhere).
pub fn uses(values: &Values, root: &Path, cache_dir: &Path) -> (Vec<ToolUse>, Vec<String>) {
    let mut by_tool: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for component in values.components.values() {
        let Some(build) = &component.image.build else {
            continue;
        };
        let path = root.join(build);
        if !path.is_file() {
            continue;
        }
        match crate::images::spec::load_file(&path, root) {
            Ok(spec) => {
                if let crate::images::spec::SpecKind::Build(b) = &spec.kind {
                    for tool in &b.tools {
                        by_tool.entry(tool.clone()).or_default().push(build.clone());
                    }
                }
            }
            Err(e) => unreadable.push(format!("{build}: {e}")),
        }
    }
    let uses = by_tool
        .into_iter()
        .map(|(tool, specs)| ToolUse {
            availability: tools::locate(&tool, cache_dir),
            tool,
            specs,
        })
        .collect();
    (uses, unreadable)
}

/// The `build-tools` check.
pub fn check(uses: &[ToolUse], unreadable: &[String]) -> Check {
    const ID: &str = "build-tools";
    if !unreadable.is_empty() {
        return Check::fail(
            ID,
            format!("image specs that do not load: {}", unreadable.join("; ")),
            "fix the spec (`berth images build --dry-run` checks them all)",
        );
    }
    if uses.is_empty() {
        return Check::pass(ID, "the image specs run no host tools");
    }
    let missing: Vec<&ToolUse> = uses
        .iter()
        .filter(|u| matches!(u.availability, Availability::Missing { .. }))
        .collect();
    let installable: Vec<&ToolUse> = uses
        .iter()
        .filter(|u| u.availability == Availability::Installable)
        .collect();
    let describe = |list: &[&ToolUse]| {
        list.iter()
            .map(|u| format!("{} ({})", u.tool, u.specs.join(", ")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !missing.is_empty() {
        let hints: Vec<String> = missing
            .iter()
            .filter_map(|u| match &u.availability {
                Availability::Missing { install } => Some(format!("{}: {install}", u.tool)),
                _ => None,
            })
            .collect();
        return Check::fail(
            ID,
            format!(
                "building the images needs {}, not found on PATH",
                describe(&missing)
            ),
            format!("install {}", hints.join("; ")),
        );
    }
    if !installable.is_empty() {
        return Check::warn(
            ID,
            format!("{} not installed yet", describe(&installable)),
            "the first `berth images build` installs the pinned versions into berth's cache (build-tools/; needs python3 with venv, and PyPI)",
        );
    }
    let found: Vec<String> = uses
        .iter()
        .map(|u| u.availability.describe(&u.tool))
        .collect();
    Check::pass(ID, format!("build tools: {}", found.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_fail_with_the_install_command_installable_ones_warn() {
        let use_of = |tool: &str, availability| ToolUse {
            tool: tool.into(),
            availability,
            specs: vec![format!("images/{tool}.toml")],
        };
        let ok = check(
            &[use_of("npm", Availability::OnPath("/usr/bin/npm".into()))],
            &[],
        );
        assert_eq!(ok.status, super::super::Status::Pass);
        let warn = check(&[use_of("uv", Availability::Installable)], &[]);
        assert_eq!(warn.status, super::super::Status::Warn);
        let fail = check(
            &[
                use_of("uv", Availability::Installable),
                use_of(
                    "npm",
                    Availability::Missing {
                        install: "`sudo apt-get install -y nodejs npm`".into(),
                    },
                ),
            ],
            &[],
        );
        assert_eq!(fail.status, super::super::Status::Fail);
        assert!(
            fail.message.contains("npm (images/npm.toml)")
                && fail
                    .hint
                    .as_deref()
                    .unwrap()
                    .contains("apt-get install -y nodejs npm"),
            "{fail:?}"
        );
    }
}
