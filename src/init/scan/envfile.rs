//! `.env`-style files. Example files (`.env.example`, `.env.sample`, `.env.template`) are read
//! for names and their example values; any other env file (`.env`, `.env.local`) for names only:
//! its values are the team's real secrets and never leave it.

use std::path::Path;

use crate::init::findings::{EnvUse, Found, Source};

/// Whether `name` is an example env file, whose values are placeholders meant to be shared.
pub fn is_example(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.starts_with(".env") || lower.ends_with(".env") || lower.contains(".env."))
        && ["example", "sample", "template", "dist"]
            .iter()
            .any(|w| lower.contains(w))
}

/// Whether `name` is any env file berth reads.
pub fn is_env_file(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || name.ends_with(".env")
}

/// Variables of the env file `rel` (relative to `root`), with example values only when it is an
/// example file.
pub fn read(root: &Path, rel: &str) -> Vec<(String, Found<EnvUse>)> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let keep_values = is_example(name);
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((var, value)) = line.split_once('=') else {
            continue;
        };
        let var = var.trim().to_string();
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value
            .split(" #")
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '\'']);
        let example = (keep_values && !value.is_empty()).then(|| value.to_string());
        out.push((
            var.clone(),
            Found::new(
                EnvUse {
                    example,
                    required: false,
                    build_time: false,
                },
                Source::new(rel, Some(n + 1), var),
            ),
        ));
    }
    out
}

/// Like [`read`] but never keeps a value, whatever the file.
pub fn read_names_only(root: &Path, rel: &str) -> Vec<(String, Found<EnvUse>)> {
    let mut vars = read(root, rel);
    for (_, found) in &mut vars {
        found.value.example = None;
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_only_from_example_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "OPENAI_API_KEY=value-never-copied\nLOG_LEVEL=debug\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".env.example"),
            "# comment\nexport OPENAI_API_KEY=\nLOG_LEVEL=\"info\" # default\n",
        )
        .unwrap();
        let real = read(dir.path(), ".env");
        assert_eq!(real.len(), 2);
        assert!(
            real.iter().all(|(_, f)| f.value.example.is_none()),
            "{real:?}"
        );
        let example = read(dir.path(), ".env.example");
        let values: Vec<(&str, Option<&str>)> = example
            .iter()
            .map(|(n, f)| (n.as_str(), f.value.example.as_deref()))
            .collect();
        assert_eq!(
            values,
            [("OPENAI_API_KEY", None), ("LOG_LEVEL", Some("info"))]
        );
        assert_eq!(example[1].1.source.to_string(), ".env.example:3 LOG_LEVEL");
        assert!(is_example("backend.env.example") && !is_example(".env.local"));
    }
}
