//! Routes: path prefix → component behind the one external entry point.
//! Longest prefix wins, as Ingress and Gateway API both match. Conflicting and
//! shadowing routes are reported before anything is rendered.

use super::env_rules::suggest;
use super::error::Problem;
use super::model::{ExposeMode, Values};

/// Routes to enabled components, most specific (longest) prefix first.
pub fn ordered_routes(values: &Values) -> Vec<(&str, &str)> {
    let mut routes: Vec<(&str, &str)> = values
        .expose
        .routes
        .iter()
        .filter(|(_, c)| values.components.get(*c).is_some_and(|c| c.is_enabled()))
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    routes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
    routes
}

/// The component behind `/`: the entry point (a NodePort exposes only it).
pub fn entry_component(values: &Values) -> Option<&str> {
    values.expose.routes.get("/").map(String::as_str)
}

/// Whether `prefix` matches `path` on segment boundaries (`/api` matches
/// `/api/auth`, not `/apix`).
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn normalized(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

pub fn check_routes(values: &Values) -> Vec<Problem> {
    let mut problems = Vec::new();
    let expose = &values.expose;
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    for (path, component) in &expose.routes {
        let at = format!("expose.routes.{path}");
        if !path.starts_with('/')
            || path.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
        {
            problems.push(Problem::new(
                at.clone(),
                format!("`{path}` is not a path prefix; allowed: starting with `/`, no spaces, `?` or `#`"),
            ));
        }
        if let Some(other) = seen.insert(normalized(path), path) {
            problems.push(Problem::new(
                at.clone(),
                format!("conflicts with the route `{other}`: both match the same paths"),
            ));
        }
        match values.components.get(component) {
            None => problems.push(
                Problem::new(
                    at,
                    format!("routes to `{component}`, which is not a component"),
                )
                .with_hint(suggest(
                    component,
                    values.components.keys(),
                    "components",
                )),
            ),
            Some(c) if c.port.is_none() => problems.push(Problem::new(
                at,
                format!("routes to `{component}`, a worker without a port"),
            )),
            Some(_) => {}
        }
    }
    if expose.mode == ExposeMode::NodePort && entry_component(values).is_none() {
        problems.push(
            Problem::new(
                "expose.routes",
                "has no route for `/`; a NodePort exposes the component routed at `/`",
            )
            .with_hint("add e.g. expose.routes./: web, or use expose.mode ingress or gateway"),
        );
    }
    if matches!(expose.mode, ExposeMode::Ingress | ExposeMode::Gateway) {
        problems.extend(shadowed_paths(values));
    }
    problems
}

/// A path a component says it serves, sent elsewhere by a more specific route.
fn shadowed_paths(values: &Values) -> Vec<Problem> {
    let routes = ordered_routes(values);
    let mut problems = Vec::new();
    for (name, c) in values.enabled_components() {
        for served in &c.paths {
            let Some((route, target)) = routes.iter().find(|(p, _)| prefix_matches(p, served))
            else {
                continue;
            };
            if target != name {
                problems.push(
                    Problem::new(
                        format!("expose.routes.{route}"),
                        format!("sends {served} to `{target}`, but components.{name}.paths says `{name}` serves it"),
                    )
                    .with_hint(format!(
                        "add the route `{served}: {name}`, or route only `/` to `{name}` and let it proxy the rest (the recommended frontend-side proxy)"
                    )),
                );
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        assert!(prefix_matches("/", "/anything"));
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/auth"));
        assert!(prefix_matches("/api/", "/api/auth"));
        assert!(!prefix_matches("/api", "/apix"));
        assert_eq!(normalized("/api/"), "/api");
        assert_eq!(normalized("/"), "/");
    }
}
