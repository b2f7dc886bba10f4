//! At least 200 randomly generated, valid value sets: for each, berth's render
//! and `helm template` of the exported chart must be equivalent. The generator
//! covers every key of the values model; the seed is fixed and printed, so a
//! failure reproduces with the same command:
//!
//! ```sh
//! cargo test --test chart_random -- --nocapture
//! BERTH_CHART_CASES=500 BERTH_CHART_SEED=7 cargo test --test chart_random -- --nocapture
//! ```

mod chart_support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

use chart_support::Case;

const DEFAULT_CASES: u32 = 200;
const DEFAULT_SEED: u64 = 20_261_123;

/// A value set: the full values tree, its secrets, and where it is installed.
#[derive(Debug, Clone)]
struct ValueSet {
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
    "/[a-z0-9/_.-]{0,12}"
}

fn image() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("localhost/todo-chatbot/app".to_string()),
            Just("docker.io/library/postgres".to_string()),
            Just("registry.example.com:5000/team/app".to_string()),
            "[a-z]{1,8}/[a-z0-9-]{1,10}",
        ],
        "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,12}",
    )
        .prop_map(|(repository, tag)| json!({"repository": repository, "tag": tag}))
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

/// A memory amount in MiB, as `Mi`, `M`-free bytes, or a plain number of bytes.
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

fn env_map() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop_oneof![
            4 => "[A-Za-z_][A-Za-z0-9_]{0,10}",
            1 => prop_oneof![Just("PORT".to_string()), Just("AUTH_SECRET".to_string()), Just("APP_URL".to_string()), Just("DATABASE_URL".to_string())],
        ],
        awkward_text(),
        0..4,
    )
    .prop_map(|m| json!(m))
}

fn component(mcp: bool) -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.85),
        0i32..5,
        image(),
        1u16..=65535,
        (path(), path(), path()),
        prop_oneof![Just(10001i64), 1i64..100_000, 1_000_000i64..2_147_483_647],
        resources(),
        env_map(),
    )
        .prop_map(
            move |(
                enabled,
                replicas,
                image,
                port,
                (health, ready, mcp_path),
                uid,
                resources,
                env,
            )| {
                let mut c = json!({
                    "enabled": enabled, "replicas": replicas, "image": image, "port": port,
                    "healthPath": health, "readyPath": ready, "runAsUser": uid,
                    "resources": resources, "env": env,
                });
                if mcp {
                    c["path"] = json!(mcp_path);
                }
                c
            },
        )
}

fn identifier() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,12}"
}

fn database() -> impl Strategy<Value = (Value, bool)> {
    (
        prop::bool::weighted(0.7),
        identifier(),
        identifier(),
        image(),
        1u16..=65535,
        prop_oneof![
            Just(json!("1Gi")),
            (1u64..500).prop_map(|g| json!(format!("{g}Gi"))),
            (100u64..4000).prop_map(|m| json!(format!("{m}Mi"))),
            (1u64..64).prop_map(|g| json!(g * 1024 * 1024 * 1024)),
        ],
        prop_oneof![
            Just(String::new()),
            Just("standard".to_string()),
            dns_label(10)
        ],
        prop_oneof![Just(999i64), 1i64..3_000_000_000],
        resources(),
    )
        .prop_map(
            |(internal, name, user, image, port, storage, class, uid, resources)| {
                let mode = if internal { "internal" } else { "external" };
                (
                    json!({
                        "mode": mode, "name": name, "user": user,
                        "internal": {
                            "image": image, "port": port, "storage": storage, "storageClass": class,
                            "runAsUser": uid, "resources": resources,
                        }
                    }),
                    internal,
                )
            },
        )
}

/// A PostgreSQL URL berth accepts: scheme, driver and SSL parameter agree.
fn database_url() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(("", "sslmode")),
            Just("+psycopg").prop_map(|d| (d, "sslmode")),
            Just(("+asyncpg", "ssl")),
            Just(("+pg8000", "sslmode"))
        ],
        identifier(),
        "[a-zA-Z0-9]{1,12}",
        hostname(),
        prop::option::of(1u16..=65535),
        identifier(),
        prop::bool::ANY,
    )
        .prop_map(|((driver, ssl), user, password, host, port, db, require)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = if require {
                format!("?{ssl}=require")
            } else {
                String::new()
            };
            format!("postgresql{driver}://{user}:{password}@{host}{port}/{db}{query}")
        })
}

fn llm() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("none"), Just("openai"), Just("gemini")],
        prop_oneof![Just(String::new()), "[a-z0-9.-]{1,16}"],
        prop_oneof![
            Just(String::new()),
            (prop_oneof![Just("http"), Just("https")], hostname(), prop::option::of(1u16..=65535), path())
                .prop_map(|(scheme, host, port, path)| format!(
                    "{scheme}://{host}{}{path}",
                    port.map(|p| format!(":{p}")).unwrap_or_default()
                )),
        ],
    )
        .prop_map(|(provider, model, base_url)| json!({"provider": provider, "model": model, "baseUrl": base_url}))
}

fn expose() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("nodePort"), Just("ingress"), Just("none")],
        30000i32..=32767,
        prop_oneof![Just("nginx".to_string()), Just("traefik".to_string()), dns_label(6)],
        hostname(),
        prop_oneof![Just(String::new()), Just("ingress-nginx".to_string()), dns_label(10)],
        prop_oneof![Just(String::new()), dns_label(10)],
    )
        .prop_map(|(mode, node_port, class, host, controller, tls)| {
            json!({
                "mode": mode, "nodePort": node_port,
                "ingress": {"className": class, "host": host, "controllerNamespace": controller, "tlsSecretName": tls},
            })
        })
}

