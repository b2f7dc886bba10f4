//! At least 200 randomly generated *stacks* per run: random component names and
//! counts (workers without ports among them), references between them
//! (`urlOf`, `externalUrl`, `database` in every driver form, `release`),
//! secrets (given, generated, optional, required), database modes, routes
//! through every exposure, tasks, probes, writable paths, scaling overrides,
//! existing Secrets and egress. For each, `berth render` in the stack's
//! directory and `helm template` of the chart `berth chart export` writes
//! there must be equivalent. The seed is fixed and printed, so a failure
//! reproduces with the same command:
//!
//! ```sh
//! cargo test --test chart_random -- --nocapture
//! BERTH_CHART_CASES=500 BERTH_CHART_SEED=7 cargo test --test chart_random -- --nocapture
//! ```

mod chart_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Map, Value, json};

use chart_support::Case;

const DEFAULT_CASES: u32 = 200;
const DEFAULT_SEED: u64 = 20_261_202;

/// A generated stack: its `berth.yaml`, its secret values, where it is installed.
#[derive(Debug, Clone)]
struct Stack {
    values: Value,
    secrets: BTreeMap<String, String>,
    release: String,
    namespace: String,
}

fn dns_label(max_middle: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([a-z0-9-]{{0,{max_middle}}}[a-z0-9])?"))
        .expect("a valid pattern")
}

fn hostname() -> impl Strategy<Value = String> {
    prop::collection::vec(dns_label(8), 1..4).prop_map(|labels| labels.join("."))
}

fn path() -> impl Strategy<Value = String> {
    "/[a-z0-9_.-]{0,8}(/[a-z0-9_.-]{1,6})?"
}

fn image() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("localhost/team/app".to_string()),
            Just("registry.example.com:5000/team/app".to_string()),
            "[a-z]{1,8}/[a-z0-9-]{1,10}",
        ],
        "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,12}",
        prop::option::weighted(0.3, "images/[a-z]{1,8}\\.toml"),
    )
        .prop_map(|(repository, tag, build)| {
            let mut image = json!({"repository": repository, "tag": tag});
            if let Some(build) = build {
                image["build"] = json!(build);
            }
            image
        })
}

/// A CPU amount in millicores, written the ways users write it.
fn cpu(millis: u32, style: u8) -> Value {
    match style {
        0 => json!(format!("{millis}m")),
        1 if millis.is_multiple_of(1000) => json!(millis / 1000),
        1 => json!(format!("{}", millis as f64 / 1000.0)),
        _ => json!(millis as f64 / 1000.0),
    }
}

/// A memory amount in MiB, as `Mi`, a number of bytes, or bytes as text.
fn memory(mib: u64, style: u8) -> Value {
    match style {
        0 => json!(format!("{mib}Mi")),
        1 => json!(mib * 1024 * 1024),
        _ => json!(format!("{}", mib * 1024 * 1024)),
    }
}

fn resources() -> impl Strategy<Value = Value> {
    (1u32..2000, 0u32..3000, 0u8..3, 0u8..3, 16u64..2048, 0u64..2048, 0u8..3, 0u8..3).prop_map(
        |(cpu_req, cpu_extra, cs1, cs2, mem_req, mem_extra, ms1, ms2)| {
            json!({
                "requests": {"cpu": cpu(cpu_req, cs1), "memory": memory(mem_req, ms1)},
                "limits": {"cpu": cpu(cpu_req + cpu_extra, cs2), "memory": memory(mem_req + mem_extra, ms2)},
            })
        },
    )
}

/// Text with the characters that break naive templates: quotes, colons, `#`,
/// braces, newlines, non-ASCII.
fn awkward_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 :#{}\"'\\\\/@%+&*!|>\\n\\tüé€-]{0,24}"
}

/// A number as users write one in env: integers, decimals, exponents, tiny
/// and huge ones (both tools must print the same text for each).
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-1_000_000_000i64..1_000_000_000).prop_map(Value::from),
        (-1e7f64..1e7).prop_map(Value::from),
        (0u32..1000, -12i32..25).prop_map(|(m, e)| Value::from(f64::from(m) * 10f64.powi(e))),
        prop::sample::select(vec![
            1e3,
            1.0,
            0.5,
            -0.0,
            1e-7,
            1e21,
            1234567.5,
            999999.5,
            0.0001,
            1e15,
            9007199254740992.0
        ])
        .prop_map(Value::from),
    ]
}

/// A plain env value: text, or a number or boolean (written as text).
fn plain_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => awkward_text().prop_map(Value::from),
        2 => number(),
        1 => prop::bool::ANY.prop_map(Value::from),
    ]
}

