//! A Dockerfile's facts: base image, port, command, environment, user, health check, and the
//! steps berth's image specs cannot express.

use super::text::{asgi_reference, port_after_flag};
use crate::init::findings::{EnvUse, Found, Source};

/// What one Dockerfile says (its last stage for `FROM`, `CMD` and `USER`).
#[derive(Debug, Default, Clone)]
pub struct Dockerfile {
    pub base: Option<Found<String>>,
    pub port: Option<Found<u16>>,
    pub command: Option<Found<String>>,
    pub env: Vec<(String, Found<EnvUse>)>,
    pub user: Option<Found<String>>,
    pub health: Option<Found<String>>,
    pub untranslated: Vec<Found<String>>,
}

impl Dockerfile {
    /// The ASGI app its command starts, if any.
    pub fn asgi_app(&self) -> Option<Found<String>> {
        let command = self.command.as_ref()?;
        asgi_reference(&command.value).map(|app| Found::new(app, command.source.clone()))
    }

    /// The Python version of a `python:3.x…` base.
    pub fn python_version(&self) -> Option<Found<String>> {
        let base = self.base.as_ref()?;
        let tag = base.value.rsplit_once("python:")?.1;
        let version: String = tag
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let minor: Vec<&str> = version.split('.').take(2).collect();
        (minor.len() == 2).then(|| Found::new(minor.join("."), base.source.clone()))
    }
}

/// Package managers and system changes: they need a base image that already has the result.
const UNTRANSLATABLE: [&str; 6] = [
    "apt-get",
    "apk add",
    "yum install",
    "dnf install",
    "curl ",
    "wget ",
];

/// Parse `text` (the Dockerfile at `file`, relative to the repository).
pub fn parse(file: &str, text: &str) -> Dockerfile {
    let mut facts = Dockerfile::default();
    for (line, instruction) in logical_lines(text) {
        let (keyword, rest) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.as_str(), ""));
        let rest = rest.trim();
        let at = |what: String| Source::new(file, Some(line), what);
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                let image = rest.split_whitespace().next().unwrap_or("").to_string();
                facts.base = Some(Found::new(image, at(format!("FROM {rest}"))));
                facts.command = None;
                facts.user = None;
            }
            "EXPOSE" => {
                let first = rest.split_whitespace().next().unwrap_or("");
                if let Ok(port) = first.trim_end_matches("/tcp").parse::<u16>() {
                    facts.port = Some(Found::new(port, at(format!("EXPOSE {rest}"))));
                }
            }
            "CMD" | "ENTRYPOINT" => {
                let command = command_words(rest).join(" ");
                let joined = match (&facts.command, keyword.eq_ignore_ascii_case("CMD")) {
                    (Some(previous), true) if previous.source.what.starts_with("ENTRYPOINT") => {
                        format!("{} {command}", previous.value)
                    }
                    _ => command,
                };
                facts.command = Some(Found::new(
                    joined,
                    at(format!("{} {rest}", keyword.to_ascii_uppercase())),
                ));
            }
            "ENV" | "ARG" => {
                let build_time = keyword.eq_ignore_ascii_case("ARG");
                for (name, value) in assignments(rest) {
                    let use_ = EnvUse {
                        example: value,
                        required: false,
                        build_time,
                    };
                    let what = format!("{} {name}", keyword.to_ascii_uppercase());
                    facts.env.push((name, Found::new(use_, at(what))));
                }
            }
            "USER" => facts.user = Some(Found::new(rest.to_string(), at(format!("USER {rest}")))),
            "HEALTHCHECK" => {
                if let Some(path) = url_path(rest) {
                    facts.health = Some(Found::new(path, at("HEALTHCHECK".into())));
                }
            }
            "RUN" if UNTRANSLATABLE.iter().any(|p| rest.contains(p)) => {
                let short: String = rest.chars().take(60).collect();
                facts
                    .untranslated
                    .push(Found::new(format!("RUN {short}"), at("RUN".into())));
            }
            _ => {}
        }
    }
    if let (None, Some(command)) = (&facts.port, &facts.command)
        && let Some(port) = port_after_flag(&command.value, &["--port", "-p", "--bind"])
    {
        facts.port = Some(Found::new(port, command.source.clone()));
    }
    facts
}

/// Instructions with their first line, continuation lines joined, comments dropped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_none()) {
            continue;
        }
        let (body, continued) = match line.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (line, false),
        };
        let entry = current.get_or_insert_with(|| (n + 1, String::new()));
        if !entry.1.is_empty() {
            entry.1.push(' ');
        }
        entry.1.push_str(body);
        if !continued {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// Words of an exec-form (`["a", "b"]`) or shell-form command.
pub fn command_words(text: &str) -> Vec<String> {
    let text = text.trim();
    if let Ok(words) = serde_json::from_str::<Vec<String>>(text) {
        return words;
    }
    text.split_whitespace().map(String::from).collect()
}

/// `K=V K2=V2` or the legacy `K V` form; values unquoted.
fn assignments(text: &str) -> Vec<(String, Option<String>)> {
    if !text.contains('=') {
        let mut parts = text.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or("").to_string();
        let value = parts.next().map(|v| v.trim().trim_matches('"').to_string());
        return vec![(name, value)];
    }
    text.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.trim_matches('"').to_string())),
            None => (pair.to_string(), None),
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The path of the first `http://host[:port]/path` in `text`.
pub fn url_path(text: &str) -> Option<String> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    let rest = &text[start..];
    let after_scheme = &rest[rest.find("//")? + 2..];
    let path_start = after_scheme.find('/')?;
    let path: String = after_scheme[path_start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ']' | ',' | '|' | ')'))
        .collect();
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dockerfile_gives_base_port_command_env_user_health_and_what_cannot_be_translated() {
        let text = "FROM node:22 AS build\nRUN npm ci\n\nFROM python:3.13-slim\n\
                    RUN apt-get update && \\\n  apt-get install -y libpq5\n\
                    ENV PYTHONUNBUFFERED=1 LOG_LEVEL=info\nARG GIT_SHA\nUSER 10001\n\
                    EXPOSE 8080\nHEALTHCHECK CMD curl -f http://localhost:8080/healthz || exit 1\n\
                    CMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n";
        let facts = parse("api/Dockerfile", text);
        assert_eq!(facts.base.as_ref().unwrap().value, "python:3.13-slim");
        let port = facts.port.clone().unwrap();
        assert_eq!((port.value, port.source.line), (8080, Some(10)));
        assert_eq!(facts.asgi_app().unwrap().value, "app.main:app");
        assert_eq!(facts.user.as_ref().unwrap().value, "10001");
        assert_eq!(facts.health.as_ref().unwrap().value, "/healthz");
        let env: Vec<(&str, bool)> = facts
            .env
            .iter()
            .map(|(n, f)| (n.as_str(), f.value.build_time))
            .collect();
        assert_eq!(
            env,
            [
                ("PYTHONUNBUFFERED", false),
                ("LOG_LEVEL", false),
                ("GIT_SHA", true)
            ]
        );
        assert_eq!(facts.untranslated.len(), 1);
        assert_eq!(facts.untranslated[0].source.line, Some(5));
    }
}
