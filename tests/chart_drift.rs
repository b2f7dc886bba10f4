//! The chart cannot silently drift from berth's model: every key of the values
//! schema must be read by some template, the chart ships berth's schema (plus
//! only the Helm form of a secret's value and Helm's `imagePullSecrets`) and
//! defaults, and it holds no secret values.

mod chart_support;

use std::collections::BTreeSet;

use berth::chart::{self, ChartSettings, TEMPLATES, schema_leaves};
use berth::values::schema::values_schema_json;

/// The template variables whose key path is fixed by convention (see
/// templates/_helpers.tpl), with the schema paths they stand for. `*` is a
/// name the user chooses.
const VARIABLES: &[(&str, &[&str])] = &[
    ("Values.", &[""]),
    ("$c.", &["components.*."]),
    ("$p.", &["components.*.probes."]),
    (
        "$k.",
        &[
            "components.*.probes.",
            "components.*.probes.startup.",
            "components.*.probes.readiness.",
            "components.*.probes.liveness.",
        ],
    ),
    ("$t.", &["components.*.tasks.*."]),
    ("$r.", &["components.*.env.*."]),
    ("$route.", &["expose.routes.*."]),
    (
        "$be.",
        &[
            "components.*.image.buildEnv.*.",
            "database.internal.image.buildEnv.*.",
        ],
    ),
    ("$s.", &["secrets.*."]),
    ("$db.", &["database."]),
    ("$expose.", &["expose."]),
    ("$a.", &["autoscaling.", "components.*.autoscaling."]),
    (
        "$b.",
        &["podDisruptionBudget.", "components.*.podDisruptionBudget."],
    ),
    (
        "$res.",
        &[
            "components.*.resources.",
            "database.internal.resources.",
            "expose.edge.resources.",
        ],
    ),
];

/// Value paths the templates read, through `.Values.a.b` or a variable above.
fn referenced_paths(templates: &[(&str, &str)]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (_, text) in templates {
        for (marker, prefixes) in VARIABLES {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                    .unwrap_or(rest.len());
                let path = rest[..end].trim_end_matches('.');
                if path.is_empty() {
                    continue;
                }
                for prefix in *prefixes {
                    paths.insert(format!("{prefix}{path}"));
                }
            }
        }
    }
    paths
}

/// A schema key is read when a template reads it, or ranges over the map it is
/// an entry of (`$c.env` reads `components.*.env.*`).
fn is_read(key: &str, referenced: &BTreeSet<String>) -> bool {
    let mut candidate = key;
    loop {
        if referenced.contains(candidate) {
            return true;
        }
        match candidate.strip_suffix(".*") {
            Some(parent) => candidate = parent,
            None => return false,
        }
    }
}

fn unread(templates: &[(&str, &str)]) -> Vec<String> {
    let referenced = referenced_paths(templates);
    schema_leaves(&chart::chart_schema())
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !is_read(key, &referenced))
        .collect()
}

#[test]
fn every_schema_key_is_read_by_a_template() {
    let leaves = schema_leaves(&chart::chart_schema());
    assert!(
        leaves.len() >= 80,
        "the schema walk found only {} keys",
        leaves.len()
    );
    let unread = unread(TEMPLATES);
    assert!(
        unread.is_empty(),
        "values the chart's templates never read (add them to src/chart/templates, as .Values.<path> or through a variable of tests/chart_drift.rs VARIABLES):\n{unread:#?}"
    );
}

#[test]
fn the_drift_check_notices_an_unread_key() {
    // The check above is only as good as its parser: a key nobody reads is caught.
    let referenced = referenced_paths(TEMPLATES);
    assert!(is_read("components.*.resources.limits.memory", &referenced));
    assert!(is_read("components.*.env.*.urlOf", &referenced));
    assert!(is_read("secrets.*.generate.length", &referenced));
    assert!(!is_read("components.*.newField", &referenced));
    // A model that gains a component field the templates ignore fails the test.
    let mut schema = chart::chart_schema();
    schema["properties"]["components"]["additionalProperties"]["properties"]["newField"] =
        serde_json::json!({"type": "string"});
    let referenced = referenced_paths(TEMPLATES);
    let missing: Vec<String> = schema_leaves(&schema)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !is_read(key, &referenced))
        .collect();
    assert_eq!(missing, ["components.*.newField"]);
    // And dropping the template that reads a field is noticed too.
    let without_probes: Vec<(&str, &str)> = TEMPLATES
        .iter()
        .map(|(name, text)| (*name, if *name == "_workload.tpl" { "" } else { *text }))
        .collect();
    assert!(unread(&without_probes).contains(&"components.*.probes.startup.http".to_string()));
}

