//! `--registry` and the `registry` value: bad input gets exit 2 naming the key,
//! the value and what is allowed, before any cluster is contacted.

mod common;

use std::process::{Command, Output, Stdio};

fn deploy(extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    // An unreachable cluster: the error must come before any connection attempt.
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["deploy", "--yes"])
        .args(extra)
        .current_dir(dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .env("AUTH_SECRET", "x".repeat(32))
        .env("POSTGRES_PASSWORD", "pw")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn bad_registry_input_is_named_with_exit_2() {
    for (extra, key, shown) in [
        (
            &["--registry", "Registry Host/x"][..],
            "registry.url",
            "Registry Host/x",
        ),
        (
            &["--registry", "r.example:0"][..],
            "registry.url",
            "r.example:0",
        ),
        (
            &[
                "--registry",
                "r.example",
                "--set",
                "registry.pullSecret=sometimes",
            ][..],
            "registry.pullSecret",
            "sometimes",
        ),
        (
            &["--set", "registry.pullSecret=true"][..],
            "registry",
            "url",
        ),
    ] {
        let output = deploy(extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{extra:?}");
        assert!(
            stderr.contains(key) && stderr.contains(shown),
            "{extra:?}: {stderr}"
        );
        assert!(
            !stderr.contains("127.0.0.1:9"),
            "contacted the cluster: {stderr}"
        );
    }
}

#[test]
fn a_bad_mirror_mapping_is_refused() {
    let output = deploy(&["--registry-mirror", "docker.io"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("docker.io=http://127.0.0.1:5000"));
}
