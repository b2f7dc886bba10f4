//! The chart cannot silently drift from berth's model: every key of the values
//! schema must be read by some template, the chart ships berth's schema and
//! defaults unchanged, and it holds no secret values.

mod chart_support;

use std::collections::BTreeSet;

use berth::chart::{self, ChartSettings, TEMPLATES, schema_leaves};
use berth::values::schema::values_schema_json;

/// Value paths the templates read: `.Values.a.b` anywhere, and `$c.a.b` in the
/// shared component templates, where `$c` is frontend, backend or mcp.
fn referenced_paths() -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (_, text) in TEMPLATES {
        for (marker, prefixes) in [
            ("Values.", &[""][..]),
            ("$c.", &["frontend.", "backend.", "mcp."][..]),
        ] {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                    .unwrap_or(rest.len());
                let path = rest[..end].trim_end_matches('.');
                for prefix in prefixes {
                    paths.insert(format!("{prefix}{path}"));
                }
            }
        }
    }
    paths
}

#[test]
fn every_schema_key_is_read_by_a_template() {
    let leaves: Vec<String> = schema_leaves(&values_schema_json())
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert!(
        leaves.len() >= 80,
        "the schema walk found only {} keys",
        leaves.len()
    );
    let referenced = referenced_paths();
    let unread: Vec<&String> = leaves
        .iter()
        .filter(|key| !referenced.contains(*key))
        .collect();
    assert!(
        unread.is_empty(),
        "values the chart's templates never read (add them to src/chart/templates, as .Values.<path> or $c.<field>):\n{unread:#?}"
    );
}

#[test]
fn the_drift_check_notices_an_unread_key() {
    // The check above is only as good as its parser: a key nobody reads is caught.
    let referenced = referenced_paths();
    assert!(referenced.contains("frontend.resources.limits.memory"));
    assert!(referenced.contains("mcp.path"));
    assert!(!referenced.contains("frontend.newField"));
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
    assert_eq!(get("values.schema.json"), repo("values/values.schema.json"));
    assert_eq!(get("values-dev.yaml"), repo("values/dev.yaml"));
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
    assert!(checked > 40, "checked only {checked} files");
    let values = berth::values::load::parse_yaml(
        &std::fs::read_to_string(out.join("todo-chatbot/values.yaml")).unwrap(),
        "chart values",
    )
    .unwrap();
    for (key, value) in values["secrets"].as_object().unwrap() {
        assert_eq!(value, "", "secrets.{key} must be empty in the chart");
    }
}
