//! Table tests of the validation rules: each bad input is rejected with a
//! message naming the key, the value and what is allowed.

mod common;

use std::collections::HashMap;

use berth::values::{self, ValueSources, ValuesError};

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
                "backend.resources.requests.memory=1Gi",
                "backend.resources.limits.memory=512Mi",
            ],
            &["backend.resources.requests.memory", "1Gi", "512Mi"],
        ),
        (
            &[
                "mcp.resources.requests.cpu=2",
                "mcp.resources.limits.cpu=500m",
            ],
            &["mcp.resources.requests.cpu", "500m"],
        ),
        (
            &["frontend.resources.limits.cpu=lots"],
            &["frontend.resources.limits.cpu", "`lots`", "250m"],
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
        (&["backend.runAsUser=0"], &["backend.runAsUser", "root"]),
        (
            &["frontend.healthPath=healthz"],
            &["frontend.healthPath", "`healthz`", "starting with `/`"],
        ),
        (
            &["frontend.image.tag=bad tag"],
            &["frontend.image.tag", "`bad tag`"],
        ),
        (
            &["database.internal.storage=lots"],
            &["database.internal.storage", "`lots`", "1Gi"],
        ),
        (&["frontend.replicas=-1"], &["frontend.replicas", "-1"]),
        (&["llm.baseUrl=ftp://x"], &["llm.baseUrl", "ftp://x"]),
        (
            &["frontend.env.1BAD=x"],
            &["frontend.env.1BAD", "environment variable name"],
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
        "frontend.replicas=-2",
    ]);
    for key in [
        "expose.nodePort",
        "autoscaling.minReplicas",
        "frontend.replicas",
    ] {
        assert!(message.contains(key), "{key} missing from:\n{message}");
    }
}

#[test]
fn unknown_keys_suggest_the_nearest_valid_key() {
    let message = set_error(&["frontnd.replicas=3"]);
    assert!(
        message.contains("frontnd.replicas: unknown key"),
        "{message}"
    );
    assert!(
        message.contains("did you mean `frontend.replicas`?"),
        "{message}"
    );
    let message = set_error(&["backend.replcas=3"]);
    assert!(
        message.contains("did you mean `backend.replicas`?"),
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
    let message = set_error(&["frontend.replicas=three"]);
    assert!(message.contains("frontend.replicas"), "{message}");
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
fn llm_provider_requires_its_key_and_lists_every_missing_item() {
    let sources = common::sources(&[], &["llm.provider=gemini", "database.mode=external"]);
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
        set: vec!["llm.provider=openai".into()],
        set_file: vec![format!("secrets.authSecret={}", key_file.display())],
        env_file: Some(env_file),
        ..Default::default()
    };
    let loaded = values::load(&sources, &HashMap::new()).unwrap();
    assert_eq!(loaded.secrets.openai_api_key, "sk-from-env-file");
    assert_eq!(
        loaded.secrets.auth_secret, "from-set-file",
        "trailing newline dropped"
    );
    assert!(
        !format!("{loaded:?}").contains("sk-from-env-file"),
        "Debug output redacts secrets"
    );
    assert!(loaded.without_secrets().secrets.openai_api_key.is_empty());
}

#[test]
fn layering_order_is_defaults_files_set_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.yaml");
    let second = dir.path().join("b.yaml");
    std::fs::write(
        &first,
        "frontend:\n  replicas: 3\nbackend:\n  replicas: 4\n",
    )
    .unwrap();
    std::fs::write(&second, "frontend:\n  replicas: 5\n").unwrap();
    let sources = ValueSources {
        files: vec![first, second],
        set: vec!["mcp.replicas=6".into(), "mcp.replicas=7".into()],
        set_string: vec!["llm.model=8".into()],
        ..Default::default()
    };
    let loaded = values::load(&sources, &common::test_env()).unwrap();
    assert_eq!(loaded.frontend.replicas, 5, "right-most file wins");
    assert_eq!(loaded.backend.replicas, 4, "earlier files still apply");
    assert_eq!(loaded.mcp.replicas, 7, "right-most --set wins");
    assert_eq!(loaded.llm.model, "8", "--set-string keeps strings");
    assert_eq!(
        loaded.database.internal.storage, "1Gi",
        "defaults fill the rest"
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
    std::fs::write(&bad, "frontend:\n  replicas: 2\n  image: [unclosed\n").unwrap();
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

    let err = set_error(&["frontend.replicas"]);
    assert!(
        err.contains("malformed --set `frontend.replicas`") && err.contains("no `=`"),
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
