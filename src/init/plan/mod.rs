//! Deciding the stack from [`Findings`]: components, each env variable's form (plain, secret,
//! reference), secrets, the database, routes. What could not be decided becomes a question with
//! a default ([`Question`]); `--yes` takes the defaults and lists them as assumptions.

use std::collections::BTreeMap;

use super::classify::{self, Class, Part};
use super::findings::{DatabaseFinding, EnvUse, Findings, Found, Runtime, Service};
use super::scan::component_name;

mod database;
mod origins;
mod resources;
use database::database;

/// An env entry's value in berth.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvPlan {
    Plain(String),
    Secret(String),
    UrlOf {
        component: String,
        path: String,
    },
    ExternalUrl(String),
    Database {
        part: &'static str,
        driver: Option<&'static str>,
    },
}

#[derive(Debug, Clone)]
pub struct EnvEntry {
    pub name: String,
    pub value: EnvPlan,
    pub why: String,
    /// Read by the build, not the running process (`image.buildEnv`): a browser-visible
    /// variable of a page whose build bakes it in.
    pub build: bool,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub service: Service,
    pub env: Vec<EnvEntry>,
    pub egress: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SecretPlan {
    pub name: String,
    pub env: String,
    pub generate: bool,
    pub required: bool,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabasePlan {
    None,
    Internal {
        name: String,
        user: String,
        image: Option<(String, String)>,
        why: String,
        /// Why it serves TLS: code that asks for it (`database.internal.tls`).
        tls: Option<String>,
    },
    External {
        secret: String,
        env: String,
        why: String,
    },
}

/// Something init could not decide, with the default `--yes` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A database URL is read but nothing says where the database is.
    DatabaseMode { variable: String },
}

/// A route init writes: `prefix: component`, or `{component, stripPrefix: true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    pub prefix: String,
    pub component: String,
    /// The component serves at `/` what the browser asks under the prefix.
    pub strip_prefix: bool,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub app_name: String,
    pub app_why: String,
    pub version: String,
    pub components: Vec<Component>,
    pub secrets: Vec<SecretPlan>,
    pub database: DatabasePlan,
    pub routes: Vec<RoutePlan>,
    /// The NodePort an existing manifest gives the entry component, with where.
    pub node_port: Option<(i32, String)>,
    /// Facts the user should know (assumptions, notes, what is left to them).
    pub assumptions: Vec<String>,
    pub left_to_user: Vec<String>,
    pub questions: Vec<Question>,
}

/// Answers to the questions (the defaults under `--yes`).
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// `true`: an external database (the URL is a secret); `false`: berth runs PostgreSQL.
    pub external_database: Option<bool>,
}

