//! Origins in the plan: which variables name the browser's origin (CORS lists, auth base URLs,
//! the app's own URL), which browser-side base URL points at another component (a build value
//! with `{externalUrl}` plus the routes that send its paths there), and which auth URLs a
//! server reaches inside the cluster (`{urlOf}`).
//!
//! Teams write these for `http://localhost:3000` (the page) and `http://localhost:8000` (the
//! API); on a cluster the browser has one origin and the API is a route on it.

use std::collections::BTreeMap;

use super::EnvPlan;
use crate::init::findings::{Runtime, Service};
use crate::init::scan::component_name;

/// What the plan knows that these rules need.
pub struct Stack<'a> {
    pub services: &'a [Service],
    /// Component → port.
    pub ports: &'a BTreeMap<String, u16>,
    /// The component routed at `/` (the page the browser opens).
    pub entry: Option<&'a str>,
}

/// A route the plan adds for a browser-side URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteNeed {
    pub prefix: String,
    pub component: String,
    /// The component serves at `/` what the browser asks under `prefix`.
    pub strip_prefix: bool,
}

/// A browser-side value and the routes it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserValue {
    pub value: EnvPlan,
    pub routes: Vec<RouteNeed>,
}

/// Packages of an auth server whose URL other services call (JWKS, sessions).
const AUTH_PACKAGES: [&str; 3] = ["better-auth", "next-auth", "@auth/core"];

/// Whether the name says it holds the browser's origin: `*_ORIGIN(S)` (CORS_ORIGINS,
/// ALLOWED_ORIGINS, TRUSTED_ORIGINS), or a URL of the app itself (FRONTEND_URL, APP_URL,
/// SITE_URL, PUBLIC_URL, BASE_URL, CLIENT_URL, WEB_URL, BETTER_AUTH_URL, NEXTAUTH_URL).
pub fn names_origin(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let Some(last) = words.last() else {
        return false;
    };
    let before = words.len().checked_sub(2).map(|i| words[i]);
    matches!(*last, "ORIGIN" | "ORIGINS")
        || (matches!(*last, "URL" | "URLS")
            && before.is_some_and(|w| {
                matches!(
                    w,
                    "FRONTEND"
                        | "APP"
                        | "SITE"
                        | "PUBLIC"
                        | "BASE"
                        | "CLIENT"
                        | "WEB"
                        | "AUTH"
                        | "NEXTAUTH"
                )
            }))
}

/// Whether an example value is a list that holds the page's development origin
/// (`http://localhost:3000,http://127.0.0.1:3000`, `["http://localhost:3000"]`).
pub fn lists_origin(example: &str, entry_port: u16) -> bool {
    let is_list = example.contains([',', '[', ' ']);
    is_list
        && ["localhost", "127.0.0.1"].iter().any(|host| {
            ["http", "https"]
                .iter()
                .any(|scheme| example.contains(&format!("{scheme}://{host}:{entry_port}")))
        })
}

/// The component serving the app's authentication (Better Auth, NextAuth), if one does.
fn auth_server<'a>(stack: &Stack<'a>) -> Option<&'a Service> {
    stack.services.iter().find(|s| {
        s.packages
            .iter()
            .any(|p| AUTH_PACKAGES.contains(&p.as_str()))
    })
}

