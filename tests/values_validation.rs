//! Table tests of the validation rules: each bad input is rejected with a
//! message naming the key, the value and what is allowed.

mod common;

use std::collections::HashMap;

use berth::values::{self, EnvValue, ValueSources, ValuesError};

fn error_for(sources: ValueSources, env: &HashMap<String, String>) -> String {
    match values::load(&sources, env) {
        Ok(_) => panic!("expected {sources:?} to be rejected"),
        Err(err) => err.to_string(),
    }
}

fn set_error(set: &[&str]) -> String {
    error_for(common::sources(&[], set), &common::test_env())
}

#[test]
fn cross_field_rules_name_key_value_and_allowed() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["autoscaling.minReplicas=6", "autoscaling.maxReplicas=3"],
            &["autoscaling.maxReplicas", "3", "minReplicas (6)"],
        ),
        (
            &["autoscaling.minReplicas=0"],
            &["autoscaling.minReplicas", "below 1"],
        ),
        (
            &["autoscaling.targetCpuUtilization=150"],
            &["autoscaling.targetCpuUtilization", "150", "1–100"],
        ),
        (
            &[
                "components.backend.resources.requests.memory=1Gi",
                "components.backend.resources.limits.memory=512Mi",
            ],
            &[
                "components.backend.resources.requests.memory",
                "1Gi",
                "512Mi",
            ],
        ),
        (
            &[
                "components.mcp.resources.requests.cpu=2",
                "components.mcp.resources.limits.cpu=500m",
            ],
            &["components.mcp.resources.requests.cpu", "500m"],
        ),
        (
            &["components.frontend.resources.limits.cpu=lots"],
            &["components.frontend.resources.limits.cpu", "`lots`", "250m"],
        ),
        (
            &["expose.nodePort=29999"],
            &["expose.nodePort", "29999", "30000–32767"],
        ),
        (&["expose.nodePort=32768"], &["expose.nodePort", "32768"]),
        (
            &["expose.ingress.host=Todo_App.local"],
            &["expose.ingress.host", "`Todo_App.local`", "DNS name"],
        ),
        (
            &["expose.mode=ingress", "expose.ingress.className="],
            &["expose.ingress.className", "nginx"],
        ),
        (&["namespace.name=My_NS"], &["namespace.name", "`My_NS`"]),
        (
            &["components.backend.runAsUser=0"],
            &["components.backend.runAsUser", "root"],
        ),
        (
            &["components.frontend.probes.http=healthz"],
            &[
                "components.frontend.probes.http",
                "`healthz`",
                "starting with `/`",
            ],
        ),
        (
            &["components.frontend.image.tag=bad tag"],
            &["components.frontend.image.tag", "`bad tag`"],
        ),
        (
            &["database.internal.storage=lots"],
            &["database.internal.storage", "`lots`", "1Gi"],
        ),
        (
            &["components.frontend.replicas=-1"],
            &["components.frontend.replicas", "-1"],
        ),
        (
            &["components.frontend.env.1BAD=x"],
            &["components.frontend.env.1BAD", "environment variable name"],
        ),
    ];
    for (set, needles) in cases {
        let message = set_error(set);
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{set:?}: expected {needle:?} in:\n{message}"
            );
        }
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let message = set_error(&[
        "expose.nodePort=1",
        "autoscaling.minReplicas=0",
        "components.frontend.replicas=-2",
    ]);
    for key in [
        "expose.nodePort",
        "autoscaling.minReplicas",
        "components.frontend.replicas",
    ] {
        assert!(message.contains(key), "{key} missing from:\n{message}");
    }
}

#[test]
fn unknown_keys_suggest_the_nearest_valid_key() {
    let message = set_error(&["componets.frontend.replicas=3"]);
    assert!(
        message.contains("componets.frontend.replicas: unknown key"),
        "{message}"
    );
    assert!(
        message.contains("did you mean `components.frontend.replicas`?"),
        "{message}"
    );
    let message = set_error(&["components.backend.replcas=3"]);
    assert!(
        message.contains("did you mean `components.backend.replicas`?"),
        "{message}"
    );
    // A misspelt component is a new one without an image: named, with the near one.
    let message = set_error(&["components.frontnd.replicas=3"]);
    assert!(
        message.contains("components.frontnd") && message.contains("did you mean `frontend`?"),
        "{message}"
    );
    let message = set_error(&["expose.ingres.host=x.y"]);
    assert!(
        message.contains("did you mean `expose.ingress.host`?"),
        "{message}"
    );
}

