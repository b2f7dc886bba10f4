//! The stack is data: teams' stacks in `examples/` render with their own names,
//! references resolve to the release's objects, secrets stay in Secrets, and
//! berth's code knows none of the example app's names.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use berth::manifests::generated::generated_secret_places;
use berth::manifests::output::to_yaml_stream;
use berth::manifests::{self, Kind, Manifest, RenderContext};
use berth::values::{self, ValueSources, Values};

/// An example's stack with its secrets from `env`.
fn example(name: &str, env: &[(&str, &str)], set: &[&str]) -> Values {
    let sources = ValueSources {
        stack: Some(common::repo_path(&format!("examples/{name}/berth.yaml"))),
        set: set.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut values = values::load(&sources, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
    values.fill_generated();
    values
}

const NEON: &str =
    "postgresql://app:neon-pw-123@ep-x.eu-central-1.aws.neon.tech/taskpilot?sslmode=require";

fn taskpilot(set: &[&str]) -> Values {
    example(
        "nextjs-fastapi-neon",
        &[
            ("NEON_DATABASE_URL", NEON),
            ("OPENAI_API_KEY", "sk-test-openai"),
        ],
        set,
    )
}

fn tidy(set: &[&str]) -> Values {
    example(
        "vite-fastapi-worker",
        &[("GEMINI_API_KEY", "gem-test-key")],
        set,
    )
}

fn render(values: &Values, release: &str) -> Vec<Manifest> {
    manifests::render(values, &RenderContext::new(values, release, None))
}

fn find<'a>(objects: &'a [Manifest], kind: Kind, name: &str) -> &'a Manifest {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind:?} {name}"))
}

fn config(objects: &[Manifest], name: &str) -> std::collections::BTreeMap<String, String> {
    match find(objects, Kind::ConfigMap, name) {
        Manifest::ConfigMap(c) => c.data.clone().unwrap_or_default(),
        _ => unreachable!(),
    }
}

fn secret(objects: &[Manifest], name: &str) -> std::collections::BTreeMap<String, String> {
    match find(objects, Kind::Secret, name) {
        Manifest::Secret(s) => s
            .data
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect(),
        _ => unreachable!(),
    }
}