/// What an env entry refers to, before the stack's names are known: indices
/// are taken modulo the candidates when the stack is assembled.
#[derive(Debug, Clone)]
enum EnvChoice {
    Plain(Value),
    Secret(usize),
    UrlOf(usize, Option<String>),
    ExternalUrl(String),
    Database(usize, usize),
    Release(bool),
}

fn env_choice() -> impl Strategy<Value = EnvChoice> {
    prop_oneof![
        4 => plain_value().prop_map(EnvChoice::Plain),
        3 => any::<usize>().prop_map(EnvChoice::Secret),
        2 => (any::<usize>(), prop::option::of(path())).prop_map(|(i, p)| EnvChoice::UrlOf(i, p)),
        1 => prop_oneof![Just("/".to_string()), path()].prop_map(EnvChoice::ExternalUrl),
        2 => (0usize..6, 0usize..5).prop_map(|(part, driver)| EnvChoice::Database(part, driver)),
        1 => prop::bool::ANY.prop_map(EnvChoice::Release),
    ]
}

/// Env names: plain ones never look like credentials (berth refuses those);
/// references may (`DB_PASSWORD: {database: password}`).
fn env_entries() -> impl Strategy<Value = Vec<(String, EnvChoice)>> {
    prop::collection::vec(("[A-Z][A-Z0-9]{0,5}(_[A-Z0-9]{1,4})?", env_choice()), 0..6)
}

fn probe_check(worker: bool) -> BoxedStrategy<Value> {
    let exec = prop::collection::vec("[a-z/-]{1,8}", 1..3).prop_map(|c| json!({"exec": c}));
    if worker {
        exec.boxed()
    } else {
        prop_oneof![
            path().prop_map(|p| json!({"http": p})),
            Just(json!({"tcp": true})),
            exec,
        ]
        .boxed()
    }
}

fn probes(worker: bool) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(
        0.7,
        (
            prop::option::of(probe_check(worker)),
            prop::option::weighted(0.3, probe_check(worker)),
            prop::option::weighted(0.3, probe_check(worker)),
            prop::option::weighted(0.3, probe_check(worker)),
        )
            .prop_map(|(base, startup, readiness, liveness)| {
                let mut probes = base.unwrap_or_else(|| json!({}));
                for (key, check) in [
                    ("startup", startup),
                    ("readiness", readiness),
                    ("liveness", liveness),
                ] {
                    if let Some(check) = check {
                        probes[key] = check;
                    }
                }
                probes
            }),
    )
}

fn scaling_override() -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(
        0.3,
        (
            prop::option::of(prop::bool::ANY),
            prop::option::of(1i32..4),
            prop::option::of(0i32..4),
            prop::option::of(1i32..=100),
        )
            .prop_map(|(enabled, min, extra, cpu)| {
                let mut o = Map::new();
                if let Some(e) = enabled {
                    o.insert("enabled".into(), json!(e));
                }
                // maxReplicas is only set with minReplicas, so it stays at least that.
                if let Some(min) = min {
                    o.insert("minReplicas".into(), json!(min));
                    o.insert("maxReplicas".into(), json!(min + 4 + extra.unwrap_or(0)));
                }
                if let Some(cpu) = cpu {
                    o.insert("targetCpuUtilization".into(), json!(cpu));
                }
                Value::Object(o)
            }),
    )
}

fn budget_override() -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(
        0.3,
        (prop::option::of(prop::bool::ANY), prop::option::of(0i32..3)).prop_map(|(e, m)| {
            let mut o = Map::new();
            if let Some(e) = e {
                o.insert("enabled".into(), json!(e));
            }
            if let Some(m) = m {
                o.insert("minAvailable".into(), json!(m));
            }
            Value::Object(o)
        }),
    )
}

/// One component without its env (that needs the other names).
#[derive(Debug, Clone)]
struct ComponentDraft {
    fields: Map<String, Value>,
    worker: bool,
    env: Vec<(String, EnvChoice)>,
    existing_secret: bool,
}