pub fn plan(findings: &Findings, answers: &Answers) -> Plan {
    let app_name = findings
        .app_name
        .as_ref()
        .map_or("app".to_string(), |f| component_name(&f.value));
    let mut plan = Plan {
        app_why: findings
            .app_name
            .as_ref()
            .map_or("assumed: app".into(), |f| f.source.describe()),
        app_name,
        version: findings
            .version
            .as_ref()
            .map(|v| v.value.clone())
            .filter(|v| {
                v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            })
            .unwrap_or_else(|| "0.1.0".into()),
        components: Vec::new(),
        secrets: Vec::new(),
        database: DatabasePlan::None,
        routes: Vec::new(),
        node_port: None,
        assumptions: Vec::new(),
        left_to_user: Vec::new(),
        questions: Vec::new(),
    };
    // Env files: a variable in a service's directory belongs to it; one at the root belongs to
    // the services whose code reads it.
    let mut services: Vec<Service> = findings.services.clone();
    for (var, found, dir) in &findings.env_files {
        for service in &mut services {
            let owns = service.dir == *dir || (dir == "." && service.env.contains_key(var));
            if owns {
                merge_env(
                    service
                        .env
                        .entry(var.clone())
                        .or_insert_with(|| found.clone()),
                    found,
                );
            }
        }
    }
    plan.database = database(findings, &services, answers, &mut plan);
    let ports: BTreeMap<String, u16> = services
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.port.as_ref()?.value)))
        .collect();
    let entry_why = services
        .iter()
        .find(|s| {
            matches!(
                s.runtime.value,
                Runtime::NextJs { .. } | Runtime::StaticSite { .. }
            )
        })
        .or_else(|| {
            services
                .iter()
                .find(|s| matches!(s.runtime.value, Runtime::Node { .. }))
        })
        .map(|s| (s.name.clone(), "the frontend is the entry point"))
        .or_else(|| {
            services.first().map(|s| {
                (
                    s.name.clone(),
                    "no frontend: the first HTTP service is the entry point",
                )
            })
        });
    if let Some((entry, why)) = &entry_why {
        plan.routes.push(RoutePlan {
            prefix: "/".into(),
            component: entry.clone(),
            strip_prefix: false,
            why: (*why).into(),
        });
    }
    let entry = entry_why.map(|(name, _)| name);
    // A page that calls its API relative to itself (a development proxy): the same prefix,
    // routed on the deployed origin to the component listening on that port.
    for service in &services {
        for proxy in &service.dev_proxies {
            let target = services.iter().find(|s| {
                s.name != service.name
                    && s.port.as_ref().is_some_and(|p| p.value == proxy.value.port)
            });
            if let Some(target) = target
                && !plan.routes.iter().any(|r| r.prefix == proxy.value.prefix)
            {
                plan.routes.push(RoutePlan {
                    prefix: proxy.value.prefix.clone(),
                    component: target.name.clone(),
                    strip_prefix: false,
                    why: proxy.source.to_string(),
                });
            }
        }
    }
    let stack = origins::Stack {
        services: &services,
        ports: &ports,
        entry: entry.as_deref(),
    };
    let mut secrets: BTreeMap<String, SecretPlan> = BTreeMap::new();
    for service in &services {
        let mut env = Vec::new();
        let mut egress = Vec::new();
        for (var, found) in &service.env {
            if skip_variable(var, found, service) {
                continue;
            }
            let example = found.value.example.as_deref();
            let mut why = found.source.to_string();
            let class = classify::classify(var, example);
            let value = match class {
                Class::Config if django_hosts(var, service) => {
                    why = format!(
                        "{why}; Django answers 400 to a Host not listed, and the kubelet's probes (the pod's IP), other components (the Service's name) and the browser (the entry's address) each send another one"
                    );
                    EnvPlan::Plain("*".into())
                }
                Class::DatabaseUrl if plan.database != DatabasePlan::None => EnvPlan::Database {
                    part: "url",
                    driver: driver(service, example),
                },
                Class::DatabasePart(part)
                    if matches!(plan.database, DatabasePlan::Internal { .. }) =>
                {
                    EnvPlan::Database {
                        part: match part {
                            Part::Host => "host",
                            Part::Port => "port",
                            Part::User => "user",
                            Part::Name => "name",
                            Part::Password => "password",
                        },
                        driver: None,
                    }
                }
                Class::BrowserVisible => match reference(var, example, service, &ports) {
                    Some(EnvPlan::UrlOf { component, path }) => {
                        // The browser cannot resolve cluster DNS: what it asks goes through
                        // routes on the one origin.
                        let api = origins::browser_api(&component, &path, service, &stack);
                        browser_value(&mut plan, api, var, service, &component, &mut why)
                    }
                    Some(other) => other,
                    None => match origins::sole_api(var, service, &stack) {
                        Some(component) => {
                            plan.assumptions.push(format!(
                                "{}: {var} has no value in the repository; assumed it is the base URL of {component}, the only API",
                                service.name
                            ));
                            let api = origins::browser_api(component, "", service, &stack);
                            browser_value(&mut plan, api, var, service, component, &mut why)
                        }
                        None => plain_or_left(var, example, service, &mut plan.left_to_user),
                    },
                },
                Class::Secret { .. } | Class::DatabaseUrl | Class::DatabasePart(Part::Password) => {
                    let generate = matches!(class, Class::Secret { generate: true });
                    let name = classify::secret_name(var);
                    let spec = secrets.entry(name.clone()).or_insert_with(|| SecretPlan {
                        name: name.clone(),
                        env: var.clone(),
                        generate,
                        required: false,
                        why: format!("secret by name; {why}"),
                    });
                    spec.required |= found.value.required && !generate;
                    if let Some(host) = classify::provider_host(var)
                        && !egress.contains(&host.to_string())
                    {
                        egress.push(host.to_string());
                    }
                    EnvPlan::Secret(name)
                }
                _ => match origins::server_value(var, example, service, &stack)
                    .or_else(|| reference(var, example, service, &ports))
                {
                    Some(r) => r,
                    None => plain_or_left(var, example, service, &mut plan.left_to_user),
                },
            };
            env.push(EnvEntry {
                name: var.clone(),
                value,
                why,
                build: class == Class::BrowserVisible && origins::bakes_at_build(service),
            });
        }
        plan.components.push(Component {
            service: service.clone(),
            env,
            egress,
        });
    }
    if let DatabasePlan::Internal { .. } = plan.database {
        secrets.insert(
            "dbPassword".into(),
            SecretPlan {
                name: "dbPassword".into(),
                env: format!(
                    "{}_DB_PASSWORD",
                    plan.app_name.to_ascii_uppercase().replace('-', "_")
                ),
                generate: true,
                required: false,
                why: "the in-cluster PostgreSQL's password".into(),
            },
        );
    }
    if let DatabasePlan::External { secret, env, why } = &plan.database {
        secrets.insert(
            secret.clone(),
            SecretPlan {
                name: secret.clone(),
                env: env.clone(),
                generate: false,
                required: true,
                why: format!("the database URL; {why}"),
            },
        );
    }
    plan.secrets = secrets.into_values().collect();
    plan.node_port = node_port(&services, entry.as_deref(), &mut plan.assumptions);
    resources::fit_laptop(&mut plan.components, &mut plan.assumptions);
    notes(findings, &mut plan);
    plan
}

