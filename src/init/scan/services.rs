//! Which components the detected projects make: the compose service that names each, an MCP
//! server that compose runs beside an app as its own component, and one component per app when
//! two directories lead to the same one.

use super::compose;
use super::{Detected, component_name};
use crate::init::findings::{EnvUse, Findings, Found, Runtime, Service, Source};

/// The compose service built from `rel` that runs what was detected there. Several services
/// may build one directory (an API and the MCP server beside it): the one whose command starts
/// the detected app, else the one running the image's own command, names the component.
pub(super) fn compose_service_for<'a>(
    compose: &'a [compose::ComposeService],
    rel: &str,
    detected: &Detected,
) -> Option<&'a compose::ComposeService> {
    let candidates: Vec<&compose::ComposeService> = compose
        .iter()
        .filter(|s| s.build.as_deref() == Some(rel))
        .collect();
    let runs = |s: &compose::ComposeService, needle: &str| {
        s.command.as_deref().is_some_and(|c| c.contains(needle))
    };
    let app = match detected.runtime.as_ref().map(|r| &r.value) {
        Some(Runtime::Asgi { app }) => Some(app.clone()),
        Some(Runtime::McpHttp { script, .. }) => Some(script.clone()),
        Some(Runtime::Django { wsgi, .. }) => wsgi.clone(),
        _ => None,
    };
    app.and_then(|module| candidates.iter().find(|s| runs(s, &module)))
        // The image's own command is what init detected in the directory.
        .or_else(|| candidates.iter().find(|s| s.command.is_none()))
        .or_else(|| candidates.first())
        .copied()
}

/// The MCP server beside an app in one project: its own component when a compose service
/// (other than the app's) builds the same directory and runs its script, with that service's
/// name, port and environment and the env reads of the script itself; else a note.
pub(super) fn mcp_component(
    (runtime, port): (Found<Runtime>, Option<Found<u16>>),
    app: &Service,
    compose: &[compose::ComposeService],
    rel: &str,
    app_compose: Option<&compose::ComposeService>,
) -> Result<Service, Found<String>> {
    let Runtime::McpHttp { script, .. } = &runtime.value else {
        unreachable!("python::detect sets an MCP runtime");
    };
    let runner = compose.iter().find(|c| {
        c.build.as_deref() == Some(rel)
            && app_compose.is_none_or(|a| a.name != c.name)
            && c.command
                .as_deref()
                .is_some_and(|cmd| cmd.contains(script.as_str()))
    });
    let Some(runner) = runner else {
        return Err(Found::new(
            "an MCP server over HTTP beside the API: give it its own component by hand if it runs as its own process".into(),
            runtime.source,
        ));
    };
    let script_file = if rel == "." {
        script.clone()
    } else {
        format!("{rel}/{script}")
    };
    let mut env: std::collections::BTreeMap<String, Found<EnvUse>> = app
        .env
        .iter()
        .filter(|(_, f)| f.source.file == script_file)
        .map(|(k, f)| (k.clone(), f.clone()))
        .collect();
    for (name, found) in &runner.env {
        env.entry(name.clone()).or_insert_with(|| found.clone());
    }
    Ok(Service {
        name: component_name(&runner.name),
        dir: app.dir.clone(),
        runtime: Found::new(
            runtime.value.clone(),
            Source::new(
                runtime.source.file.clone(),
                runtime.source.line,
                format!(
                    "{}, run by compose service {}",
                    runtime.source.what, runner.name
                ),
            ),
        ),
        port: runner.port.clone().or(port),
        health: runner.health.clone(),
        routes: Vec::new(),
        env,
        python: app.python.clone(),
        packages: app.packages.clone(),
        migration: None,
        user: app.user.clone(),
        replicas: None,
        resources: None,
        node_port: None,
        untranslated: app.untranslated.clone(),
        imports_outside: Vec::new(),
        load_checks: Vec::new(),
        build_fetches: Vec::new(),
        dev_proxies: app.dev_proxies.clone(),
        depends_on: runner.depends_on.clone(),
        sqlite: app.sqlite.clone(),
        database_tls: app.database_tls.clone(),
        own_package: app.own_package.clone(),
    })
}

/// The same Python app found from two directories (a root `requirements.txt` whose scan reaches
/// `backend/main.py`, and `backend/` itself) is one component: the one whose directory is
/// closest to the app's file; the other's env reads are kept.
pub(super) fn one_component_per_app(findings: &mut Findings) {
    let depth = |dir: &str| {
        if dir == "." {
            0
        } else {
            dir.split('/').count()
        }
    };
    // The file a Python service runs, relative to the repository.
    let app_file = |s: &Service| {
        let file = match &s.runtime.value {
            Runtime::Asgi { app } => {
                format!(
                    "{}.py",
                    app.split(':').next().unwrap_or("").replace('.', "/")
                )
            }
            Runtime::McpHttp { script, .. } => script.clone(),
            Runtime::Django { project, .. } if project == "." => "manage.py".into(),
            Runtime::Django { project, .. } => format!("{project}/manage.py"),
            _ => return None,
        };
        Some(if s.dir == "." {
            file
        } else {
            format!("{}/{file}", s.dir)
        })
    };
    let mut i = 0;
    while i < findings.services.len() {
        let Some(file) = app_file(&findings.services[i]) else {
            i += 1;
            continue;
        };
        let twin = findings
            .services
            .iter()
            .enumerate()
            .position(|(j, s)| j != i && app_file(s).as_deref() == Some(file.as_str()));
        let Some(j) = twin else {
            i += 1;
            continue;
        };
        let (keep, drop) = if depth(&findings.services[j].dir) > depth(&findings.services[i].dir) {
            (j, i)
        } else {
            (i, j)
        };
        let dropped = findings.services.remove(drop);
        let keep = if drop < keep { keep - 1 } else { keep };
        let kept = &mut findings.services[keep];
        for (name, found) in dropped.env {
            kept.env.entry(name).or_insert(found);
        }
        findings.notes.push(Found::new(
            format!(
                "{} is found from {} and from {}: one component, {} (built from {})",
                file,
                if dropped.dir == "." {
                    "the root"
                } else {
                    &dropped.dir
                },
                kept.dir,
                kept.name,
                kept.dir
            ),
            dropped.runtime.source.clone(),
        ));
        i = 0;
    }
}