#[test]
fn nextjs_fastapi_neon_renders_its_own_names_drivers_and_routes() {
    let values = taskpilot(&[]);
    let objects = render(&values, "taskpilot");
    let web = secret(&objects, "taskpilot-web");
    let api = secret(&objects, "taskpilot-api");
    assert_eq!(
        web["DATABASE_URL"], NEON,
        "the postgres form is the URL as given"
    );
    assert_eq!(
        api["DATABASE_URL"],
        "postgresql+asyncpg://app:neon-pw-123@ep-x.eu-central-1.aws.neon.tech/taskpilot?ssl=require"
    );
    assert_eq!(
        web["BETTER_AUTH_SECRET"], api["BETTER_AUTH_SECRET"],
        "one shared secret"
    );
    assert_eq!(
        web["BETTER_AUTH_SECRET"].len(),
        48,
        "generated at the asked length"
    );
    let api_config = config(&objects, "taskpilot-api");
    assert_eq!(
        api_config["JWKS_URL"],
        "http://taskpilot-web:3000/api/auth/jwks"
    );
    assert_eq!(api_config["CORS_ORIGIN"], "http://taskpilot.local");
    assert_eq!(
        config(&objects, "taskpilot-web")["NEXT_PUBLIC_API_URL"],
        "http://taskpilot.local/api"
    );
    // No MCP component: the server runs inside the API over stdio.
    let services: Vec<&str> = objects
        .iter()
        .filter(|o| o.kind() == Kind::Service)
        .map(Manifest::name)
        .collect();
    assert_eq!(services, ["taskpilot-api", "taskpilot-web"]);
    assert!(
        objects.iter().all(|o| o.kind() != Kind::StatefulSet),
        "external database"
    );
    let Manifest::HttpRoute(route) = find(&objects, Kind::HttpRoute, "taskpilot-web") else {
        unreachable!()
    };
    let rules: Vec<(String, String)> = route
        .spec
        .rules
        .iter()
        .map(|r| {
            (
                r.matches[0].path.value.clone(),
                r.backend_refs[0].name.clone(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("/api/auth".into(), "taskpilot-web".into()),
            ("/api".into(), "taskpilot-api".into()),
            ("/".into(), "taskpilot-web".into()),
        ]
    );
    assert_eq!(
        route.spec.parent_refs[0].namespace.as_deref(),
        Some("gateway-system")
    );
    let yaml = to_yaml_stream(&objects);
    assert!(
        yaml.contains("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute"),
        "{yaml}"
    );
}

#[test]
fn nextjs_fastapi_neon_policies_follow_the_references() {
    let values = taskpilot(&["networkPolicy.enabled=true"]);
    let objects = render(&values, "taskpilot");
    let policy = |name: &str| match find(&objects, Kind::NetworkPolicy, name) {
        Manifest::NetworkPolicy(p) => serde_json::to_value(p.spec.as_ref().unwrap()).unwrap(),
        _ => unreachable!(),
    };
    let api = policy("taskpilot-api");
    let egress = api["egress"].to_string();
    assert!(
        egress.contains("\"app.kubernetes.io/component\":\"web\""),
        "api calls web (JWKS): {egress}"
    );
    assert!(
        egress.contains("\"port\":5432"),
        "api reaches Neon: {egress}"
    );
    assert!(
        egress.contains("\"port\":443"),
        "api reaches the LLM: {egress}"
    );
    assert!(
        api["ingress"].to_string().contains("gateway-system"),
        "the gateway's namespace reaches the api: {api}"
    );
    let web = policy("taskpilot-web");
    assert!(
        web["ingress"][0].get("from").is_none(),
        "the entry point is open: {web}"
    );
}

#[test]
fn vite_fastapi_worker_renders_tasks_workers_and_the_internal_database() {
    let values = tidy(&[]);
    let objects = render(&values, "tidy");
    let Manifest::Deployment(api) = find(&objects, Kind::Deployment, "tidy-api") else {
        unreachable!()
    };
    let pod = api.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let init = pod.init_containers.as_ref().expect("the migration task");
    assert_eq!(init[0].name, "migrate");
    assert_eq!(
        init[0].command.as_deref().unwrap(),
        ["alembic", "upgrade", "head"]
    );
    assert_eq!(
        init[0].image, pod.containers[0].image,
        "the component's own image"
    );
    assert_eq!(
        init[0].env_from, pod.containers[0].env_from,
        "and its environment"
    );
    let annotations = api
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap();
    assert_eq!(annotations["dapr.io/enabled"], "false");

    // The worker: no Service, no port, an exec probe.
    assert!(
        objects
            .iter()
            .all(|o| !(o.kind() == Kind::Service && o.name() == "tidy-reminders"))
    );
    let Manifest::Deployment(worker) = find(&objects, Kind::Deployment, "tidy-reminders") else {
        unreachable!()
    };
    let container = &worker
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert!(container.ports.is_none());
    assert!(container.readiness_probe.as_ref().unwrap().exec.is_some());

    let password = values.secret_values.get("dbPassword").unwrap().to_string();
    let api_secret = secret(&objects, "tidy-api");
    assert_eq!(
        api_secret["SQLALCHEMY_DATABASE_URL"],
        format!("postgresql+asyncpg://tidy:{password}@tidy-postgres:5432/tidy")
    );
    assert_eq!(
        secret(&objects, "tidy-reminders")["DATABASE_URL"],
        format!("postgresql+psycopg://tidy:{password}@tidy-postgres:5432/tidy")
    );
    assert_eq!(
        secret(&objects, "tidy-postgres")["POSTGRES_PASSWORD"],
        password
    );
    let tools = config(&objects, "tidy-tools");
    assert_eq!(tools["DB_HOST"], "tidy-postgres");
    assert_eq!(tools["DB_PORT"], "5432");
    assert_eq!(secret(&objects, "tidy-tools")["DB_PASSWORD"], password);
    assert_eq!(
        config(&objects, "tidy-api")["MCP_URL"],
        "http://tidy-tools:8765/mcp"
    );
    assert_eq!(
        config(&objects, "tidy-ui")["API_UPSTREAM"],
        "http://tidy-api:8000"
    );
    assert_eq!(config(&objects, "tidy-api")["RELEASE"], "tidy");
    assert_eq!(
        config(&objects, "tidy-reminders")["QUEUE_POLL_SECONDS"],
        "5"
    );

    let Manifest::Service(ui) = find(&objects, Kind::Service, "tidy-ui") else {
        unreachable!()
    };
    assert_eq!(ui.spec.as_ref().unwrap().type_.as_deref(), Some("NodePort"));
}

#[test]
fn an_optional_secret_that_is_not_given_is_left_out() {
    let values = example("vite-fastapi-worker", &[], &[]);
    let objects = render(&values, "tidy");
    assert!(!secret(&objects, "tidy-api").contains_key("GEMINI_API_KEY"));
    assert!(
        secret(&objects, "tidy-api").contains_key("JWT_SECRET_KEY"),
        "generated"
    );
}

#[test]
fn renaming_the_release_changes_every_reference() {
    let without_checksums = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains("checksum/config"))
            .map(String::from)
            .collect()
    };
    for values in [
        tidy(&["networkPolicy.enabled=true"]),
        taskpilot(&["networkPolicy.enabled=true"]),
    ] {
        // Secret data is base64: compared decoded below, redacted here.
        let rendered = |release: &str| {
            let mut objects = render(&values, release);
            let urls: Vec<String> = objects
                .iter()
                .filter_map(|o| match o {
                    Manifest::Secret(s) => Some(s.data.clone()?.into_values()),
                    _ => None,
                })
                .flatten()
                .map(|v| String::from_utf8(v.0).unwrap())
                .filter(|v| v.contains("://"))
                .collect();
            manifests::redact_secrets(&mut objects);
            (to_yaml_stream(&objects), urls)
        };
        let (alpha, alpha_urls) = rendered("alpha-rel");
        let (beta, beta_urls) = rendered("beta-rel");
        let renamed: Vec<String> = alpha_urls
            .iter()
            .map(|u| u.replace("alpha-rel", "beta-rel"))
            .collect();
        assert_eq!(
            renamed, beta_urls,
            "URLs composed in Secrets follow the release"
        );
        assert!(alpha.contains("alpha-rel-") && !beta.contains("alpha-rel"));
        assert_eq!(
            without_checksums(alpha.replace("alpha-rel", "beta-rel")),
            without_checksums(beta),
            "the release name is the only difference"
        );
    }
}