/// The component an example URL points at (its compose name as host, or localhost on its
/// port), and the URL's path without a trailing `/`.
fn target_of<'a>(example: &str, stack: &Stack<'a>) -> Option<(&'a str, String)> {
    let url = url::Url::parse(example).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str().unwrap_or("");
    let port = url.port_or_known_default();
    let path = url.path().trim_end_matches('/').to_string();
    stack
        .ports
        .iter()
        .find(|(name, p)| {
            component_name(host) == **name
                || (matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0") && Some(**p) == port)
        })
        .map(|(name, _)| (name.as_str(), path))
}

/// A server-side variable about origins or the auth server, read by `service`; `None` leaves
/// the variable to the general rules.
///
/// - the auth server's URL (`*AUTH_URL`, `*JWKS*`) read by another service: that service
///   calls it, so it is the in-cluster URL (`{urlOf: AUTH, path}`);
/// - a name that holds the browser's origin, a URL of the page, or a list holding the page's
///   development origin: `{externalUrl}`.
pub fn server_value(
    var: &str,
    example: Option<&str>,
    service: &Service,
    stack: &Stack<'_>,
) -> Option<EnvPlan> {
    let upper = var.to_ascii_uppercase();
    let target = example.and_then(|e| target_of(e, stack));
    if let Some(auth) = auth_server(stack).filter(|a| a.name != service.name) {
        let auth_name = upper.contains("JWKS")
            || upper.ends_with("AUTH_URL")
            || upper.ends_with("AUTH_BASE_URL")
            || upper.ends_with("ISSUER_URL");
        let points_at_auth = target.as_ref().is_none_or(|(t, _)| *t == auth.name);
        if auth_name && points_at_auth && stack.ports.contains_key(&auth.name) {
            return Some(EnvPlan::UrlOf {
                component: auth.name.clone(),
                path: target.map(|(_, p)| p).unwrap_or_default(),
            });
        }
    }
    let entry_port = stack.entry.and_then(|e| stack.ports.get(e)).copied();
    if example.is_some_and(|e| entry_port.is_some_and(|p| lists_origin(e, p))) {
        return Some(EnvPlan::ExternalUrl("/".into()));
    }
    match target {
        // The page itself (or this service's own URL): what the browser sees.
        Some((t, path)) if Some(t) == stack.entry || t == service.name => {
            (names_origin(var) || t == service.name).then(|| EnvPlan::ExternalUrl(or_root(path)))
        }
        Some(_) => None,
        None if names_origin(var) && !names_other_component(var, stack) => {
            Some(EnvPlan::ExternalUrl("/".into()))
        }
        None => None,
    }
}

/// `API_BASE_URL` with a component `api` is that component's URL, not the app's own.
fn names_other_component(var: &str, stack: &Stack<'_>) -> bool {
    var.to_ascii_uppercase()
        .split('_')
        .any(|w| w != "FRONTEND" && stack.ports.contains_key(&w.to_ascii_lowercase()))
}

fn or_root(path: String) -> String {
    if path.is_empty() { "/".into() } else { path }
}

/// A browser-side base URL (`NEXT_PUBLIC_API_URL=http://localhost:8000`) pointing at
/// `component`, where the browser appends what the component serves (`/api/tasks`): on the
/// cluster the same paths go to the component through routes on the one origin.
///
/// - the component's routes share a first segment (`/api`) no path of the page uses: route it,
///   the base is the origin (plus the example's own path);
/// - the page serves some of them (`/api/auth` of an auth library): route the component's own
///   two-segment prefixes (`/api/tasks`) instead;
/// - otherwise (it serves at `/`, or its routes are unknown): `/<component>` with the prefix
///   stripped, the base `{externalUrl: /<component>}`.
pub fn browser_api(
    component: &str,
    example_path: &str,
    page: &Service,
    stack: &Stack<'_>,
) -> BrowserValue {
    let routes = api_routes(
        stack
            .services
            .iter()
            .find(|s| s.name == component)
            .map(|s| s.routes.as_slice())
            .unwrap_or_default(),
    );
    let routes = routes.as_slice();
    let page_paths: &[String] = &page.routes;
    let taken = |prefix: &str| {
        page_paths
            .iter()
            .any(|p| crate::values::routes::prefix_matches(prefix, p))
    };
    let route = |prefix: String| RouteNeed {
        prefix,
        component: component.to_string(),
        strip_prefix: false,
    };
    let base = or_root(example_path.to_string());
    if let Some(first) = common_segment(routes, 1).filter(|f| is_namespace(f, routes)) {
        if !taken(&first) {
            return BrowserValue {
                value: EnvPlan::ExternalUrl(base),
                routes: vec![route(first)],
            };
        }
        let own: Vec<String> = prefixes(routes, 2)
            .into_iter()
            .filter(|p| p.matches('/').count() == 2 && !taken(p))
            .collect();
        if !own.is_empty() {
            return BrowserValue {
                value: EnvPlan::ExternalUrl(base),
                routes: own.into_iter().map(route).collect(),
            };
        }
    }
    let prefix = format!("/{component}");
    BrowserValue {
        value: EnvPlan::ExternalUrl(format!("{prefix}{example_path}")),
        routes: vec![RouteNeed {
            prefix,
            component: component.to_string(),
            strip_prefix: true,
        }],
    }
}

/// The routes a browser-side base URL leads to: without the root (an index or info page) and
/// health or documentation endpoints at the root, which the page never calls through it.
fn api_routes(routes: &[String]) -> Vec<String> {
    routes
        .iter()
        .filter(|r| {
            let path = r.trim_matches('/');
            !(path.is_empty()
                || matches!(
                    path,
                    "health"
                        | "healthz"
                        | "ready"
                        | "readyz"
                        | "livez"
                        | "ping"
                        | "docs"
                        | "redoc"
                        | "openapi.json"
                        | "metrics"
                ))
        })
        .cloned()
        .collect()
}

/// A browser-visible base URL with no value anywhere in the repository
/// (`NEXT_PUBLIC_BACKEND_API_URL`, `VITE_BE_URL`) whose name says it is the API's, in a stack
/// with exactly one API (a Python or Node server besides the page): that one.
pub fn sole_api<'a>(var: &str, page: &Service, stack: &Stack<'a>) -> Option<&'a str> {
    let upper = var.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let is_url = words
        .last()
        .is_some_and(|w| matches!(*w, "URL" | "URI" | "BASE" | "ENDPOINT" | "HOST"));
    let names_api = words
        .iter()
        .any(|w| matches!(*w, "API" | "BACKEND" | "BE" | "SERVER" | "SERVICE"));
    if !(is_url && names_api) {
        return None;
    }
    let mut apis = stack.services.iter().filter(|s| {
        s.name != page.name
            && stack.ports.contains_key(&s.name)
            && matches!(
                s.runtime.value,
                Runtime::Asgi { .. } | Runtime::Node { .. } | Runtime::Django { .. }
            )
    });
    let only = apis.next()?;
    apis.next().is_none().then_some(only.name.as_str())
}

