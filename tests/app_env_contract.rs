//! The apps' own declaration of the environment they read (`app/env.toml`, kept
//! in step with their code by the app's tests) against what berth renders: every
//! rendered variable is one the app reads, every variable it requires is
//! rendered, and ports and probe paths agree.

mod common;

use std::collections::BTreeSet;

use berth::manifests::Manifest;
use toml::Value;

fn names_of(table: &Value, key: &str) -> BTreeSet<String> {
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

/// The probe path a component's probes use for `kind` (the override, else the default check).
fn probe_path(probes: &berth::values::Probes, kind: &str) -> Option<String> {
    let over = match kind {
        "readiness" => &probes.readiness,
        "liveness" => &probes.liveness,
        _ => &probes.startup,
    };
    over.as_ref()
        .and_then(|o| o.http.clone())
        .or_else(|| probes.http.clone())
}

#[test]
fn rendered_environment_matches_what_the_apps_read() {
    let text = std::fs::read_to_string(common::repo_path("app/env.toml")).unwrap();
    let contract = Value::Table(toml::from_str(&text).expect("app/env.toml is TOML"));
    let apps: Vec<String> = contract.as_table().unwrap().keys().cloned().collect();
    for (profile, values) in common::profiles() {
        let objects = common::render(&values);
        let names: Vec<&String> = values.components.keys().collect();
        assert_eq!(
            names,
            apps.iter().collect::<Vec<_>>(),
            "{profile}: a component per app"
        );
        for (app, component) in &values.components {
            let declared = &contract[app.as_str()];
            let readable: BTreeSet<String> = ["required", "optional", "framework"]
                .iter()
                .flat_map(|k| names_of(declared, k))
                .collect();
            let rendered = rendered_env(&objects, &format!("todo-chatbot-{app}"));
            let unread: Vec<_> = rendered.difference(&readable).collect();
            assert!(
                unread.is_empty(),
                "{profile}: berth renders {unread:?} for {app}, which it never reads"
            );
            let missing: Vec<_> = names_of(declared, "required")
                .into_iter()
                .filter(|k| !rendered.contains(k))
                .collect();
            assert!(
                missing.is_empty(),
                "{profile}: {app} requires {missing:?}, which berth does not render"
            );
            assert_eq!(
                declared["port"].as_integer(),
                component.port.map(i64::from),
                "{profile}: {app} port"
            );
            let health = declared["health"].as_str().unwrap();
            for kind in ["startup", "liveness"] {
                assert_eq!(
                    probe_path(&component.probes, kind).as_deref(),
                    Some(health),
                    "{profile}: {app} {kind} path"
                );
            }
            let ready = declared
                .get("ready")
                .and_then(Value::as_str)
                .unwrap_or(health);
            assert_eq!(
                probe_path(&component.probes, "readiness").as_deref(),
                Some(ready),
                "{profile}: {app} ready path"
            );
            if let Some(path) = declared.get("path").and_then(Value::as_str) {
                // Whoever calls this app's endpoint uses its path.
                let callers: Vec<_> = values
                    .components
                    .values()
                    .flat_map(|c| c.env.values())
                    .filter_map(|v| match v {
                        berth::values::EnvValue::Ref(r) if r.url_of.as_deref() == Some(app) => {
                            r.path.clone()
                        }
                        _ => None,
                    })
                    .collect();
                assert!(!callers.is_empty(), "{profile}: nobody calls {app}");
                assert!(callers.iter().all(|p| p == path), "{profile}: {app} path");
            }
        }
    }
}
