//! `diagnose`, `logs` and `doctor` against the test cluster: a healthy and a
//! crash-looping release, the pods a component selects, and doctor checks
//! that fail and pass as the cluster changes.
#![cfg(feature = "cluster-tests")]

mod cluster;

use cluster::{berth, cleanup, deploy, kubectl};

/// A healthy release and one whose `mcp` crash-loops, in one test so the two
/// deploys (the slow part) run once and side by side.
#[test]
fn diagnose_a_healthy_and_a_crash_looping_release() {
    let ok = cluster::namespace("diag-ok");
    let crash = cluster::namespace("diag-crash");
    let (healthy, failing) = std::thread::scope(|s| {
        let a = s.spawn(|| deploy(&ok, &[]));
        let b = s.spawn(|| {
            deploy(
                &crash,
                &["--set", "components.mcp.image.tag=0.1.0-crashloop"],
            )
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    healthy.assert_code(0);
    failing.assert_code(1);

    let run = berth(&ok, &["diagnose"]);
    run.assert_code(0);
    assert!(run.stdout.contains(": healthy"), "{}", run.stdout);
    assert!(!run.stdout.contains("root causes"), "{}", run.stdout);
    let json = berth(&ok, &["diagnose", "-o", "json"]);
    json.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["healthy"], true);
    assert_eq!(v["causes"].as_array().unwrap().len(), 0);
    // Three components, the database and the edge proxy.
    assert_eq!(v["workloads"].as_array().unwrap().len(), 5);

    let run = berth(&crash, &["diagnose"]);
    run.assert_code(1);
    let first = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("root causes"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        first.starts_with("  1. Deployment")
            && first.contains("todo-chatbot-mcp")
            && first.contains("CrashLoopBackOff"),
        "the crash loop ranks first:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("hint: read its logs"), "{}", run.stdout);
    // Its Service has no ready endpoint: a consequence, ranked after the cause.
    assert!(
        run.stdout
            .contains("Service todo-chatbot-mcp has no ready endpoints"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("last exit 1 (Error)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("BackOff"),
        "the kubelet's Event:\n{}",
        run.stdout
    );

    // One component, as JSON: the same cause, typed, with its hint.
    let json = berth(&crash, &["diagnose", "mcp", "-o", "json"]);
    json.assert_code(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["component"], "mcp");
    let cause = &v["causes"][0];
    assert_eq!(cause["rank"], 1);
    assert_eq!(cause["finding"], "notReady");
    assert_eq!(cause["cause"]["kind"], "CrashLoop");
    assert_eq!(cause["cause"]["container"], "mcp");
    assert!(cause["hint"].as_str().unwrap().contains("logs"));
    assert!(
        v["pods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["component"] == "mcp")
    );

    // A healthy component of the failing release is healthy on its own.
    berth(&crash, &["diagnose", "backend"]).assert_code(0);
    let unknown = berth(&crash, &["diagnose", "nope"]);
    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains("no component `nope`")
            && unknown
                .stderr
                .contains("backend, database, edge, frontend, mcp"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stdout.is_empty());

    // kwok's simulated kubelet serves no logs (405): berth says so per
    // container, for exactly the component's pods, and exits 1.
    let logs = berth(&ok, &["logs", "backend", "--tail", "5", "--since", "1h"]);
    logs.assert_code(1);
    let pods = kubectl(&[
        "get",
        "pods",
        "-n",
        &ok,
        "-l",
        "app.kubernetes.io/component=backend",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    let pods = String::from_utf8(pods.stdout).unwrap();
    let pods: Vec<&str> = pods.split_whitespace().collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    for pod in &pods {
        assert!(
            logs.stderr.contains(&format!("{pod}/backend: no logs")),
            "{}",
            logs.stderr
        );
    }
    assert_eq!(
        logs.stderr.matches(": no logs:").count(),
        2,
        "{}",
        logs.stderr
    );
    assert!(logs.stderr.contains("no container's logs could be read"));
    berth(&ok, &["logs", "nope"]).assert_code(2);
    follow_picks_up_new_pods(&ok);

    cleanup(&ok);
    cleanup(&crash);
}

const DNS_STAND_IN: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: berth-test-kube-dns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: "registry.k8s.io/coredns/coredns:v1.12.0"}]
"#;

/// Removes the simulated kube-dns (and waits until it is gone).
fn remove_dns_stand_in() {
    let _ = kubectl(&[
        "delete",
        "deployment",
        "-n",
        "kube-system",
        "berth-test-kube-dns",
        "--ignore-not-found",
        "--wait",
    ]);
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report}"))
}

/// Doctor against the test cluster: it has no CoreDNS, so that check fails
/// (exit 1) until a kwok-simulated kube-dns pod runs; a NodePort another
/// release holds fails the exposure check.
#[test]
fn doctor_checks_follow_the_cluster() {
    let ns = cluster::namespace("doctor");
    remove_dns_stand_in();
    let before = berth(&ns, &["doctor", "-o", "json"]);
    before.assert_code(1);
    let report: serde_json::Value = serde_json::from_str(&before.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(check(&report, "cluster-dns")["status"], "fail");
    assert_eq!(check(&report, "kubeconfig")["status"], "pass");
    assert_eq!(check(&report, "api-server")["status"], "pass");
    assert_eq!(check(&report, "storage-class")["status"], "pass");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), DNS_STAND_IN).unwrap();
    let applied = kubectl(&["apply", "-f", file.path().to_str().unwrap()]);
    assert!(applied.status.success(), "{applied:?}");
    // `kubectl wait` fails at once while the pod does not exist yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ready = kubectl(&[
            "wait",
            "-n",
            "kube-system",
            "--for=condition=Ready",
            "pod",
            "-l",
            "k8s-app=kube-dns",
            "--timeout=10s",
        ]);
        if ready.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ready:?}");
        std::thread::sleep(std::time::Duration::from_secs(1));
    }

    // The port the other release below will hold is free yet: everything passes.
    let other = cluster::namespace("doctor-other");
    let port = cluster::node_port(&other).to_string();
    let set_port = format!("expose.nodePort={port}");
    let after = berth(&ns, &["doctor", "--set", &set_port]);
    after.assert_code(0);
    assert!(
        after.stdout.contains("ok   cluster-dns"),
        "{}",
        after.stdout
    );
    assert!(
        after.stdout.contains(&format!("NodePort {port} is free")),
        "{}",
        after.stdout
    );
    assert!(
        after.stdout.contains("0 failed: ready to deploy"),
        "{}",
        after.stdout
    );

    // Another release holds that port now.
    deploy(&other, &["--no-wait"]).assert_code(0);
    let taken = berth(&ns, &["doctor", "--set", &set_port]);
    taken.assert_code(1);
    assert!(taken.stdout.contains("FAIL exposure"), "{}", taken.stdout);
    assert!(
        taken.stdout.contains(&format!("taken by Service {other}/")),
        "{}",
        taken.stdout
    );

    // More than two 4-CPU nodes can give.
    let big = berth(
        &ns,
        &[
            "doctor",
            "--set",
            &set_port,
            "--set",
            "components.backend.resources.requests.cpu=64",
            "--set",
            "components.backend.resources.limits.cpu=64",
        ],
    );
    big.assert_code(1);
    assert!(big.stdout.contains("FAIL node-capacity"), "{}", big.stdout);

    remove_dns_stand_in();
    cleanup(&other);
}

/// `logs -f` starts a stream for each pod that appears after it started
/// (here kwok answers each with 405, which berth reports per container).
fn follow_picks_up_new_pods(ns: &str) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["logs", "-f", "backend", "-n", ns])
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |count: usize, seen: &mut Vec<String>| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while seen.len() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("/backend: no logs") => seen.push(line),
                Ok(_) => {}
                Err(_) => panic!("expected {count} pods followed, saw {seen:?}"),
            }
        }
    };
    wait_for(2, &mut seen);
    let scaled = kubectl(&[
        "scale",
        "deployment",
        "-n",
        ns,
        "todo-chatbot-backend",
        "--replicas=3",
    ]);
    assert!(scaled.status.success(), "{scaled:?}");
    wait_for(3, &mut seen);
    let _ = child.kill();
    let _ = child.wait();
    let pods: std::collections::BTreeSet<&str> =
        seen.iter().map(|l| l.split('/').next().unwrap()).collect();
    assert_eq!(pods.len(), 3, "a third, new pod was followed: {seen:?}");
}
