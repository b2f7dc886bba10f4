//! The edge proxy's nginx configuration, generated from the routes: one
//! origin for every route, matched as Ingress and Gateway API match
//! (`PathPrefix`: `/api` serves `/api` and `/api/…`, never `/apix`; the
//! longest prefix wins, which is also nginx's own rule for prefix locations).
//!
//! Upstreams are the components' Service names, resolved once when nginx
//! starts through the pod's resolver (so any cluster domain works). A
//! ClusterIP stays the same for its Service's life and kube-proxy follows the
//! pods behind it; a Service is only replaced when its component is renamed
//! or removed, which changes this configuration and so rolls the edge (its
//! checksum annotation). Services are applied before Deployments, so they
//! resolve when the edge starts.
//!
//! The Helm chart writes the same text (`templates/_edge.tpl`); the chart
//! equivalence tests compare the two byte for byte.

use super::exposure::ServiceRoute;

/// The port nginx serves the routes on (nginx-unprivileged's own).
pub const EDGE_PORT: u16 = 8080;
/// The port of the probes' endpoint, not behind any Service.
pub const EDGE_HEALTH_PORT: u16 = 8081;
/// Path of the probes' endpoint on [`EDGE_HEALTH_PORT`].
pub const EDGE_HEALTH_PATH: &str = "/healthz";
/// Where the configuration is mounted, read-only.
pub const EDGE_CONFIG_DIR: &str = "/etc/berth-edge";
/// The configuration's key in the ConfigMap (and file name in [`EDGE_CONFIG_DIR`]).
pub const EDGE_CONFIG_FILE: &str = "nginx.conf";
/// nginx's pid file and temporary files: the one writable directory (an emptyDir).
pub const EDGE_SCRATCH_DIR: &str = "/tmp";

/// The whole `nginx.conf`.
pub fn nginx_conf(routes: &[ServiceRoute], max_body_size: &str) -> String {
    let mut locations = String::new();
    for route in routes {
        locations.push_str(&locations_of(route));
    }
    format!(
        r#"# The edge proxy of berth: expose.routes on one origin.
worker_processes 1;
daemon off;
pid {EDGE_SCRATCH_DIR}/nginx.pid;
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    # The root filesystem is read-only: temporary files go to the scratch volume.
    client_body_temp_path {EDGE_SCRATCH_DIR}/client_body;
    proxy_temp_path {EDGE_SCRATCH_DIR}/proxy;
    fastcgi_temp_path {EDGE_SCRATCH_DIR}/fastcgi;
    uwsgi_temp_path {EDGE_SCRATCH_DIR}/uwsgi;
    scgi_temp_path {EDGE_SCRATCH_DIR}/scgi;
    access_log /dev/stdout;
    server_tokens off;
    client_max_body_size {max_body_size};

    # WebSocket upgrades pass through.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $http_host;
    # Streamed answers (server-sent events, chunked responses) and uploads
    # pass as they are written, and may stay open.
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_read_timeout 1h;
    proxy_send_timeout 1h;

    server {{
        listen {EDGE_PORT};
{locations}    }}

    # The probes' endpoint.
    server {{
        listen {EDGE_HEALTH_PORT};
        location = {EDGE_HEALTH_PATH} {{
            access_log off;
            return 200 "ok\n";
        }}
    }}
}}
"#
    )
}

/// The locations of one route: the prefix itself and everything below it.
/// With `stripPrefix` the upstream URI `/` replaces the matched part.
fn locations_of(route: &ServiceRoute) -> String {
    let prefix = route.prefix.trim_end_matches('/');
    let upstream = format!(
        "http://{}:{}{}",
        route.service,
        route.port,
        if route.strip_prefix { "/" } else { "" }
    );
    let location = |matcher: &str| {
        format!("        location {matcher} {{\n            proxy_pass {upstream};\n        }}\n")
    };
    if prefix.is_empty() {
        return location(&quoted("/"));
    }
    location(&format!("= {}", quoted(prefix))) + &location(&quoted(&format!("{prefix}/")))
}

/// A location as an nginx quoted string (route paths never hold `"` or `\`).
fn quoted(path: &str) -> String {
    format!("\"{path}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, service: &str, port: u16, strip_prefix: bool) -> ServiceRoute {
        ServiceRoute {
            prefix: prefix.into(),
            service: service.into(),
            port,
            strip_prefix,
        }
    }

    #[test]
    fn a_prefix_serves_itself_and_below_and_strips_only_when_asked() {
        let conf = nginx_conf(
            &[
                route("/api/", "r-api", 8000, true),
                route("/docs", "r-docs", 9000, false),
                route("/", "r-web", 3000, false),
            ],
            "10m",
        );
        assert!(conf.contains(
            "        location = \"/api\" {\n            proxy_pass http://r-api:8000/;\n        }\n        location \"/api/\" {\n            proxy_pass http://r-api:8000/;\n        }\n"
        ));
        assert!(
            conf.contains("location = \"/docs\" {\n            proxy_pass http://r-docs:9000;\n")
        );
        assert!(
            conf.contains("location \"/docs/\" {\n            proxy_pass http://r-docs:9000;\n")
        );
        assert!(conf.contains("location \"/\" {\n            proxy_pass http://r-web:3000;\n"));
        assert!(conf.contains("client_max_body_size 10m;"));
        // In the order given (most specific first), inside the serving block.
        let api = conf.find("\"/api\"").unwrap();
        let root = conf.find("location \"/\"").unwrap();
        let serving = conf.find("listen 8080;").unwrap();
        let health = conf.find("listen 8081;").unwrap();
        assert!(serving < api && api < root && root < health);
    }
}
