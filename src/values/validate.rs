//! Rules that JSON types alone cannot express. Every rule reports the key path,
//! the offending value and what is allowed; all problems are collected at once.

use super::error::Problem;
use super::model::{Autoscaling, Component, DatabaseMode, ExposeMode, Resources, Values};
use super::quantity::parse_quantity;

pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i32> = 30000..=32767;

/// Checks every cross-field rule; an empty list means the values are valid.
pub fn validate(values: &Values) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_dns_label(&mut problems, "namespace.name", &values.namespace.name);
    if values.components.is_empty() {
        problems.push(
            Problem::new("components", "is empty; nothing to deploy")
                .with_hint("declare at least one component, e.g. components.web.image"),
        );
    }
    for (name, c) in &values.components {
        check_component(&mut problems, values, name, c);
    }
    check_secrets(&mut problems, values);
    check_database(&mut problems, values);
    check_expose(&mut problems, values);
    problems.extend(super::routes::check_routes(values));
    check_scaling(&mut problems, values);
    problems
}

/// Object names are `<release>-<component>` and must stay DNS-1035 labels
/// (Service names): checked once the release name is known.
pub fn check_names_fit(values: &Values, release: &str) -> Vec<Problem> {
    values
        .components
        .keys()
        .filter(|name| release.len() + 1 + name.len() > 63)
        .map(|name| {
            Problem::new(
                format!("components.{name}"),
                format!(
                    "`{release}-{name}` is longer than 63 characters, the limit of a Service name"
                ),
            )
            .with_hint("choose a shorter component or release name")
        })
        .collect()
}

/// Names berth gives its own objects beside the components'.
const RESERVED_NAMES: [&str; 2] = ["postgres", "default-deny"];

fn check_component(problems: &mut Vec<Problem>, values: &Values, name: &str, c: &Component) {
    let at = |key: &str| format!("components.{name}.{key}");
    if !is_dns_1035(name) {
        problems.push(Problem::new(
            format!("components.{name}"),
            format!("`{name}` is not a valid component name; allowed: up to 63 lower-case letters, digits and `-`, starting with a letter and not ending with `-` (DNS-1035)"),
        ));
    } else if RESERVED_NAMES.contains(&name) {
        problems.push(Problem::new(
            format!("components.{name}"),
            format!("`{name}` is a name berth uses for its own objects; choose another"),
        ));
    }
    if let Some(replicas) = c.replicas.filter(|r| *r < 0) {
        problems.push(Problem::new(
            at("replicas"),
            format!("{replicas} is negative; allowed: 0 or more"),
        ));
    }
    if let Some(port) = c.port {
        check_port(problems, &at("port"), port);
    }
    check_image(
        problems,
        &format!("components.{name}"),
        &c.image.repository,
        &c.image.tag,
    );
    if let Some(build) = &c.image.build
        && (build.starts_with('/') || !build.ends_with(".toml"))
    {
        problems.push(Problem::new(
            at("image.build"),
            format!("`{build}` is not a build spec path; allowed: a relative path to a .toml file, e.g. images/web.toml"),
        ));
    }
    if let Some(label) = &c.name_label {
        check_label_value(problems, &at("nameLabel"), label);
    }
    check_probes(problems, name, c);
    check_user(problems, &at("runAsUser"), c.uid());
    if let Some(resources) = &c.resources {
        check_resources(problems, &at("resources"), resources);
    }
    check_writable_paths(problems, name, &c.writable_paths);
    for key in c.pod_annotations.keys() {
        check_qualified_key(problems, &at(&format!("podAnnotations.{key}")), key);
    }
    for (key, value) in &c.pod_labels {
        let path = at(&format!("podLabels.{key}"));
        check_qualified_key(problems, &path, key);
        check_label_value(problems, &path, value);
        if key.starts_with("app.kubernetes.io/") {
            problems.push(Problem::new(
                path,
                "app.kubernetes.io/ labels are berth's (they select the pods); use another prefix",
            ));
        }
    }
    // Release-wide values are checked once, at their own key.
    if c.autoscaling != Default::default() {
        check_autoscaling(
            problems,
            &at("autoscaling"),
            &c.autoscaling.over(&values.autoscaling),
        );
    }
    if let Some(min) = c.pod_disruption_budget.min_available.filter(|m| *m < 0) {
        problems.push(Problem::new(
            at("podDisruptionBudget.minAvailable"),
            format!("{min} is negative; allowed: 0 or more"),
        ));
    }
    problems.extend(super::env_rules::check_env(values, name, c));
    if let Some(existing) = &c.existing_secret
        && !is_dns_subdomain(existing)
    {
        problems.push(Problem::new(
            at("existingSecret"),
            format!("`{existing}` is not a valid Secret name; allowed: lower-case letters, digits, `-` and `.`"),
        ));
    }
    for (i, path) in c.paths.iter().enumerate() {
        check_path(problems, &format!("{}[{i}]", at("paths")), path);
    }
    for (task, spec) in &c.tasks {
        let path = at(&format!("tasks.{task}"));
        if !is_dns_label(task) || task == name {
            problems.push(Problem::new(
                path.clone(),
                format!("`{task}` is not a valid task name; allowed: lower-case letters, digits and `-`, not the component's own name"),
            ));
        }
        if spec.command.is_empty() || spec.command[0].is_empty() {
            problems.push(Problem::new(
                format!("{path}.command"),
                "is empty; allowed: the program and its arguments, e.g. [alembic, upgrade, head]",
            ));
        }
    }
    for (i, host) in c.egress.iter().enumerate() {
        if egress_port(host).is_none() {
            problems.push(Problem::new(
                format!("{}[{i}]", at("egress")),
                format!("`{host}` is not a host; allowed: a DNS name or IP, optionally with :PORT (e.g. api.openai.com or db.example.com:5432)"),
            ));
        }
    }
}

