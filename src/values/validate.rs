//! Rules that JSON types alone cannot express. Every rule reports the key path,
//! the offending value and what is allowed; all problems are collected at once.

use super::error::Problem;
use super::model::{Component, DatabaseMode, ExposeMode, Resources, Values};
use super::quantity::parse_quantity;

pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i32> = 30000..=32767;

/// Checks every cross-field rule; an empty list means the values are valid.
pub fn validate(values: &Values) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_dns_label(&mut problems, "namespace.name", &values.namespace.name);
    check_component(&mut problems, "frontend", &values.frontend);
    check_component(&mut problems, "backend", &values.backend);
    check_component(&mut problems, "mcp", &values.mcp.as_component());
    check_path(&mut problems, "mcp.path", &values.mcp.path);
    check_database(&mut problems, values);
    check_expose(&mut problems, values);
    check_scaling(&mut problems, values);
    check_llm(&mut problems, values);
    problems
}

fn check_component(problems: &mut Vec<Problem>, name: &str, c: &Component) {
    if c.replicas < 0 {
        problems.push(Problem::new(
            format!("{name}.replicas"),
            format!("{} is negative; allowed: 0 or more", c.replicas),
        ));
    }
    check_port(problems, &format!("{name}.port"), c.port);
    check_image(problems, name, &c.image.repository, &c.image.tag);
    check_path(problems, &format!("{name}.healthPath"), &c.health_path);
    check_path(problems, &format!("{name}.readyPath"), &c.ready_path);
    check_user(problems, &format!("{name}.runAsUser"), c.run_as_user);
    check_resources(problems, &format!("{name}.resources"), &c.resources);
    for key in c.env.keys() {
        if !is_env_name(key) {
            problems.push(Problem::new(
                format!("{name}.env.{key}"),
                "is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit",
            ));
        }
    }
}

fn check_database(problems: &mut Vec<Problem>, values: &Values) {
    let db = &values.database;
    if db.mode == DatabaseMode::Internal {
        let internal = &db.internal;
        check_image(
            problems,
            "database.internal",
            &internal.image.repository,
            &internal.image.tag,
        );
        check_port(problems, "database.internal.port", internal.port);
        check_user(
            problems,
            "database.internal.runAsUser",
            internal.run_as_user,
        );
        check_resources(problems, "database.internal.resources", &internal.resources);
        if parse_quantity(&internal.storage).is_none_or(|q| q <= 0.0) {
            problems.push(Problem::new(
                "database.internal.storage",
                format!(
                    "`{}` is not a positive quantity; allowed: e.g. 1Gi, 500Mi",
                    internal.storage
                ),
            ));
        }
        for (key, value) in [("database.name", &db.name), ("database.user", &db.user)] {
            if !is_identifier(value) {
                problems.push(Problem::new(
                    key,
                    format!("`{value}` is not allowed; use letters, digits and `_`, starting with a letter"),
                ));
            }
        }
    }
    if !values.secrets.database_url.is_empty() {
        problems.extend(check_database_url(&values.secrets.database_url));
    }
}

fn check_expose(problems: &mut Vec<Problem>, values: &Values) {
    let expose = &values.expose;
    if !NODE_PORT_RANGE.contains(&expose.node_port) {
        problems.push(Problem::new(
            "expose.nodePort",
            format!(
                "{} is outside the NodePort range; allowed: 30000–32767",
                expose.node_port
            ),
        ));
    }
    if !is_dns_subdomain(&expose.ingress.host) {
        problems.push(Problem::new(
            "expose.ingress.host",
            format!(
                "`{}` is not a valid DNS name; allowed: lower-case labels of letters, digits and `-`, separated by dots (e.g. todo.local)",
                expose.ingress.host
            ),
        ));
    }
    if expose.mode == ExposeMode::Ingress && expose.ingress.class_name.is_empty() {
        problems.push(
            Problem::new(
                "expose.ingress.className",
                "is empty; an Ingress needs a class",
            )
            .with_hint("Minikube's ingress addon uses `nginx`"),
        );
    }
    if !expose.ingress.controller_namespace.is_empty() {
        check_dns_label(
            problems,
            "expose.ingress.controllerNamespace",
            &expose.ingress.controller_namespace,
        );
    }
}

