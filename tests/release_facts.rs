//! Facts a release depends on: one TLS stack (rustls with ring; aws-lc-sys breaks the musl,
//! aarch64 and Windows cross builds and needs cmake), and `berth --version` naming the
//! version, the commit and the target triple.

use std::process::Command;

mod common;

/// Crates that would bring a second TLS or crypto stack (C libraries built by cmake or
/// linked from the system) into the release binaries.
const FORBIDDEN: &[&str] = &[
    "aws-lc-sys",
    "aws-lc-rs",
    "aws-lc-fips-sys",
    "openssl-sys",
    "openssl",
    "native-tls",
];

fn locked_packages() -> Vec<String> {
    let lock = std::fs::read_to_string(common::repo_path("Cargo.lock")).expect("Cargo.lock");
    let lock: toml::Table = toml::from_str(&lock).expect("Cargo.lock parses");
    lock["package"]
        .as_array()
        .expect("Cargo.lock has packages")
        .iter()
        .map(|p| p["name"].as_str().expect("package name").to_string())
        .collect()
}

#[test]
fn one_tls_stack_rustls_with_ring() {
    // Cargo.lock holds every package of every target and feature: a superset of any build.
    let packages = locked_packages();
    let found: Vec<&str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|f| packages.iter().any(|p| p == f))
        .collect();
    assert!(
        found.is_empty(),
        "Cargo.lock holds {found:?}: keep one TLS stack (rustls with ring); `cargo tree -i {}` shows who brings it",
        found[0]
    );
    for needed in ["rustls", "ring"] {
        assert!(
            packages.iter().any(|p| p == needed),
            "{needed} missing from Cargo.lock"
        );
    }
}

#[test]
fn version_names_commit_and_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("berth {}", env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    let commit = lines[1].strip_prefix("commit: ").expect("a commit line");
    // A checkout builds with git at hand: the commit is a hash and its date, never "unknown".
    let hash = commit.split(' ').next().unwrap();
    assert!(
        hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    let host = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8(host.stdout).unwrap();
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
    assert_eq!(lines[2], format!("target: {host}"), "{text}");
    // -V stays one line, for scripts.
    let short = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("-V")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(short.stdout).unwrap().trim(), lines[0]);
}

fn deploy_in(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["deploy", "--yes", "--images", "build", "--dry-run=client"])
        .current_dir(dir)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .output()
        .unwrap()
}

#[test]
fn deploy_without_a_stack_says_to_run_init() {
    // The binary alone, in a directory with no berth.yaml: not an error about the example's specs.
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_in(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("no berth.yaml in "), "{stderr}");
    assert!(stderr.contains("images/backend.toml"), "{stderr}");
    assert!(stderr.contains("hint: run `berth init` here"), "{stderr}");
    // In this repository the reference app stays the default.
    let out = deploy_in(&common::repo_path(""));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("kind: Deployment"), "{stdout}");
}
