//! Reading a repository into [`Findings`]: which directories run something (Node, Python), what
//! their Dockerfiles and the compose file say about them, the env files, the database and an
//! existing Helm chart. Nothing here decides the stack; every fact keeps its source.

mod compose;
pub mod database_tls;
mod dev_proxy;
mod django;
mod dockerfile;
mod envfile;
mod helm;
mod imports;
mod load_checks;
mod manifests;
mod node;
mod own_package;
mod pyroutes;
mod pysettings;
mod python;
mod services;
mod sqlite;
pub mod text;

use std::fs;
use std::path::{Path, PathBuf};

use super::findings::{
    DatabaseFinding, EnvUse, Findings, Found, PythonTool, Runtime, Service, Source,
};
use services::{compose_service_for, mcp_component, one_component_per_app};
use text::{relative, skipped_dir};

pub use dev_proxy::DevProxy;

/// What one detector found in a directory, before it is merged into a [`Service`].
#[derive(Debug, Default)]
pub struct Detected {
    pub runtime: Option<Found<Runtime>>,
    pub port: Option<Found<u16>>,
    pub health: Option<Found<String>>,
    pub routes: Vec<String>,
    pub env: Vec<(String, Found<EnvUse>)>,
    pub python: Option<(PythonTool, Found<String>)>,
    pub packages: Vec<String>,
    pub migration: Option<Found<Vec<String>>>,
    pub build_fetches: Vec<Found<String>>,
    pub load_checks: Vec<Found<String>>,
    pub stdio_mcp: Vec<Found<String>>,
    pub notes: Vec<Found<String>>,
    /// Prefixes its development server passes to another local port.
    pub dev_proxies: Vec<Found<DevProxy>>,
    /// The SQLite database file the code writes (relative to the service, or absolute).
    pub sqlite: Option<Found<String>>,
    /// What in its code asks PostgreSQL for TLS (`sslmode=require`).
    pub database_tls: Option<Found<String>>,
    /// The directory's own name, when its code imports itself through it ([`own_package`]).
    pub own_package: Option<Found<String>>,
    /// An MCP server over HTTP in the same project as the detected app, with its own port.
    pub mcp_beside: Option<(Found<Runtime>, Option<Found<u16>>)>,
}

/// berth's images run as a user, who cannot bind a port below 1024 (`EXPOSE 80` of an nginx
/// image the team ran as root): the component listens on the same port plus 8000 instead (80 →
/// 8080), its Service and probes follow, and the source says why.
fn unprivileged_port(service: &mut Service) {
    let Some(port) = service.port.as_mut().filter(|p| p.value < 1024) else {
        return;
    };
    let was = port.value;
    port.value = was + 8000;
    port.source.what = format!(
        "{}; {was} needs root and berth's images run as a user: {} instead",
        port.source.what, port.value
    );
}