fn check_scaling(problems: &mut Vec<Problem>, values: &Values) {
    let a = &values.autoscaling;
    if a.min_replicas < 1 {
        problems.push(Problem::new(
            "autoscaling.minReplicas",
            format!("{} is below 1; allowed: 1 or more", a.min_replicas),
        ));
    }
    if a.min_replicas > a.max_replicas {
        problems.push(Problem::new(
            "autoscaling.maxReplicas",
            format!(
                "{} is less than autoscaling.minReplicas ({}); allowed: at least minReplicas",
                a.max_replicas, a.min_replicas
            ),
        ));
    }
    if !(1..=100).contains(&a.target_cpu_utilization) {
        problems.push(Problem::new(
            "autoscaling.targetCpuUtilization",
            format!(
                "{} is not a percentage; allowed: 1–100",
                a.target_cpu_utilization
            ),
        ));
    }
    if values.pod_disruption_budget.min_available < 0 {
        problems.push(Problem::new(
            "podDisruptionBudget.minAvailable",
            format!(
                "{} is negative; allowed: 0 or more",
                values.pod_disruption_budget.min_available
            ),
        ));
    }
}

fn check_llm(problems: &mut Vec<Problem>, values: &Values) {
    let base_url = &values.llm.base_url;
    if !base_url.is_empty()
        && !url::Url::parse(base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        problems.push(Problem::new(
            "llm.baseUrl",
            format!("`{base_url}` is not an http(s) URL; allowed: e.g. https://api.example.com/v1, or empty"),
        ));
    }
}

/// Checks scheme, driver and SSL parameter of a PostgreSQL URL. The URL holds a
/// password, so problems show it with the password masked.
pub fn check_database_url(raw: &str) -> Vec<Problem> {
    const KEY: &str = "secrets.databaseUrl";
    let Ok(url) = url::Url::parse(raw) else {
        return vec![Problem::new(
            KEY,
            "is not a URL; allowed: postgresql://USER:PASSWORD@HOST/DB?sslmode=require",
        )];
    };
    let shown = masked_url(&url);
    let (base, driver) = url.scheme().split_once('+').unwrap_or((url.scheme(), ""));
    if !matches!(base, "postgresql" | "postgres") {
        return vec![Problem::new(
            KEY,
            format!(
                "`{shown}` has scheme `{}`; allowed: postgresql:// or postgresql+DRIVER://",
                url.scheme()
            ),
        )];
    }
    let has = |name: &str| url.query_pairs().any(|(k, _)| k == name);
    let mut problems = Vec::new();
    match driver {
        "asyncpg" if has("sslmode") => problems.push(
            Problem::new(KEY, format!("`{shown}` uses the asyncpg driver with `sslmode`, which asyncpg does not understand"))
                .with_hint("asyncpg wants `ssl=require`; libpq-style drivers want `sslmode=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" if has("ssl") => problems.push(
            Problem::new(KEY, format!("`{shown}` uses a libpq-style driver with `ssl`, which it does not understand"))
                .with_hint("libpq-style drivers want `sslmode=require`; asyncpg wants `ssl=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" | "asyncpg" => {}
        other => problems.push(Problem::new(
            KEY,
            format!("`{shown}` names driver `{other}`; allowed: psycopg, psycopg2, pg8000, asyncpg, or none"),
        )),
    }
    if url.host_str().is_none_or(str::is_empty) {
        problems.push(Problem::new(KEY, format!("`{shown}` has no host")));
    }
    problems
}

/// The URL with its password replaced, safe to print.
pub fn masked_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("****"));
    }
    shown.to_string()
}

fn check_resources(problems: &mut Vec<Problem>, path: &str, r: &Resources) {
    let amounts = [
        ("requests.cpu", &r.requests.cpu),
        ("requests.memory", &r.requests.memory),
        ("limits.cpu", &r.limits.cpu),
        ("limits.memory", &r.limits.memory),
    ];
    let mut parsed = Vec::new();
    for (key, text) in amounts {
        match parse_quantity(text) {
            Some(q) if q > 0.0 => parsed.push(Some(q)),
            _ => {
                problems.push(Problem::new(
                    format!("{path}.{key}"),
                    format!("`{text}` is not a positive quantity; allowed: e.g. 250m or 1 for cpu, 256Mi or 1Gi for memory"),
                ));
                parsed.push(None);
            }
        }
    }
    for (resource, request, limit, req_text, lim_text) in [
        ("cpu", parsed[0], parsed[2], &r.requests.cpu, &r.limits.cpu),
        (
            "memory",
            parsed[1],
            parsed[3],
            &r.requests.memory,
            &r.limits.memory,
        ),
    ] {
        if let (Some(request), Some(limit)) = (request, limit)
            && request > limit
        {
            problems.push(Problem::new(
                format!("{path}.requests.{resource}"),
                format!("{req_text} is more than the limit {lim_text}; allowed: at most {path}.limits.{resource}"),
            ));
        }
    }
}

fn check_image(problems: &mut Vec<Problem>, path: &str, repository: &str, tag: &str) {
    if repository.is_empty()
        || repository.contains(char::is_whitespace)
        || repository.contains(':') && !repository.contains('/')
    {
        problems.push(Problem::new(
            format!("{path}.image.repository"),
            format!("`{repository}` is not an image repository; allowed: e.g. docker.io/library/postgres"),
        ));
    }
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !tag.starts_with(['.', '-']);
    if !tag_ok {
        problems.push(Problem::new(
            format!("{path}.image.tag"),
            format!(
                "`{tag}` is not an image tag; allowed: letters, digits, `_`, `.`, `-` (up to 128)"
            ),
        ));
    }
}

fn check_port(problems: &mut Vec<Problem>, path: &str, port: u16) {
    if port == 0 {
        problems.push(Problem::new(path, "0 is not a port; allowed: 1–65535"));
    }
}

fn check_path(problems: &mut Vec<Problem>, path: &str, value: &str) {
    if !value.starts_with('/') || value.contains(char::is_whitespace) {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not an HTTP path; allowed: starting with `/`, no spaces"),
        ));
    }
}

