//! `helm template` of the exported chart and `berth render --include-secrets`
//! produce the same objects, field for field, for named cases: the embedded
//! example's profiles, each exposure, each component disabled, existing
//! Secrets, external databases in each driver form, and the team stacks in
//! `examples/` (each exported from its own directory). Only the `managed-by`
//! label value and the Namespace object may differ. Secret values reach berth
//! as `--set-file secrets.NAME=PATH` and helm as `--set-file
//! secrets.NAME.value=PATH`. Runs the real helm
//! (scripts/tools.sh); fails when it is missing.

mod chart_support;

use std::path::PathBuf;

use chart_support::{Case, assert_equivalent, berth_render, repo_path};
use serde_json::Value;

const NEON_URL: &str = "postgresql://todo:pw@ep-example.eu-central-1.aws.neon.tech/todo?sslmode=require&channel_binding=require";

/// A values file with `text`, in this process's scratch directory.
fn values_file(name: &str, text: &str) -> PathBuf {
    let path = chart_support::scratch("values").join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn objects_of<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

#[test]
fn default_values() {
    // Per component ServiceAccount, ConfigMap, Secret, Deployment, Service (3 x 5),
    // the database's five objects, and the edge proxy's four (its routes name two components).
    assert_eq!(assert_equivalent(&Case::new("default")), 24);
}

#[test]
fn dev_values() {
    assert_equivalent(&Case::new("dev").file("values/dev.yaml"));
}

#[test]
fn staging_values() {
    // Default deny + 5 policies (the edge's too) and 4 PDBs (the edge runs two
    // proxies) on top of the default 24; no HPA.
    assert_eq!(
        assert_equivalent(&Case::new("staging").file("values/staging.yaml")),
        34
    );
}

#[test]
fn prod_values() {
    // Default deny + 5 policies (the edge's too), 3 HPAs and 4 PDBs (the edge's
    // two proxies too) on top of the default 24.
    assert_eq!(
        assert_equivalent(&Case::new("prod").file("values/prod.yaml")),
        37
    );
}

#[test]
fn optional_secrets_given() {
    let case = Case::new("optional secrets")
        .file("values/prod.yaml")
        .secret("openaiApiKey", "sk-test")
        .secret("geminiApiKey", "gm-test");
    let objects = berth_render(&case);
    assert!(
        serde_json::to_string(&objects)
            .unwrap()
            .contains("OPENAI_API_KEY")
    );
    assert_equivalent(&case);
}

#[test]
fn external_database_in_each_driver_form() {
    for (url, port) in [
        (NEON_URL, "5432"),
        (
            "postgresql+asyncpg://u%40x:p%2Fss@db.example.com:6543/todo?ssl=require",
            "6543",
        ),
    ] {
        let case = Case::new(&format!("external {url}"))
            .file("values/prod.yaml")
            .set("database.mode=external")
            .set("components.mcp.env.DB_HOST.database=host")
            .set("components.mcp.env.DB_PORT.database=port")
            .set("components.mcp.env.DB_USER.database=user")
            .set("components.mcp.env.DB_NAME.database=name")
            .set("components.mcp.env.DB_PASSWORD.database=password")
            .set("components.mcp.env.ASYNCPG_URL.database=url")
            .set("components.mcp.env.ASYNCPG_URL.driver=asyncpg")
            .set("components.mcp.env.PSYCOPG_URL.database=url")
            .set("components.mcp.env.PSYCOPG_URL.driver=psycopg2")
            .set("expose.mode=ingress")
            .secret("databaseUrl", url)
            .secret("openaiApiKey", "test-openai-key");
        let objects = berth_render(&case);
        let policy = objects
            .iter()
            .find(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] == "todo-chatbot-mcp")
            .expect("mcp policy");
        assert!(
            policy.to_string().contains(&format!("\"port\":{port}")),
            "the egress rule opens the URL's port: {policy}"
        );
        assert_equivalent(&case);
    }
}

#[test]
fn internal_database_parts_and_drivers() {
    let case = Case::new("internal parts")
        .set("components.backend.env.DB_HOST.database=host")
        .set("components.backend.env.DB_PORT.database=port")
        .set("components.backend.env.DB_PASSWORD.database=password")
        .set("components.backend.env.ASYNC_URL.database=url")
        .set("components.backend.env.ASYNC_URL.driver=asyncpg")
        .secret("postgresPassword", "p@ss:w/rd ü+%20~-._");
    assert_equivalent(&case);
}

