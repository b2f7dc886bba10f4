//! Faults a release meets: concurrent deploys of one release, a lock left by
//! a holder that died, API server outages and large releases.
//!
//! The tests stop, restart and pause the test cluster's API server
//! (`scripts/cluster.sh apiserver-*`), so they run one at a time.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use berth::apply::{Release, revision};
use cluster::{Run, berth, cleanup, kubectl};

const RELEASE: &str = "todo-chatbot";

/// One test at a time: an API server outage would fail the others.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `berth deploy` of the default stack into `ns` with the values file `values`,
/// as a child process (stdout and stderr captured).
fn spawn_deploy(ns: &str, values: &Path, extra: &[&str]) -> Child {
    let port = format!("expose.nodePort={}", cluster::node_port(ns));
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["deploy", "--yes", "--timeout", "2m", "--history-max", "0"])
        .args(["-f", values.to_str().unwrap(), "--set", &port, "-n", ns])
        .args(extra)
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth starts")
}

fn finish(child: Child) -> Run {
    let start = std::time::Instant::now();
    let output = child.wait_with_output().expect("berth runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// A named pipe: a berth process reading its values from it waits until the
/// test writes them, so several processes can be released at the same moment.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let made = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
    path
}

/// The live Namespace's `app.kubernetes.io/version` label (the values' appVersion).
fn namespace_version(ns: &str) -> String {
    let out = kubectl(&[
        "get",
        "namespace",
        ns,
        "-o",
        "jsonpath={.metadata.labels.app\\.kubernetes\\.io/version}",
    ]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Ten rounds of three `berth deploy` processes of one release, each with its
/// own appVersion, released together: exactly one proceeds, the others are
/// refused naming the holder before writing anything, and the revision
/// history is exactly the winners' values, in order.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_deploys_of_one_release_one_proceeds_per_round() {
    let _serial = serial();
    let ns = cluster::namespace("lock");
    let dir = tempfile::tempdir().unwrap();
    let client = cluster::client().await;
    let release = Release::new(RELEASE, &ns);
    let rounds = 10;
    let mut winners: Vec<String> = vec![];
    let mut refused = 0;
    for round in 1..=rounds {
        let versions: Vec<String> = (1..=3).map(|p| format!("0.{round}.{p}")).collect();
        let pipes: Vec<PathBuf> = (1..=3)
            .map(|p| fifo(dir.path(), &format!("values-{round}-{p}.yaml")))
            .collect();
        let children: Vec<Child> = pipes.iter().map(|f| spawn_deploy(&ns, f, &[])).collect();
        // Opening a pipe for writing waits for its reader: each writer
        // releases one process, all at once.
        let writers: Vec<_> = pipes
            .iter()
            .zip(&versions)
            .map(|(pipe, version)| {
                let (pipe, text) = (pipe.clone(), format!("appVersion: \"{version}\"\n"));
                std::thread::spawn(move || std::fs::write(pipe, text).unwrap())
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        let runs: Vec<Run> = children.into_iter().map(finish).collect();

        let won: Vec<usize> = (0..3).filter(|&i| runs[i].code == 0).collect();
        let report = || {
            runs.iter()
                .map(|r| format!("exit {}:\n{}", r.code, r.stderr))
                .collect::<Vec<_>>()
                .join("\n---\n")
        };
        assert_eq!(won.len(), 1, "round {round}: {}", report());
        for (i, run) in runs.iter().enumerate().filter(|(i, _)| *i != won[0]) {
            run.assert_code(2);
            for expected in [
                "is locked by `berth deploy` on host",
                "(pid ",
                "since ",
                "hint: ",
            ] {
                assert!(
                    run.stderr.contains(expected),
                    "round {round} process {i}: no {expected:?} in\n{}",
                    run.stderr
                );
            }
            assert!(
                !run.stderr.contains(" created") && !run.stderr.contains(" configured"),
                "round {round}: a refused deploy wrote:\n{}",
                run.stderr
            );
            refused += 1;
        }
        let winner = versions[won[0]].clone();
        assert_eq!(namespace_version(&ns), winner, "round {round}");
        winners.push(winner);

        // The history is the winners' values, one revision per round.
        let revisions = revision::list(&client, &release).await.unwrap();
        assert_eq!(revisions.len(), round, "round {round}: {revisions:?}");
        let last = revisions.last().unwrap();
        assert_eq!(last.status, revision::DEPLOYED, "{revisions:?}");
        assert!(
            revisions[..round - 1]
                .iter()
                .all(|r| r.status == revision::SUPERSEDED),
            "{revisions:?}"
        );
        let (_, content) = revision::load(&client, &release, last.number)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(content.values["appVersion"], winners[round - 1]);
    }
    // Every recorded revision holds its round's winner, none a refused value.
    for (i, winner) in winners.iter().enumerate() {
        let (_, content) = revision::load(&client, &release, i as u32 + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&content.values["appVersion"], winner, "revision {}", i + 1);
    }
    assert_eq!(refused, 2 * rounds);
    // The lock is released after each operation.
    let leases = kubectl(&["get", "lease", "-n", &ns, "-o", "name"]);
    assert_eq!(String::from_utf8_lossy(&leases.stdout).trim(), "");
    eprintln!("lock: {rounds} rounds, {rounds} proceeded, {refused} refused");
    cleanup(&ns);
}

/// Writes a lock Lease as another machine's berth would hold it, renewed
/// `renewed_ago` seconds ago.
fn foreign_lease(ns: &str, renewed_ago: i64) {
    let renewed = k8s_openapi::jiff::Timestamp::now()
        - k8s_openapi::jiff::SignedDuration::from_secs(renewed_ago);
    // MicroTime: exactly six fractional digits.
    let time = format!("{}.000000Z", renewed.strftime("%Y-%m-%dT%H:%M:%S"));
    let lease = serde_json::json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": format!("{RELEASE}-lock"),
            "namespace": ns,
            "annotations": {"berth.dev/command": "berth deploy"}
        },
        "spec": {
            "holderIdentity": "build-agent-7/4242/abc",
            "leaseDurationSeconds": 60,
            "acquireTime": time,
            "renewTime": time
        }
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lease.to_string()).unwrap();
    let out = kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        file.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
}

/// A lock held on another machine refuses deploy, rollback and uninstall with
/// the holder's name; once it is no longer renewed it expires and is taken over.
#[test]
fn a_lock_held_elsewhere_refuses_until_it_expires() {
    let _serial = serial();
    let ns = cluster::namespace("lease");
    cluster::deploy(&ns, &["--set", "expose.mode=none"]).assert_code(0);
    foreign_lease(&ns, 5);
    for args in [
        vec![
            "deploy",
            "--yes",
            "--set",
            "expose.mode=none",
            "--set",
            "appVersion=0.9.9",
        ],
        vec!["rollback", "1"],
        vec!["uninstall"],
    ] {
        let run = berth(&ns, &args);
        run.assert_code(2);
        assert!(
            run.stderr
                .contains("locked by `berth deploy` on host build-agent-7 (pid 4242)"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert_ne!(namespace_version(&ns), "0.9.9");
    // Not renewed for longer than its duration: expired, taken over.
    foreign_lease(&ns, 61);
    let args = ["--set", "expose.mode=none", "--set", "appVersion=0.9.9"];
    cluster::deploy(&ns, &args).assert_code(0);
    assert_eq!(namespace_version(&ns), "0.9.9");
    cleanup(&ns);
}