#[test]
fn wrong_types_name_the_path_the_value_and_the_expected_type() {
    let message = set_error(&["components.frontend.replicas=three"]);
    assert!(
        message.contains("components.frontend.replicas"),
        "{message}"
    );
    assert!(message.contains("\"three\""), "{message}");
    assert!(message.contains("expected i32"), "{message}");
    let message = set_error(&["expose.mode=loadBalancer"]);
    assert!(
        message.contains("expose.mode") && message.contains("loadBalancer"),
        "{message}"
    );
    assert!(
        message.contains("nodePort") && message.contains("ingress"),
        "lists allowed variants: {message}"
    );
}

#[test]
fn external_database_requires_a_url_and_checks_driver_against_ssl() {
    let sources = common::sources(&[], &["database.mode=external"]);
    let err = values::load(&sources, &common::test_env()).unwrap_err();
    assert!(matches!(err, ValuesError::Missing(_)), "{err}");
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");

    let mut env = common::test_env();
    env.insert(
        "DATABASE_URL".into(),
        "postgresql+asyncpg://u:hunter2@db.example.com/todo?sslmode=require".into(),
    );
    let message = error_for(sources.clone(), &env);
    assert!(message.contains("asyncpg wants `ssl=require`"), "{message}");
    assert!(
        !message.contains("hunter2"),
        "the password is masked: {message}"
    );

    env.insert(
        "DATABASE_URL".into(),
        "postgresql://u:p@db.example.com/todo?ssl=require".into(),
    );
    assert!(
        error_for(sources.clone(), &env).contains("libpq-style drivers want `sslmode=require`")
    );

    env.insert(
        "DATABASE_URL".into(),
        "postgresql://u:p@db.example.com/todo?sslmode=require".into(),
    );
    assert!(values::load(&sources, &env).is_ok());
}

#[test]
fn required_secrets_are_listed_together_with_what_supplies_them() {
    let sources = common::sources(
        &[],
        &[
            "secrets.geminiApiKey.required=true",
            "database.mode=external",
        ],
    );
    let err = values::load(&sources, &common::test_env())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("secrets.geminiApiKey") && err.contains("GEMINI_API_KEY"),
        "{err}"
    );
    assert!(
        err.contains("secrets.databaseUrl") && err.contains("DATABASE_URL"),
        "{err}"
    );
}

#[test]
fn secrets_are_refused_in_values_files_and_set_but_read_from_env_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, "secrets:\n  openaiApiKey: sk-from-file\n").unwrap();
    let sources = ValueSources {
        files: vec![file],
        ..Default::default()
    };
    let message = error_for(sources, &common::test_env());
    assert!(
        message.contains("secrets.openaiApiKey")
            && message.contains("not accepted from a values file"),
        "{message}"
    );
    assert!(
        !message.contains("sk-from-file"),
        "the secret is not echoed: {message}"
    );

    let message = set_error(&["secrets.authSecret=abc"]);
    assert!(
        message.contains("not accepted from --set") && message.contains("AUTH_SECRET"),
        "{message}"
    );

    let env_file = dir.path().join(".env");
    std::fs::write(&env_file, "OPENAI_API_KEY=sk-from-env-file\n").unwrap();
    let key_file = dir.path().join("auth");
    std::fs::write(&key_file, "from-set-file\n").unwrap();
    let sources = ValueSources {
        set_file: vec![format!("secrets.authSecret={}", key_file.display())],
        env_file: Some(env_file),
        ..Default::default()
    };
    let loaded = values::load(&sources, &HashMap::new()).unwrap();
    assert_eq!(
        loaded.secret_values.get("openaiApiKey"),
        Some("sk-from-env-file")
    );
    assert_eq!(
        loaded.secret_values.get("authSecret"),
        Some("from-set-file"),
        "trailing newline dropped"
    );
    assert!(
        !format!("{loaded:?}").contains("sk-from-env-file"),
        "Debug output redacts secrets"
    );
    assert!(
        loaded
            .without_secrets()
            .secret_values
            .get("openaiApiKey")
            .is_none()
    );
    let serialized = serde_json::to_string(&loaded).unwrap();
    assert!(!serialized.contains("sk-from-env-file") && !serialized.contains("from-set-file"));
}