fn scaling() -> impl Strategy<Value = (Value, Value, Value)> {
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

fn secrets() -> impl Strategy<Value = (String, BTreeMap<String, String>)> {
    (
        prop_oneof![4 => Just(String::new()), 1 => dns_label(12)],
        prop_oneof![Just(String::new()), "sk-[a-zA-Z0-9]{8,20}"],
        prop_oneof![Just(String::new()), "AIza[a-zA-Z0-9_-]{8,20}"],
        "[ -~üé€]{1,40}",
        "[ -~üé€]{1,40}",
        database_url(),
    )
        .prop_map(|(existing, openai, gemini, auth, password, url)| {
            let secrets = BTreeMap::from([
                ("openaiApiKey".to_string(), openai),
                ("geminiApiKey".to_string(), gemini),
                ("authSecret".to_string(), auth),
                ("postgresPassword".to_string(), password),
                ("databaseUrl".to_string(), url),
            ]);
            (existing, secrets)
        })
}

fn value_set() -> impl Strategy<Value = ValueSet> {
    (
        (
            prop_oneof![Just("todo-chatbot".to_string()), dns_label(12)],
            "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
            dns_label(10),
            prop::bool::ANY,
            prop_oneof![Just("IfNotPresent"), Just("Always"), Just("Never")],
        ),
        (component(false), component(false), component(true)),
        database(),
        llm(),
        secrets(),
        prop::bool::weighted(0.3),
        expose(),
        scaling(),
        (dns_label(14), dns_label(12)),
    )
        .prop_map(
            |(
                (app_name, app_version, ns_name, ns_create, pull),
                (frontend, backend, mcp),
                (database, internal),
                llm,
                (existing, mut secrets),
                drop_url,
                expose,
                (autoscaling, pdb, policies),
                (release, namespace),
            )| {
                // With an existing Secret an external URL may be unknown to the chart.
                if internal || (drop_url && !existing.is_empty()) {
                    secrets.insert("databaseUrl".into(), String::new());
                }
                // berth requires the chosen provider's key unless a Secret holds it.
                let provider = llm["provider"].as_str().unwrap().to_string();
                for (p, key, fill) in [
                    ("openai", "openaiApiKey", "sk-filled"),
                    ("gemini", "geminiApiKey", "AIza-filled"),
                ] {
                    if provider == p && existing.is_empty() && secrets[key].is_empty() {
                        secrets.insert(key.into(), fill.into());
                    }
                }
                let mut secret_values: serde_json::Map<String, Value> =
                    secrets.keys().map(|k| (k.clone(), json!(""))).collect();
                secret_values.insert("existingSecret".into(), json!(existing));
                let values = json!({
                    "appName": app_name, "appVersion": app_version,
                    "namespace": {"name": ns_name, "create": ns_create},
                    "imagePullPolicy": pull,
                    "frontend": frontend, "backend": backend, "mcp": mcp,
                    "database": database, "llm": llm,
                    "secrets": secret_values,
                    "expose": expose, "autoscaling": autoscaling,
                    "podDisruptionBudget": pdb, "networkPolicy": policies,
                });
                ValueSet {
                    values,
                    secrets,
                    release,
                    namespace,
                }
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
fn random_value_sets_are_equivalent() {
    let cases: u32 = env_number("BERTH_CHART_CASES", DEFAULT_CASES);
    let seed: u64 = env_number("BERTH_CHART_SEED", DEFAULT_SEED);
    eprintln!(
        "chart_random: {cases} value sets, seed {seed} (reproduce: BERTH_CHART_SEED={seed} BERTH_CHART_CASES={cases} cargo test --test chart_random)"
    );
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        max_global_rejects: cases * 4,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let chart = chart_support::exported_chart();
    let work = chart_support::scratch("random");
    let proven = std::sync::atomic::AtomicU32::new(0);
    let objects = std::sync::atomic::AtomicUsize::new(0);
    let rejected = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&value_set(), |set| {
        // Only value sets berth accepts are meaningful; the generator aims for valid ones.
        let mut env: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for (key, var) in chart_support::SECRET_ENV {
            if let Some(v) = set.secrets.get(key).filter(|v| !v.is_empty()) {
                env.insert(var.to_string(), v.clone());
            }
        }
        let tree = {
            let mut tree =
                berth::values::load::parse_yaml(berth::values::DEFAULT_VALUES_YAML, "defaults")
                    .unwrap();
            berth::values::load::merge(&mut tree, set.values.clone());
            berth::values::load::merge(&mut tree, json!({ "secrets": set.secrets.clone() }));
            tree
        };
        if let Err(e) = berth::values::load::from_tree(tree) {
            rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(TestCaseError::reject(format!("berth rejects the set: {e}")));
        }
        let path = work.join("values.json");
        std::fs::write(&path, set.values.to_string()).unwrap();
        let mut case = Case::new("random");
        case.release = set.release.clone();
        case.namespace = set.namespace.clone();
        case.files = vec![path];
        case.secrets = set.secrets.clone();
        let ours = chart_support::berth_render(&case);
        let theirs = chart_support::helm_template(chart, &case, &work);
        match chart_support::compare(&ours, &theirs) {
            Ok(n) => {
                proven.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                objects.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(differences) => Err(TestCaseError::fail(format!(
                "values {}\nrelease {} namespace {}\n{differences}",
                set.values, set.release, set.namespace
            ))),
        }
    });
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
    let proven = proven.into_inner();
    eprintln!(
        "chart_random: {proven} value sets proven equivalent ({} objects), {} generated sets berth rejects skipped, seed {seed}",
        objects.into_inner(),
        rejected.into_inner()
    );
    assert!(proven >= cases, "only {proven} of {cases} sets ran");
}
