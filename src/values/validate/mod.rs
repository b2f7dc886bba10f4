//! Rules that JSON types alone cannot express. Every rule reports the key path,
//! the offending value and what is allowed; all problems are collected at once.

mod database;
mod edge;
mod formats;
mod origin;

pub use database::{check_database_url, masked_url, validate_secret_values};
pub use formats::{check_path, is_dns_1035, is_dns_label, is_dns_subdomain, is_env_name};
pub use origin::{check_origin, origin_problem};

use super::error::Problem;
use super::model::{Autoscaling, Component, ExposeMode, Values};
use database::check_database;
use formats::*;

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
    problems.extend(super::build_env::check_build_envs(values));
    check_secrets(&mut problems, values);
    check_database(&mut problems, values);
    check_expose(&mut problems, values);
    edge::check_edge(&mut problems, &values.expose.edge);
    check_origin(&mut problems, values);
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
const RESERVED_NAMES: [&str; 3] = ["postgres", "default-deny", "edge"];

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
impl Values {
    /// Components that read an existing Secret, with its name.
    pub fn existing_secrets(&self) -> Vec<(&str, &str)> {
        self.enabled_components()
            .filter_map(|(name, c)| Some((name.as_str(), c.existing_secret.as_deref()?)))
            .collect()
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
