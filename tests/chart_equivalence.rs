//! `helm template` of the exported chart and `berth render --include-secrets`
//! produce the same objects, field for field, for the shipped profiles, each
//! exposure, each component disabled, an existing Secret, and external databases.
//! Only the `managed-by` label value and the Namespace object may differ.
//! Runs the real helm (scripts/tools.sh); fails when it is missing.

mod chart_support;

use chart_support::{Case, assert_equivalent, berth_render};

const NEON_URL: &str =
    "postgresql://todo:pw@ep-example.eu-central-1.aws.neon.tech/todo?sslmode=require";

#[test]
fn default_values() {
    assert_eq!(assert_equivalent(&Case::new("default")), 20);
}

#[test]
fn dev_values() {
    assert_equivalent(&Case::new("dev").file("values/dev.yaml"));
}

#[test]
fn prod_values() {
    // Default deny + 4 policies, 3 HPAs and 3 PDBs on top of the default 20.
    assert_eq!(
        assert_equivalent(&Case::new("prod").file("values/prod.yaml")),
        31
    );
}

#[test]
fn external_database_from_database_url() {
    let case = Case::new("external-database")
        .file("values/prod.yaml")
        .set("database.mode=external")
        .set("llm.provider=openai")
        .set("expose.mode=ingress")
        .secret("databaseUrl", NEON_URL)
        .secret("openaiApiKey", "test-openai-key");
    assert_equivalent(&case);
}

#[test]
fn external_database_with_a_port_and_asyncpg() {
    let case = Case::new("external-database-port")
        .file("values/prod.yaml")
        .set("database.mode=external")
        .secret(
            "databaseUrl",
            "postgresql+asyncpg://u:p%40ss@db.example.com:6543/todo?ssl=require",
        );
    let objects = berth_render(&case);
    assert!(
        serde_json::to_string(&objects).unwrap().contains("6543"),
        "the egress rule opens the URL's port"
    );
    assert_equivalent(&case);
}

#[test]
fn ingress_exposure_with_tls_and_controller() {
    let case = Case::new("ingress")
        .file("values/prod.yaml")
        .set("expose.mode=ingress")
        .set("expose.ingress.host=chat.example.com")
        .set("expose.ingress.className=traefik")
        .set("expose.ingress.tlsSecretName=chat-tls")
        .set("expose.ingress.controllerNamespace=traefik");
    assert_equivalent(&case);
}

#[test]
fn node_port_exposure() {
    let case = Case::new("node-port")
        .set("expose.mode=nodePort")
        .set("expose.nodePort=31234");
    assert_equivalent(&case);
}

#[test]
fn no_exposure() {
    assert_equivalent(
        &Case::new("none")
            .file("values/prod.yaml")
            .set("expose.mode=none"),
    );
}

#[test]
fn each_component_disabled_in_turn() {
    for component in ["frontend", "backend", "mcp"] {
        for profile in ["values/dev.yaml", "values/prod.yaml"] {
            let case = Case::new(&format!("{component} disabled, {profile}"))
                .file(profile)
                .set(&format!("{component}.enabled=false"))
                .set("expose.mode=ingress");
            assert_equivalent(&case);
        }
    }
    let none = Case::new("all disabled")
        .set("frontend.enabled=false,backend.enabled=false,mcp.enabled=false")
        .set("expose.mode=ingress");
    assert_equivalent(&none);
}

#[test]
fn existing_secret() {
    for profile in ["values/dev.yaml", "values/prod.yaml"] {
        let case = Case::new(&format!("existing secret, {profile}"))
            .file(profile)
            .set("secrets.existingSecret=todo-secrets")
            .set("llm.provider=gemini");
        assert_equivalent(&case);
        let external = Case::new(&format!("existing secret, external, {profile}"))
            .file(profile)
            .set("secrets.existingSecret=todo-secrets")
            .set("database.mode=external");
        assert_equivalent(&external);
    }
}

#[test]
fn llm_providers_models_and_base_urls() {
    for (provider, base_url) in [
        ("openai", "https://llm.example.com/v1"),
        ("openai", "http://ollama.local:11434/v1"),
        ("openai", "http://ollama.local/v1"),
        ("gemini", ""),
    ] {
        let mut case = Case::new(&format!("{provider} {base_url}"))
            .file("values/prod.yaml")
            .set(&format!("llm.provider={provider}"))
            .set("llm.model=some-model")
            .secret("openaiApiKey", "sk-test")
            .secret("geminiApiKey", "gm-test");
        if !base_url.is_empty() {
            case = case.set(&format!("llm.baseUrl={base_url}"));
        }
        assert_equivalent(&case);
    }
}

#[test]
fn http_base_url_without_port_opens_port_80() {
    let case = Case::new("http base url")
        .file("values/prod.yaml")
        .set("llm.provider=openai")
        .set("llm.baseUrl=http://ollama.local/v1")
        .secret("openaiApiKey", "sk-test");
    let objects = berth_render(&case);
    let policy = objects
        .iter()
        .find(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["name"] == "todo-chatbot-backend")
        .expect("backend policy");
    let egress_ports: Vec<i64> = policy["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["ports"][0]["port"].as_i64().unwrap())
        .collect();
    assert_eq!(egress_ports.last(), Some(&80), "{egress_ports:?}");
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
fn secrets_passed_with_helm_set_flags() {
    // What a Helm user types: --set secrets.openaiApiKey=… instead of a file.
    let mut case = Case::new("helm --set secrets")
        .set("llm.provider=openai")
        .secret("openaiApiKey", "sk-from-set");
    case.secrets.remove("openaiApiKey");
    let mut berth_case = case.clone();
    berth_case
        .secrets
        .insert("openaiApiKey".into(), "sk-from-set".into());
    case.helm_args = vec!["--set".into(), "secrets.openaiApiKey=sk-from-set".into()];
    let ours = berth_render(&berth_case);
    let work = chart_support::scratch("set-flags");
    let theirs = chart_support::helm_template(chart_support::exported_chart(), &case, &work);
    chart_support::compare(&ours, &theirs).unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn user_env_overrides_and_numeric_quantities() {
    let dir = chart_support::scratch("values");
    let path = dir.join("numbers.yaml");
    std::fs::write(
        &path,
        r#"frontend:
  runAsUser: 2000000000
  env: {PORT: "4000", AUTH_SECRET: "from-config", "ON": "yes", EMPTY: ""}
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
    )
    .unwrap();
    let mut case = Case::new("numbers");
    case.files.push(path);
    assert_equivalent(&case);
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