fn component() -> impl Strategy<Value = ComponentDraft> {
    prop::bool::weighted(0.25).prop_flat_map(|worker| {
        (
            (
                prop::option::weighted(0.3, prop::bool::weighted(0.8)),
                prop::option::weighted(0.3, dns_label(8)),
                prop::option::weighted(0.2, "[a-zA-Z ,.()/-]{0,20}"),
                image(),
                prop::option::weighted(0.7, 0i32..4),
                1u16..=65535,
                prop::option::weighted(0.2, prop::collection::vec("[a-z/.-]{1,8}", 1..3)),
                prop::option::weighted(0.2, prop::collection::vec(awkward_text(), 0..3)),
                probes(worker),
            ),
            (
                prop::option::weighted(0.6, resources()),
                prop::option::weighted(
                    0.4,
                    prop_oneof![Just(10001i64), 1i64..100_000, 1_000_000i64..2_147_483_647],
                ),
                prop::collection::btree_set(
                    "/[a-z][a-z0-9]{0,5}(/\\.?[a-z][a-z0-9]{0,5}){0,2}",
                    0..3,
                ),
                prop::collection::btree_map("[a-z]{1,6}\\.io/[a-z]{1,8}", awkward_text(), 0..3),
                prop::collection::btree_map("team\\.example/[a-z]{1,8}", "[a-z0-9]{0,8}", 0..2),
                scaling_override(),
                budget_override(),
            ),
            (
                env_entries(),
                prop::bool::weighted(0.15),
                prop::collection::btree_map(
                    "[a-z][a-z0-9]{0,6}",
                    (
                        prop::collection::vec("[a-z][a-z0-9-]{0,8}", 1..3),
                        prop::option::of(prop::collection::vec(awkward_text(), 0..2)),
                        prop::bool::ANY,
                    ),
                    0..3,
                ),
                prop::collection::vec(
                    (hostname(), prop::option::of(1u16..=65535)).prop_map(|(h, p)| match p {
                        Some(p) => format!("{h}:{p}"),
                        None => h,
                    }),
                    0..3,
                ),
            ),
        )
            .prop_map(
                move |(
                    (
                        enabled,
                        name_label,
                        description,
                        image,
                        replicas,
                        port,
                        command,
                        args,
                        probes,
                    ),
                    (resources, uid, writable, annotations, labels, autoscaling, budget),
                    (env, existing_secret, tasks, egress),
                )| {
                    let mut f = Map::new();
                    let mut put = |k: &str, v: Option<Value>| {
                        if let Some(v) = v {
                            f.insert(k.into(), v);
                        }
                    };
                    put("enabled", enabled.map(Value::from));
                    put("nameLabel", name_label.map(Value::from));
                    put("description", description.map(Value::from));
                    put("image", Some(image));
                    put("replicas", replicas.map(Value::from));
                    put("port", (!worker).then(|| json!(port)));
                    put("command", command.map(|c| json!(c)));
                    put("args", args.map(|a| json!(a)));
                    put("probes", probes);
                    put("resources", resources);
                    put("runAsUser", uid.map(Value::from));
                    // Distinct volume names: the last two segments must differ.
                    let mut volumes = std::collections::BTreeSet::new();
                    let writable: Vec<String> = writable
                        .into_iter()
                        .filter(|p| volumes.insert(volume_name(p)))
                        .collect();
                    put(
                        "writablePaths",
                        (!writable.is_empty()).then(|| json!(writable)),
                    );
                    put(
                        "podAnnotations",
                        (!annotations.is_empty()).then(|| json!(annotations)),
                    );
                    put("podLabels", (!labels.is_empty()).then(|| json!(labels)));
                    put("autoscaling", autoscaling);
                    put("podDisruptionBudget", budget);
                    let tasks: Map<String, Value> = tasks
                        .into_iter()
                        .map(|(name, (command, args, explicit))| {
                            let mut t = json!({"command": command});
                            if explicit {
                                t["before"] = json!("rollout");
                            }
                            if let Some(args) = args {
                                t["args"] = json!(args);
                            }
                            (format!("t{name}"), t)
                        })
                        .collect();
                    put("tasks", (!tasks.is_empty()).then_some(Value::Object(tasks)));
                    put("egress", (!egress.is_empty()).then(|| json!(egress)));
                    ComponentDraft {
                        fields: f,
                        worker,
                        env,
                        existing_secret,
                    }
                },
            )
    })
}

/// berth's volume name for a writable path (last two segments, dots dropped).
fn volume_name(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_start_matches('.').to_string())
        .collect();
    segments[segments.len().saturating_sub(2)..].join("-")
}

