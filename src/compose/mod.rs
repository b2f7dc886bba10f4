//! `berth compose export`: the same stack as a Compose file, for running it
//! without Kubernetes (`docker compose up`, `podman-compose up`). One service
//! per component (image, port, environment with references resolved to
//! Compose service names, a health check from its readiness probe,
//! `depends_on` with `service_healthy`), the in-cluster database as a
//! `postgres` service with a named volume, and each task as a one-shot
//! service its component waits for (`service_completed_successfully`).
//!
//! Secret values never enter either file: the Compose file reads them by
//! interpolation (`${NAME}`) from the project's `.env`, which the export
//! writes with names and empty values for the user to fill.

mod env;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::healthcheck::{self, Runtime};
use crate::manifests::config::POSTGRES_PGDATA;
use crate::manifests::pod::{READINESS, STARTUP};
use crate::values::routes::entry_component;
use crate::values::{Check, Component, DatabaseMode, ProbeCheck, Values};

pub use env::EnvVariable;

/// The database's service name (a name components cannot take: berth reserves it).
pub const DATABASE_SERVICE: &str = "postgres";
/// The database's named volume.
pub const DATABASE_VOLUME: &str = "postgres-data";

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(
        "components.{component}.tasks.{task}: its service name `{service}` is also a component's; rename the task"
    )]
    TaskNameTaken {
        component: String,
        task: String,
        service: String,
    },
}

/// The export: the Compose document and the variables `.env` must define.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeExport {
    pub compose: Value,
    pub variables: Vec<EnvVariable>,
}

/// What the export needs beyond the values: the project's name and how each
/// component's image can run a check (its runtime, from its build spec).
pub struct ComposeInput<'a> {
    pub values: &'a Values,
    pub project: &'a str,
    /// Component name → the runtime its image has, when known.
    pub runtimes: &'a BTreeMap<String, Runtime>,
}

/// The Compose document for the stack.
pub fn export(input: &ComposeInput) -> Result<ComposeExport, ComposeError> {
    let values = input.values;
    let mut variables = env::Variables::default();
    let entry = entry_component(values);
    let entry_port = entry.and_then(|e| values.components.get(e)?.port);
    let ctx = env::EnvContext {
        values,
        project: input.project,
        entry_port,
    };
    let components: Vec<(&String, &Component)> = values.enabled_components().collect();
    let names: BTreeSet<&str> = components.iter().map(|(n, _)| n.as_str()).collect();
    let healthy: BTreeMap<&str, Option<Value>> = components
        .iter()
        .map(|(name, c)| {
            let runtime = input.runtimes.get(*name).copied();
            (name.as_str(), health_check(c, runtime))
        })
        .collect();
    let mut services = Map::new();
    let dependencies = dependency_edges(values, &components);
    for (name, c) in &components {
        let environment = env::environment(&ctx, c, &mut variables);
        let mut depends = Map::new();
        for target in dependencies.get(name.as_str()).into_iter().flatten() {
            let condition = if healthy[target].is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            depends.insert(target.to_string(), json!({"condition": condition}));
        }
        if values.database.mode == DatabaseMode::Internal && reads_database(c) {
            depends.insert(
                DATABASE_SERVICE.into(),
                json!({"condition": "service_healthy"}),
            );
        }
        for (task, spec) in &c.tasks {
            let service = format!("{name}-{task}");
            if names.contains(service.as_str()) || service == DATABASE_SERVICE {
                return Err(ComposeError::TaskNameTaken {
                    component: name.to_string(),
                    task: task.clone(),
                    service,
                });
            }
            let mut one_shot = base_service(c, &environment);
            one_shot.insert("entrypoint".into(), json!(spec.command));
            match &spec.args {
                Some(args) => one_shot.insert("command".into(), json!(args)),
                None => one_shot.remove("command"),
            };
            one_shot.remove("ports");
            one_shot.insert("restart".into(), json!("no"));
            // A task waits for what its component waits for, but not for itself.
            let mut task_depends = depends.clone();
            task_depends.retain(|_, d| d["condition"] != "service_completed_successfully");
            if !task_depends.is_empty() {
                one_shot.insert("depends_on".into(), Value::Object(task_depends));
            }
            services.insert(service.clone(), Value::Object(one_shot));
            depends.insert(
                service,
                json!({"condition": "service_completed_successfully"}),
            );
        }
        let mut service = base_service(c, &environment);
        if let Some(check) = &healthy[name.as_str()] {
            service.insert("healthcheck".into(), check.clone());
        }
        if Some(name.as_str()) == entry
            && let Some(port) = c.port
        {
            // Published on loopback only, as berth's own servers listen.
            service.insert("ports".into(), json!([format!("127.0.0.1:{port}:{port}")]));
        }
        if !depends.is_empty() {
            service.insert("depends_on".into(), Value::Object(depends));
        }
        service.insert("restart".into(), json!("unless-stopped"));
        services.insert(name.to_string(), Value::Object(service));
    }
    let mut compose = Map::new();
    compose.insert("name".into(), json!(input.project));
    if values.database.mode == DatabaseMode::Internal {
        services.insert(
            DATABASE_SERVICE.into(),
            database_service(values, &mut variables),
        );
        compose.insert("services".into(), Value::Object(services));
        compose.insert("volumes".into(), json!({DATABASE_VOLUME: {}}));
    } else {
        compose.insert("services".into(), Value::Object(services));
    }
    Ok(ComposeExport {
        compose: Value::Object(compose),
        variables: variables.into_list(),
    })
}