/// Scan the repository at `root`.
pub fn scan(root: &Path) -> Findings {
    let mut findings = Findings::default();
    let compose = match compose::read(root) {
        Ok(services) => services.unwrap_or_default(),
        Err(compose::Unreadable { file, error }) => {
            findings.notes.push(Found::new(
                format!("{file} does not parse ({error}); ignored"),
                Source::new(file, None, "parse"),
            ));
            Vec::new()
        }
    };
    let built: Vec<&str> = compose.iter().filter_map(|c| c.build.as_deref()).collect();
    for dir in candidate_dirs(root, &built) {
        let detected = python::detect(root, &dir)
            .filter(|d| d.runtime.is_some())
            .or_else(|| node::detect(root, &dir));
        let Some(detected) = detected else { continue };
        let rel = relative(root, &dir);
        let compose_service = compose_service_for(&compose, &rel, &detected);
        let name = match compose_service {
            Some(s) => component_name(&s.name),
            None if rel == "." => "app".to_string(),
            None => component_name(rel.rsplit('/').next().unwrap_or(&rel)),
        };
        let docker = ["Dockerfile", "dockerfile"]
            .iter()
            .find_map(|f| {
                fs::read_to_string(dir.join(f))
                    .ok()
                    .map(|t| dockerfile::parse(&relative(root, &dir.join(f)), &t))
            })
            .unwrap_or_default();
        let mcp_beside = detected.mcp_beside.clone();
        let mut service = merge(name, rel.clone(), detected, &docker, &mut findings);
        findings
            .notes
            .extend(either_notes(root, &dir, &mut service));
        if matches!(
            service.runtime.value,
            Runtime::NextJs { .. } | Runtime::StaticSite { .. } | Runtime::Node { .. }
        ) {
            service.imports_outside = imports::outside_dirs(root, &dir);
        }
        if let Some(c) = compose_service {
            if let Some(port) = &c.port
                && !matches!(service.runtime.value, Runtime::StaticSite { .. })
                && service.port.as_ref().is_none_or(|p| p.source.is_assumed())
            {
                service.port = Some(port.clone());
            }
            if service.health.is_none() {
                service.health = c.health.clone();
            }
            for (name, found) in &c.env {
                service
                    .env
                    .entry(name.clone())
                    .or_insert_with(|| found.clone());
            }
            service.depends_on = c.depends_on.clone();
            for volume in c.volumes.iter().filter(|v| !v.starts_with('.')) {
                findings.notes.push(Found::new(
                    format!("compose volume `{volume}` of {}: not carried over (use writablePaths or the database)", c.name),
                    Source::new("docker-compose.yml", c.line, "volumes"),
                ));
            }
        }
        let mcp = mcp_beside.map(|m| mcp_component(m, &service, &compose, &rel, compose_service));
        findings.services.push(service);
        match mcp {
            Some(Ok(mcp)) => findings.services.push(mcp),
            Some(Err(note)) => findings.notes.push(note),
            None => {}
        }
    }
    one_component_per_app(&mut findings);
    findings.services.sort_by(|a, b| a.name.cmp(&b.name));
    findings.database = database(&compose);
    for c in &compose {
        let image = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
        let Some(kind) = [
            ("mysql", "MySQL"),
            ("mariadb", "MariaDB"),
            ("mongo", "MongoDB"),
        ]
        .iter()
        .find(|(needle, _)| image.contains(needle))
        .map(|(_, kind)| *kind) else {
            continue;
        };
        findings.notes.push(Found::new(
            format!(
                "compose service {} runs {kind} ({image}): berth runs PostgreSQL only, so it is not deployed; point the app's {kind} settings at a server outside the cluster, or port the app to PostgreSQL",
                c.name
            ),
            Source::new("docker-compose.yml", c.line, format!("service {}", c.name)),
        ));
    }
    for c in compose
        .iter()
        .filter(|c| c.build.is_none() && !c.volumes.is_empty())
        .filter(|c| c.image.as_deref().is_some_and(|i| i.contains("postgres")))
    {
        findings.notes.push(Found::new(
            format!(
                "compose volume {} of {}: berth's database keeps its data on a PersistentVolumeClaim (database.internal.storage)",
                c.volumes.join(", "),
                c.name
            ),
            Source::new("docker-compose.yml", c.line, "volumes"),
        ));
    }
    findings.env_files = env_files(root);
    helm::read(root, &mut findings);
    manifests::read(root, &mut findings);
    for service in &mut findings.services {
        unprivileged_port(service);
    }
    let (name, version) = identity(root);
    findings.app_name = name;
    findings.version = version;
    findings
}

/// Trees of code that is not deployed: examples, docs, demos, scripts. A service there counts
/// only when compose builds it.
const NOT_DEPLOYED: [&str; 12] = [
    "examples",
    "example",
    "samples",
    "sample",
    "demo",
    "demos",
    "docs",
    "doc",
    "scripts",
    "benchmarks",
    "fixtures",
    "playground",
];

/// The root, its children and grandchildren that are not dependencies, output, hidden or
/// undeployed trees (unless compose builds from one: `built`, relative to the root).
fn candidate_dirs(root: &Path, built: &[&str]) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    let children = |dir: &Path| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir() && !skipped_dir(&e.file_name().to_string_lossy()))
            .filter(|e| {
                let rel = relative(root, &e.path());
                !NOT_DEPLOYED.contains(&e.file_name().to_string_lossy().as_ref())
                    || built
                        .iter()
                        .any(|b| *b == rel || b.starts_with(&format!("{rel}/")))
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    };
    for child in children(root) {
        dirs.extend(children(&child));
        dirs.push(child);
    }
    // A directory inside a detected project is part of it, not a service: checked by the caller
    // order (deepest directories first would split a project), so keep parents first.
    dirs.sort_by_key(|d| d.components().count());
    let mut kept: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if kept.iter().any(|k| k != root && dir.starts_with(k)) {
            continue;
        }
        if dir == root || is_project(&dir) {
            kept.push(dir);
        }
    }
    kept
}

