//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use berth::manifests::{self, Manifest, RenderContext};
use berth::values::{self, ValueSources, Values};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Fixed secrets, so renders are stable and nothing reads the real environment.
pub fn test_env() -> HashMap<String, String> {
    HashMap::from([
        ("AUTH_SECRET".to_string(), "test-auth-secret".to_string()),
        ("POSTGRES_PASSWORD".to_string(), "test-password".to_string()),
    ])
}

pub fn sources(files: &[&str], set: &[&str]) -> ValueSources {
    ValueSources {
        files: files.iter().map(|f| repo_path(f)).collect(),
        set: set.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub fn load(files: &[&str], set: &[&str], env: &HashMap<String, String>) -> Values {
    values::load(&sources(files, set), env).unwrap_or_else(|e| panic!("values should load: {e}"))
}

pub fn render(values: &Values) -> Vec<Manifest> {
    let ctx = RenderContext::new(values, manifests::DEFAULT_RELEASE, None);
    manifests::render(values, &ctx)
}

/// The profiles the project ships and documents.
pub fn profiles() -> Vec<(&'static str, Values)> {
    let mut external_env = test_env();
    external_env.insert(
        "DATABASE_URL".into(),
        "postgresql://todo:pw@ep-example.eu-central-1.aws.neon.tech/todo?sslmode=require".into(),
    );
    external_env.insert("OPENAI_API_KEY".into(), "test-openai-key".into());
    vec![
        ("default", load(&[], &[], &test_env())),
        ("dev", load(&["values/dev.yaml"], &[], &test_env())),
        ("prod", load(&["values/prod.yaml"], &[], &test_env())),
        (
            "external-database",
            load(
                &["values/prod.yaml"],
                &["database.mode=external", "expose.mode=ingress"],
                &external_env,
            ),
        ),
    ]
}

/// A kubeconfig in `dir` naming a cluster nothing listens on: commands that
/// must fail before contacting a cluster are run against it.
pub fn unreachable_kubeconfig(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("config");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: nowhere\n  cluster: {server: https://127.0.0.1:9}\nusers:\n- name: nobody\n  user: {}\ncontexts:\n- name: nowhere\n  context: {cluster: nowhere, user: nobody}\n",
    )
    .unwrap();
    path
}
