//! `berth compose export` of the reference app, checked field by field against
//! what the values say (the Compose Specification's schema and loader check the
//! files in scripts/validate-compose.sh).

use std::collections::{BTreeMap, HashMap};

use berth::compose::{ComposeExport, ComposeInput, env_file, export, runtimes};
use berth::values::{ValueSources, load_unchecked_secrets};
use serde_json::json;

/// The embedded example with secrets in the environment: none may reach the files.
fn example() -> ComposeExport {
    let env = HashMap::from([
        ("AUTH_SECRET".to_string(), "canary-auth-1f2e".to_string()),
        (
            "POSTGRES_PASSWORD".to_string(),
            "canary-pw-9a8b".to_string(),
        ),
    ]);
    let values = load_unchecked_secrets(&ValueSources::default(), &env).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtimes = runtimes(&values, root);
    export(&ComposeInput {
        values: &values,
        project: "todo-chatbot",
        runtimes: &runtimes,
    })
    .unwrap()
}

#[test]
fn one_service_per_component_and_the_database() {
    let export = example();
    let services = export.compose["services"].as_object().unwrap();
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, ["backend", "frontend", "mcp", "postgres"]);
    let backend = &services["backend"];
    assert_eq!(backend["image"], "localhost/todo-chatbot/backend:0.1.0");
    assert_eq!(backend["user"], "10001");
    assert_eq!(backend["read_only"], true);
    assert_eq!(backend["tmpfs"], json!(["/tmp"]));
    // Only the component routed at `/` is published, on loopback.
    assert_eq!(
        services["frontend"]["ports"],
        json!(["127.0.0.1:3000:3000"])
    );
    assert!(backend.get("ports").is_none());
    assert_eq!(export.compose["volumes"], json!({"postgres-data": {}}));
    assert_eq!(
        services["postgres"]["volumes"],
        json!(["postgres-data:/var/lib/postgresql/data"])
    );
}

#[test]
fn references_resolve_to_service_names_and_secrets_to_variables() {
    let export = example();
    let env = |service: &str| export.compose["services"][service]["environment"].clone();
    let frontend = env("frontend");
    assert_eq!(frontend["BACKEND_URL"], "http://backend:8000");
    assert_eq!(frontend["APP_URL"], "http://localhost:3000");
    assert_eq!(
        frontend["AUTH_SECRET"],
        "${AUTH_SECRET:?set AUTH_SECRET in .env}"
    );
    let backend = env("backend");
    assert_eq!(backend["MCP_SERVER_URL"], "http://mcp:8001/mcp");
    assert_eq!(
        backend["DATABASE_URL"],
        "postgresql://todo:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@postgres:5432/todo"
    );
    assert_eq!(backend["OPENAI_API_KEY"], "${OPENAI_API_KEY:-}");
    let names: Vec<&str> = export.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AUTH_SECRET",
            "GEMINI_API_KEY",
            "OPENAI_API_KEY",
            "POSTGRES_PASSWORD"
        ]
    );
    let text = serde_json::to_string(&export.compose).unwrap() + &env_file(&export.variables);
    assert!(!text.contains("canary"), "a secret value was written");
    assert!(env_file(&export.variables).contains("\nPOSTGRES_PASSWORD=\n"));
}

#[test]
fn health_checks_come_from_the_readiness_probes_and_gate_depends_on() {
    let export = example();
    let services = &export.compose["services"];
    let backend = &services["backend"];
    let test: Vec<&str> = backend["healthcheck"]["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(test[..3], ["CMD", "python", "-c"]);
    assert!(test[3].contains("http://127.0.0.1:8000/ready"), "{test:?}");
    let frontend_test = services["frontend"]["healthcheck"]["test"].to_string();
    assert!(
        frontend_test.contains("node") && frontend_test.contains("/healthz"),
        "{frontend_test}"
    );
    assert_eq!(
        backend["depends_on"],
        json!({"mcp": {"condition": "service_healthy"}, "postgres": {"condition": "service_healthy"}})
    );
    assert_eq!(
        services["frontend"]["depends_on"],
        json!({"backend": {"condition": "service_healthy"}})
    );
    assert_eq!(services["postgres"]["healthcheck"]["test"][1], "pg_isready");
}

#[test]
fn tasks_are_one_shot_services_their_component_waits_for() {
    let env: HashMap<String, String> = HashMap::new();
    let sources = ValueSources::default();
    let mut values = load_unchecked_secrets(&sources, &env).unwrap();
    values.components.get_mut("backend").unwrap().tasks.insert(
        "migrate".into(),
        serde_json::from_value(json!({"command": ["alembic", "upgrade", "head"]})).unwrap(),
    );
    let export = export(&ComposeInput {
        values: &values,
        project: "todo-chatbot",
        runtimes: &BTreeMap::new(),
    })
    .unwrap();
    let services = &export.compose["services"];
    let task = &services["backend-migrate"];
    assert_eq!(task["entrypoint"], json!(["alembic", "upgrade", "head"]));
    assert_eq!(task["restart"], "no");
    assert_eq!(task["environment"], services["backend"]["environment"]);
    assert_eq!(
        task["depends_on"]["postgres"],
        json!({"condition": "service_healthy"})
    );
    assert_eq!(
        services["backend"]["depends_on"]["backend-migrate"],
        json!({"condition": "service_completed_successfully"})
    );
    // No runtime known: no health check, so its dependants wait for the start only.
    assert!(services["backend"].get("healthcheck").is_none());
    assert_eq!(
        services["frontend"]["depends_on"]["backend"],
        json!({"condition": "service_started"})
    );
}

#[test]
fn a_cycle_of_urls_keeps_only_the_edges_compose_accepts() {
    let env: HashMap<String, String> = HashMap::new();
    let mut values = load_unchecked_secrets(&ValueSources::default(), &env).unwrap();
    values.components.get_mut("mcp").unwrap().env.insert(
        "BACKEND".into(),
        serde_json::from_value(json!({"urlOf": "frontend"})).unwrap(),
    );
    let export = export(&ComposeInput {
        values: &values,
        project: "p",
        runtimes: &BTreeMap::new(),
    })
    .unwrap();
    let services = &export.compose["services"];
    // backend → mcp, frontend → backend; mcp → frontend would close the loop.
    assert!(services["mcp"]["depends_on"].get("frontend").is_none());
    assert!(services["backend"]["depends_on"].get("mcp").is_some());
}

/// The reference app's image specs carry the health check of their
/// component's probe (so the images are healthy under Docker and Compose too).
#[test]
fn each_image_spec_checks_its_components_probe_path() {
    let env: HashMap<String, String> = HashMap::new();
    let values = load_unchecked_secrets(&ValueSources::default(), &env).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for (name, c) in &values.components {
        let (Some(build), Some(path)) = (&c.image.build, &c.probes.http) else {
            continue;
        };
        let spec = berth::images::spec::load_file(&root.join(build), root).unwrap();
        let berth::images::spec::SpecKind::Build(spec) = spec.kind else {
            panic!("{name}: not a build spec");
        };
        let check = spec
            .healthcheck
            .unwrap_or_else(|| panic!("{name}: no healthcheck"));
        assert_eq!(check.http.as_ref(), Some(path), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}
