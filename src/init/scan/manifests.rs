//! Plain Kubernetes manifests a team already has (`k8s/`, `kubernetes/`, `manifests/`, `deploy/`,
//! at the root or one level down): a Deployment's (or StatefulSet's) replicas, container port,
//! resources and env names, and a NodePort Service's port, for the services the scan found.
//! Env values are read only from plain `value:` entries (as a compose file's are); a Secret's
//! values never: a `secretKeyRef` or a Secret behind `envFrom` gives names only. A file that does
//! not parse is noted and ignored, never fatal; Helm charts' templates are left to
//! [`super::helm`].

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::text::{files_with, line_of, relative};
use crate::init::findings::{EnvUse, Findings, Found, Resources, Runtime, Service, Source};
use crate::values::quantity::parse_quantity;

const DIRS: [&str; 4] = ["k8s", "kubernetes", "manifests", "deploy"];

pub fn read(root: &Path, findings: &mut Findings) {
    let mut docs = Vec::new();
    for file in manifest_files(root) {
        let rel = relative(root, &file);
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        match serde_saphyr::from_multiple::<Value>(&text) {
            Ok(values) => docs.extend(
                values
                    .into_iter()
                    .filter(|v| v.get("kind").is_some())
                    .map(|v| (rel.clone(), text.clone(), v)),
            ),
            Err(e) => {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                findings.notes.push(Found::new(
                    format!("Kubernetes manifest {rel} does not parse ({first}); ignored"),
                    Source::new(&rel, None, "parse"),
                ));
            }
        }
    }
    let secrets: Vec<(String, Vec<String>)> = docs
        .iter()
        .filter(|(_, _, d)| kind(d) == "Secret")
        .map(|(_, _, d)| {
            let keys = ["data", "stringData"]
                .iter()
                .filter_map(|k| d.get(*k).and_then(Value::as_object))
                .flat_map(|m| m.keys().cloned())
                .collect();
            (name(d).to_string(), keys)
        })
        .collect();
    let config_maps: Vec<(String, &serde_json::Map<String, Value>)> = docs
        .iter()
        .filter(|(_, _, d)| kind(d) == "ConfigMap")
        .filter_map(|(_, _, d)| Some((name(d).to_string(), d.get("data")?.as_object()?)))
        .collect();
    for (rel, text, doc) in &docs {
        match kind(doc) {
            "Deployment" | "StatefulSet" => {
                let Some(pod) = doc.pointer("/spec/template/spec") else {
                    continue;
                };
                let containers = pod
                    .get("containers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut names = vec![name(doc).to_string()];
                names.extend(containers.iter().map(|c| name(c).to_string()));
                if let Some(app) = doc
                    .pointer("/spec/template/metadata/labels/app")
                    .and_then(Value::as_str)
                {
                    names.push(app.to_string());
                }
                let Some(service) = matching(&mut findings.services, &names) else {
                    findings.notes.push(Found::new(
                        format!(
                            "{} {} in {rel} matches no component found in the code; ignored",
                            kind(doc),
                            name(doc)
                        ),
                        Source::new(rel, line_of(text, name(doc)), "metadata.name"),
                    ));
                    continue;
                };
                // The container named like the component, else the first one.
                let Some(container) = containers
                    .iter()
                    .find(|c| name(c) == service.name)
                    .or_else(|| containers.first())
                else {
                    continue;
                };
                let at = |what: String, needle: &str| Source::new(rel, line_of(text, needle), what);
                workload(service, doc, container, &at, &mut findings.notes);
                env(service, container, rel, text, &secrets, &config_maps);
            }
            "Service" => node_port(&mut findings.services, doc, rel, text),
            _ => {}
        }
    }
}

/// YAML files under the manifest directories, without Helm charts and kustomizations.
fn manifest_files(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = DIRS.iter().map(|d| root.join(d)).collect();
    for child in fs::read_dir(root).into_iter().flatten().flatten() {
        let name = child.file_name().to_string_lossy().into_owned();
        if child.path().is_dir() && !super::text::skipped_dir(&name) {
            dirs.extend(DIRS.iter().map(|d| child.path().join(d)));
        }
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| d.is_dir())
        .flat_map(|d| {
            files_with(d, &[".yaml", ".yml"], 3)
                .into_iter()
                .filter(|f| !in_chart(d, f))
                .filter(|f| {
                    !f.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("kustomization"))
                })
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

fn in_chart(top: &Path, file: &Path) -> bool {
    file.ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(top))
        .any(|a| a.join("Chart.yaml").is_file())
}

fn kind(doc: &Value) -> &str {
    doc.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn name(doc: &Value) -> &str {
    doc.pointer("/metadata/name")
        .or_else(|| doc.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The service a workload is for: one whose name is the workload's, a container's or the `app`
/// label's, alone or as the last or first dash-separated part (`todo-backend`, `backend-api`).
fn matching<'a>(services: &'a mut [Service], names: &[String]) -> Option<&'a mut Service> {
    let fits = |service: &str, name: &str| {
        name == service
            || name.ends_with(&format!("-{service}"))
            || name.starts_with(&format!("{service}-"))
    };
    let exact = services.iter().position(|s| names.contains(&s.name));
    let index = exact.or_else(|| {
        let fitting: Vec<usize> = (0..services.len())
            .filter(|i| names.iter().any(|n| fits(&services[*i].name, n)))
            .collect();
        (fitting.len() == 1).then(|| fitting[0])
    })?;
    services.get_mut(index)
}

fn workload(
    service: &mut Service,
    doc: &Value,
    container: &Value,
    at: &dyn Fn(String, &str) -> Source,
    notes: &mut Vec<Found<String>>,
) {
    let workload = format!("{} {}", kind(doc), name(doc));
    if service.replicas.is_none()
        && let Some(n) = doc
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    {
        service.replicas = Some(Found::new(
            n,
            at(format!("{workload} replicas: {n}"), "replicas:"),
        ));
    }
    let port = container
        .get("ports")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(|p| p.get("containerPort"))
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok());
    // A static site's port is the one of berth's static file server, not the team's (nginx on 80).
    let static_site = matches!(service.runtime.value, Runtime::StaticSite { .. });
    if let Some(port) = port
        && !static_site
        && service.port.as_ref().is_none_or(|p| p.source.is_assumed())
    {
        service.port = Some(Found::new(
            port,
            at(
                format!("{workload} containerPort: {port}"),
                "containerPort:",
            ),
        ));
    }
    if let Some(r) = container.get("resources").filter(|r| r.is_object()) {
        match resources(r) {
            Ok(resources) => {
                service.resources = Some(Found::new(
                    resources,
                    at(format!("{workload} resources"), "resources:"),
                ))
            }
            Err(why) => notes.push(Found::new(
                format!(
                    "{workload}: resources not carried over ({why}); set components.{}.resources",
                    service.name
                ),
                at("resources".into(), "resources:"),
            )),
        }
    }
}

/// Requests and limits, each complete: a side that is missing takes the other's amounts (a
/// limit alone is also the request, as Kubernetes does; a request alone becomes the limit).
fn resources(r: &Value) -> Result<Resources, String> {
    let amounts = |side: &str| -> (Option<String>, Option<String>) {
        let get = |k: &str| {
            r.pointer(&format!("/{side}/{k}")).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        (get("cpu"), get("memory"))
    };
    let (req_cpu, req_mem) = amounts("requests");
    let (lim_cpu, lim_mem) = amounts("limits");
    let pick = |a: &Option<String>, b: &Option<String>, what: &str| {
        a.clone()
            .or_else(|| b.clone())
            .ok_or_else(|| format!("no {what}"))
    };
    let requests = (
        pick(&req_cpu, &lim_cpu, "cpu")?,
        pick(&req_mem, &lim_mem, "memory")?,
    );
    let limits = (
        pick(&lim_cpu, &req_cpu, "cpu")?,
        pick(&lim_mem, &req_mem, "memory")?,
    );
    for (what, request, limit) in [
        ("cpu", &requests.0, &limits.0),
        ("memory", &requests.1, &limits.1),
    ] {
        let (Some(q_request), Some(q_limit)) = (parse_quantity(request), parse_quantity(limit))
        else {
            return Err(format!("{what} `{request}`/`{limit}` is not a quantity"));
        };
        if q_request <= 0.0 || q_request > q_limit {
            return Err(format!("{what} request {request} above its limit {limit}"));
        }
    }
    Ok(Resources { requests, limits })
}

/// Env names of a container: plain values as examples; Secret references and a Secret's keys
/// behind `envFrom` as names only; a ConfigMap's keys behind `envFrom` with their values.
fn env(
    service: &mut Service,
    container: &Value,
    rel: &str,
    text: &str,
    secrets: &[(String, Vec<String>)],
    config_maps: &[(String, &serde_json::Map<String, Value>)],
) {
    let mut add = |var: String, example: Option<String>, required: bool, what: String| {
        let source = Source::new(rel, line_of(text, &format!("name: {var}")), what);
        // The code's reading stays the source; the manifest's plain value fills a missing example.
        service
            .env
            .entry(var)
            .and_modify(|found| {
                if found.value.example.is_none() {
                    found.value.example = example.clone();
                }
            })
            .or_insert(Found::new(
                EnvUse {
                    example: example.clone(),
                    required,
                    build_time: false,
                },
                source,
            ));
    };
    for e in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let var = name(e).to_string();
        if var.is_empty() {
            continue;
        }
        if let Some(key_ref) = e.pointer("/valueFrom/secretKeyRef") {
            let optional = key_ref.get("optional").and_then(Value::as_bool) == Some(true);
            add(
                var.clone(),
                None,
                !optional,
                format!("env {var} from Secret {}", name(key_ref)),
            );
        } else if e.get("valueFrom").is_some() {
            add(var.clone(), None, false, format!("env {var} (valueFrom)"));
        } else {
            let value = e.get("value").and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            });
            let example = value.filter(|v| !v.contains("$("));
            add(var.clone(), example, false, format!("env {var}"));
        }
    }
    for from in container
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = from.get("prefix").and_then(Value::as_str).unwrap_or("");
        if let Some(secret) = from.get("secretRef") {
            let optional = secret.get("optional").and_then(Value::as_bool) == Some(true);
            for (_, keys) in secrets.iter().filter(|(n, _)| n == name(secret)) {
                for key in keys {
                    add(
                        format!("{prefix}{key}"),
                        None,
                        !optional,
                        format!("envFrom Secret {}", name(secret)),
                    );
                }
            }
        }
        if let Some(config) = from.get("configMapRef") {
            for (_, data) in config_maps.iter().filter(|(n, _)| n == name(config)) {
                for (key, value) in data.iter() {
                    add(
                        format!("{prefix}{key}"),
                        value.as_str().map(String::from),
                        false,
                        format!("envFrom ConfigMap {}", name(config)),
                    );
                }
            }
        }
    }
}