/// The first `depth` segments of each route (`/api/tasks/{id}` → `/api/tasks` at 2), without
/// parameters, sorted and unique.
fn prefixes(routes: &[String], depth: usize) -> Vec<String> {
    let mut out: Vec<String> = routes
        .iter()
        .filter_map(|r| {
            let segments: Vec<&str> = r
                .split('/')
                .filter(|s| !s.is_empty())
                .take_while(|s| !s.starts_with('{') && !s.starts_with('['))
                .take(depth)
                .collect();
            (!segments.is_empty()).then(|| format!("/{}", segments.join("/")))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a common first segment is the API's own namespace (`/api`, `/v1`, or one with
/// paths under it such as `/notes/health`) rather than one resource (`/tasks`, `/tasks/{id}`),
/// which the page likely uses as a page path too.
fn is_namespace(first: &str, routes: &[String]) -> bool {
    matches!(first, "/api" | "/v1" | "/v2" | "/v3" | "/graphql")
        || prefixes(routes, 2)
            .iter()
            .any(|p| p.matches('/').count() == 2)
}

/// The one prefix of `depth` segments every route starts with.
fn common_segment(routes: &[String], depth: usize) -> Option<String> {
    match prefixes(routes, depth).as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Whether the page's build bakes browser-visible variables in (Next.js, Vite, CRA).
pub fn bakes_at_build(service: &Service) -> bool {
    matches!(
        service.runtime.value,
        Runtime::NextJs { .. } | Runtime::StaticSite { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Source};

    fn service(name: &str, runtime: Runtime, routes: &[&str], packages: &[&str]) -> Service {
        Service {
            routes: routes.iter().map(|r| r.to_string()).collect(),
            packages: packages.iter().map(|p| p.to_string()).collect(),
            ..Service::new(name, name, Found::new(runtime, Source::assumed("test")))
        }
    }

    fn next(routes: &[&str], packages: &[&str]) -> Service {
        service(
            "frontend",
            Runtime::NextJs { standalone: true },
            routes,
            packages,
        )
    }

    fn api(routes: &[&str]) -> Service {
        service(
            "backend",
            Runtime::Asgi {
                app: "m:app".into(),
            },
            routes,
            &[],
        )
    }

    fn ports() -> BTreeMap<String, u16> {
        [
            ("frontend".to_string(), 3000),
            ("backend".to_string(), 8000),
        ]
        .into()
    }

    #[test]
    fn a_base_url_without_a_value_is_the_only_api() {
        let ports = ports();
        let services = [next(&[], &[]), api(&["/api/tasks"])];
        let stack = Stack {
            services: &services,
            ports: &ports,
            entry: Some("frontend"),
        };
        let page = &services[0];
        assert_eq!(
            sole_api("NEXT_PUBLIC_BACKEND_API_URL", page, &stack),
            Some("backend")
        );
        assert_eq!(sole_api("VITE_BE_URL", page, &stack), Some("backend"));
        assert_eq!(
            sole_api("NEXT_PUBLIC_SITE_URL", page, &stack),
            None,
            "not the API's"
        );
        let two = [
            next(&[], &[]),
            api(&["/api/tasks"]),
            service(
                "worker-api",
                Runtime::Asgi {
                    app: "w:app".into(),
                },
                &[],
                &[],
            ),
        ];
        let mut more = ports.clone();
        more.insert("worker-api".into(), 8001);
        let stack = Stack {
            services: &two,
            ports: &more,
            entry: Some("frontend"),
        };
        assert_eq!(
            sole_api("VITE_API_URL", &two[0], &stack),
            None,
            "which one is unclear"
        );
    }

    #[test]
    fn origin_names_and_lists() {
        for name in [
            "FRONTEND_URL",
            "CORS_ORIGINS",
            "ALLOWED_ORIGINS",
            "BETTER_AUTH_URL",
            "NEXTAUTH_URL",
            "NEXT_PUBLIC_APP_URL",
            "CSRF_TRUSTED_ORIGINS",
            "ORIGIN",
        ] {
            assert!(names_origin(name), "{name}");
        }
        for name in [
            "API_URL",
            "DATABASE_URL",
            "BACKEND_URL",
            "ORIGINAL_NAME",
            "JWKS_URL",
        ] {
            assert!(!names_origin(name), "{name}");
        }
        assert!(lists_origin(
            "http://localhost:3000,http://127.0.0.1:3000",
            3000
        ));
        assert!(lists_origin("[\"http://localhost:3000\"]", 3000));
        assert!(
            !lists_origin("http://localhost:3000", 3000),
            "one URL is not a list"
        );
        assert!(!lists_origin("http://localhost:8000,http://x", 3000));
    }

    #[test]
    fn server_side_origins_and_the_auth_server() {
        let services = [
            next(&["/api/auth/[...all]"], &["better-auth"]),
            api(&["/api/tasks"]),
        ];
        let ports = ports();
        let stack = Stack {
            services: &services,
            ports: &ports,
            entry: Some("frontend"),
        };
        let backend = &services[1];
        let frontend = &services[0];
        let ext = |p: &str| Some(EnvPlan::ExternalUrl(p.into()));
        assert_eq!(
            server_value(
                "FRONTEND_URL",
                Some("http://localhost:3000"),
                backend,
                &stack
            ),
            ext("/")
        );
        assert_eq!(
            server_value(
                "CORS_ORIGINS",
                Some("http://localhost:3000,http://127.0.0.1:3000"),
                backend,
                &stack
            ),
            ext("/")
        );
        assert_eq!(
            server_value("ALLOWED_ORIGINS", None, backend, &stack),
            ext("/")
        );
        // The backend fetches the JWKS from the auth server: inside the cluster.
        assert_eq!(
            server_value(
                "BETTER_AUTH_URL",
                Some("http://localhost:3000"),
                backend,
                &stack
            ),
            Some(EnvPlan::UrlOf {
                component: "frontend".into(),
                path: String::new()
            })
        );
        assert_eq!(
            server_value(
                "JWKS_URL",
                Some("http://localhost:3000/api/auth/jwks"),
                backend,
                &stack
            ),
            Some(EnvPlan::UrlOf {
                component: "frontend".into(),
                path: "/api/auth/jwks".into()
            })
        );
        // The auth server's own base URL is what the browser sees.
        assert_eq!(
            server_value(
                "BETTER_AUTH_URL",
                Some("http://localhost:3000"),
                frontend,
                &stack
            ),
            ext("/")
        );
        // A URL of another component that names no origin is left to the general rules.
        assert_eq!(
            server_value("TASKS_API", Some("http://localhost:8000"), frontend, &stack),
            None
        );
    }

    #[test]
    fn browser_api_routes_what_the_component_serves() {
        let ports = ports();
        let check = |page: Service, backend: Service, path: &str| {
            let services = [page.clone(), backend];
            let stack = Stack {
                services: &services,
                ports: &ports,
                entry: Some("frontend"),
            };
            let got = browser_api("backend", path, &page, &stack);
            let routes: Vec<(String, bool)> = got
                .routes
                .iter()
                .map(|r| (r.prefix.clone(), r.strip_prefix))
                .collect();
            (got.value, routes)
        };
        let ext = |p: &str| EnvPlan::ExternalUrl(p.into());
        // /api is the backend's alone: route it, the base is the origin.
        assert_eq!(
            check(
                next(&["/healthz"], &[]),
                api(&["/api/tasks", "/api/health"]),
                ""
            ),
            (ext("/"), vec![("/api".into(), false)])
        );
        // The example's own path stays: http://localhost:8000/api.
        assert_eq!(
            check(
                next(&[], &[]),
                api(&["/api/tasks/{id}", "/api/health"]),
                "/api"
            ),
            (ext("/api"), vec![("/api".into(), false)])
        );
        // The page serves /api/auth: route the backend's own /api/… prefixes.
        assert_eq!(
            check(
                next(&["/api/auth/[...all]", "/api/health"], &[]),
                api(&["/api/tasks", "/api/tasks/{id}", "/api/health"]),
                ""
            ),
            (ext("/"), vec![("/api/tasks".into(), false)])
        );
        // An index page and health checks at the root do not make it a root-served API.
        assert_eq!(
            check(
                next(&[], &[]),
                api(&["/", "/health", "/api/todos", "/api/auth/login"]),
                ""
            ),
            (ext("/"), vec![("/api".into(), false)])
        );
        // Served at the root: a prefix the edge strips. One resource at the root is no
        // namespace: the page likely has a /tasks of its own.
        assert_eq!(
            check(next(&[], &[]), api(&["/tasks", "/health"]), ""),
            (ext("/backend"), vec![("/backend".into(), true)])
        );
        assert_eq!(
            check(next(&[], &[]), api(&[]), "/v1"),
            (ext("/backend/v1"), vec![("/backend".into(), true)])
        );
    }
}
