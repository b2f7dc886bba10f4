//! The operating commands without a cluster: doctor's first run, completion
//! scripts for each shell, the man page.

use std::process::{Command, Output};

fn berth(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("BERTH_KUBE_CONTEXT")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env("NO_COLOR", "1")
        .current_dir(home)
        .output()
        .unwrap()
}

#[test]
fn doctor_on_a_first_run_says_how_to_get_a_cluster() {
    let home = tempfile::tempdir().unwrap();
    let out = berth(&["doctor"], home.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("FAIL kubeconfig      no kubeconfig found"),
        "{stdout}"
    );
    assert!(
        stdout.contains("minikube start --cpus 4 --memory 8g"),
        "{stdout}"
    );
    assert!(stdout.contains("scripts/demo.sh"), "{stdout}");
    let json = berth(&["doctor", "-o", "json"], home.path());
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["checks"][1]["id"], "kubeconfig");
    assert_eq!(report["checks"][1]["status"], "fail");
}

#[test]
fn doctor_with_an_unreachable_cluster_fails_its_api_check() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    // Port 9 (discard) on loopback: nothing answers.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: gone, context: {cluster: c, user: u}}]\n\
         current-context: gone\n",
    )
    .unwrap();
    let out = berth(
        &["doctor", "--kubeconfig", kubeconfig.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("FAIL api-server") && stdout.contains("context `gone`"),
        "{stdout}"
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef berth"),
        ("fish", "complete -c berth"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = berth(&["completions", shell], home.path());
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        // Every subcommand is completed, the new ones included.
        for sub in ["deploy", "diagnose", "doctor", "logs"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let bad = berth(&["completions", "tcsh"], home.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    let man = berth(&["man"], home.path());
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(page.contains(".TH berth 1"), "{page}");
    assert!(
        page.contains("diagnose") && page.contains("doctor"),
        "{page}"
    );
}