/// What a component's service and its tasks share.
fn base_service(c: &Component, environment: &Map<String, Value>) -> Map<String, Value> {
    let mut service = Map::new();
    service.insert("image".into(), json!(c.image.reference()));
    // Kubernetes' command/args are Compose's entrypoint/command.
    if let Some(command) = &c.command {
        service.insert("entrypoint".into(), json!(command));
    }
    if let Some(args) = &c.args {
        service.insert("command".into(), json!(args));
    }
    service.insert("user".into(), json!(c.uid().to_string()));
    if !environment.is_empty() {
        service.insert("environment".into(), Value::Object(environment.clone()));
    }
    // berth's pods have a read-only root with scratch directories; so do these.
    service.insert("read_only".into(), json!(true));
    let mut scratch = vec!["/tmp".to_string()];
    scratch.extend(c.writable_paths.iter().filter(|p| *p != "/tmp").cloned());
    service.insert("tmpfs".into(), json!(scratch));
    service
}

/// The readiness check as a Compose health check (its timing from berth's
/// readiness and startup probes), or none when the image cannot run it.
fn health_check(c: &Component, runtime: Option<Runtime>) -> Option<Value> {
    let check = readiness_check(c)?;
    let test = healthcheck::command(&check, c.port, runtime)?;
    let mut argv = vec!["CMD".to_string()];
    argv.extend(test);
    Some(json!({
        "test": argv,
        "interval": format!("{}s", READINESS.period),
        "timeout": "5s",
        "retries": READINESS.failures,
        "start_period": format!("{}s", STARTUP.period * STARTUP.failures),
    }))
}

/// The readiness check berth's pods use: the override, else the default
/// check, else a TCP check on the port.
pub fn readiness_check(c: &Component) -> Option<Check> {
    let fallback = c.port.map(|_| Check::Tcp);
    c.probes
        .readiness
        .as_ref()
        .and_then(ProbeCheck::check)
        .or_else(|| c.probes.base().check())
        .or(fallback)
}

fn reads_database(c: &Component) -> bool {
    c.references()
        .any(|(_, r)| matches!(r, crate::values::Reference::Database { .. }))
}

/// Which components each one waits for: those it reaches by `urlOf`. Compose
/// refuses a cycle, which Kubernetes does not mind, so an edge that would
/// close one is left out (both still start; the later one retries).
fn dependency_edges<'a>(
    values: &'a Values,
    components: &[(&'a String, &'a Component)],
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let enabled: BTreeSet<&str> = components.iter().map(|(n, _)| n.as_str()).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, c) in components {
        for (_, reference) in c.references() {
            let crate::values::Reference::UrlOf { component, .. } = reference else {
                continue;
            };
            let Some((target, _)) = values.components.get_key_value(component) else {
                continue;
            };
            let target = target.as_str();
            if target == name.as_str()
                || !enabled.contains(target)
                || reaches(&edges, target, name.as_str())
            {
                continue;
            }
            edges.entry(name.as_str()).or_default().insert(target);
        }
    }
    edges
}

/// Whether `from` already waits, directly or not, for `to`.
fn reaches(edges: &BTreeMap<&str, BTreeSet<&str>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(at) = stack.pop() {
        if at == to {
            return true;
        }
        if seen.insert(at) {
            stack.extend(edges.get(at).into_iter().flatten().copied());
        }
    }
    false
}

/// The in-cluster database as a service: the values' image, its password from
/// `.env`, a named volume, and `pg_isready` as its health check.
fn database_service(values: &Values, variables: &mut env::Variables) -> Value {
    let db = &values.database;
    let password = variables.secret(values, &db.password_secret);
    json!({
        "image": db.internal.image.reference(),
        "environment": {
            "POSTGRES_DB": db.name,
            "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": password,
            "PGDATA": POSTGRES_PGDATA,
        },
        "volumes": [format!("{DATABASE_VOLUME}:{}", crate::manifests::config::POSTGRES_DATA_MOUNT)],
        "healthcheck": {
            "test": ["CMD", "pg_isready", "-U", db.user, "-d", db.name],
            "interval": "5s",
            "timeout": "5s",
            "retries": 12,
            "start_period": "30s",
        },
        "restart": "unless-stopped",
    })
}

/// The `.env` beside the Compose file: every variable it reads, with an empty
/// value and what to put there. Never a value.
pub fn env_file(variables: &[EnvVariable]) -> String {
    let mut text = String::from(
        "# Values for docker-compose.yml (written by `berth compose export`, names only).\n# Fill them in; keep this file out of git.\n",
    );
    for variable in variables {
        text.push('\n');
        for line in variable.comment.lines() {
            text.push_str(&format!("# {line}\n"));
        }
        text.push_str(&format!("{}=\n", variable.name));
    }
    text
}

/// The runtime of each component's image, from its build spec under `root`
/// (`image.build`), else its command.
pub fn runtimes(values: &Values, root: &Path) -> BTreeMap<String, Runtime> {
    values
        .components
        .iter()
        .filter_map(|(name, c)| {
            let spec = c
                .image
                .build
                .as_ref()
                .and_then(|build| crate::images::spec::load_file(&root.join(build), root).ok());
            let (base, entrypoint) = match spec.map(|s| s.kind) {
                Some(crate::images::spec::SpecKind::Build(build)) => {
                    (Some(build.base), build.entrypoint.unwrap_or_default())
                }
                Some(crate::images::spec::SpecKind::Mirror(mirror)) => {
                    (Some(mirror.source), Vec::new())
                }
                None => (None, Vec::new()),
            };
            let entrypoint = c.command.clone().unwrap_or(entrypoint);
            Runtime::detect(base.as_deref(), &entrypoint).map(|r| (name.clone(), r))
        })
        .collect()
}