/// A NodePort Service's `nodePort`, for the service its selector or name points at.
fn node_port(services: &mut [Service], doc: &Value, rel: &str, text: &str) {
    if doc.pointer("/spec/type").and_then(Value::as_str) != Some("NodePort") {
        return;
    }
    let Some(port) = doc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .and_then(|ports| ports.iter().find_map(|p| p.get("nodePort")?.as_i64()))
        .and_then(|n| i32::try_from(n).ok())
    else {
        return;
    };
    let mut names = vec![name(doc).to_string()];
    if let Some(app) = doc.pointer("/spec/selector/app").and_then(Value::as_str) {
        names.push(app.to_string());
    }
    if let Some(service) = matching(services, &names) {
        service.node_port = Some(Found::new(
            port,
            Source::new(
                rel,
                line_of(text, "nodePort:"),
                format!("Service {} nodePort: {port}", name(doc)),
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::Runtime;

    fn service(name: &str, runtime: Runtime) -> Service {
        Service {
            name: name.into(),
            dir: name.into(),
            runtime: Found::new(runtime, Source::new("x", None, "x")),
            port: Some(Found::new(3000, Source::assumed("port 3000"))),
            health: None,
            routes: Vec::new(),
            env: Default::default(),
            python: None,
            packages: Vec::new(),
            migration: None,
            user: None,
            replicas: None,
            resources: None,
            node_port: None,
            untranslated: Vec::new(),
            imports_outside: Vec::new(),
            load_checks: Vec::new(),
            build_fetches: Vec::new(),
            dev_proxies: Vec::new(),
            depends_on: Vec::new(),
            sqlite: None,
            database_tls: None,
            own_package: None,
        }
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    const API: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop-api}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: api\n          ports: [{containerPort: 9000}]\n          resources: {limits: {cpu: '1', memory: 1Gi}}\n          env:\n            - {name: STRIPE_KEY, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}\n            - {name: REGION, value: eu-west-1}\n";
    const WEB: &str = "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: nginx, ports: [{containerPort: 80}], resources: {requests: {cpu: 2}, limits: {cpu: 1, memory: 64Mi}}}]\n---\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 31000}]}\n";

    #[test]
    fn workloads_feed_the_services_they_name() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "deploy/k8s/api.yaml", API);
        write(root.path(), "infra/manifests/web.yml", WEB);
        // A chart's templates are Helm's, not plain manifests: never parsed here.
        write(root.path(), "deploy/chart/Chart.yaml", "name: c\n");
        write(
            root.path(),
            "deploy/chart/templates/x.yaml",
            "{{ if }}: [\n",
        );
        write(
            root.path(),
            "k8s/broken.yaml",
            "kind: Deployment\n metadata: [\n",
        );
        let mut findings = Findings {
            services: vec![
                service(
                    "api",
                    Runtime::Asgi {
                        app: "m:app".into(),
                    },
                ),
                service(
                    "web",
                    Runtime::StaticSite {
                        out_dir: "dist".into(),
                    },
                ),
            ],
            ..Findings::default()
        };
        read(root.path(), &mut findings);
        let api = &findings.services[0];
        assert_eq!(api.replicas.as_ref().map(|r| r.value), Some(3));
        assert_eq!(api.port.as_ref().map(|p| p.value), Some(9000));
        assert_eq!(
            api.resources.as_ref().map(|r| r.value.clone()),
            Some(Resources {
                requests: ("1".into(), "1Gi".into()),
                limits: ("1".into(), "1Gi".into()),
            }),
            "a limit alone is also the request"
        );
        let stripe = &api.env["STRIPE_KEY"];
        assert_eq!(
            (stripe.value.example.as_deref(), stripe.value.required),
            (None, false)
        );
        assert_eq!(
            api.env["REGION"].value.example.as_deref(),
            Some("eu-west-1")
        );
        let web = &findings.services[1];
        assert_eq!(
            web.port.as_ref().map(|p| p.value),
            Some(3000),
            "a static site keeps berth's server port"
        );
        assert_eq!(web.node_port.as_ref().map(|p| p.value), Some(31000));
        assert!(
            web.resources.is_none(),
            "a request above its limit is not carried over"
        );
        let notes: Vec<&str> = findings.notes.iter().map(|n| n.value.as_str()).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("Kubernetes manifest k8s/broken.yaml does not parse"),
            "{notes:?}"
        );
        assert!(
            notes[1].contains("resources not carried over (cpu request 2 above its limit 1)"),
            "{notes:?}"
        );
    }
}