/// A secret: its spec, and the value given (None: not given).
fn secret() -> impl Strategy<Value = (Value, Option<String>)> {
    (
        prop::option::of("[A-Z][A-Z0-9_]{0,10}"),
        prop::option::weighted(0.3, 16u16..=64),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, "[a-zA-Z ,.()-]{0,20}"),
        prop::option::weighted(0.8, "[ -~üé€]{1,40}"),
    )
        .prop_map(|(from_env, generate, required, description, value)| {
            let mut spec = Map::new();
            if let Some(env) = from_env {
                spec.insert("fromEnv".into(), json!(env));
            }
            if let Some(length) = generate {
                spec.insert("generate".into(), json!({"length": length}));
            }
            if required {
                spec.insert("required".into(), json!(true));
            }
            if let Some(d) = description {
                spec.insert("description".into(), json!(d));
            }
            // Generated and required secrets are always given: a generated one
            // would differ between the two tools, a required one is refused.
            let value = match value {
                None if generate.is_some() || required => Some("given-anyway".to_string()),
                v => v,
            };
            (Value::Object(spec), value)
        })
}

/// A PostgreSQL URL berth accepts: scheme, driver and SSL parameter agree.
fn database_url() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(("", "sslmode")),
            Just(("+psycopg", "sslmode")),
            Just(("+asyncpg", "ssl")),
            Just(("+psycopg2", "sslmode")),
        ],
        "[a-zA-Z][a-zA-Z0-9_]{0,8}(%40[a-z]{1,3})?",
        "[a-zA-Z0-9]{1,12}(%2F[a-z0-9]{1,4}|%3A[a-z]{1,3})?",
        hostname(),
        prop::option::of(1u16..=65535),
        "[a-zA-Z][a-zA-Z0-9_]{0,8}",
        prop::bool::ANY,
    )
        .prop_map(|((driver, ssl), user, password, host, port, db, require)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = if require {
                format!("?{ssl}=require&application_name=x")
            } else {
                String::new()
            };
            format!("postgresql{driver}://{user}:{password}@{host}{port}/{db}{query}")
        })
}

fn expose() -> impl Strategy<Value = (Value, Vec<(String, usize, bool)>)> {
    (
        prop_oneof![Just("nodePort"), Just("ingress"), Just("gateway"), Just("none")],
        30000i32..=32767,
        prop_oneof![Just("nginx".to_string()), dns_label(6)],
        hostname(),
        prop_oneof![Just(String::new()), dns_label(10)],
        prop_oneof![Just(String::new()), dns_label(10)],
        (dns_label(8), prop_oneof![Just(String::new()), dns_label(8)], prop_oneof![Just(String::new()), dns_label(6)], hostname(), prop::bool::ANY),
        (prop::option::weighted(0.8, any::<usize>()), prop::collection::vec((path(), any::<usize>(), prop::bool::weighted(0.3)), 0..4)),
        // The edge proxy's own settings.
        // An edge image is pulled, never built: no `build`.
        (image().prop_map(|mut i| { i.as_object_mut().unwrap().remove("build"); i }), 1i32..4, prop_oneof![Just(json!("10m")), Just(json!(0)), "[0-9]{1,5}[kmg]?".prop_map(|s| json!(s))], resources()),
    )
        .prop_map(|(mode, node_port, class, host, controller, tls, (gw, gw_ns, section, gw_host, https), (root, others), (edge_image, edge_replicas, body, edge_resources))| {
            // A prefix is stripped where it can be: never at `/`, never by an Ingress.
            let mut routes: Vec<(String, usize, bool)> = others
                .into_iter()
                .filter(|(p, _, _)| p != "/")
                .map(|(p, t, strip)| (p, t, strip && mode != "ingress"))
                .collect();
            if let Some(target) = root {
                routes.push(("/".into(), target, false));
            }
            (
                json!({
                    "mode": mode, "nodePort": node_port,
                    "ingress": {"className": class, "host": host, "controllerNamespace": controller, "tlsSecretName": tls},
                    "gateway": {"name": gw, "namespace": gw_ns, "sectionName": section, "host": gw_host, "https": https},
                    "edge": {"image": edge_image, "replicas": edge_replicas, "maxBodySize": body, "resources": edge_resources},
                }),
                routes,
            )
        })
}

fn release_wide() -> impl Strategy<Value = (Value, Value, Value)> {
    (prop::bool::ANY, 1i32..5, 0i32..6, 1i32..=100, prop::bool::ANY, 0i32..5, prop::bool::ANY).prop_map(
        |(hpa, min, extra, cpu, pdb, min_available, policies)| {
            (
                json!({"enabled": hpa, "minReplicas": min, "maxReplicas": min + extra, "targetCpuUtilization": cpu}),
                json!({"enabled": pdb, "minAvailable": min_available}),
                json!({"enabled": policies}),
            )
        },
    )
}

fn identifier() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,12}"
}

const DRIVERS: [&str; 5] = ["", "postgres", "asyncpg", "psycopg", "psycopg2"];
const PARTS: [&str; 6] = ["url", "host", "port", "user", "name", "password"];

