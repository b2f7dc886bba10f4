//! Scripted installs never prompt: without a TTY (or with --yes) missing input
//! is listed, every item with what supplies it, with exit code 2, before any
//! cluster is contacted.

use std::process::{Command, Stdio};

fn scripted_deploy(extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    // An unreachable cluster: the listing must come before any connection attempt.
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: nowhere\n  cluster: {server: https://127.0.0.1:9}\nusers:\n- name: nobody\n  user: {}\ncontexts:\n- name: nowhere\n  context: {cluster: nowhere, user: nobody}\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "deploy",
            "--set",
            "database.mode=external",
            "--set",
            "secrets.geminiApiKey.required=true",
        ])
        .args(extra)
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("DATABASE_URL")
        .env_remove("GEMINI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn missing_input_is_listed_with_exit_2_before_touching_the_cluster() {
    for extra in [&[][..], &["--yes"][..], &["--non-interactive"][..]] {
        let output = scripted_deploy(extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(output.stdout.is_empty());
        for needle in [
            "secrets.databaseUrl",
            "DATABASE_URL",
            "secrets.geminiApiKey",
            "GEMINI_API_KEY",
            "--set-file",
        ] {
            assert!(
                stderr.contains(needle),
                "{extra:?}: {needle} missing from:\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("127.0.0.1:9"),
            "the cluster was contacted: {stderr}"
        );
    }
}
