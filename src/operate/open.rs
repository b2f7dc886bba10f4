//! What `berth open` serves for a release: the local forwards of the values
//! the release was deployed with (its newest revision records them), with
//! `--port NAME=PORT` overrides, and the origin the browser uses.

use k8s_openapi::api::core::v1::Service;

use crate::apply::{self, Release};
use crate::manifests::exposure::external_url;
use crate::manifests::local_ports::{EDGE, LocalTarget, local_forwards, local_origin};
use crate::values::routes::entry_component;
use crate::values::{Origin, Problem, Values, ValuesError};

use super::OperateError;
use super::forward::Forward;

/// The local forwards and the origin they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPlan {
    /// The entry first.
    pub forwards: Vec<Forward>,
    /// `http://localhost:<entry port>`.
    pub origin: String,
    /// The origin the release was configured with, when it is another one:
    /// its CORS lists and auth settings may refuse the local origin.
    pub configured_for: Option<String>,
}

/// Whether the release's edge proxy Service exists: `berth open` then
/// forwards the origin to it instead of to the component routed at `/`.
pub async fn edge_deployed(client: &kube::Client, release: &Release) -> Result<bool, OperateError> {
    let name = format!("{}-{EDGE}", release.name);
    let services: kube::Api<Service> = kube::Api::namespaced(client.clone(), &release.namespace);
    let found = services
        .get_opt(&name)
        .await
        .map_err(|source| OperateError::Api {
            verb: "read",
            what: format!("service {name} in namespace {}", release.namespace),
            source,
        })?;
    Ok(found.is_some())
}

/// The values the release's newest revision was deployed with.
pub async fn deployed_values(
    client: &kube::Client,
    release: &Release,
) -> Result<Option<Values>, OperateError> {
    let revisions = apply::history(client, release)
        .await
        .map_err(|e| OperateError::Release {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            message: e.to_string(),
        })?;
    let Some(newest) = revisions.last() else {
        return Ok(None);
    };
    let loaded = apply::revision::load(client, release, newest.number)
        .await
        .map_err(|e| OperateError::Release {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            message: e.to_string(),
        })?;
    let Some((_, content)) = loaded else {
        return Ok(None);
    };
    serde_json::from_value(content.values)
        .map(Some)
        .map_err(|e| OperateError::Release {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            message: format!(
                "revision {} records values berth cannot read: {e}",
                newest.number
            ),
        })
}

/// Applies `--port NAME=PORT` overrides (a routed component's name, or
/// `edge` for the entry) to `expose.localPorts`, checked as values are.
pub fn override_ports(values: &mut Values, ports: &[(String, u16)]) -> Result<(), ValuesError> {
    let mut problems = Vec::new();
    let entry = entry_component(values).map(String::from);
    for (name, port) in ports {
        let key = match (name.as_str(), &entry) {
            (EDGE, Some(entry)) => entry.clone(),
            _ => name.clone(),
        };
        values.expose.local_ports.insert(key, *port);
    }
    crate::values::validate::check_origin(&mut problems, values);
    for problem in &mut problems {
        // Say it in the terms of the flag that caused it.
        if let Some(name) = problem.path.strip_prefix("expose.localPorts.") {
            problem.path = format!("--port {name}");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValuesError::invalid(problems))
    }
}

/// The forwards for `values` deployed as `release`. Without an edge Service
/// (`edge_deployed` false: a release from a berth before the edge) the entry
/// is the component routed at `/`, which then serves the routes it proxies.
pub fn plan(values: &Values, release: &str, edge_deployed: bool) -> OpenPlan {
    let entry = entry_component(values);
    let forwards = local_forwards(values)
        .into_iter()
        .map(|f| {
            let (name, service) = match (&f.target, entry) {
                (LocalTarget::Edge, Some(entry)) if !edge_deployed => {
                    (entry.to_string(), format!("{release}-{entry}"))
                }
                (LocalTarget::Edge, _) => (EDGE.to_string(), format!("{release}-{EDGE}")),
                (LocalTarget::Component(c), _) => (c.clone(), format!("{release}-{c}")),
            };
            Forward {
                name,
                service,
                port: f.port,
            }
        })
        .collect();
    let origin = local_origin(values);
    let configured = external_url(values);
    OpenPlan {
        forwards,
        configured_for: (configured != origin).then_some(configured),
        origin,
    }
}

