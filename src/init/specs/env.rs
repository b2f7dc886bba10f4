//! A spec's `[env]`: berth's defaults for the runtime, then the plain settings of the
//! Dockerfile's `ENV` lines, each key once (the Dockerfile's value wins, with its source), and
//! every `$VAR` either resolved here, left for the build to expand against the base image, or
//! not carried over with a note — never copied as literal text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::toml_str;
use crate::images::env_refs;
use crate::init::classify::{Class, classify};
use crate::init::findings::Service;

/// The variables the config of a base image init picks sets (what `$VAR` may refer to), by
/// the image's repository.
pub fn base_env(base: &str) -> &'static [&'static str] {
    let repository = base.split(':').next().unwrap_or(base);
    match repository {
        "docker.io/library/python" => &["PATH", "LANG", "GPG_KEY", "PYTHON_VERSION"],
        "docker.io/library/node" => &["PATH", "NODE_VERSION", "YARN_VERSION"],
        _ => &["PATH"],
    }
}

/// Variables the image layout owns: the Dockerfile's value describes its own layout (a venv,
/// its own port), not berth's.
const LAYOUT: [&str; 4] = ["PORT", "PYTHONPATH", "PATH", "VIRTUAL_ENV"];

struct Entry {
    value: String,
    comment: Option<String>,
}

/// The `[env]` table for `service` on `base`, starting from `defaults` (spec values: `$VAR`
/// is the base's).
pub fn block(
    defaults: &[(&str, String)],
    service: &Service,
    base: &str,
    notes: &mut Vec<String>,
) -> String {
    let mut entries: BTreeMap<String, Entry> = defaults
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                Entry {
                    value: v.clone(),
                    comment: None,
                },
            )
        })
        .collect();
    let mut skipped: Vec<String> = Vec::new();
    let dockerfile: Vec<(&String, &String, String)> = service
        .env
        .iter()
        .filter(|(_, f)| f.source.what.starts_with("ENV "))
        .filter_map(|(name, f)| Some((name, f.value.example.as_ref()?, f.source.to_string())))
        .filter(|(name, value, _)| classify(name, Some(value)) == Class::Config)
        .collect();
    for (name, value, source) in &dockerfile {
        if LAYOUT.contains(&name.as_str()) {
            skipped.push(format!(
                "# {name} from {source} is not carried over: berth's image has its own layout"
            ));
            continue;
        }
        // `$NAME` of another Dockerfile setting is its value; the base's stay for the build.
        let own = |n: &str| {
            dockerfile
                .iter()
                .find(|(other, v, _)| other.as_str() == n && !v.contains('$'))
                .map(|(_, v, _)| env_refs::literal(v))
                .or_else(|| entries.get(n).map(|e| e.value.clone()))
        };
        let known = base_env(base);
        let unknown: Vec<String> = match env_refs::names(value) {
            Ok(names) => names
                .into_iter()
                .filter(|n| own(n).is_none() && !known.contains(&n.as_str()))
                .collect(),
            Err(e) => vec![e.to_string()],
        };
        if !unknown.is_empty() {
            skipped.push(format!(
                "# {name} from {source} is not carried over: it refers to {} ({base} sets {})",
                unknown.join(", "),
                known.join(", ")
            ));
            notes.push(format!(
                "{}: ENV {name}={value} ({source}) refers to {}, which {base} does not set: write its value in images/{}.toml [env] if the app needs it",
                service.name,
                unknown.join(", "),
                service.name
            ));
            continue;
        }
        let value = env_refs::rewrite(value, own).expect("names() parsed it");
        entries.insert(
            (*name).clone(),
            Entry {
                value,
                comment: Some(format!("from {source}")),
            },
        );
    }
    let mut out = String::from("[env]\n");
    for line in skipped {
        let _ = writeln!(out, "{line}");
    }
    for (name, entry) in entries {
        match entry.comment {
            Some(c) => {
                let _ = writeln!(out, "{name} = {}  # {c}", toml_str(&entry.value));
            }
            None => {
                let _ = writeln!(out, "{name} = {}", toml_str(&entry.value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{EnvUse, Found, Runtime, Source};

    fn service(env: &[(&str, &str)]) -> Service {
        let mut s = Service::new(
            "api",
            "api",
            Found::new(
                Runtime::Asgi {
                    app: "main:app".into(),
                },
                Source::assumed("x"),
            ),
        );
        for (i, (k, v)) in env.iter().enumerate() {
            s.env.insert(
                k.to_string(),
                Found::new(
                    EnvUse {
                        example: Some(v.to_string()),
                        ..Default::default()
                    },
                    Source::new("api/Dockerfile", Some(i + 1), format!("ENV {k}")),
                ),
            );
        }
        s
    }

    #[test]
    fn each_key_once_and_no_dollar_copied_literally() {
        let s = service(&[
            ("PYTHONUNBUFFERED", "1"),
            ("PATH", "/app/.venv/bin:$PATH"),
            ("APP_HOME", "/srv/app"),
            ("DATA_DIR", "${APP_HOME}/data"),
            ("LANG_COPY", "$LANG"),
            ("CACHE", "$XDG_CACHE_HOME/app"),
        ]);
        let mut notes = Vec::new();
        let text = block(
            &[
                ("PYTHONUNBUFFERED", "1".into()),
                ("PATH", "/opt/deps/bin:$PATH".into()),
            ],
            &s,
            "docker.io/library/python:3.12-slim-bookworm",
            &mut notes,
        );
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
        let env = table["env"].as_table().unwrap();
        assert_eq!(env["PYTHONUNBUFFERED"].as_str(), Some("1"));
        assert_eq!(
            env["PATH"].as_str(),
            Some("/opt/deps/bin:$PATH"),
            "berth's layout"
        );
        assert_eq!(env["DATA_DIR"].as_str(), Some("/srv/app/data"));
        assert_eq!(
            env["LANG_COPY"].as_str(),
            Some("${LANG}"),
            "the base's, at build"
        );
        assert!(!env.contains_key("CACHE"), "{text}");
        assert!(
            notes.iter().any(|n| n.contains("XDG_CACHE_HOME")),
            "{notes:?}"
        );
        assert!(text.contains("# PATH from api/Dockerfile:2"), "{text}");
    }
}