#[test]
fn layering_order_is_defaults_files_set_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.yaml");
    let second = dir.path().join("b.yaml");
    std::fs::write(
        &first,
        "components:\n  frontend:\n    replicas: 3\n  backend:\n    replicas: 4\n",
    )
    .unwrap();
    std::fs::write(&second, "components:\n  frontend:\n    replicas: 5\n").unwrap();
    let sources = ValueSources {
        files: vec![first, second],
        set: vec![
            "components.mcp.replicas=6".into(),
            "components.mcp.replicas=7".into(),
        ],
        set_string: vec!["components.backend.env.LLM_MODEL=8".into()],
        ..Default::default()
    };
    let loaded = values::load(&sources, &common::test_env()).unwrap();
    let replicas = |name: &str| loaded.components[name].replicas;
    assert_eq!(replicas("frontend"), Some(5), "right-most file wins");
    assert_eq!(replicas("backend"), Some(4), "earlier files still apply");
    assert_eq!(replicas("mcp"), Some(7), "right-most --set wins");
    assert_eq!(
        loaded.components["backend"].env["LLM_MODEL"],
        EnvValue::Plain("8".into()),
        "--set-string keeps strings"
    );
    assert_eq!(
        loaded.database.internal.storage, "1Gi",
        "defaults fill the rest"
    );
    assert_eq!(
        loaded.secret_values.get("authSecret"),
        Some("test-auth-secret"),
        "the environment supplies secrets"
    );
}