/// Values as `berth deploy --open` deploys them: for the local origin.
pub fn for_local_origin(values: &mut Values) {
    values.expose.origin = Origin::Local;
    values.expose.url.clear();
}

/// A `--port` value: `NAME=PORT`.
pub fn parse_port(text: &str) -> Result<(String, u16), String> {
    let (name, port) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=PORT (e.g. frontend=3001)"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port; allowed: 1–65535"))?;
    if name.is_empty() {
        return Err(format!("`{text}` names no component (NAME=PORT)"));
    }
    Ok((name.to_string(), port))
}

/// Problems for the CLI to report when nothing is routed.
pub fn nothing_routed(values: &Values) -> Option<Problem> {
    local_forwards(values).is_empty().then(|| {
        Problem::new(
            "expose.routes",
            "routes nothing to a component with a port; `berth open` serves the routed components",
        )
        .with_hint("add e.g. expose.routes./: web")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::ExposeMode;

    fn default_values() -> Values {
        let tree = crate::values::load::parse_yaml(crate::values::DEFAULT_VALUES_YAML, "defaults")
            .unwrap();
        crate::values::load::from_tree(tree).unwrap()
    }

    #[test]
    fn the_plan_names_each_service_and_the_origin() {
        let mut values = default_values();
        let plan = plan(&values, "todo-chatbot", true);
        let got: Vec<(&str, &str, u16)> = plan
            .forwards
            .iter()
            .map(|f| (f.name.as_str(), f.service.as_str(), f.port))
            .collect();
        assert_eq!(
            got,
            [
                ("edge", "todo-chatbot-edge", 3000),
                ("backend", "todo-chatbot-backend", 8000)
            ]
        );
        assert_eq!(plan.origin, "http://localhost:3000");
        // Deployed for the NodePort: the app was told another origin.
        assert_eq!(
            plan.configured_for.as_deref(),
            Some("http://localhost:30080")
        );
        for_local_origin(&mut values);
        assert_eq!(
            super::plan(&values, "todo-chatbot", true).configured_for,
            None
        );
        // No edge deployed: the component routed at `/` is the entry.
        let without = super::plan(&values, "todo-chatbot", false);
        assert_eq!(without.forwards[0].name, "frontend");
        assert_eq!(without.forwards[0].service, "todo-chatbot-frontend");
        assert_eq!(without.origin, "http://localhost:3000");
        values.expose.mode = ExposeMode::Ingress;
        assert_eq!(
            super::plan(&values, "r", true).forwards[0].service,
            "r-frontend"
        );
    }

    #[test]
    fn port_overrides_are_checked_like_values() {
        let mut values = default_values();
        override_ports(
            &mut values,
            &[("edge".into(), 4000), ("backend".into(), 4001)],
        )
        .unwrap();
        assert_eq!(values.expose.local_ports["frontend"], 4000);
        assert_eq!(local_origin(&values), "http://localhost:4000");
        let err = override_ports(&mut values, &[("mcp".into(), 4002)]).unwrap_err();
        assert!(err.to_string().contains("--port mcp"), "{err}");
        let mut values = default_values();
        let err = override_ports(
            &mut values,
            &[("frontend".into(), 5000), ("backend".into(), 5000)],
        )
        .unwrap_err();
        assert!(err.to_string().contains("port 5000 is also"), "{err}");
        assert_eq!(parse_port("web=3001").unwrap(), ("web".into(), 3001));
        assert!(parse_port("web").is_err());
        assert!(parse_port("web=70000").is_err());
        assert!(parse_port("=3000").is_err());
    }
}