/// The database's TLS pair is made once per release by each tool (rcgen in
/// berth, `genSelfSignedCert` in the chart), so its bytes differ by design:
/// each must be a PEM certificate and key, and everything else is compared.
#[test]
fn internal_database_tls() {
    use base64::Engine;
    let case = Case::new("database tls").set("database.internal.tls=true");
    let work = chart_support::scratch("cases");
    let mut ours = berth_render(&case);
    let mut theirs = chart_support::helm_template(&case.chart(&work), &case, &work);
    for (tool, objects) in [("berth", &mut ours), ("helm", &mut theirs)] {
        let secret = objects
            .iter_mut()
            .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "todo-chatbot-postgres-tls")
            .unwrap_or_else(|| panic!("{tool} renders the TLS Secret"));
        assert_eq!(secret["type"], "kubernetes.io/tls", "{tool}");
        for (key, header) in [
            ("tls.crt", "-----BEGIN CERTIFICATE-----"),
            ("tls.key", " PRIVATE KEY-----"),
        ] {
            let encoded = secret["data"][key].as_str().unwrap_or_default();
            let pem = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_else(|e| panic!("{tool} {key}: {e}"));
            let pem = String::from_utf8(pem).unwrap();
            assert!(
                pem.lines().next().unwrap_or("").contains(header),
                "{tool} {key}: {pem}"
            );
            secret["data"][key] = Value::String("<generated>".into());
        }
    }
    let count = chart_support::compare(&ours, &theirs)
        .unwrap_or_else(|differences| panic!("berth and helm differ:\n{differences}"));
    // The default 24 and the TLS Secret.
    assert_eq!(count, 25);
}

#[test]
fn each_exposure() {
    let cases = [
        Case::new("ingress")
            .file("values/prod.yaml")
            .set("expose.mode=ingress")
            .set("expose.ingress.host=chat.example.com")
            .set("expose.ingress.className=traefik")
            .set("expose.ingress.tlsSecretName=chat-tls")
            .set("expose.ingress.controllerNamespace=traefik"),
        Case::new("gateway")
            .file("values/prod.yaml")
            .set("expose.mode=gateway")
            .set("expose.gateway.namespace=gateways")
            .set("expose.gateway.sectionName=https")
            .set("expose.gateway.https=true"),
        Case::new("gateway anywhere")
            .file("values/prod.yaml")
            .set("expose.mode=gateway"),
        Case::new("node port")
            .set("expose.mode=nodePort")
            .set("expose.nodePort=31234"),
        Case::new("none")
            .file("values/prod.yaml")
            .set("expose.mode=none"),
    ];
    for case in cases {
        assert_equivalent(&case);
    }
}

#[test]
fn origins_resolve_alike() {
    // {externalUrl} (APP_URL: {externalUrl: /} in the defaults) in every origin.
    let cases = [
        Case::new("url").set("expose.url=https://todo.example.com/"),
        Case::new("url wins over local")
            .set("expose.origin=local")
            .set("expose.url=http://10.0.0.7:30080"),
        Case::new("local behind the edge").set("expose.origin=local"),
        Case::new("local ports")
            .set("expose.origin=local")
            .set("expose.localPorts.frontend=4000")
            .set("expose.localPorts.backend=4001"),
        // An explicit port takes the entry's default; the entry moves up.
        Case::new("local port taken")
            .file("values/prod.yaml")
            .set("expose.mode=ingress")
            .set("expose.origin=local")
            .set("expose.localPorts.backend=3000"),
        // Below 1024 the local port is 8000 higher.
        Case::new("privileged port")
            .set("expose.mode=gateway")
            .set("expose.origin=local")
            .set("components.frontend.port=80"),
    ];
    for case in cases {
        assert_equivalent(&case);
    }
}

#[test]
fn routes_are_data() {
    // The browser calls the backend directly, and a third route.
    let case = Case::new("routes")
        .file("values/prod.yaml")
        .set("expose.mode=ingress")
        .set("expose.routes./mcp=mcp")
        .set("expose.routes./api/v2=backend");
    let objects = berth_render(&case);
    let ingress = objects_of(&objects, "Ingress");
    let paths: Vec<&str> = ingress[0]["spec"]["rules"][0]["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/api/v2", "/api", "/mcp", "/"]);
    assert_equivalent(&case);
}

#[test]
fn the_edge_proxy_and_stripped_prefixes() {
    let cases = [
        // Several routes, one stripped, in each mode the edge serves.
        Case::new("edge node port")
            .file("values/prod.yaml")
            .set("expose.routes./api.component=backend")
            .set("expose.routes./api.stripPrefix=true")
            .set("expose.routes./api/mcp/=mcp")
            .set("expose.edge.maxBodySize=0")
            .set("expose.edge.replicas=2"),
        Case::new("edge none")
            .file("values/dev.yaml")
            .set("expose.mode=none")
            .set("expose.routes./docs=mcp"),
        // One component with a stripped prefix still needs the edge.
        Case::new("edge for one stripping component")
            .set("expose.routes./api.component=frontend")
            .set("expose.routes./api.stripPrefix=true"),
        // One routed component: no edge, the NodePort on its own Service.
        Case::new("no edge").set("expose.routes./api=frontend"),
        Case::new("gateway strips")
            .file("values/prod.yaml")
            .set("expose.mode=gateway")
            .set("expose.routes./api.component=backend")
            .set("expose.routes./api.stripPrefix=true"),
    ];
    for case in cases {
        assert_equivalent(&case);
    }
    let objects = berth_render(&Case::new("edge").file("values/prod.yaml"));
    assert_eq!(
        objects_of(&objects, "ConfigMap")
            .iter()
            .filter(|c| c["metadata"]["name"] == "todo-chatbot-edge")
            .count(),
        1
    );
}