fn stack() -> impl Strategy<Value = Stack> {
    (
        (
            dns_label(12),
            "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
            prop_oneof![Just("IfNotPresent"), Just("Always"), Just("Never")],
            dns_label(12),
            dns_label(10),
        ),
        prop::collection::btree_map("[a-z][a-z0-9]{0,7}", component(), 1..6),
        prop::collection::btree_map("[a-z][a-zA-Z0-9_-]{0,8}", secret(), 0..5),
        (
            prop_oneof![Just("internal"), Just("external"), Just("none")],
            (identifier(), identifier(), image(), 1u16..=65535),
            (
                prop_oneof![Just(json!("1Gi")), (1u64..500).prop_map(|g| json!(format!("{g}Gi"))), (1u64..64).prop_map(|g| json!(g * 1024 * 1024 * 1024))],
                prop_oneof![Just(String::new()), dns_label(10)],
                prop_oneof![Just(999i64), 1i64..3_000_000_000],
                resources(),
            ),
            "[ -~üé€]{1,40}",
            database_url(),
        ),
        expose(),
        release_wide(),
        prop::collection::vec(prop::bool::weighted(0.15), 6),
    )
        .prop_map(
            |(
                (app_name, app_version, pull, release, namespace),
                drafts,
                declared,
                (mode, (db_name, db_user, db_image, db_port), (storage, class, db_uid, db_resources), password, url),
                (mut expose, routes),
                (autoscaling, pdb, policies),
                serves_routes,
            )| {
                let names: Vec<String> = drafts
                    .keys()
                    .filter(|n| !["postgres", "default-deny", "edge"].contains(&n.as_str()))
                    .cloned()
                    .collect();
                let with_port: Vec<&String> = names.iter().filter(|n| !drafts[*n].worker).collect();
                let mut secrets: Map<String, Value> = Map::new();
                let mut given: BTreeMap<String, String> = BTreeMap::new();
                for (name, (spec, value)) in &declared {
                    secrets.insert(name.clone(), spec.clone());
                    if let Some(v) = value {
                        given.insert(name.clone(), v.clone());
                    }
                }
                // The database's own secrets, declared by the stack like any other.
                let mut database = json!({
                    "mode": mode, "name": db_name, "user": db_user,
                    "passwordSecret": "dbPassword",
                    "internal": {"image": db_image, "port": db_port, "storage": storage, "storageClass": class, "runAsUser": db_uid, "resources": db_resources},
                    "external": {"urlSecret": "dbUrl"},
                });
                secrets.insert("dbPassword".into(), json!({"generate": {"length": 32}}));
                given.insert("dbPassword".into(), password);
                secrets.insert("dbUrl".into(), json!({"description": "external PostgreSQL"}));
                given.insert("dbUrl".into(), url);
                if mode == "none" {
                    database["mode"] = json!("none");
                }
                let secret_names: Vec<&String> = secrets.keys().collect();

                let mut route_map: Map<String, Value> = Map::new();
                for (path, target, strip) in &routes {
                    if with_port.is_empty() {
                        break;
                    }
                    let trimmed = path.trim_end_matches('/');
                    let clash = route_map.keys().any(|p| p.trim_end_matches('/') == trimmed);
                    if !clash {
                        let component = with_port[target % with_port.len()];
                        let route = if *strip && !trimmed.is_empty() {
                            json!({"component": component, "stripPrefix": true})
                        } else {
                            json!(component)
                        };
                        route_map.insert(path.clone(), route);
                    }
                }
                if expose["mode"] == "nodePort" && !route_map.contains_key("/") {
                    expose["mode"] = json!("none");
                }
                expose["routes"] = Value::Object(route_map.clone());

                let mut components = Map::new();
                for (i, name) in names.iter().enumerate() {
                    let draft = &drafts[name];
                    let mut c = draft.fields.clone();
                    let mut env = Map::new();
                    for (key, choice) in &draft.env {
                        let value = match choice {
                            EnvChoice::Plain(v) => {
                                let upper = key.to_ascii_uppercase();
                                let credential = ["_SECRET", "_KEY", "_TOKEN"].iter().any(|s| upper.ends_with(s))
                                    || ["SECRET", "TOKEN", "APIKEY"].contains(&upper.as_str())
                                    || upper.contains("PASSWORD");
                                if credential {
                                    continue;
                                }
                                v.clone()
                            }
                            EnvChoice::Secret(i) => json!({"secret": secret_names[i % secret_names.len()]}),
                            EnvChoice::UrlOf(i, path) => {
                                if with_port.is_empty() {
                                    continue;
                                }
                                let mut r = json!({"urlOf": with_port[i % with_port.len()]});
                                if let Some(p) = path {
                                    r["path"] = json!(p);
                                }
                                r
                            }
                            EnvChoice::ExternalUrl(p) => json!({"externalUrl": p}),
                            EnvChoice::Database(part, driver) => {
                                if mode == "none" {
                                    continue;
                                }
                                let mut r = json!({"database": PARTS[*part]});
                                if PARTS[*part] == "url" && !DRIVERS[*driver].is_empty() {
                                    r["driver"] = json!(DRIVERS[*driver]);
                                }
                                r
                            }
                            EnvChoice::Release(name) => json!({"release": if *name { "name" } else { "namespace" }}),
                        };
                        env.insert(key.clone(), value);
                    }
                    if !env.is_empty() {
                        c.insert("env".into(), Value::Object(env));
                    }
                    if draft.existing_secret {
                        c.insert("existingSecret".into(), json!(format!("{name}-existing")));
                    }
                    if !draft.worker && serves_routes[i % serves_routes.len()] {
                        // A path it serves that no more specific route sends elsewhere.
                        let own: Vec<&String> = route_map
                            .iter()
                            .filter(|(_, t)| t.as_str().or(t["component"].as_str()) == Some(name.as_str()))
                            .map(|(p, _)| p)
                            .collect();
                        if let Some(p) = own.first() {
                            c.insert("paths".into(), json!([format!("{}/own", p.trim_end_matches('/'))]));
                        }
                    }
                    components.insert(name.clone(), Value::Object(c));
                }
                let values = json!({
                    "appName": app_name, "appVersion": app_version,
                    "namespace": {"name": namespace, "create": true},
                    "imagePullPolicy": pull,
                    "components": components,
                    "secrets": secrets,
                    "database": database,
                    "expose": expose,
                    "autoscaling": autoscaling,
                    "podDisruptionBudget": pdb,
                    "networkPolicy": policies,
                });
                Stack { values, secrets: given, release, namespace }
            },
        )
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_stacks_are_equivalent() {
    let cases: u32 = env_number("BERTH_CHART_CASES", DEFAULT_CASES);
    let seed: u64 = env_number("BERTH_CHART_SEED", DEFAULT_SEED);
    eprintln!(
        "chart_random: {cases} stacks, seed {seed} (reproduce: BERTH_CHART_SEED={seed} BERTH_CHART_CASES={cases} cargo test --test chart_random)"
    );
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 32,
        max_global_rejects: cases * 2,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let work = chart_support::scratch("random");
    let counter = AtomicU32::new(0);
    let proven = AtomicU32::new(0);
    let objects = AtomicUsize::new(0);
    let components = AtomicUsize::new(0);
    let rejected = AtomicU32::new(0);
    let mut reasons: std::sync::Mutex<BTreeMap<String, u32>> = Default::default();
    let result = runner.run(&stack(), |stack| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let dir = work.join(format!("stack-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let stack_file = dir.join("berth.yaml");
        std::fs::write(
            &stack_file,
            serde_json::to_string_pretty(&stack.values).unwrap(),
        )
        .unwrap();
        let mut case = Case::stack(&format!("stack-{n}"), stack_file);
        case.release = stack.release.clone();
        case.namespace = stack.namespace.clone();
        case.secrets = stack.secrets.clone();
        // Only stacks berth accepts are meaningful; the generator aims for valid
        // ones, and what berth refuses (exit 2) is counted and skipped.
        let render = chart_support::berth_render_output(&case);
        if render.status.code() == Some(2) {
            rejected.fetch_add(1, Ordering::Relaxed);
            let stderr = String::from_utf8_lossy(&render.stderr);
            let reason = stderr
                .lines()
                .find(|l| l.contains(':'))
                .unwrap_or("?")
                .to_string();
            *reasons.lock().unwrap().entry(reason.clone()).or_default() += 1;
            return Err(TestCaseError::reject(reason));
        }
        assert!(
            render.status.success(),
            "berth render failed: {}",
            String::from_utf8_lossy(&render.stderr)
        );
        let ours: Vec<Value> = serde_json::from_slice(&render.stdout).expect("berth JSON");
        let chart = case.chart(&dir);
        let theirs = chart_support::helm_template(&chart, &case, &dir);
        match chart_support::compare(&ours, &theirs) {
            Ok(count) => {
                proven.fetch_add(1, Ordering::Relaxed);
                objects.fetch_add(count, Ordering::Relaxed);
                components.fetch_add(
                    stack.values["components"].as_object().map_or(0, Map::len),
                    Ordering::Relaxed,
                );
                Ok(())
            }
            Err(differences) => Err(TestCaseError::fail(format!(
                "stack {}\nsecrets {:?}\nrelease {} namespace {}\n{differences}",
                serde_json::to_string_pretty(&stack.values).unwrap(),
                stack.secrets,
                stack.release,
                stack.namespace
            ))),
        }
    });
    let reasons = reasons.get_mut().unwrap().clone();
    if let Err(e) = result {
        panic!("seed {seed}: {e}\nrejections: {reasons:#?}");
    }
    let proven = proven.into_inner();
    eprintln!(
        "chart_random: {proven} stacks proven equivalent ({} components, {} objects), {} generated stacks berth rejects skipped, seed {seed}",
        components.into_inner(),
        objects.into_inner(),
        rejected.into_inner()
    );
    if !reasons.is_empty() {
        eprintln!("chart_random: rejections by first problem: {reasons:#?}");
    }
    assert!(proven >= cases, "only {proven} of {cases} stacks ran");
}

/// One of berth's rules broken on purpose, as a values overlay given to both
/// tools after the stack: the rule's name and the overlay, or None when the
/// stack has nothing the rule applies to (no component with a port, …).
fn breaking_overlay(values: &Value, rule: usize) -> Option<(&'static str, Value)> {
    let components = values["components"].as_object()?;
    let names: Vec<&String> = components.keys().collect();
    let served: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| components[*n].get("port").is_some())
        .collect();
    let workers: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| components[*n].get("port").is_none())
        .collect();
    let first = names.first()?;
    let component = |fields: Value| json!({"components": {first.as_str(): fields}});
    let env = |value: Value| component(json!({"env": {"BROKEN_REF": value}}));
    Some(match rule {
        0 => (
            "urlOf path",
            env(json!({"urlOf": served.first()?, "path": "/a b?c=d"})),
        ),
        1 => ("externalUrl path", env(json!({"externalUrl": "no-slash"}))),
        2 => (
            "two kinds",
            env(json!({"release": "name", "externalUrl": "/"})),
        ),
        3 => (
            "path without urlOf",
            env(json!({"externalUrl": "/", "path": "/x"})),
        ),
        4 => (
            "driver without url",
            env(json!({"release": "name", "driver": "asyncpg"})),
        ),
        5 => (
            "image.build",
            component(json!({"image": {"build": "/abs/web.toml"}})),
        ),
        6 => ("nameLabel", component(json!({"nameLabel": "-bad-"}))),
        7 => (
            "probe kinds",
            component(json!({"probes": {"exec": ["true"], "tcp": true}})),
        ),
        // An empty override only stays empty where the stack has none to merge with.
        8 if components[*first]["probes"]["startup"].is_null() => (
            "probe override kinds",
            component(json!({"probes": {"startup": {}}})),
        ),
        9 => (
            "probe exec empty",
            component(json!({"probes": {"liveness": {"exec": []}}})),
        ),
        10 => (
            "probe http path",
            json!({"components": {served.first()?.as_str(): {"probes": {"readiness": {"http": "health"}}}}}),
        ),
        11 => (
            "probe on a worker",
            json!({"components": {workers.first()?.as_str(): {"probes": {"readiness": {"tcp": true}}}}}),
        ),
        12 => (
            "request above limit",
            component(
                json!({"resources": {"requests": {"cpu": "2", "memory": "64Mi"}, "limits": {"cpu": "1500m", "memory": "64Mi"}}}),
            ),
        ),
        13 => (
            "quantity",
            component(
                json!({"resources": {"requests": {"cpu": "1", "memory": "lots"}, "limits": {"cpu": "1", "memory": "1Gi"}}}),
            ),
        ),
        14 => (
            "writable path",
            component(json!({"writablePaths": ["tmp"]})),
        ),
        15 => (
            "writable volume clash",
            component(json!({"writablePaths": ["/a/cache/x", "/b/cache/x"]})),
        ),
        16 => (
            "annotation key",
            component(json!({"podAnnotations": {"-bad": "x"}})),
        ),
        17 => (
            "label value",
            component(json!({"podLabels": {"team": "-x-"}})),
        ),
        18 => (
            "berth's label",
            component(json!({"podLabels": {"app.kubernetes.io/part": "x"}})),
        ),
        19 => (
            "budget",
            component(json!({"podDisruptionBudget": {"minAvailable": -1}})),
        ),
        20 => (
            "existingSecret",
            component(json!({"existingSecret": "Bad_Name"})),
        ),
        21 => ("served path", component(json!({"paths": ["no-slash"]}))),
        22 => (
            "task command",
            component(json!({"tasks": {"tbroken": {"command": [""]}}})),
        ),
        23 => ("egress", component(json!({"egress": ["bad host!"]}))),
        24 => (
            "egress port",
            component(json!({"egress": ["db.example.com:0"]})),
        ),
        25 => (
            "secret name",
            json!({"secrets": {"9bad": {"fromEnv": "X"}}}),
        ),
        26 => (
            "fromEnv",
            json!({"secrets": {"broken": {"fromEnv": "1BAD"}}}),
        ),
        27 if values["database"]["mode"] == "internal" => (
            "storage",
            json!({"database": {"internal": {"storage": "0"}}}),
        ),
        28 if values["database"]["mode"] == "internal" => (
            "database request above limit",
            json!({"database": {"internal": {"resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}}}),
        ),
        29 => (
            "gateway name",
            json!({"expose": {"mode": "gateway", "gateway": {"name": "Bad_Name"}}}),
        ),
        30 => (
            "route clash",
            json!({"expose": {"routes": {"/clash": served.first()?, "/clash/": served.first()?}}}),
        ),
        31 => (
            "route path",
            json!({"expose": {"routes": {"/a b": served.first()?}}}),
        ),
        _ => return None,
    })
}

const RULES: usize = 32;

/// Stacks broken in one rule each: berth and the chart both refuse them, the
/// chart naming the key berth names. Counts per rule are printed.
#[test]
fn random_invalid_stacks_are_refused_by_both() {
    let cases: u32 = env_number("BERTH_CHART_INVALID_CASES", 100);
    let seed: u64 = env_number("BERTH_CHART_SEED", DEFAULT_SEED);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8] = 1;
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 8,
        max_global_rejects: cases * 20,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let work = chart_support::scratch("random-invalid");
    let counter = AtomicU32::new(0);
    let refused: std::sync::Mutex<BTreeMap<&'static str, u32>> = Default::default();
    let result = runner.run(&(stack(), 0..RULES), |(stack, rule)| {
        let Some((name, overlay)) = breaking_overlay(&stack.values, rule) else {
            return Err(TestCaseError::reject("rule does not apply"));
        };
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let dir = work.join(format!("stack-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let stack_file = dir.join("berth.yaml");
        std::fs::write(&stack_file, serde_json::to_string_pretty(&stack.values).unwrap()).unwrap();
        let mut case = Case::stack(&format!("invalid-{n}"), stack_file);
        case.release = stack.release.clone();
        case.namespace = stack.namespace.clone();
        case.secrets = stack.secrets.clone();
        // Only a stack berth accepts shows the rule at work.
        if chart_support::berth_render_output(&case).status.code() == Some(2) {
            return Err(TestCaseError::reject("the stack itself is refused"));
        }
        let chart = case.chart(&dir);
        let broken = dir.join("broken.yaml");
        std::fs::write(&broken, serde_json::to_string_pretty(&overlay).unwrap()).unwrap();
        case.files.push(broken);
        let ours = chart_support::berth_render_output(&case);
        let our_err = String::from_utf8_lossy(&ours.stderr).into_owned();
        if ours.status.code() != Some(2) {
            return Err(TestCaseError::fail(format!(
                "{name}: berth accepted {overlay}\n{our_err}"
            )));
        }
        let theirs = chart_support::run(&mut chart_support::helm_template_command(&chart, &case, &dir));
        let their_err = String::from_utf8_lossy(&theirs.stderr).into_owned();
        if theirs.status.success() {
            return Err(TestCaseError::fail(format!(
                "{name}: berth refused, the chart rendered {overlay}\nberth: {our_err}"
            )));
        }
        // The key berth names first (`components.web.env.X.path: …`) is in the chart's refusal.
        let key = our_err
            .lines()
            .find_map(|l| {
                let problem = l.trim().strip_prefix("- ")?;
                problem.split_once(": ").map(|(k, _)| k.to_string())
            })
            .unwrap_or_default();
        if key.is_empty() || !their_err.contains(&key) {
            return Err(TestCaseError::fail(format!(
                "{name}: the chart refused without naming `{key}`\nberth: {our_err}\nhelm: {their_err}"
            )));
        }
        *refused.lock().unwrap().entry(name).or_default() += 1;
        Ok(())
    });
    let refused = refused.into_inner().unwrap();
    if let Err(e) = result {
        panic!("seed {seed}: {e}\nrefused so far: {refused:#?}");
    }
    eprintln!(
        "chart_random: {} broken stacks refused by both, by rule: {refused:?}",
        refused.values().sum::<u32>()
    );
    assert!(refused.values().sum::<u32>() >= cases);
}
