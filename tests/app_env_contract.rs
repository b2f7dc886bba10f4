//! The apps' own declaration of the environment they read (`app/env.toml`, kept
//! in step with their code by the app's tests) against what berth renders: every
//! rendered variable is one the app reads, every variable it requires is
//! rendered, and ports and probe paths agree.

mod common;

use std::collections::BTreeSet;

use berth::manifests::Manifest;
use toml::Value;

fn names(table: &Value, key: &str) -> BTreeSet<String> {
    table
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn rendered_env(objects: &[Manifest], name: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for object in objects.iter().filter(|o| o.name() == name) {
        match object {
            Manifest::ConfigMap(c) => keys.extend(c.data.clone().unwrap_or_default().into_keys()),
            Manifest::Secret(s) => keys.extend(s.data.clone().unwrap_or_default().into_keys()),
            _ => {}
        }
    }
    keys
}

#[test]
fn rendered_environment_matches_what_the_apps_read() {
    let text = std::fs::read_to_string(common::repo_path("app/env.toml")).unwrap();
    let contract = Value::Table(toml::from_str(&text).expect("app/env.toml is TOML"));
    for (profile, values) in common::profiles() {
        let objects = common::render(&values);
        for (app, component) in [
            ("frontend", &values.frontend),
            ("backend", &values.backend),
            ("mcp", &values.mcp.as_component()),
        ] {
            let declared = &contract[app];
            let readable: BTreeSet<String> = ["required", "optional", "framework"]
                .iter()
                .flat_map(|k| names(declared, k))
                .collect();
            let rendered = rendered_env(&objects, &format!("todo-chatbot-{app}"));
            let unread: Vec<_> = rendered.difference(&readable).collect();
            assert!(
                unread.is_empty(),
                "{profile}: berth renders {unread:?} for {app}, which it never reads"
            );
            let missing: Vec<_> = names(declared, "required")
                .into_iter()
                .filter(|k| !rendered.contains(k))
                .collect();
            assert!(
                missing.is_empty(),
                "{profile}: {app} requires {missing:?}, which berth does not render"
            );
            assert_eq!(
                declared["port"].as_integer(),
                Some(component.port.into()),
                "{profile}: {app} port"
            );
            let health = declared["health"].as_str().unwrap();
            assert_eq!(
                component.health_path, health,
                "{profile}: {app} health path"
            );
            let ready = declared
                .get("ready")
                .and_then(Value::as_str)
                .unwrap_or(health);
            assert_eq!(component.ready_path, ready, "{profile}: {app} ready path");
        }
        assert_eq!(
            contract["mcp"]["path"].as_str(),
            Some(values.mcp.path.as_str())
        );
    }
}
