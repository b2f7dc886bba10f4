//! Code a Node app imports from outside its own directory: relative imports that climb out of
//! it (`../../shared/types/api`) and tsconfig/jsconfig `paths` that point outside
//! (`"@shared/*": ["../shared/*"]`). A build whose context is the app's directory cannot see
//! those files, so the spec's context must be widened to hold them.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::text::{files_with, quoted_after, relative};
use crate::init::findings::{Found, Source};

const SOURCE_EXTS: [&str; 8] = [".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"];
const IMPORT_PATTERNS: [&str; 4] = ["from ", "require(", "import(", "import "];

/// The directories outside `dir` (relative to `root`, inside it) that the app's code imports,
/// none inside another, each with where it was first seen. What they import in turn counts too.
pub fn outside_dirs(root: &Path, dir: &Path) -> Vec<Found<String>> {
    // Absolute paths: `..` in an import is resolved lexically, which a relative root (`.`) defeats.
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root, dir) = (&absolute(root), &absolute(dir));
    let mut found: Vec<Found<String>> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(scanned) = queue.pop() {
        let mut targets = relative_imports(root, &scanned);
        if &scanned == dir {
            targets.extend(config_paths(root, dir));
        }
        for (target, source) in targets {
            if target.starts_with(dir) || !target.starts_with(root) {
                continue;
            }
            let rel = relative(root, &target);
            if seen.insert(rel.clone()) {
                queue.push(target);
                found.push(Found::new(rel, source));
            }
        }
    }
    // Keep the outermost of nested directories, in a stable order.
    found.sort_by(|a, b| a.value.cmp(&b.value));
    let mut kept: Vec<Found<String>> = Vec::new();
    for f in found {
        if !kept
            .iter()
            .any(|k| Path::new(&f.value).starts_with(&k.value))
        {
            kept.push(f);
        }
    }
    kept
}

/// Directories that relative imports in `dir`'s sources resolve to (a file's own directory).
fn relative_imports(root: &Path, dir: &Path) -> Vec<(PathBuf, Source)> {
    let mut out = Vec::new();
    for file in files_with(dir, &SOURCE_EXTS, 12) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let base = file.parent().unwrap_or(dir);
        for pattern in IMPORT_PATTERNS {
            for (line, spec) in quoted_after(&text, pattern) {
                if !spec.starts_with("../") {
                    continue;
                }
                if let Some(target) = existing_dir(&normalize(&base.join(&spec))) {
                    let what = format!("imports '{spec}'");
                    out.push((target, Source::new(relative(root, &file), Some(line), what)));
                }
            }
        }
    }
    out
}

/// `compilerOptions.paths` targets of the app's tsconfig.json or jsconfig.json.
fn config_paths(root: &Path, dir: &Path) -> Vec<(PathBuf, Source)> {
    let mut out = Vec::new();
    for name in ["tsconfig.json", "jsconfig.json"] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let Some(config) = parse_jsonc(&text) else {
            continue;
        };
        let options = config.get("compilerOptions");
        let base = dir.join(
            options
                .and_then(|o| o.get("baseUrl"))
                .and_then(|b| b.as_str())
                .unwrap_or("."),
        );
        let Some(paths) = options
            .and_then(|o| o.get("paths"))
            .and_then(|p| p.as_object())
        else {
            continue;
        };
        for (alias, targets) in paths {
            for target in targets
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
            {
                let trimmed = target.trim_end_matches('*').trim_end_matches('/');
                if let Some(found) = existing_dir(&normalize(&base.join(trimmed))) {
                    let what = format!("paths {alias}: {target}");
                    let line = super::text::line_of(&text, &format!("\"{alias}\""));
                    out.push((
                        found,
                        Source::new(relative(root, &dir.join(name)), line, what),
                    ));
                }
            }
        }
    }
    out
}

/// A tsconfig may carry comments and trailing commas; strip both before reading it as JSON.
fn parse_jsonc(text: &str) -> Option<serde_json::Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            _ => out.push(c),
        }
    }
    // `,` followed by only whitespace and a closing bracket.
    let mut cleaned = String::with_capacity(out.len());
    let bytes: Vec<char> = out.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c == ',' {
            let next = bytes[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        cleaned.push(*c);
    }
    serde_json::from_str(&cleaned).ok()
}

/// The directory an import names: itself when it is one, else the directory of the file it
/// resolves to (with one of the source extensions added, as bundlers do).
fn existing_dir(target: &Path) -> Option<PathBuf> {
    if target.is_dir() {
        return Some(target.to_path_buf());
    }
    let name = target.file_name()?.to_string_lossy().into_owned();
    let parent = target.parent()?;
    let file = target.is_file()
        || SOURCE_EXTS
            .iter()
            .chain(&[".json", ".d.ts"])
            .any(|ext| parent.join(format!("{name}{ext}")).is_file());
    file.then(|| parent.to_path_buf())
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_and_paths_that_leave_the_app_are_found_outermost_first() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let write = |p: &str, text: &str| {
            let path = r.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "web/src/app/page.tsx",
            "import { Task } from '../../../shared/types/api';\nimport x from './local';\nimport y from '../../../missing/thing';\n",
        );
        write("web/src/app/local.ts", "export default 1;\n");
        write(
            "shared/types/api.ts",
            "import { Base } from '../base/model';\nexport interface Task {}\n",
        );
        write("shared/base/model.ts", "export interface Base {}\n");
        write(
            "web/tsconfig.json",
            "{\n  // comment\n  \"compilerOptions\": {\"baseUrl\": \".\", \"paths\": {\"@/*\": [\"./src/*\"], \"@lib/*\": [\"../lib/*\"],},},\n}\n",
        );
        write("lib/util.ts", "export const u = 1;\n");
        let found = outside_dirs(r, &r.join("web"));
        let dirs: Vec<&str> = found.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(dirs, ["lib", "shared/base", "shared/types"]);
        assert_eq!(
            found[2].source.to_string(),
            "web/src/app/page.tsx:1 imports '../../../shared/types/api'"
        );
        assert!(
            found[0]
                .source
                .to_string()
                .starts_with("web/tsconfig.json:3 paths @lib/*"),
            "{}",
            found[0].source
        );
        // shared/ imports only from itself.
        assert!(outside_dirs(r, &r.join("shared")).is_empty());
    }
}