fn check_probes(problems: &mut Vec<Problem>, name: &str, c: &Component) {
    let at = format!("components.{name}.probes");
    let base = c.probes.base();
    if base.kinds() > 1 {
        problems.push(Problem::new(
            at.clone(),
            "sets more than one of http, tcp and exec; allowed: one default check",
        ));
    }
    let overrides = [
        ("startup", &c.probes.startup),
        ("readiness", &c.probes.readiness),
        ("liveness", &c.probes.liveness),
    ];
    let mut checks = vec![(at.clone(), base)];
    for (key, check) in overrides {
        if let Some(check) = check {
            if check.kinds() != 1 {
                problems.push(Problem::new(
                    format!("{at}.{key}"),
                    "needs exactly one of http (a path), tcp: true or exec (a command)",
                ));
            }
            checks.push((format!("{at}.{key}"), check.clone()));
        }
    }
    for (path, check) in checks {
        if let Some(http) = &check.http {
            check_path(problems, &format!("{path}.http"), http);
        }
        if (check.http.is_some() || check.tcp == Some(true)) && c.port.is_none() {
            problems.push(
                Problem::new(
                    path.clone(),
                    "checks the port, but the component has none (a worker)",
                )
                .with_hint(format!("set components.{name}.port, or use exec")),
            );
        }
        if check.exec.as_ref().is_some_and(|e| e.is_empty()) {
            problems.push(Problem::new(
                format!("{path}.exec"),
                "is empty; allowed: a command, e.g. [cat, /tmp/healthy]",
            ));
        }
    }
}

/// The emptyDir volume name for a writable path: its last two segments,
/// leading dots dropped, joined by `-` (`/app/.next/cache` → `next-cache`).
pub fn writable_volume_name(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_start_matches('.')
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        })
        .collect();
    let tail = &segments[segments.len().saturating_sub(2)..];
    tail.join("-").trim_matches('-').to_string()
}

fn check_writable_paths(problems: &mut Vec<Problem>, name: &str, paths: &[String]) {
    let mut seen = std::collections::BTreeMap::new();
    for (i, path) in paths.iter().enumerate() {
        let at = format!("components.{name}.writablePaths[{i}]");
        if !path.starts_with('/') || path == "/" || path.contains(char::is_whitespace) {
            problems.push(Problem::new(
                at,
                format!(
                    "`{path}` is not a directory; allowed: an absolute path below /, e.g. /tmp"
                ),
            ));
            continue;
        }
        let volume = writable_volume_name(path);
        if !is_dns_label(&volume) {
            problems.push(Problem::new(
                at,
                format!("`{path}` gives the volume name `{volume}`, which is not a valid name"),
            ));
        } else if let Some(other) = seen.insert(volume.clone(), path.clone()) {
            problems.push(Problem::new(
                at,
                format!("`{path}` and `{other}` both give the volume name `{volume}`"),
            ));
        }
    }
}

fn check_secrets(problems: &mut Vec<Problem>, values: &Values) {
    for (name, spec) in &values.secrets {
        let at = format!("secrets.{name}");
        if !is_secret_name(name) {
            problems.push(Problem::new(
                at.clone(),
                format!("`{name}` is not a valid secret name; allowed: letters, digits, `_` and `-`, starting with a letter"),
            ));
        }
        if let Some(env) = &spec.from_env
            && !is_env_name(env)
        {
            problems.push(Problem::new(
                format!("{at}.fromEnv"),
                format!("`{env}` is not an environment variable name; allowed: letters, digits and `_`, not starting with a digit"),
            ));
        }
        if let Some(generate) = &spec.generate
            && !(16..=256).contains(&generate.length)
        {
            problems.push(Problem::new(
                format!("{at}.generate.length"),
                format!("{} is out of range; allowed: 16–256", generate.length),
            ));
        }
    }
}

