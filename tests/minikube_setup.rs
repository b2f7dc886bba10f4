//! scripts/minikube-setup.sh against a recording stand-in for `minikube`
//! (Minikube cannot run here): the exact command lines it issues on a fresh
//! machine and on a second run (idempotent), and bad input refused before any.
//! The stand-in keeps state like minikube does: `start` enables the default
//! storage addons, `addons list -o json` reports what is enabled.

use std::path::{Path, PathBuf};
use std::process::Command;

const STAND_IN: &str = r#"#!/usr/bin/env bash
# Records its arguments, then behaves like minikube for what the script asks.
echo "$*" >>"$STATE/calls"
[[ $1 == -p ]] && shift 2
case "$1 $2" in
  "status --format") [[ -e $STATE/started ]] && echo Running && exit 0; exit 85 ;;
  "start --cpus") touch "$STATE/started" "$STATE/addon-storage-provisioner" "$STATE/addon-default-storageclass" ;;
  "addons list")
    sep=""; printf '{'
    for a in ingress metrics-server storage-provisioner default-storageclass; do
      s=disabled; [[ -e $STATE/addon-$a ]] && s=enabled
      printf '%s"%s":{"Profile":"berth","Status":"%s"}' "$sep" "$a" "$s"; sep=,
    done
    echo '}' ;;
  "addons enable") touch "$STATE/addon-$3" ;;
  "kubectl --")
    if [[ $3 == get ]]; then [[ -e $STATE/gateway ]] || exit 1; fi
    if [[ $3 == apply ]]; then touch "$STATE/gateway"; fi ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"#;

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stand_in = dir.path().join("minikube");
        std::fs::write(&stand_in, STAND_IN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
        Machine { dir }
    }

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/minikube-setup.sh")
    }

    /// Runs the script; returns its exit code and the calls it made this run.
    fn run(&self, args: &[&str]) -> (i32, Vec<String>) {
        let calls = self.dir.path().join("calls");
        let _ = std::fs::remove_file(&calls);
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new(Self::script())
            .args(args)
            .env("PATH", path)
            .env("STATE", self.dir.path())
            .env_remove("MINIKUBE")
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(calls).unwrap_or_default();
        let code = out.status.code().unwrap();
        assert!(
            code != 0 || out.stdout.is_empty(),
            "data on stdout: {out:?}"
        );
        (code, calls.lines().map(String::from).collect())
    }
}

const GATEWAY_CRDS: &str =
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.3.0/standard-install.yaml";

#[test]
fn first_run_starts_the_profile_and_enables_the_addons() {
    let machine = Machine::new();
    let (code, calls) = machine.run(&[
        "--cpus",
        "6",
        "--driver",
        "docker",
        "--ingress",
        "--gateway",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        calls,
        [
            "-p berth status --format {{.Host}}",
            "-p berth start --cpus 6 --memory 8192 --driver docker",
            "-p berth addons list --output json",
            "-p berth addons enable metrics-server",
            "-p berth addons enable ingress",
            "-p berth kubectl -- get crd gateways.gateway.networking.k8s.io",
            &format!("-p berth kubectl -- apply --server-side -f {GATEWAY_CRDS}"),
        ]
    );
}

#[test]
fn second_run_changes_nothing() {
    let machine = Machine::new();
    let args = ["--profile", "shop", "--gateway"];
    assert_eq!(machine.run(&args).0, 0);
    let (code, calls) = machine.run(&args);
    assert_eq!(code, 0);
    assert_eq!(
        calls,
        [
            "-p shop status --format {{.Host}}",
            "-p shop addons list --output json",
            "-p shop kubectl -- get crd gateways.gateway.networking.k8s.io",
        ]
    );
}

#[test]
fn defaults_give_the_stack_four_cpus_and_eight_gigabytes() {
    let machine = Machine::new();
    let (code, calls) = machine.run(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        calls,
        [
            "-p berth status --format {{.Host}}",
            "-p berth start --cpus 4 --memory 8192",
            "-p berth addons list --output json",
            "-p berth addons enable metrics-server",
        ]
    );
}

#[test]
fn bad_input_is_refused_before_minikube_runs() {
    let machine = Machine::new();
    for args in [&["--cpus", "1"][..], &["--memory", "lots"], &["--bogus"]] {
        let (code, calls) = machine.run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(calls.is_empty(), "{args:?}: {calls:?}");
    }
}

/// shellcheck-clean (Debian's shellcheck; the check says when it is missing).
#[test]
fn the_script_is_shellcheck_clean() {
    match Command::new("shellcheck").arg(Machine::script()).output() {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!("SKIPPED: shellcheck is not installed (apt-get install shellcheck)"),
    }
}