/// The entry component's NodePort from an existing manifest (a NodePort exposes only `/`).
fn node_port(
    services: &[Service],
    entry: Option<&str>,
    assumptions: &mut Vec<String>,
) -> Option<(i32, String)> {
    let mut chosen = None;
    for s in services {
        let Some(port) = &s.node_port else { continue };
        if Some(s.name.as_str()) != entry {
            assumptions.push(format!(
                "{}: NodePort {} ({}) not kept: berth's NodePort exposes the entry component, {}",
                s.name,
                port.value,
                port.source,
                entry.unwrap_or("none")
            ));
        } else if !(30000..=32767).contains(&port.value) {
            assumptions.push(format!(
                "{}: NodePort {} ({}) is outside 30000-32767; berth's default is used",
                s.name, port.value, port.source
            ));
        } else {
            chosen = Some((port.value, port.source.describe()));
        }
    }
    chosen
}

fn merge_env(existing: &mut Found<EnvUse>, other: &Found<EnvUse>) {
    // An empty code default (`os.getenv("X", "")`) says nothing an example file cannot say better.
    if existing.value.example.as_deref().is_none_or(str::is_empty) {
        existing.value.example = other.value.example.clone();
    }
}

/// The variable a Django project's `ALLOWED_HOSTS` is read from.
fn django_hosts(var: &str, service: &Service) -> bool {
    matches!(service.runtime.value, Runtime::Django { .. })
        && var.to_ascii_uppercase().ends_with("ALLOWED_HOSTS")
}

/// Variables the platform or the image sets: the port, Node/Python runtime switches.
fn skip_variable(var: &str, found: &Found<EnvUse>, service: &Service) -> bool {
    let from_dockerfile_env = found.source.what.starts_with("ENV ");
    from_dockerfile_env
        || found.value.build_time && found.source.what.starts_with("ARG ")
        || matches!(
            var,
            "NODE_ENV"
                | "HOSTNAME"
                | "HOST"
                | "PYTHONUNBUFFERED"
                | "PYTHONDONTWRITEBYTECODE"
                | "PYTHONPATH"
        )
        || (var == "PORT" && service.port.is_some())
}

