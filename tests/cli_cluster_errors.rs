//! Cluster commands fail with one clear message when the cluster is not there
//! (no cluster needed: the kubeconfig points at a closed port).

use std::process::Command;

fn kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: nowhere\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: t}\n",
    )
    .unwrap();
    path
}

#[test]
fn an_unreachable_cluster_names_the_context_and_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path());
    for command in [
        &["status"][..],
        &["deploy", "--yes"],
        &["diff"],
        &["history"],
        &["uninstall"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(command)
            .arg("--kubeconfig")
            .arg(&config)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("cluster unreachable"),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains("context `nowhere`"),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains("https://127.0.0.1:1"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_context_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["status", "--kube-context", "missing", "--kubeconfig"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}

#[test]
fn a_first_run_without_any_kubeconfig_gets_doctors_first_run_hint() {
    let home = tempfile::tempdir().unwrap();
    let doctor = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("doctor")
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let doctor_out = String::from_utf8_lossy(&doctor.stdout);
    let first_run_hint = doctor_out
        .lines()
        .find_map(|l| l.trim().strip_prefix("hint: start Minikube"))
        .unwrap_or_else(|| panic!("doctor gives no first-run hint: {doctor_out}"));
    for command in [&["status"][..], &["deploy", "--yes"], &["diff"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(command)
            .env("HOME", home.path())
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{command:?}");
        assert!(
            stderr.contains("no kubeconfig found"),
            "{command:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("hint: start Minikube{first_run_hint}")),
            "{command:?}: {stderr}"
        );
        assert!(
            !stderr.contains("'\""),
            "{command:?}: doubled quotes: {stderr}"
        );
    }
}

#[test]
fn a_kubeconfig_that_is_not_there_is_named_once_without_doubled_quotes() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nowhere.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("status")
        .arg("--kubeconfig")
        .arg(&missing)
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read kubeconfig {}", missing.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("'\""), "doubled quotes: {stderr}");
}
