//! Rules of the browser origin: `expose.url` is an origin and nothing more,
//! `expose.localPorts` names routed components with distinct ports.

use std::collections::BTreeMap;

use super::super::env_rules::suggest;
use super::super::error::Problem;
use super::super::model::Values;

/// Why `text` is not an origin (`http(s)://host[:port]`), if it is not.
pub fn origin_problem(text: &str) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(text) else {
        return Some("it does not parse as a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some("its scheme is not http or https");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("it has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("it carries credentials");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Some("it has a path, query or fragment (an origin is scheme, host and port only)");
    }
    None
}

pub fn check_origin(problems: &mut Vec<Problem>, values: &Values) {
    let expose = &values.expose;
    if !expose.url.is_empty()
        && let Some(why) = origin_problem(&expose.url)
    {
        problems.push(
            Problem::new(
                "expose.url",
                format!(
                    "`{}` is not an origin: {why}; allowed: http(s)://host[:port], e.g. http://localhost:3000 or https://todo.example.com",
                    expose.url
                ),
            )
            .with_hint("put paths in {externalUrl: /path}, not in the origin"),
        );
    }
    let routed: Vec<String> = values
        .expose
        .routes
        .values()
        .map(|r| r.component())
        .filter(|c| values.components.get(*c).is_some_and(|c| c.port.is_some()))
        .map(str::to_string)
        .collect();
    let mut seen: BTreeMap<u16, &str> = BTreeMap::new();
    for (name, port) in &expose.local_ports {
        let at = format!("expose.localPorts.{name}");
        if !routed.contains(name) {
            problems.push(
                Problem::new(
                    at.clone(),
                    format!("`{name}` is not a routed component with a port; `berth open` serves only what expose.routes routes"),
                )
                .with_hint(suggest(name, routed.iter(), "routed components")),
            );
        }
        if *port == 0 {
            problems.push(Problem::new(
                at.clone(),
                "0 is not a port; allowed: 1–65535 (above 1023 needs no root)",
            ));
        } else if let Some(other) = seen.get(port) {
            problems.push(Problem::new(
                at,
                format!("port {port} is also expose.localPorts.{other}; each local port serves one component"),
            ));
        } else {
            seen.insert(*port, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for ok in [
            "http://localhost:3000",
            "https://todo.example.com",
            "http://10.240.254.2:30080/",
            "http://[::1]:8080",
        ] {
            assert_eq!(origin_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("localhost:3000", "scheme"),
            ("todo.example.com", "parse"),
            ("ftp://todo.example.com", "scheme"),
            ("http://todo.example.com/app", "path"),
            ("http://todo.example.com/?a=b", "query"),
            ("https://u:p@todo.example.com", "credentials"),
            ("http://", "parse"),
        ] {
            let problem = origin_problem(bad).unwrap_or_default();
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }
}