/// A URL whose host names another component (compose name, or localhost on its port), or a
/// name that says "the app's own URL".
fn reference(
    var: &str,
    example: Option<&str>,
    service: &Service,
    ports: &BTreeMap<String, u16>,
) -> Option<EnvPlan> {
    let upper = var.to_ascii_uppercase();
    // An origin (CORS_ORIGINS, ALLOWED_ORIGINS) is the browser's, whatever local URL the
    // example lists.
    if upper.ends_with("ORIGIN") || upper.ends_with("ORIGINS") {
        return Some(EnvPlan::ExternalUrl("/".into()));
    }
    if let Some(url) = example.and_then(|e| url::Url::parse(e).ok())
        && matches!(url.scheme(), "http" | "https")
    {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default();
        let path = url.path().trim_end_matches('/').to_string();
        let target = ports.iter().find(|(name, p)| {
            (component_name(host) == **name)
                || (matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0") && Some(**p) == port)
        });
        if let Some((name, _)) = target {
            if *name == service.name {
                return Some(EnvPlan::ExternalUrl(if path.is_empty() {
                    "/".into()
                } else {
                    path
                }));
            }
            return Some(EnvPlan::UrlOf {
                component: name.clone(),
                path,
            });
        }
    }
    let words: Vec<&str> = upper.split('_').collect();
    // The app's own public URL: AUTH_URL, APP_URL, SITE_URL, PUBLIC_URL, BASE_URL, FRONTEND_URL
    // (any prefix), ORIGIN(S).
    let last = *words.last()?;
    let before = words.len().checked_sub(2).map(|i| words[i]);
    let own_url = (last == "URL"
        && before.is_some_and(|w| {
            matches!(w, "AUTH" | "APP" | "SITE" | "PUBLIC" | "BASE" | "FRONTEND")
        }))
        || matches!(last, "ORIGIN" | "ORIGINS");
    let names_component = words
        .iter()
        .any(|w| ports.contains_key(&w.to_ascii_lowercase()) && *w != "FRONTEND");
    if own_url && !names_component {
        return Some(EnvPlan::ExternalUrl("/".into()));
    }
    if matches!(last, "URL" | "URI" | "ENDPOINT" | "HOST") {
        let stem = component_name(&words[..words.len() - 1].join("-"));
        let candidates = [
            stem.clone(),
            stem.trim_end_matches("-server").to_string(),
            stem.replace("-server", ""),
        ];
        for candidate in candidates {
            if ports.contains_key(&candidate) && candidate != service.name {
                return Some(EnvPlan::UrlOf {
                    component: candidate,
                    path: String::new(),
                });
            }
        }
    }
    None
}

fn plain_or_left(
    var: &str,
    example: Option<&str>,
    service: &Service,
    left: &mut Vec<String>,
) -> EnvPlan {
    match example {
        Some(v) if !v.contains("localhost") && !v.contains("127.0.0.1") => {
            EnvPlan::Plain(v.to_string())
        }
        _ => {
            left.push(format!(
                "components.{}.env.{var}: no value found; set it in berth.yaml",
                service.name
            ));
            EnvPlan::Plain(String::new())
        }
    }
}

/// The form of database URL the service's client library wants.
fn driver(service: &Service, example: Option<&str>) -> Option<&'static str> {
    let scheme = example
        .and_then(|e| e.split_once("://"))
        .map(|(s, _)| s)
        .unwrap_or("");
    let has = |p: &str| service.packages.iter().any(|x| x == p);
    if scheme.ends_with("+asyncpg") || (has("sqlalchemy") && has("asyncpg")) {
        Some("asyncpg")
    } else if scheme.ends_with("+psycopg") || (has("sqlalchemy") && has("psycopg")) {
        Some("psycopg")
    } else if scheme.ends_with("+psycopg2") || (has("sqlalchemy") && has("psycopg2")) {
        Some("psycopg2")
    } else {
        None
    }
}