#[test]
fn each_component_disabled_in_turn() {
    for component in ["frontend", "backend", "mcp"] {
        for profile in ["values/dev.yaml", "values/staging.yaml", "values/prod.yaml"] {
            let case = Case::new(&format!("{component} disabled, {profile}"))
                .file(profile)
                .set(&format!("components.{component}.enabled=false"))
                .set("expose.mode=ingress");
            assert_equivalent(&case);
        }
    }
}

#[test]
fn existing_secrets_per_component() {
    for profile in ["values/dev.yaml", "values/staging.yaml", "values/prod.yaml"] {
        let case = Case::new(&format!("existing secret, {profile}"))
            .file(profile)
            .set("components.backend.existingSecret=backend-secrets");
        let objects = berth_render(&case);
        assert!(
            !objects_of(&objects, "Secret")
                .iter()
                .any(|s| s["metadata"]["name"] == "todo-chatbot-backend"),
            "no Secret of its own"
        );
        assert_equivalent(&case);
        let external = Case::new(&format!("existing secret, external, {profile}"))
            .file(profile)
            .set("components.backend.existingSecret=backend-secrets")
            .set("components.mcp.existingSecret=mcp-secrets")
            .set("database.mode=external");
        assert_equivalent(&external);
    }
}

#[test]
fn workers_tasks_probes_and_pod_settings() {
    let path = values_file(
        "workers.yaml",
        r#"components:
  backend:
    tasks:
      migrate: {before: rollout, command: [alembic, upgrade, head]}
      seed: {command: [python, -m, seed], args: ["--once"]}
    probes: {startup: {tcp: true}, liveness: {exec: [cat, /tmp/alive]}}
    podAnnotations: {dapr.io/enabled: "false", dapr.io/app-id: backend}
    podLabels: {team.example/tier: api}
    autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 4}
    podDisruptionBudget: {enabled: true, minAvailable: 2}
    egress: [api.openai.com, "db.example.com:6543"]
  consumer:
    image: {repository: localhost/team/consumer, tag: "1.0"}
    command: [python, -m, consumer]
    replicas: 0
    writablePaths: [/tmp, /var/cache/.app]
    env:
      QUEUE_URL: {urlOf: backend, path: /queue}
      RELEASE: {release: name}
      NAMESPACE: {release: namespace}
      PUBLIC: {externalUrl: /app/}
      COUNT: 3
      FLAG: true
"#,
    );
    let mut case = Case::new("workers").file("values/prod.yaml");
    case.files.push(path);
    let objects = berth_render(&case);
    assert!(
        !objects_of(&objects, "Service")
            .iter()
            .any(|s| s["metadata"]["name"] == "todo-chatbot-consumer"),
        "a worker has no Service"
    );
    assert_equivalent(&case);
}

#[test]
fn other_release_and_namespace_and_awkward_secrets() {
    let mut case = Case::new("release")
        .file("values/prod.yaml")
        .secret("authSecret", "a+b c/ü\"'{{ .Values }}")
        .secret("postgresPassword", "p@ss:w/rd ü+%20~-._");
    case.release = "my-chat".into();
    case.namespace = "apps".into();
    assert_equivalent(&case);
}

#[test]
fn user_env_and_numeric_quantities() {
    let path = values_file(
        "numbers.yaml",
        r#"components:
  frontend:
    runAsUser: 2000000000
    env: {PORT: "4000", EXTRA: "yes", EMPTY: "", BIG: 1234567}
    resources:
      requests: {cpu: 0.25, memory: 268435456}
      limits: {cpu: 1, memory: 1e9}
  backend:
    env: {MULTI: "line one\nline two: with colon", QUOTE: "it's \"quoted\" {{ not a template }}"}
database:
  internal:
    storage: 1073741824
    storageClass: fast-ssd
"#,
    );
    let mut case = Case::new("numbers");
    case.files.push(path);
    assert_equivalent(&case);
}