fn is_project(dir: &Path) -> bool {
    ["package.json", "requirements.txt", "pyproject.toml"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// A DNS-1035 component name from a directory or compose service name.
pub fn component_name(raw: &str) -> String {
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("c-{name}");
    }
    name.truncate(40);
    name.trim_end_matches('-').to_string()
}

/// Errors the service's code raises unless one of several variables it reads is set. berth's
/// values have no "one of", so the first the code names becomes required (deploy asks for it,
/// and a deploy without any cannot crash-loop); the note says how to use another instead.
fn either_notes(root: &Path, dir: &Path, service: &mut Service) -> Vec<Found<String>> {
    let reads: Vec<String> = service.env.keys().cloned().collect();
    if reads.len() < 2 {
        return Vec::new();
    }
    let reads: Vec<&str> = reads.iter().map(String::as_str).collect();
    let exts = [".py", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"];
    let mut notes = Vec::new();
    for file in text::files_with(dir, &exts, 4) {
        let Ok(code) = fs::read_to_string(&file) else {
            continue;
        };
        for (line, names) in load_checks::either_checks(&code, &reads) {
            let already = names
                .iter()
                .find(|n| service.env.get(*n).is_some_and(|u| u.value.required));
            let asked = match already {
                Some(name) => name.clone(),
                None => {
                    let first = names[0].clone();
                    if let Some(used) = service.env.get_mut(&first) {
                        used.value.required = true;
                    }
                    first
                }
            };
            let others: Vec<&str> = names
                .iter()
                .filter(|n| **n != asked)
                .map(String::as_str)
                .collect();
            notes.push(Found::new(
                format!(
                    "{}: one of {} must be set (its code raises with none): {asked} is required; to use {} instead, supply it and mark {asked}'s secret `required: false` in berth.yaml",
                    service.name,
                    names.join(", "),
                    others.join(" or ")
                ),
                Source::new(relative(root, &file), Some(line), "raises unless one is set"),
            ));
        }
    }
    notes
}

/// A service from a detector's facts and its Dockerfile's (the Dockerfile says how it is run in
/// a container, so its port, command and Python version win over what code suggests).
fn merge(
    name: String,
    dir: String,
    d: Detected,
    docker: &dockerfile::Dockerfile,
    findings: &mut Findings,
) -> Service {
    let mut runtime = d.runtime.expect("detectors return a runtime");
    if let (Runtime::Asgi { .. }, Some(app)) = (&runtime.value, docker.asgi_app()) {
        runtime = Found::new(Runtime::Asgi { app: app.value }, app.source);
    }
    // A static site is served by berth's non-root server on its own port, whatever port the
    // team's nginx listened on (a non-root process cannot bind 80).
    let static_site = matches!(runtime.value, Runtime::StaticSite { .. });
    let port = match (&docker.port, d.port) {
        (_, Some(p)) if static_site => Some(p),
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => Some(p),
        (None, None) => Some(Found::new(
            8000,
            Source::assumed(if matches!(runtime.value, Runtime::Django { .. }) {
                "port 8000 (Django's usual)"
            } else {
                "port 8000 (uvicorn's usual)"
            }),
        )),
    };
    let mut python = d.python;
    if let Some((_, version)) = &mut python
        && version.source.is_assumed()
        && let Some(v) = docker.python_version()
    {
        *version = v;
    }
    let mut env = std::collections::BTreeMap::new();
    for (var, found) in d.env.into_iter().chain(docker.env.iter().cloned()) {
        env.entry(var)
            .and_modify(|existing: &mut Found<EnvUse>| {
                existing.value.required |= found.value.required;
                existing.value.build_time |= found.value.build_time;
                if existing.value.example.is_none() {
                    existing.value.example = found.value.example.clone();
                }
            })
            .or_insert(found);
    }
    findings.stdio_mcp.extend(d.stdio_mcp);
    findings.notes.extend(d.notes);
    Service {
        name,
        dir,
        runtime,
        port,
        health: d.health.or_else(|| docker.health.clone()),
        routes: d.routes,
        env,
        python,
        packages: d.packages,
        migration: d.migration,
        user: docker.user.clone().filter(|u| {
            u.value
                .split(':')
                .next()
                .is_some_and(|u| u.parse::<u32>().is_ok_and(|n| n > 0))
        }),
        replicas: None,
        resources: None,
        node_port: None,
        untranslated: docker.untranslated.clone(),
        imports_outside: Vec::new(),
        load_checks: d.load_checks,
        build_fetches: d.build_fetches,
        depends_on: Vec::new(),
        dev_proxies: d.dev_proxies,
        sqlite: d.sqlite,
        database_tls: d.database_tls,
        own_package: d.own_package,
    }
}

fn database(compose: &[compose::ComposeService]) -> Option<Found<DatabaseFinding>> {
    let db = compose
        .iter()
        .find(|s| s.image.as_deref().is_some_and(|i| i.contains("postgres")))?;
    let env = |k: &str| {
        db.env
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, f)| f.value.example.clone())
    };
    Some(Found::new(
        DatabaseFinding::Compose {
            image: db.image.clone().unwrap_or_default(),
            name: env("POSTGRES_DB"),
            user: env("POSTGRES_USER"),
        },
        Source::new(
            "docker-compose.yml",
            db.line,
            format!(
                "service {} (image {})",
                db.name,
                db.image.clone().unwrap_or_default()
            ),
        ),
    ))
}