/// The value of a browser-side base URL and the routes it needs. A component serving at `/`
/// is routed under `/<component>` with the prefix stripped, unless the page serves paths
/// there or another component has that prefix: then no route is written (it would shadow
/// the page, or reach the wrong component), the user is told, and the value stays empty
/// (`why` says so).
fn browser_value(
    plan: &mut Plan,
    api: origins::BrowserValue,
    var: &str,
    service: &Service,
    component: &str,
    why: &mut String,
) -> EnvPlan {
    let blocked = api
        .routes
        .iter()
        .filter(|need| need.strip_prefix)
        .find(|need| {
            service
                .routes
                .iter()
                .any(|p| crate::values::routes::prefix_matches(&need.prefix, p))
                || plan
                    .routes
                    .iter()
                    .any(|r| r.prefix == need.prefix && r.component != need.component)
        });
    if let Some(need) = blocked {
        plan.left_to_user.push(format!(
            "components.{}.{}.{var}: points the browser at {component}, which serves no common path prefix (it answers at /), and {} is taken on the origin: no route is written; route it by hand (expose.routes./PREFIX: {{component: {component}, stripPrefix: true}}), or give its routes one prefix",
            service.name,
            if origins::bakes_at_build(service) {
                "image.buildEnv"
            } else {
                "env"
            },
            need.prefix
        ));
        *why = format!("{component} serves at /, see above; {why}");
        return EnvPlan::Plain(String::new());
    }
    for need in api.routes {
        add_route(plan, need, var);
    }
    api.value
}

/// Adds a route a browser-side URL needs, unless its prefix is routed already.
fn add_route(plan: &mut Plan, need: origins::RouteNeed, var: &str) {
    if let Some(other) = plan.routes.iter().find(|r| r.prefix == need.prefix) {
        if other.component != need.component {
            plan.assumptions.push(format!(
                "{var}: {} already goes to {}; not routed to {}",
                need.prefix, other.component, need.component
            ));
        }
        return;
    }
    plan.routes.push(RoutePlan {
        prefix: need.prefix,
        component: need.component,
        strip_prefix: need.strip_prefix,
        why: format!("{var} points the browser at it"),
    });
}

fn notes(findings: &Findings, plan: &mut Plan) {
    for c in &plan.components {
        let s = &c.service;
        if let Some(port) = &s.port
            && port.source.is_assumed()
        {
            plan.assumptions
                .push(format!("{}: {}", s.name, port.source.what));
        }
        if let Some((_, version)) = &s.python
            && version.source.is_assumed()
        {
            plan.assumptions
                .push(format!("{}: {}", s.name, version.source.what));
        }
        if s.health.is_none() {
            plan.assumptions.push(format!(
                "{}: no health endpoint found; probes use a TCP check on the port",
                s.name
            ));
        }
        for step in &s.untranslated {
            plan.left_to_user.push(format!(
                "{}: `{}` ({}) cannot run in berth's image build; use a base image that has it (images/{}.toml base)",
                s.name, step.value, step.source, s.name
            ));
        }
        for fetch in &s.build_fetches {
            plan.left_to_user.push(format!(
                "{}: {} ({}); the build needs network access or self-hosted fonts",
                s.name, fetch.value, fetch.source
            ));
        }
    }
    for mcp in &findings.stdio_mcp {
        plan.assumptions.push(format!(
            "{} ({}): no component of its own",
            mcp.value, mcp.source
        ));
    }
    for note in &findings.notes {
        plan.assumptions
            .push(format!("{} ({})", note.value, note.source));
    }
    for s in &plan.secrets {
        if s.required {
            plan.left_to_user.push(format!(
                "secret {}: supply {} (environment or --env-file)",
                s.name, s.env
            ));
        }
    }
}