fn check_user(problems: &mut Vec<Problem>, path: &str, uid: i64) {
    if uid <= 0 {
        problems.push(Problem::new(
            path,
            format!("{uid} is root or invalid; allowed: a numeric non-root user id (1 or more)"),
        ));
    }
}

fn check_dns_label(problems: &mut Vec<Problem>, path: &str, value: &str) {
    if !is_dns_label(value) {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not a valid name; allowed: up to 63 lower-case letters, digits and `-`, starting and ending with a letter or digit"),
        ));
    }
}

/// RFC 1123 label, as Kubernetes uses for namespaces and Service names.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain (dot-separated labels), as Ingress hosts require.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_subdomain("todo.local"));
        assert!(is_dns_subdomain("a-b.example.com"));
        for bad in [
            "",
            "Todo.local",
            "todo..local",
            "-a.b",
            "a_b.c",
            "todo.local.",
        ] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn database_url_driver_and_ssl_must_agree() {
        assert!(
            check_database_url("postgresql://u:p@db.neon.tech/todo?sslmode=require").is_empty()
        );
        assert!(
            check_database_url("postgresql+asyncpg://u:p@db.neon.tech/todo?ssl=require").is_empty()
        );
        assert!(check_database_url("postgresql+psycopg://u:p@h/todo").is_empty());

        let asyncpg = check_database_url("postgresql+asyncpg://u:secret@h/todo?sslmode=require");
        assert_eq!(asyncpg.len(), 1);
        assert!(asyncpg[0].hint.as_deref().unwrap().contains("ssl=require"));
        assert!(
            !asyncpg[0].message.contains("secret"),
            "password must be masked"
        );

        let libpq = check_database_url("postgresql://u:p@h/todo?ssl=require");
        assert!(
            libpq[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("sslmode=require")
        );

        assert!(
            check_database_url("mysql://u:p@h/db")[0]
                .message
                .contains("scheme `mysql`")
        );
        assert!(
            check_database_url("not a url")[0]
                .message
                .contains("not a URL")
        );
        assert!(
            check_database_url("postgresql+odbc://u:p@h/db")[0]
                .message
                .contains("driver `odbc`")
        );
    }
}