/// The team stacks under examples/: each directory's berth.yaml.
fn examples() -> Vec<PathBuf> {
    let mut stacks: Vec<PathBuf> = std::fs::read_dir(repo_path("examples"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path().join("berth.yaml"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    stacks.sort();
    stacks
}

/// A value for every secret a stack declares: a PostgreSQL URL for the
/// external database's, a fixed text for the rest (generated ones included).
fn example_case(stack: PathBuf) -> Case {
    let text = std::fs::read_to_string(&stack).unwrap();
    let values = berth::values::load::parse_yaml(&text, "example").unwrap();
    let url_secret = values["database"]["external"]["urlSecret"]
        .as_str()
        .unwrap_or("databaseUrl")
        .to_string();
    let mut case = Case::stack(&stack.display().to_string(), stack.clone());
    case.release = "example".into();
    case.namespace = "example".into();
    for name in values["secrets"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, _)| n)
    {
        let value = if *name == url_secret {
            "postgresql://team:pw@db.example.com:5432/app?sslmode=require".to_string()
        } else {
            format!("test-{name}-value")
        };
        case.secrets.insert(name.clone(), value);
    }
    case
}

#[test]
fn the_examples_are_equivalent() {
    let stacks = examples();
    assert!(stacks.len() >= 2, "examples/*/berth.yaml: {stacks:?}");
    for stack in stacks {
        for profile in [
            None,
            Some(
                "networkPolicy.enabled=true,autoscaling.enabled=true,podDisruptionBudget.enabled=true",
            ),
        ] {
            let mut case = example_case(stack.clone());
            if let Some(set) = profile {
                case = case.set(set);
            }
            let n = assert_equivalent(&case);
            assert!(n >= 5, "{}: {n} objects", stack.display());
        }
    }
}

#[test]
fn the_comparison_allows_only_managed_by_and_the_namespace() {
    let ours = berth_render(&Case::new("compare"));
    assert_eq!(ours[0]["kind"], "Namespace");
    let mut theirs: Vec<serde_json::Value> = ours[1..].to_vec();
    theirs[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm".into();
    assert_eq!(chart_support::compare(&ours, &theirs), Ok(ours.len() - 1));

    let mut changed = theirs.clone();
    changed[5]["metadata"]["labels"]["app.kubernetes.io/version"] = "other".into();
    let differences = chart_support::compare(&ours, &changed).unwrap_err();
    assert!(
        differences.contains(".metadata.labels.app.kubernetes.io/version"),
        "{differences}"
    );

    let mut quoted = theirs.clone();
    let port = quoted
        .iter_mut()
        .find(|o| o["kind"] == "Service")
        .map(|s| &mut s["spec"]["ports"][0]["port"])
        .unwrap();
    *port = serde_json::Value::String(port.to_string());
    assert!(
        chart_support::compare(&ours, &quoted).is_err(),
        "a number rendered as a string is a difference"
    );

    let mut missing = theirs.clone();
    missing.pop();
    assert!(
        chart_support::compare(&ours, &missing)
            .unwrap_err()
            .contains("rendered by berth only")
    );
    let mut managed = theirs;
    managed[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Tiller".into();
    assert!(chart_support::compare(&ours, &managed).is_err());
}

#[test]
fn image_pull_secrets_are_referenced_like_berths_pull_secret() {
    // berth deploy --registry makes `<release>-image-pull` from the registry
    // login; Helm users name theirs with imagePullSecrets.
    let mut case = Case::new("image pull secrets");
    case.helm_args = vec![
        "--set".into(),
        "imagePullSecrets[0].name=todo-chatbot-image-pull".into(),
    ];
    let work = chart_support::scratch("pull-secrets");
    let helm = chart_support::helm_template(&case.chart(&work), &case, &work);
    let values = berth::values::load_unchecked_secrets(
        &berth::values::ValueSources::default(),
        &berth::values::ProcessEnv,
    )
    .unwrap();
    let mut ctx = berth::manifests::RenderContext::new(&values, &case.release, Some("todo"));
    ctx.registry.docker_config_json = Some("{}".into());
    let berth: Vec<Value> = berth::manifests::render(&values, &ctx)
        .iter()
        .map(|o| o.to_json())
        .collect();
    // By name: the two render in their own orders.
    let accounts = |objects: &[Value]| -> Vec<(Value, Value)> {
        let mut found: Vec<(Value, Value)> = objects_of(objects, "ServiceAccount")
            .into_iter()
            .map(|a| (a["metadata"]["name"].clone(), a["imagePullSecrets"].clone()))
            .collect();
        found.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
        found
    };
    let from_berth = accounts(&berth);
    // Three components', the database's and the edge proxy's.
    assert_eq!(from_berth.len(), 5);
    assert!(
        from_berth
            .iter()
            .all(|(_, refs)| refs == &serde_json::json!([{"name": "todo-chatbot-image-pull"}]))
    );
    assert_eq!(accounts(&helm), from_berth);
}
