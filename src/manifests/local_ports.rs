//! Which parts of a release `berth open` serves on this machine, and at which
//! local port: the model of the local origin. Teams wrote their apps for
//! `http://localhost:3000` (the page) and `http://localhost:8000` (the API) and
//! hard-code those origins in CORS lists and auth settings, so by default each
//! routed component keeps its own port; the entry (the edge proxy when one
//! fronts several routes, else the component routed at `/`) takes the port of
//! the component routed at `/`. `expose.localPorts` overrides any of them.

use std::collections::BTreeSet;

use crate::values::Values;
use crate::values::routes::{entry_component, ordered_routes, uses_edge};

/// What a local port leads to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LocalTarget {
    /// The edge proxy in front of every route (`<release>-edge`).
    Edge,
    /// A routed component's own Service.
    Component(String),
}

/// One port `berth open` listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalForward {
    pub target: LocalTarget,
    pub port: u16,
    /// The origin is served here (the edge, or the component routed at `/`).
    pub entry: bool,
}

impl LocalForward {
    /// The name shown to users and accepted by `--port NAME=PORT`.
    pub fn name(&self) -> &str {
        match &self.target {
            LocalTarget::Edge => EDGE,
            LocalTarget::Component(name) => name,
        }
    }
}

/// The suffix of the edge proxy's objects (`<release>-edge`).
pub const EDGE: &str = super::edge::EDGE_NAME;

/// Whether the edge proxy fronts the routes (it is rendered): the one rule,
/// [`uses_edge`] (nodePort or none mode, routes to several components or one
/// that strips its prefix).
pub fn edge_fronts(values: &Values) -> bool {
    uses_edge(values)
}

/// Routed components that run and listen, each once, in name order.
fn routed_components(values: &Values) -> BTreeSet<&str> {
    ordered_routes(values)
        .into_iter()
        .map(|(_, component)| component)
        .filter(|c| values.components.get(*c).is_some_and(|c| c.port.is_some()))
        .collect()
}

/// A privileged container port (below 1024) is served locally 8000 higher
/// (80 → 8080): binding below 1024 needs root on this machine.
fn default_local_port(container_port: u16) -> u16 {
    if container_port < 1024 {
        container_port + 8000
    } else {
        container_port
    }
}

/// Every local forward of the release, the entry first; the others in
/// component name order. Ports from `expose.localPorts` are taken as given
/// (validation refuses duplicates); a default port already taken moves up to
/// the next free one, so the plan never listens twice on one port.
pub fn local_forwards(values: &Values) -> Vec<LocalForward> {
    let expose = &values.expose;
    let routed = routed_components(values);
    let entry = entry_component(values).filter(|c| routed.contains(c));
    let port_of = |name: &str| -> (u16, bool) {
        match expose.local_ports.get(name) {
            Some(port) => (*port, true),
            None => (
                default_local_port(values.components[name].port.unwrap_or_default()),
                false,
            ),
        }
    };
    let mut wanted: Vec<(LocalTarget, u16, bool, bool)> = Vec::new();
    if let Some(entry) = entry {
        let (port, explicit) = port_of(entry);
        let target = if edge_fronts(values) {
            LocalTarget::Edge
        } else {
            LocalTarget::Component(entry.to_string())
        };
        wanted.push((target, port, explicit, true));
    }
    for name in routed.iter().filter(|c| Some(**c) != entry) {
        let (port, explicit) = port_of(name);
        wanted.push((
            LocalTarget::Component(name.to_string()),
            port,
            explicit,
            false,
        ));
    }
    // Explicit ports are claimed first so a default never takes one of them.
    let mut taken: BTreeSet<u16> = wanted.iter().filter(|w| w.2).map(|w| w.1).collect();
    wanted
        .into_iter()
        .map(|(target, mut port, explicit, entry)| {
            if !explicit {
                while taken.contains(&port) && port < u16::MAX {
                    port += 1;
                }
                taken.insert(port);
            }
            LocalForward {
                target,
                port,
                entry,
            }
        })
        .collect()
}

/// The local origin: `http://localhost:<port of the entry>`, else of the only
/// forward; plain `http://localhost` when nothing is routed.
pub fn local_origin(values: &Values) -> String {
    let forwards = local_forwards(values);
    match forwards.iter().find(|f| f.entry).or(forwards.first()) {
        Some(forward) => format!("http://localhost:{}", forward.port),
        None => "http://localhost".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::ExposeMode;

    pub(crate) fn default_values() -> Values {
        let tree = crate::values::load::parse_yaml(crate::values::DEFAULT_VALUES_YAML, "defaults")
            .unwrap();
        crate::values::load::from_tree(tree).unwrap()
    }

    fn ports(values: &Values) -> Vec<(String, u16, bool)> {
        local_forwards(values)
            .iter()
            .map(|f| (f.name().to_string(), f.port, f.entry))
            .collect()
    }

    fn owned(list: &[(&str, u16, bool)]) -> Vec<(String, u16, bool)> {
        list.iter()
            .map(|(n, p, e)| (n.to_string(), *p, *e))
            .collect()
    }

    #[test]
    fn each_routed_component_keeps_its_own_port_and_the_edge_takes_the_entrys() {
        let mut values = default_values();
        // The defaults route `/` to the frontend (3000) and `/api` to the backend (8000).
        values.expose.mode = ExposeMode::Ingress;
        assert_eq!(
            ports(&values),
            owned(&[("frontend", 3000, true), ("backend", 8000, false)])
        );
        assert_eq!(local_origin(&values), "http://localhost:3000");
        values.expose.mode = ExposeMode::NodePort;
        assert!(edge_fronts(&values));
        assert_eq!(
            ports(&values),
            owned(&[("edge", 3000, true), ("backend", 8000, false)])
        );
        values.expose.local_ports.insert("frontend".into(), 4000);
        values.expose.local_ports.insert("backend".into(), 4001);
        assert_eq!(
            ports(&values),
            owned(&[("edge", 4000, true), ("backend", 4001, false)])
        );
        assert_eq!(local_origin(&values), "http://localhost:4000");
    }

    #[test]
    fn a_single_route_has_no_edge_and_clashing_or_privileged_defaults_move() {
        let mut values = default_values();
        values.expose.routes.remove("/api");
        assert!(!edge_fronts(&values));
        assert_eq!(ports(&values), owned(&[("frontend", 3000, true)]));
        values.expose.routes.insert("/api".into(), "backend".into());
        values.expose.mode = ExposeMode::Gateway;
        values.components.get_mut("backend").unwrap().port = Some(3000);
        values.components.get_mut("frontend").unwrap().port = Some(80);
        assert_eq!(
            ports(&values),
            owned(&[("frontend", 8080, true), ("backend", 3000, false)])
        );
        // An explicit port is never taken by a default.
        values.expose.local_ports.insert("backend".into(), 8080);
        assert_eq!(
            ports(&values),
            owned(&[("frontend", 8081, true), ("backend", 8080, false)])
        );
    }

    #[test]
    fn without_a_route_at_the_root_every_component_is_still_served() {
        let mut values = default_values();
        values.expose.mode = ExposeMode::Ingress;
        values.expose.routes.remove("/");
        assert_eq!(ports(&values), owned(&[("backend", 8000, false)]));
        assert_eq!(local_origin(&values), "http://localhost:8000");
        values.expose.routes.clear();
        assert!(ports(&values).is_empty());
        assert_eq!(local_origin(&values), "http://localhost");
    }
}