#[test]
fn the_chart_schema_is_berths_plus_secret_values_and_pull_secrets() {
    let mut chart = chart::chart_schema();
    let properties = chart
        .pointer_mut("/properties/secrets/additionalProperties/properties")
        .and_then(serde_json::Value::as_object_mut)
        .expect("secret specs have properties");
    let value = properties.remove("value").expect("the Helm-only `value`");
    assert_eq!(value["type"], "string");
    let pull_secrets = chart["properties"]
        .as_object_mut()
        .unwrap()
        .remove("imagePullSecrets")
        .expect("the Helm-only `imagePullSecrets`");
    assert_eq!(pull_secrets["type"], "array");
    assert_eq!(chart, values_schema_json());
}

#[test]
fn chart_ships_berths_schema_defaults_and_profiles() {
    let (_, files) = chart::chart_files(&ChartSettings::default()).unwrap();
    let get = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .contents
            .clone()
    };
    let repo = |path: &str| std::fs::read_to_string(chart_support::repo_path(path)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&get("values.schema.json")).unwrap();
    assert_eq!(schema, chart::chart_schema());
    assert_eq!(get("values-dev.yaml"), repo("values/dev.yaml"));
    assert_eq!(get("values-staging.yaml"), repo("values/staging.yaml"));
    assert_eq!(get("values-prod.yaml"), repo("values/prod.yaml"));
    let parse = |text: &str| berth::values::load::parse_yaml(text, "test").unwrap();
    assert_eq!(
        parse(&get("values.yaml")),
        parse(&repo("values/values.yaml"))
    );
    let chart_yaml = parse(&get("Chart.yaml"));
    assert_eq!(chart_yaml["apiVersion"], "v2");
    assert_eq!(chart_yaml["name"], "todo-chatbot");
    assert_eq!(chart_yaml["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart_yaml["appVersion"], "0.1.0");
    for key in ["kubeVersion", "description"] {
        assert!(chart_yaml[key].is_string(), "{key}");
    }
}

#[test]
fn the_chart_holds_no_secret_values() {
    // Secrets in the exporting process's environment must not reach the chart.
    let canaries = [
        ("OPENAI_API_KEY", "sk-canary-openai"),
        ("GEMINI_API_KEY", "canary-gemini"),
        ("AUTH_SECRET", "canary-auth"),
        ("DATABASE_URL", "postgresql://canary:canary-pw@db/x"),
        ("POSTGRES_PASSWORD", "canary-pg"),
    ];
    let out = chart_support::scratch("secrets");
    let mut command = chart_support::berth();
    command
        .args(["chart", "export", "--package", "--out"])
        .arg(&out);
    for (var, value) in canaries {
        command.env(var, value);
    }
    chart_support::run_ok(&mut command);
    let mut checked = 0;
    let mut stack = vec![out.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let text = if path.extension().is_some_and(|e| e == "tgz") {
                let mut all = String::new();
                let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
                for entry in archive.entries().unwrap() {
                    let mut entry = entry.unwrap();
                    std::io::Read::read_to_string(&mut entry, &mut all).unwrap();
                }
                all
            } else {
                String::from_utf8(bytes).unwrap()
            };
            for (var, value) in canaries {
                assert!(
                    !text.contains(value),
                    "{} contains {var}'s value",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 15, "checked only {checked} files");
    let values = berth::values::load::parse_yaml(
        &std::fs::read_to_string(out.join("todo-chatbot/values.yaml")).unwrap(),
        "chart values",
    )
    .unwrap();
    for (name, spec) in values["secrets"].as_object().unwrap() {
        assert!(spec.is_object(), "secrets.{name} must be a spec");
        assert!(spec.get("value").is_none(), "secrets.{name} holds a value");
    }
}
