//! Routes: path prefix → component behind the one external entry point.
//! Longest prefix wins, as Ingress and Gateway API both match. Conflicting and
//! shadowing routes are reported before anything is rendered. In `nodePort`
//! and `none` modes, routes to several components are served by the edge proxy.

use super::env_rules::suggest;
use super::error::Problem;
use super::model::{ExposeMode, Values};

/// One route to an enabled component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutedPath<'a> {
    pub prefix: &'a str,
    pub component: &'a str,
    /// The prefix is removed before the request reaches the component.
    pub strip_prefix: bool,
}

/// Routes to enabled components, most specific (longest) prefix first.
pub fn routed_paths(values: &Values) -> Vec<RoutedPath<'_>> {
    let mut routes: Vec<RoutedPath> = values
        .expose
        .routes
        .iter()
        .filter(|(_, r)| {
            values
                .components
                .get(r.component())
                .is_some_and(|c| c.is_enabled())
        })
        .map(|(prefix, r)| RoutedPath {
            prefix,
            component: r.component(),
            strip_prefix: r.strips_prefix(),
        })
        .collect();
    routes.sort_by(|a, b| {
        b.prefix
            .len()
            .cmp(&a.prefix.len())
            .then(a.prefix.cmp(b.prefix))
    });
    routes
}

/// `(prefix, component)` of [`routed_paths`].
pub fn ordered_routes(values: &Values) -> Vec<(&str, &str)> {
    routed_paths(values)
        .into_iter()
        .map(|r| (r.prefix, r.component))
        .collect()
}

/// The component behind `/`: the entry point when there is no edge.
pub fn entry_component(values: &Values) -> Option<&str> {
    values.expose.routes.get("/").map(|r| r.component())
}

/// Whether the edge proxy serves the routes: in `nodePort` and `none` modes
/// (Ingress and Gateway route by themselves) when the routes to enabled
/// components name more than one component or strip a prefix.
pub fn uses_edge(values: &Values) -> bool {
    if !matches!(values.expose.mode, ExposeMode::NodePort | ExposeMode::None) {
        return false;
    }
    let routes = routed_paths(values);
    let mut components: Vec<&str> = routes.iter().map(|r| r.component).collect();
    components.sort();
    components.dedup();
    components.len() > 1 || routes.iter().any(|r| r.strip_prefix)
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
    for (path, route) in &expose.routes {
        let component = route.component();
        let at = format!("expose.routes.{path}");
        // `"` and `\` never appear unescaped in a URL path, and would end the
        // quoted location in the edge's nginx configuration.
        if !path.starts_with('/')
            || path.contains(|c: char| c.is_whitespace() || matches!(c, '?' | '#' | '"' | '\\'))
        {
            problems.push(Problem::new(
                at.clone(),
                format!("`{path}` is not a path prefix; allowed: starting with `/`, no spaces, `?`, `#`, `\"` or `\\`"),
            ));
        }
        if let Some(other) = seen.insert(normalized(path), path) {
            problems.push(Problem::new(
                at.clone(),
                format!("conflicts with the route `{other}`: both match the same paths"),
            ));
        }
        if route.strips_prefix() {
            problems.extend(check_strip_prefix(values, path));
        }
        match values.components.get(component) {
            None => problems.push(
                Problem::new(
                    at.clone(),
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
    if expose.mode == ExposeMode::NodePort
        && entry_component(values).is_none()
        && !uses_edge(values)
    {
        problems.push(
            Problem::new(
                "expose.routes",
                "has no route for `/`; a NodePort exposes the component routed at `/` (or the edge proxy, when the routes name several components)",
            )
            .with_hint("add e.g. expose.routes./: web, or use expose.mode ingress or gateway"),
        );
    }
    if matches!(expose.mode, ExposeMode::Ingress | ExposeMode::Gateway) {
        problems.extend(shadowed_paths(values));
    }
    problems
}

/// `stripPrefix` needs a prefix to strip, and a way to strip it: the edge,
/// or a Gateway's URLRewrite. Ingress has no portable one (controllers each
/// use their own annotation, applied to a whole Ingress), so it is refused.
fn check_strip_prefix(values: &Values, path: &str) -> Vec<Problem> {
    let at = format!("expose.routes.{path}.stripPrefix");
    let mut problems = Vec::new();
    if normalized(path) == "/" {
        problems.push(
            Problem::new(at.clone(), "is true on `/`, which has no prefix to strip").with_hint(
                format!(
                    "write expose.routes./: {}",
                    values.expose.routes[path].component()
                ),
            ),
        );
    }
    if values.expose.mode == ExposeMode::Ingress {
        problems.push(
            Problem::new(at, "is true, but an Ingress cannot strip a prefix portably (each controller has its own annotation)")
                .with_hint("use expose.mode gateway (an HTTPRoute URLRewrite) or nodePort (berth's edge proxy), or serve the component under the prefix"),
        );
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
