//! The real binary: exit codes, stdout/stderr discipline and output formats.

mod common;

use std::process::{Command, Output};

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("DATABASE_URL")
        .env("AUTH_SECRET", "cli-test-auth-secret")
        .env("POSTGRES_PASSWORD", "cli-test-password")
        .env("NO_COLOR", "1")
        .output()
        .expect("berth runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_input_exits_2_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let bad_yaml = dir.path().join("bad.yaml");
    std::fs::write(&bad_yaml, "a: [\n").unwrap();
    let bad_yaml = bad_yaml.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["render", "--set", "components.frontend.replcas=3"],
            "did you mean `components.frontend.replicas`?",
        ),
        (
            &["render", "--set", "components.frontend.replicas=three"],
            "expected i32",
        ),
        (
            &[
                "render",
                "--set",
                "components.backend.env.API_TOKEN=tok-123",
            ],
            "secrets",
        ),
        (
            &["render", "--set", "components.frontend.env.X.urlOf=backnd"],
            "did you mean `backend`?",
        ),
        (
            &[
                "render",
                "--set",
                "components.Web_1.image.repository=r,components.Web_1.image.tag=t",
            ],
            "DNS-1035",
        ),
        (
            &["render", "--set", "expose.routes./docs=nowhere"],
            "not a component",
        ),
        (&["render", "--set", "expose.nodePort=80"], "30000–32767"),
        (
            &["render", "--set", "database.mode=external"],
            "DATABASE_URL",
        ),
        (&["render", "--set", "=1"], "malformed --set"),
        (
            &["render", "-f", "/nonexistent/values.yaml"],
            "cannot read values file",
        ),
        (&["render", "-f", bad_yaml], "invalid YAML"),
        (&["render", "--release", "Bad_Name"], "--release"),
        (&["render", "--no-such-flag"], "--no-such-flag"),
    ];
    for (args, needle) in cases {
        let output = berth(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}: stdout must stay empty");
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: expected {needle:?} in {}",
            stderr(&output)
        );
    }
}

#[test]
fn secrets_are_placeholders_unless_asked_for() {
    let output = berth(&["render"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("<redacted>"));
    assert!(!text.contains("cli-test-auth-secret") && !text.contains("cli-test-password"));

    let output = berth(&["render", "--include-secrets", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let secret = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "todo-chatbot-frontend")
        .unwrap();
    let encoded = secret["data"]["AUTH_SECRET"].as_str().unwrap();
    assert_eq!(
        encoded, "Y2xpLXRlc3QtYXV0aC1zZWNyZXQ=",
        "base64 of the real value"
    );
}

#[test]
fn output_dir_writes_numbered_files_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let output = berth(&[
        "render",
        "-f",
        "values/prod.yaml",
        "--output-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "files, not stdout");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "00-namespace.yaml",
            "01-serviceaccounts.yaml",
            "02-configmaps.yaml",
            "03-secrets.yaml",
            "04-services.yaml",
            "05-deployments.yaml",
            "06-statefulsets.yaml",
            "08-horizontalpodautoscalers.yaml",
            "09-poddisruptionbudgets.yaml",
            "10-networkpolicies.yaml"
        ]
    );
    let deployments = std::fs::read_to_string(dir.path().join("05-deployments.yaml")).unwrap();
    // Three components and the edge proxy.
    assert_eq!(deployments.matches("kind: Deployment").count(), 4);
}

#[test]
fn a_team_stack_in_berth_yaml_replaces_the_example() {
    let dir = common::repo_path("examples/vite-fastapi-worker");
    // No --release: the release is the stack's appName (tidy), never the example's name.
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["render", "-o", "json"])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let deployments: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        deployments,
        ["tidy-api", "tidy-reminders", "tidy-tools", "tidy-ui"],
        "only the team's components"
    );
    // An appName that cannot name a release is refused, naming the key and the flag.
    let tmp = tempfile::tempdir().unwrap();
    let stack = std::fs::read_to_string(dir.join("berth.yaml"))
        .unwrap()
        .replace("appName: tidy", "appName: Tidy_App");
    std::fs::write(tmp.path().join("berth.yaml"), stack).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["render"])
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(
        message.contains("appName")
            && message.contains("Tidy_App")
            && message.contains("--release"),
        "{message}"
    );
}

#[test]
fn yaml_stream_is_in_apply_order() {
    let output = berth(&[
        "render",
        "-f",
        "values/prod.yaml",
        "--set",
        "expose.mode=ingress",
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    let order = [
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "StatefulSet",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ];
    let ranks: Vec<usize> = kinds
        .iter()
        .map(|k| order.iter().position(|o| o == k).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{kinds:?}");
    assert_eq!(kinds.first(), Some(&"Namespace"));
}