#[test]
fn secret_values_never_land_in_configmaps_or_redacted_output() {
    let mut cases: Vec<(String, Values)> = common::profiles()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    cases.push(("taskpilot".into(), taskpilot(&[])));
    cases.push(("tidy".into(), tidy(&[])));
    for (name, mut values) in cases {
        values.fill_generated();
        let secrets: Vec<String> = values.secret_values.0.values().cloned().collect();
        assert!(!secrets.is_empty(), "{name}");
        let mut objects = render(&values, "rel");
        for object in &objects {
            if object.kind() == Kind::Secret {
                continue;
            }
            let text = object.to_json().to_string();
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{name}: {} holds a secret",
                    object.display_name()
                );
            }
        }
        manifests::redact_secrets(&mut objects);
        let text = to_yaml_stream(&objects);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{name}: the redacted render holds a secret"
            );
        }
        let stored = serde_json::to_string(&values.without_secrets()).unwrap();
        for secret in &secrets {
            assert!(
                !stored.contains(secret.as_str()),
                "{name}: the stored values hold a secret"
            );
        }
    }
}

#[test]
fn generated_secrets_are_found_where_they_are_rendered() {
    let values = common::load(&[], &[], &common::test_env());
    let ctx = RenderContext::new(&values, "todo-chatbot", None);
    let places: Vec<(String, Vec<(String, String)>)> = generated_secret_places(&values, &ctx)
        .into_iter()
        .map(|g| (g.secret, g.places))
        .collect();
    let objects = manifests::render(&values, &ctx);
    for (secret_name, places) in &places {
        let value = values.secret_values.get(secret_name).unwrap();
        for (object, key) in places {
            assert_eq!(
                secret(&objects, object)[key.as_str()],
                value,
                "{secret_name} at {object}/{key}"
            );
        }
    }
    let names: BTreeSet<&str> = places.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["authSecret", "postgresPassword"]));
}

/// Names of the embedded example (the Todo chatbot) that berth's code must not
/// know: components, env variables, secrets.
const EXAMPLE_NAMES: [&str; 18] = [
    "\"frontend\"",
    "\"backend\"",
    "\"mcp\"",
    "todo-frontend",
    "todo-backend",
    "todo-mcp",
    "AUTH_SECRET",
    "BACKEND_URL",
    "MCP_SERVER_URL",
    "APP_URL",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "DATABASE_URL",
    "authSecret",
    "openaiApiKey",
    "geminiApiKey",
    "databaseUrl",
    "postgresPassword",
];

/// Lines that name what a library reads by default, which the example app happens to share:
/// each exactly as written, so any other use of the name still fails.
const ALLOWED: [(&str, &str); 1] = [(
    "src/init/scan/django.rs",
    "const LIBRARY_DATABASE_VAR: &str = \"DATABASE_URL\";",
)];

fn source_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn src_holds_no_name_of_the_example_app_outside_tests() {
    let root = common::repo_path("");
    let mut files = Vec::new();
    source_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests live at the end of a file, after `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            // Prose may name the example; code may not.
            if line.trim_start().starts_with("//") {
                continue;
            }
            if ALLOWED.contains(&(relative.as_str(), line.trim())) {
                continue;
            }
            for name in EXAMPLE_NAMES {
                let hit = line.match_indices(name).any(|(i, _)| {
                    let before = line[..i].chars().last();
                    let after = line[i + name.len()..].chars().next();
                    let word =
                        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                    !word(before) && !word(after)
                });
                if hit {
                    found.push(format!("{relative}:{}: {name}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the example app's names in src/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_grep_finds_what_it_looks_for() {
    // The check above must be able to fail: the embedded values hold every name.
    let text = berth::values::DEFAULT_VALUES_YAML;
    for name in EXAMPLE_NAMES {
        let bare = name.trim_matches('"');
        assert!(
            text.contains(bare),
            "{bare} is not in the example, so the grep proves nothing"
        );
    }
}