/// Env files in the root and one level down, by directory.
fn env_files(root: &Path) -> Vec<(String, Found<EnvUse>, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    dirs.extend(
        fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir() && !skipped_dir(&e.file_name().to_string_lossy()))
            .map(|e| e.path()),
    );
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<String> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| envfile::is_env_file(n))
            .collect();
        // Example files first: their values may be shown; a real `.env` only adds names.
        files.sort_by_key(|n| (!envfile::is_example(n), n.clone()));
        let rel_dir = relative(root, &dir);
        for file in files {
            let rel = relative(root, &dir.join(&file));
            for (var, found) in envfile::read(root, &rel) {
                out.push((var, found, rel_dir.clone()));
            }
        }
    }
    out
}

/// The app's name and version from the root's package.json or pyproject.toml, else the
/// directory's name.
fn identity(root: &Path) -> (Option<Found<String>>, Option<Found<String>>) {
    if let Ok(text) = fs::read_to_string(root.join("package.json"))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let field = |k: &str| {
            v.get(k).and_then(|x| x.as_str()).map(|s| {
                Found::new(
                    s.to_string(),
                    Source::new("package.json", text::line_of(&text, &format!("\"{k}\"")), k),
                )
            })
        };
        return (field("name"), field("version"));
    }
    if let Ok(text) = fs::read_to_string(root.join("pyproject.toml"))
        && let Ok(v) = text.parse::<toml::Table>()
    {
        let project = v
            .get("project")
            .or_else(|| v.get("tool").and_then(|t| t.get("poetry")));
        let field = |k: &str| {
            project
                .and_then(|p| p.get(k))
                .and_then(|x| x.as_str())
                .map(|s| {
                    Found::new(
                        s.to_string(),
                        Source::new("pyproject.toml", text::line_of(&text, &format!("{k} =")), k),
                    )
                })
        };
        return (field("name"), field("version"));
    }
    let dir_name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|n| Found::new(n, Source::assumed("the directory's name")));
    (dir_name, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_only_root_may_bind_moves_above_1024_and_says_why() {
        let runtime = Runtime::Node {
            script: "node s.js".into(),
        };
        let mut service = Service::new("web", "web", Found::new(runtime, Source::assumed("x")));
        service.port = Some(Found::new(80, Source::new("values.yaml", Some(24), "port")));
        unprivileged_port(&mut service);
        let port = service.port.as_ref().unwrap();
        assert_eq!(port.value, 8080);
        assert!(
            port.source.what.contains("80 needs root"),
            "{}",
            port.source.what
        );

        service.port = Some(Found::new(3000, Source::assumed("x")));
        unprivileged_port(&mut service);
        assert_eq!(service.port.unwrap().value, 3000);
    }
}