fn check_database(problems: &mut Vec<Problem>, values: &Values) {
    let db = &values.database;
    let declared = |problems: &mut Vec<Problem>, key: &str, secret: &str| {
        if !values.secrets.contains_key(secret) {
            problems.push(
                Problem::new(
                    key,
                    format!("names the secret `{secret}`, which is not declared"),
                )
                .with_hint(format!(
                    "declare secrets.{secret} (with fromEnv, and generate for a password)"
                )),
            );
        }
    };
    match db.mode {
        DatabaseMode::Internal => {
            declared(problems, "database.passwordSecret", &db.password_secret);
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
        DatabaseMode::External => declared(
            problems,
            "database.external.urlSecret",
            &db.external.url_secret,
        ),
        DatabaseMode::None => {}
    }
}

impl Values {
    /// Components that read an existing Secret, with its name.
    pub fn existing_secrets(&self) -> Vec<(&str, &str)> {
        self.enabled_components()
            .filter_map(|(name, c)| Some((name.as_str(), c.existing_secret.as_deref()?)))
            .collect()
    }
}

/// Rules on secret values, checked once they are resolved (the external database URL).
pub fn validate_secret_values(values: &Values) -> Vec<Problem> {
    let db = &values.database;
    match values.secret_values.get(&db.external.url_secret) {
        Some(url) if db.mode == DatabaseMode::External => {
            check_database_url(url, &format!("secrets.{}", db.external.url_secret))
        }
        _ => Vec::new(),
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
    for (key, host) in [
        ("expose.ingress.host", &expose.ingress.host),
        ("expose.gateway.host", &expose.gateway.host),
    ] {
        if !is_dns_subdomain(host) {
            problems.push(Problem::new(
                key,
                format!(
                    "`{host}` is not a valid DNS name; allowed: lower-case labels of letters, digits and `-`, separated by dots (e.g. todo.local)"
                ),
            ));
        }
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
    if expose.mode == ExposeMode::Gateway && !is_dns_subdomain(&expose.gateway.name) {
        problems.push(
            Problem::new(
                "expose.gateway.name",
                format!(
                    "`{}` is not a Gateway name; an HTTPRoute attaches to an existing Gateway",
                    expose.gateway.name
                ),
            )
            .with_hint("name the Gateway your cluster runs (kubectl get gateways -A)"),
        );
    }
    for (key, ns) in [
        (
            "expose.ingress.controllerNamespace",
            &expose.ingress.controller_namespace,
        ),
        ("expose.gateway.namespace", &expose.gateway.namespace),
    ] {
        if !ns.is_empty() {
            check_dns_label(problems, key, ns);
        }
    }
}

fn check_scaling(problems: &mut Vec<Problem>, values: &Values) {
    check_autoscaling(problems, "autoscaling", &values.autoscaling);
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

fn check_autoscaling(problems: &mut Vec<Problem>, at: &str, a: &Autoscaling) {
    if a.min_replicas < 1 {
        problems.push(Problem::new(
            format!("{at}.minReplicas"),
            format!("{} is below 1; allowed: 1 or more", a.min_replicas),
        ));
    }
    if a.min_replicas > a.max_replicas {
        problems.push(Problem::new(
            format!("{at}.maxReplicas"),
            format!(
                "{} is less than minReplicas ({}); allowed: at least minReplicas",
                a.max_replicas, a.min_replicas
            ),
        ));
    }
    if !(1..=100).contains(&a.target_cpu_utilization) {
        problems.push(Problem::new(
            format!("{at}.targetCpuUtilization"),
            format!(
                "{} is not a percentage; allowed: 1–100",
                a.target_cpu_utilization
            ),
        ));
    }
}

/// The port an egress entry opens: `host` (443) or `host:port`; `None` when malformed.
pub fn egress_port(entry: &str) -> Option<u16> {
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().ok().filter(|p| *p > 0)?),
        None => (entry, 443),
    };
    let ip = host.parse::<std::net::IpAddr>().is_ok();
    (ip || is_dns_subdomain(&host.to_ascii_lowercase())).then_some(port)
}

/// Checks scheme, driver and SSL parameter of a PostgreSQL URL. The URL holds a
/// password, so problems show it with the password masked.
pub fn check_database_url(raw: &str, key: &str) -> Vec<Problem> {
    let Ok(url) = url::Url::parse(raw) else {
        return vec![Problem::new(
            key,
            "is not a URL; allowed: postgresql://USER:PASSWORD@HOST/DB?sslmode=require",
        )];
    };
    let shown = masked_url(&url);
    let (base, driver) = url.scheme().split_once('+').unwrap_or((url.scheme(), ""));
    if !matches!(base, "postgresql" | "postgres") {
        return vec![Problem::new(
            key,
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
            Problem::new(key, format!("`{shown}` uses the asyncpg driver with `sslmode`, which asyncpg does not understand"))
                .with_hint("asyncpg wants `ssl=require`; libpq-style drivers want `sslmode=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" if has("ssl") => problems.push(
            Problem::new(key, format!("`{shown}` uses a libpq-style driver with `ssl`, which it does not understand"))
                .with_hint("libpq-style drivers want `sslmode=require`; asyncpg wants `ssl=require`"),
        ),
        "" | "psycopg" | "psycopg2" | "pg8000" | "asyncpg" => {}
        other => problems.push(Problem::new(
            key,
            format!("`{shown}` names driver `{other}`; allowed: psycopg, psycopg2, pg8000, asyncpg, or none"),
        )),
    }
    if url.host_str().is_none_or(str::is_empty) {
        problems.push(Problem::new(key, format!("`{shown}` has no host")));
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

pub fn check_path(problems: &mut Vec<Problem>, path: &str, value: &str) {
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

/// RFC 1035 label: a DNS label starting with a letter, as Service names require.
pub fn is_dns_1035(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_secret_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name.
fn check_qualified_key(problems: &mut Vec<Problem>, path: &str, key: &str) {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !name_ok || (!prefix.is_empty() && !is_dns_subdomain(prefix)) {
        problems.push(Problem::new(
            path,
            format!("`{key}` is not a valid key; allowed: [prefix/]name, name up to 63 letters, digits, `-`, `_`, `.`"),
        ));
    }
}

fn check_label_value(problems: &mut Vec<Problem>, path: &str, value: &str) {
    let ok = value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if !ok {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not a valid label value; allowed: up to 63 letters, digits, `-`, `_`, `.`"),
        ));
    }
}

/// RFC 1123 subdomain (dot-separated labels), as Ingress hosts require.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

pub fn is_env_name(s: &str) -> bool {
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

    fn check_database_url_t(url: &str) -> Vec<Problem> {
        check_database_url(url, "secrets.databaseUrl")
    }

    #[test]
    fn writable_volume_names_come_from_the_last_two_segments() {
        assert_eq!(writable_volume_name("/tmp"), "tmp");
        assert_eq!(writable_volume_name("/app/.next/cache"), "next-cache");
        assert_eq!(writable_volume_name("/home/App/.cache/"), "app-cache");
    }

    #[test]
    fn egress_entries_name_a_host_and_maybe_a_port() {
        assert_eq!(egress_port("api.openai.com"), Some(443));
        assert_eq!(egress_port("db.example.com:5432"), Some(5432));
        assert_eq!(egress_port("10.0.0.1:6379"), Some(6379));
        assert_eq!(egress_port("not a host"), None);
        assert_eq!(egress_port("h:0"), None);
    }

    #[test]
    fn database_url_driver_and_ssl_must_agree() {
        assert!(
            check_database_url_t("postgresql://u:p@db.neon.tech/todo?sslmode=require").is_empty()
        );
        assert!(
            check_database_url_t("postgresql+asyncpg://u:p@db.neon.tech/todo?ssl=require")
                .is_empty()
        );
        assert!(check_database_url_t("postgresql+psycopg://u:p@h/todo").is_empty());

        let asyncpg = check_database_url_t("postgresql+asyncpg://u:secret@h/todo?sslmode=require");
        assert_eq!(asyncpg.len(), 1);
        assert!(asyncpg[0].hint.as_deref().unwrap().contains("ssl=require"));
        assert!(
            !asyncpg[0].message.contains("secret"),
            "password must be masked"
        );

        let libpq = check_database_url_t("postgresql://u:p@h/todo?ssl=require");
        assert!(
            libpq[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("sslmode=require")
        );

        assert!(
            check_database_url_t("mysql://u:p@h/db")[0]
                .message
                .contains("scheme `mysql`")
        );
        assert!(
            check_database_url_t("not a url")[0]
                .message
                .contains("not a URL")
        );
        assert!(
            check_database_url_t("postgresql+odbc://u:p@h/db")[0]
                .message
                .contains("driver `odbc`")
        );
    }
}
