//! Small text scanners shared by the detectors (no regex: the patterns are few and literal).

use std::fs;
use std::path::{Path, PathBuf};

/// Directories never scanned: dependencies, build output, caches, VCS.
const SKIPPED_DIRS: [&str; 14] = [
    "node_modules",
    ".git",
    ".venv",
    "venv",
    "env",
    "__pycache__",
    ".next",
    "dist",
    "build",
    "out",
    ".mypy_cache",
    ".pytest_cache",
    "coverage",
    "target",
];

/// Source files under `dir` (up to `depth` levels) whose name ends with one of `exts`, sorted.
pub fn files_with(dir: &Path, exts: &[&str], depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, exts, depth, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, exts: &[&str], depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if depth > 0 && !skipped_dir(&name) {
                walk(&path, exts, depth - 1, out);
            }
        } else if exts.iter().any(|e| name.ends_with(e)) && !is_test_file(&name) {
            out.push(path);
        }
    }
}

/// Test directories: what tests read is not what the service needs.
const TEST_DIRS: [&str; 7] = [
    "tests",
    "test",
    "e2e",
    "__tests__",
    "cypress",
    "playwright",
    "spec",
];

/// Whether a directory name is one the scan skips.
pub fn skipped_dir(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name) || TEST_DIRS.contains(&name)
}

/// Test files and build-tool configuration, whose env reads are not the service's.
fn is_test_file(name: &str) -> bool {
    name.starts_with("test_")
        || name == "conftest.py"
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.starts_with("next.config.")
        || name.starts_with("vite.config.")
}

/// `path` relative to `root`, with `/` separators (`.` for the root itself).
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let text = rel.to_string_lossy().replace('\\', "/");
    if text.is_empty() { ".".into() } else { text }
}

/// For each occurrence of `pattern`, the identifier (`[A-Za-z0-9_]`) that follows it, with its
/// 1-based line number. Used for `process.env.NAME` and `os.environ["NAME"` alike (the quote is
/// part of the pattern).
pub fn identifiers_after(text: &str, pattern: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, _) in line.match_indices(pattern) {
            let rest = &line[i + pattern.len()..];
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.push((n + 1, ident));
            }
        }
    }
    found
}

/// For each occurrence of `pattern`, the quoted string that follows it (after optional spaces).
pub fn quoted_after(text: &str, pattern: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, _) in line.match_indices(pattern) {
            if let Some(s) = leading_quoted(&line[i + pattern.len()..]) {
                found.push((n + 1, s));
            }
        }
    }
    found
}

/// The quoted string at the start of `text` (after spaces), `"…"` or `'…'`.
pub fn leading_quoted(text: &str) -> Option<String> {
    let text = text.trim_start();
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &text[1..];
    body.find(quote).map(|end| body[..end].to_string())
}

/// The 1-based line of the first occurrence of `needle`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|n| n + 1)
}

/// The first number after `flag` in a command line (`--port 8000`, `-p 3000`, `--port=8000`).
pub fn port_after_flag(command: &str, flags: &[&str]) -> Option<u16> {
    let words: Vec<&str> = command
        .split(|c: char| {
            c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '[' || c == ']'
        })
        .filter(|w| !w.is_empty())
        .collect();
    for (i, word) in words.iter().enumerate() {
        for flag in flags {
            if word == flag {
                if let Some(port) = words.get(i + 1).and_then(|w| w.parse().ok()) {
                    return Some(port);
                }
            } else if let Some(value) = word.strip_prefix(&format!("{flag}="))
                && let Ok(port) = value.parse()
            {
                return Some(port);
            }
        }
    }
    None
}

/// The first `module.path:attr` word of a command line (an ASGI app reference).
pub fn asgi_reference(command: &str) -> Option<String> {
    command
        .split(|c: char| {
            c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '[' || c == ']'
        })
        .find(|w| {
            let Some((module, attr)) = w.split_once(':') else {
                return false;
            };
            let ident = |s: &str| {
                !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !s.starts_with(|c: char| c.is_ascii_digit())
            };
            module.split('.').all(ident) && ident(attr)
        })
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners_read_names_quotes_ports_and_app_references() {
        let py = "x = os.environ[\"API_KEY\"]\ny = os.getenv('LOG_LEVEL', 'info')\n";
        assert_eq!(
            identifiers_after(py, "os.environ[\""),
            [(1, "API_KEY".to_string())]
        );
        assert_eq!(
            quoted_after(py, "os.getenv("),
            [(2, "LOG_LEVEL".to_string())]
        );
        assert_eq!(
            port_after_flag(
                "uvicorn app.main:app --host 0.0.0.0 --port 8080",
                &["--port"]
            ),
            Some(8080)
        );
        assert_eq!(
            port_after_flag("next start -p 4000", &["-p", "--port"]),
            Some(4000)
        );
        assert_eq!(port_after_flag("next start", &["-p", "--port"]), None);
        assert_eq!(
            asgi_reference(
                "[\"gunicorn\", \"-k\", \"uvicorn.workers.UvicornWorker\", \"app.main:app\"]"
            ),
            Some("app.main:app".into())
        );
        assert_eq!(asgi_reference("http://localhost:8000"), None);
    }
}