#[test]
fn input_errors_have_their_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let err = error_for(
        ValueSources {
            files: vec![missing.clone()],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(
        err.contains("cannot read values file") && err.contains("missing.yaml"),
        "{err}"
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "components:\n  web:\n    image: [unclosed\n").unwrap();
    let err = error_for(
        ValueSources {
            files: vec![bad],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(
        err.contains("invalid YAML") && err.contains("bad.yaml") && err.contains("line "),
        "{err}"
    );

    let scalar = dir.path().join("scalar.yaml");
    std::fs::write(&scalar, "just a string\n").unwrap();
    let err = error_for(
        ValueSources {
            files: vec![scalar],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(err.contains("must be a mapping"), "{err}");

    let err = set_error(&["components.frontend.replicas"]);
    assert!(
        err.contains("malformed --set `components.frontend.replicas`") && err.contains("no `=`"),
        "{err}"
    );

    let sources = ValueSources {
        set_file: vec!["secrets.authSecret=/nonexistent/key".into()],
        ..Default::default()
    };
    let err = error_for(sources, &common::test_env());
    assert!(
        err.contains("--set-file") && err.contains("/nonexistent/key"),
        "{err}"
    );
}

#[test]
fn credential_looking_plain_env_is_refused_with_a_hint_naming_the_secrets_map() {
    for (set, key) in [
        (
            "components.backend.env.STRIPE_API_KEY=sk_live_abc",
            "STRIPE_API_KEY",
        ),
        (
            "components.backend.env.SESSION_SECRET=s3cr3t-value",
            "SESSION_SECRET",
        ),
        ("components.backend.env.GH_TOKEN=ghp_value", "GH_TOKEN"),
        ("components.mcp.env.DB_PASSWORD=pw-value", "DB_PASSWORD"),
        (
            "components.mcp.env.REDIS=redis://app:pw-value@redis:6379",
            "REDIS",
        ),
        // A plain value where the defaults read a secret is a credential too:
        // never a silent override of the Secret.
        (
            "components.frontend.env.AUTH_SECRET=typed-in",
            "AUTH_SECRET",
        ),
    ] {
        let message = set_error(&[set]);
        assert!(message.contains(&format!("env.{key}")), "{set}: {message}");
        assert!(message.contains("secrets:"), "{set}: {message}");
        let value = set.split_once('=').unwrap().1;
        assert!(
            !message.contains(value),
            "{set}: the value is echoed: {message}"
        );
    }
}

#[test]
fn an_env_name_that_is_both_plain_and_a_reference_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.yaml");
    std::fs::write(
        &file,
        "components:\n  frontend:\n    env:\n      AUTH_SECRET: {urlOf: backend}\n",
    )
    .unwrap();
    let message = error_for(
        ValueSources {
            files: vec![file],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(
        message.contains("components.frontend.env.AUTH_SECRET")
            && message.contains("exactly one of"),
        "{message}"
    );
}

#[test]
fn duplicate_env_names_in_a_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.yaml");
    std::fs::write(
        &file,
        "components:\n  backend:\n    env:\n      LOG_LEVEL: info\n      LOG_LEVEL: debug\n",
    )
    .unwrap();
    let message = error_for(
        ValueSources {
            files: vec![file],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(message.contains("LOG_LEVEL"), "{message}");
    assert!(message.to_lowercase().contains("duplicate"), "{message}");
}

#[test]
fn references_to_missing_things_name_the_referring_key() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["components.frontend.env.X.urlOf=backnd"],
            &[
                "components.frontend.env.X.urlOf",
                "`backnd`",
                "did you mean `backend`?",
            ],
        ),
        (
            &["components.backend.env.X.secret=nope"],
            &["components.backend.env.X.secret", "`nope`", "not declared"],
        ),
        (
            &["components.backend.env.X.externalUrl=api"],
            &["components.backend.env.X.externalUrl", "starting with `/`"],
        ),
        (
            &["database.mode=none"],
            &[
                "components.backend.env.DATABASE_URL.database",
                "database.mode is none",
            ],
        ),
        (
            &[
                "components.backend.env.X.urlOf=mcp",
                "components.backend.env.X.driver=asyncpg",
            ],
            &["components.backend.env.X", "exactly one of"],
        ),
        (
            &["database.passwordSecret=pgPass"],
            &["database.passwordSecret", "`pgPass`", "not declared"],
        ),
        (
            // A worker has no URL and no port to probe.
            &["components.mcp.port=null"],
            &[
                "components.backend.env.MCP_SERVER_URL.urlOf",
                "worker",
                "components.mcp.probes",
            ],
        ),
        (
            &[
                "components.Web_1.image.repository=r",
                "components.Web_1.image.tag=t",
            ],
            &["components.Web_1", "DNS-1035"],
        ),
        (
            &[
                "components.postgres.image.repository=r",
                "components.postgres.image.tag=t",
            ],
            &["components.postgres", "berth uses"],
        ),
        (
            &["components.backend.tasks.migrate.command={}"],
            &["components.backend.tasks.migrate.command", "empty"],
        ),
        (
            &["components.backend.egress={not a host}"],
            &["components.backend.egress[0]", "not a host"],
        ),
        (
            &["components.backend.writablePaths={/a/cache,/b/a/cache}"],
            &[
                "components.backend.writablePaths[1]",
                "both give the volume name `a-cache`",
            ],
        ),
        (
            &["components.backend.podLabels.app\\.kubernetes\\.io/name=x"],
            &["podLabels", "berth's"],
        ),
        (
            &["components.backend.autoscaling.minReplicas=9"],
            &[
                "components.backend.autoscaling.maxReplicas",
                "minReplicas (9)",
            ],
        ),
        (
            &[
                "components.backend.probes.readiness.tcp=true",
                "components.backend.probes.readiness.http=/x",
            ],
            &["components.backend.probes.readiness", "exactly one"],
        ),
    ];
    for (set, needles) in cases {
        let message = set_error(set);
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{set:?}: expected {needle:?} in:\n{message}"
            );
        }
    }
}

#[test]
fn conflicting_and_shadowing_routes_are_reported() {
    let message = set_error(&["expose.routes./api/=mcp"]);
    assert!(
        message.contains("expose.routes./api/")
            && message.contains("conflicts with the route `/api`"),
        "{message}"
    );
    let message = set_error(&["expose.routes./docs=nowhere"]);
    assert!(message.contains("not a component"), "{message}");
    let message = set_error(&["expose.routes./=null"]);
    assert!(message.contains("expose.routes"), "{message}");
    // The frontend serves /api/auth itself; /api to the backend would shadow it.
    let shadow = [
        "expose.mode=ingress",
        "components.frontend.paths={/api/auth}",
    ];
    let message = set_error(&shadow);
    assert!(
        message.contains("expose.routes./api")
            && message.contains("/api/auth")
            && message.contains("proxy"),
        "{message}"
    );
    // Routing it back to the frontend resolves it.
    let mut fixed = shadow.to_vec();
    fixed.push("expose.routes./api/auth=frontend");
    assert!(values::load(&common::sources(&[], &fixed), &common::test_env()).is_ok());
    // With a NodePort only `/` is exposed: nothing to shadow.
    assert!(
        values::load(
            &common::sources(&[], &["components.frontend.paths={/api/auth}"]),
            &common::test_env()
        )
        .is_ok()
    );
}

#[test]
fn routes_and_the_edge_are_checked() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "expose.routes./.component=frontend",
                "expose.routes./.stripPrefix=true",
            ],
            &["expose.routes./.stripPrefix", "`/`", "no prefix to strip"],
        ),
        (
            &[
                "expose.mode=ingress",
                "expose.routes./api.component=backend",
                "expose.routes./api.stripPrefix=true",
            ],
            &[
                "expose.routes./api.stripPrefix",
                "Ingress",
                "expose.mode gateway",
            ],
        ),
        (
            &["expose.routes./x.component=nowhere"],
            &["expose.routes./x", "`nowhere`", "not a component"],
        ),
        (
            &["expose.routes./x.stripPrefix=true"],
            &["expose.routes./x", "missing field `component`"],
        ),
        (
            &[
                "expose.routes./x.component=backend",
                "expose.routes./x.strip=true",
            ],
            &["expose.routes./x.strip", "unknown key", "stripPrefix"],
        ),
        (
            &["expose.routes./a\\\"b=backend"],
            &["is not a path prefix", "`\\`"],
        ),
        (
            &[
                "components.edge.image.repository=a/b",
                "components.edge.image.tag=v1",
            ],
            &["components.edge", "berth uses for its own objects"],
        ),
        (
            &["expose.edge.replicas=0"],
            &["expose.edge.replicas", "0", "1 or more"],
        ),
        (
            &["expose.edge.maxBodySize=10mb"],
            &["expose.edge.maxBodySize", "`10mb`", "10m"],
        ),
        (
            &["expose.edge.image.tag=-x"],
            &["expose.edge.image.tag", "`-x`"],
        ),
        (
            &["expose.edge.resources.limits.memory=lots"],
            &["expose.edge.resources.limits.memory", "`lots`"],
        ),
    ];
    for (set, expected) in cases {
        let message = set_error(set);
        for part in *expected {
            assert!(
                message.contains(part),
                "{set:?}: `{part}` missing from:\n{message}"
            );
        }
    }
    // A worker (no port) cannot be routed to, in either form.
    let message = set_error(&[
        "components.mcp.port=null",
        "expose.routes./mcp.component=mcp",
        "expose.routes./mcp.stripPrefix=true",
    ]);
    assert!(message.contains("a worker without a port"), "{message}");
    // With the edge, a NodePort needs no route at `/`; without one it does.
    let mut edge = common::load(&[], &[], &common::test_env());
    let root = edge.expose.routes.remove("/").unwrap();
    edge.expose.routes.insert("/app".into(), root);
    assert_eq!(values::validate::validate(&edge), vec![]);
    edge.expose.routes.remove("/api");
    let problems = values::validate::validate(&edge);
    assert!(
        problems.len() == 1 && problems[0].message.contains("has no route for `/`"),
        "{problems:?}"
    );
}

#[test]
fn set_file_for_an_undeclared_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k");
    std::fs::write(&file, "v").unwrap();
    let message = error_for(
        ValueSources {
            set_file: vec![format!("secrets.nosuch={}", file.display())],
            ..Default::default()
        },
        &common::test_env(),
    );
    assert!(
        message.contains("secrets.nosuch") && message.contains("authSecret"),
        "{message}"
    );
}
