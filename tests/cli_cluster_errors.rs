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
