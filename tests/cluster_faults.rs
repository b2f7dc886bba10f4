//! Faults a release meets: concurrent deploys of one release, a lock left by
//! a holder that died, API server outages and large releases.
//!
//! The tests stop, restart and pause the test cluster's API server
//! (`scripts/cluster.sh apiserver-*`), so they run one at a time.
#![cfg(feature = "cluster-tests")]
// The guard of `serial()` is held across awaits on purpose: it serializes
// whole tests (each on its own runtime), not tasks sharing one.
#![allow(clippy::await_holding_lock)]

mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use berth::apply::{Release, Verb, revision};
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
                !run.stderr.contains(" created") && !run.stderr.contains(" updated"),
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

// ---------------------------------------------------------------------------
// Large releases: revisions compressed and split across Secrets.

/// Base64 of a hash chain: content that compresses about as badly as the
/// certificates and keys real ConfigMaps carry.
fn noisy(seed: &str, bytes: usize) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut block = Sha256::digest(seed.as_bytes()).to_vec();
    let mut raw = vec![];
    while raw.len() * 4 / 3 < bytes {
        block = Sha256::digest(&block).to_vec();
        raw.extend_from_slice(&block);
    }
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// One component of a generated stack: seven objects over three stages.
fn component(ns: &str, i: usize, setting: &str) -> Vec<berth::apply::Desired> {
    use serde_json::json;
    let name = format!("c{i:03}");
    let labels = json!({"app.kubernetes.io/instance": "big", "app.kubernetes.io/name": name});
    let selector = json!({"matchLabels": {"app.kubernetes.io/name": name}});
    let meta = json!({"name": name, "namespace": ns, "labels": labels.clone()});
    let objects = [
        (
            1,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta.clone()}),
        ),
        (
            1,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta.clone(),
            "data": {"setting": setting, "ca.pem": noisy(&name, 3000)}}),
        ),
        (
            1,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta.clone(),
            "data": {"token": "c2VjcmV0"}}),
        ),
        (
            2,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta.clone(),
            "spec": {"selector": {"app.kubernetes.io/name": name},
                     "ports": [{"port": 80, "targetPort": 8080}]}}),
        ),
        // No replicas: the cluster's simulated nodes hold 220 pods in all.
        (
            2,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta.clone(),
            "spec": {"replicas": 0, "selector": selector.clone(),
                     "template": {"metadata": {"labels": labels.clone()},
                                  "spec": {"serviceAccountName": name,
                                           "containers": [{"name": "app", "image": "localhost/big/app:1"}]}}}}),
        ),
        (
            3,
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta.clone(),
            "spec": {"podSelector": selector.clone(), "policyTypes": ["Ingress"]}}),
        ),
        (
            3,
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": selector}}),
        ),
    ];
    objects
        .into_iter()
        .map(|(stage, o)| berth::apply::Desired::from_json(o, stage).unwrap())
        .collect()
}

/// A stack of `components` components (7 objects each) plus its namespace;
/// components in `changed` get another setting.
fn stack(
    ns: &str,
    components: std::ops::Range<usize>,
    changed: &[usize],
) -> Vec<berth::apply::Desired> {
    let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": {"app.kubernetes.io/instance": "big"}}});
    let mut objects = vec![berth::apply::Desired::from_json(namespace, 0).unwrap()];
    for i in components {
        let setting = if changed.contains(&i) { "v2" } else { "v1" };
        objects.extend(component(ns, i, setting));
    }
    objects
}

/// What a revision records of `objects`: `[{stage, object}]`, Secret values removed.
fn content(objects: &[berth::apply::Desired]) -> revision::RevisionContent {
    let manifests = objects
        .iter()
        .map(|d| {
            let mut object = d.object.clone();
            if d.key.kind == "Secret" {
                object["data"] = serde_json::json!({});
            }
            serde_json::json!({"stage": d.key.stage, "object": object})
        })
        .collect();
    revision::RevisionContent {
        manifests,
        values: serde_json::json!({"components": objects.len()}),
        dev: false,
    }
}

fn engine_options(objects: &[berth::apply::Desired]) -> berth::apply::DeployOptions {
    berth::apply::DeployOptions {
        force_conflicts: false,
        recreate: false,
        delete_data: false,
        wait: Some(std::time::Duration::from_secs(180)),
        revision: content(objects),
        also_owned: vec![],
        history_max: 0,
    }
}

/// 300 components (2,101 objects) deploy as one revision split across
/// Secrets; the history lists it, a plan diffs a change against it, and
/// `berth rollback` restores it from the record.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_of_300_components_records_lists_diffs_and_rolls_back() {
    let _serial = serial();
    let ns = cluster::namespace("big");
    let client = cluster::client().await;
    let release = Release::new("big", &ns);
    let mut quiet = |_: berth::apply::Event| {};

    let v1 = stack(&ns, 0..300, &[]);
    assert_eq!(v1.len(), 2101);
    let start = std::time::Instant::now();
    let report = berth::apply::deploy(
        &client,
        &release,
        v1.clone(),
        &engine_options(&v1),
        &mut quiet,
    )
    .await
    .unwrap();
    assert_eq!(report.readiness, berth::apply::Readiness::Ready);
    // The namespace exists before the plan (the release lock lives in it).
    assert_eq!(
        report.count(Verb::Create) + report.count(Verb::Update),
        2101
    );
    let first = start.elapsed();

    let history = berth(&ns, &["history", "--release", "big", "-o", "json"]);
    history.assert_code(0);
    let listed: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let record = &listed[0];
    assert_eq!(record["status"], "deployed", "{listed}");
    let parts = record["parts"].as_u64().unwrap();
    let size = record["size"].as_u64().unwrap();
    assert!(parts >= 2, "a record this size must be split: {listed}");
    let secret_sizes: Vec<usize> = (0..parts)
        .map(|p| {
            let name = if p == 0 {
                "big-rev-1".to_string()
            } else {
                format!("big-rev-1-part-{p}")
            };
            let out = kubectl(&[
                "get",
                "secret",
                "-n",
                &ns,
                &name,
                "-o",
                "jsonpath={.data.content}",
            ]);
            assert!(out.status.success(), "{name}: {out:?}");
            use base64::Engine;
            let text = String::from_utf8_lossy(&out.stdout);
            let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim());
            bytes.unwrap().len()
        })
        .collect();
    assert!(
        secret_sizes.iter().all(|&s| s <= 512 * 1024),
        "{secret_sizes:?}"
    );
    let (_, loaded) = revision::load(&client, &release, 1).await.unwrap().unwrap();
    assert_eq!(loaded, content(&v1));
    let raw = serde_json::to_vec(
        &serde_json::json!({"manifests": loaded.manifests, "values": loaded.values}),
    )
    .unwrap()
    .len();

    // v2: ten settings change, five components go.
    let changed: Vec<usize> = (0..10).map(|i| i * 29).collect();
    let v2 = stack(&ns, 0..295, &changed);
    let plan = berth::apply::plan(&client, &v2, &release, false)
        .await
        .unwrap();
    let updates: Vec<String> = plan.changes().map(|p| p.desired.key.to_string()).collect();
    assert_eq!(updates.len(), 10, "{updates:?}");
    assert!(
        updates.iter().all(|k| k.starts_with("ConfigMap ")),
        "{updates:?}"
    );
    assert_eq!(plan.prune.len(), 35, "{:?}", plan.prune);
    let report = berth::apply::deploy(
        &client,
        &release,
        v2.clone(),
        &engine_options(&v2),
        &mut quiet,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.count(Verb::Update), report.count(Verb::Prune)),
        (10, 35)
    );

    let rollback = berth(&ns, &["rollback", "--release", "big", "--timeout", "3m"]);
    rollback.assert_code(0);
    assert!(
        rollback.stderr.contains("to revision 1"),
        "{}",
        rollback.stderr
    );
    // Everything but the pruned components' Secrets (revisions hold no
    // secret values) is back as revision 1 recorded it.
    let restored: Vec<berth::apply::Desired> = v1
        .iter()
        .filter(|d| d.key.kind != "Secret")
        .cloned()
        .collect();
    let plan = berth::apply::plan(&client, &restored, &release, false)
        .await
        .unwrap();
    let drift: Vec<String> = plan.changes().map(|p| p.desired.key.to_string()).collect();
    assert!(drift.is_empty(), "{drift:?}");
    let revisions = revision::list(&client, &release).await.unwrap();
    let statuses: Vec<&str> = revisions.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);
    eprintln!(
        "large release: {} objects, record {raw} B of JSON -> {size} B gzip in {parts} Secrets ({secret_sizes:?} B); first deploy {first:?}",
        v1.len()
    );
    cleanup(&ns);
}

// ---------------------------------------------------------------------------
// API server outages.

/// `scripts/cluster.sh <command>` for the test cluster (BERTH_CLUSTER_DIR is
/// inherited from whoever started it).
fn cluster_sh(command: &str) -> std::time::Duration {
    let start = std::time::Instant::now();
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
        .arg(command)
        .output()
        .expect("scripts/cluster.sh runs");
    assert!(
        out.status.success(),
        "scripts/cluster.sh {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Leaves the API server running whatever happens in a test, and the simulated
/// cluster settled (`cluster.sh settle`) for the next one.
struct ApiServerBack;

impl Drop for ApiServerBack {
    fn drop(&mut self) {
        for command in ["apiserver-resume", "apiserver-start", "settle"] {
            let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
                .arg(command)
                .output();
            match out {
                Ok(out) if !out.status.success() => {
                    eprintln!("{}", String::from_utf8_lossy(&out.stderr))
                }
                _ => {}
            }
        }
    }
}

/// Stops the API server and starts it again; returns how long it was away.
fn restart_api_server() -> std::time::Duration {
    cluster_sh("apiserver-stop") + cluster_sh("apiserver-start")
}

/// A small deterministic generator, seeded from the clock and printed so a
/// failing run can be replayed.
struct Dice(u64);

impl Dice {
    fn new() -> Self {
        let seed = std::env::var("BERTH_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
            });
        eprintln!("fault seed {seed} (BERTH_FAULT_SEED={seed} replays it)");
        Dice(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The todo stack without a NodePort (a Service create cut off by an outage
/// can leave its port allocated for minutes), at `version` (a label of the
/// Namespace: every deploy writes). Waits across a restart are tested on the
/// engine below: rolling the database's StatefulSet through ten restarts on
/// the simulated nodes once left its pod unready for minutes.
fn outage_values(version: usize) -> Vec<String> {
    [
        "expose.mode=none".to_string(),
        format!("appVersion=0.0.{version}"),
    ]
    .into_iter()
    .flat_map(|v| ["--set".to_string(), v])
    .collect()
}

fn spawn_berth(ns: &str, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .args(["-n", ns])
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth starts")
}

fn deploy_args(version: usize) -> Vec<String> {
    let mut args: Vec<String> = ["deploy", "--yes", "--timeout", "2m"]
        .map(String::from)
        .to_vec();
    args.extend(outage_values(version));
    args
}

/// What one faulted run did.
#[derive(Default, Debug)]
struct Tally {
    completed: usize,
    failed_clearly: usize,
    retries: usize,
    converged: usize,
}

impl Tally {
    /// A run under a fault either completed or failed with a message and a
    /// non-zero exit; it never crashed.
    fn record(&mut self, what: &str, run: &Run) {
        self.retries += run
            .stderr
            .matches("API server unavailable, retrying (")
            .count();
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        match run.code {
            0 => self.completed += 1,
            1 | 2 => {
                assert!(
                    run.stderr.contains("error"),
                    "{what}: no error message:\n{}",
                    run.stderr
                );
                self.failed_clearly += 1;
            }
            code => panic!("{what}: exit {code}:\n{}", run.stderr),
        }
    }
}

/// Objects labelled with the release in `ns` that the inventory does not
/// list, other than berth's own records.
async fn orphans(ns: &str) -> Vec<String> {
    let client = cluster::client().await;
    let inventory = berth::apply::Inventory::read(&client, &Release::new(RELEASE, ns))
        .await
        .unwrap()
        .unwrap_or_default();
    let listed: std::collections::BTreeSet<(String, String)> = inventory
        .objects
        .iter()
        .map(|k| (k.kind.clone(), k.name.clone()))
        .collect();
    let out = kubectl(&[
        "get",
        "deployments,statefulsets,services,configmaps,secrets,serviceaccounts,networkpolicies,poddisruptionbudgets",
        "-n",
        ns,
        "-l",
        &format!("app.kubernetes.io/instance={RELEASE}"),
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !o["type"].as_str().unwrap_or("").starts_with("berth.dev/"))
        .map(|o| {
            let kind = o["kind"].as_str().unwrap().to_string();
            (kind, o["metadata"]["name"].as_str().unwrap().to_string())
        })
        .filter(|key| !listed.contains(key))
        .map(|(kind, name)| format!("{kind}/{name}"))
        .collect()
}

/// After a faulted deploy of `version`, the same deploy converges: exit 0,
/// no pending revision, the last one deployed, nothing orphaned.
async fn converges(ns: &str, version: usize, tally: &mut Tally) {
    // No settle here: the release's claim was bound by its first deploy, and berth's own wait
    // covers the simulated nodes coming back (settling before each of these cost ~14 min a run).
    let again = finish(spawn_berth(ns, &deploy_args(version)));
    again.assert_code(0);
    assert_eq!(namespace_version(ns), format!("0.0.{version}"));
    let client = cluster::client().await;
    let revisions = revision::list(&client, &Release::new(RELEASE, ns))
        .await
        .unwrap();
    assert!(
        revisions.iter().all(|r| r.status != revision::PENDING),
        "stuck revision: {revisions:?}"
    );
    assert_eq!(
        revisions.last().unwrap().status,
        revision::DEPLOYED,
        "{revisions:?}"
    );
    assert_eq!(orphans(ns).await, Vec::<String>::new());
    let leases = kubectl(&["get", "lease", "-n", ns, "-o", "name"]);
    assert_eq!(
        String::from_utf8_lossy(&leases.stdout).trim(),
        "",
        "lock left behind"
    );
    tally.converged += 1;
}

/// Ten deploys, each with the API server stopped and started again at a
/// random point: each completes or fails clearly, and the next converges.
#[tokio::test(flavor = "multi_thread")]
async fn deploys_through_api_server_restarts_complete_or_fail_clearly_then_converge() {
    let _serial = serial();
    let _back = ApiServerBack;
    let ns = cluster::namespace("restart");
    let mut tally = Tally::default();
    finish(spawn_berth(&ns, &deploy_args(0))).assert_code(0);
    let mut dice = Dice::new();
    let mut away = vec![];
    for version in 1..=10 {
        let child = spawn_berth(&ns, &deploy_args(version));
        std::thread::sleep(std::time::Duration::from_millis(dice.below(4000)));
        away.push(restart_api_server());
        let run = finish(child);
        tally.record(&format!("deploy {version}"), &run);
        converges(&ns, version, &mut tally).await;
    }
    eprintln!("restarts: 10 deploys, {tally:?}, API server away {away:?}");
    cleanup(&ns);
}

/// A deploy while the API server is paused (SIGSTOP) longer than one
/// attempt may wait: it resumes when the server does, or fails clearly.
#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_through_a_paused_api_server_completes_or_fails_clearly() {
    let _serial = serial();
    let _back = ApiServerBack;
    let ns = cluster::namespace("paused");
    let mut tally = Tally::default();
    finish(spawn_berth(&ns, &deploy_args(0))).assert_code(0);
    let mut dice = Dice::new();
    for version in 1..=2 {
        let child = spawn_berth(&ns, &deploy_args(version));
        std::thread::sleep(std::time::Duration::from_millis(dice.below(2000)));
        cluster_sh("apiserver-pause");
        // Longer than an attempt's 20 s: requests in flight time out and retry.
        std::thread::sleep(std::time::Duration::from_secs(25));
        cluster_sh("apiserver-resume");
        let run = finish(child);
        tally.record(&format!("deploy {version}"), &run);
        converges(&ns, version, &mut tally).await;
    }
    eprintln!("paused: 2 deploys, {tally:?}");
    cleanup(&ns);
}

/// A namespace and one Deployment in it, labelled for release `name`.
fn workload(
    ns: &str,
    name: &str,
    image: &str,
    min_ready_seconds: u32,
) -> Vec<berth::apply::Desired> {
    use serde_json::json;
    let labels = json!({"app.kubernetes.io/instance": name, "app.kubernetes.io/name": name});
    let objects = [
        (
            0,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        ),
        (
            2,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels.clone()},
            "spec": {"replicas": 2, "minReadySeconds": min_ready_seconds,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}),
        ),
    ];
    objects
        .into_iter()
        .map(|(stage, o)| berth::apply::Desired::from_json(o, stage).unwrap())
        .collect()
}

/// Applies `objects` without waiting, then waits for them while the API
/// server restarts; returns the readiness, the wait's progress lines and
/// how long the wait took.
async fn wait_through_a_restart(
    ns: &str,
    name: &str,
    objects: Vec<berth::apply::Desired>,
) -> (berth::apply::Readiness, Vec<String>, std::time::Duration) {
    let client = cluster::client().await;
    let release = Release::new(name, ns);
    let mut options = engine_options(&objects);
    options.wait = None;
    let keys: Vec<_> = objects.iter().map(|d| d.key.clone()).collect();
    berth::apply::deploy(&client, &release, objects, &options, &mut |_| {})
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let wait = tokio::spawn(async move {
        let mut lines = vec![];
        let readiness = berth::apply::wait_ready(
            &client,
            &release,
            &keys,
            std::time::Duration::from_secs(120),
            &mut |event| {
                if let berth::apply::Event::WatchInterrupted { why } = event {
                    lines.push(format!("watch interrupted ({why})"));
                }
            },
        )
        .await
        .unwrap();
        (readiness, lines)
    });
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    tokio::task::spawn_blocking(restart_api_server)
        .await
        .unwrap();
    let (readiness, lines) = wait.await.unwrap();
    (readiness, lines, start.elapsed())
}

/// The API server restarts during a wait: the watches resume from a fresh
/// list; the wait neither reports ready before the rollout is complete nor
/// misses a failure that began while it was disconnected.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_survives_an_api_server_restart() {
    let _serial = serial();
    let _back = ApiServerBack;
    let ns = cluster::namespace("waitrestart");
    // Available only once both pods have been ready for 15 s.
    let objects = workload(&ns, "slow", "localhost/wait/app:1", 15);
    let (readiness, lines, took) = wait_through_a_restart(&ns, "slow", objects).await;
    assert_eq!(readiness, berth::apply::Readiness::Ready, "{lines:#?}");
    assert!(
        took >= std::time::Duration::from_secs(15),
        "ready after {took:?}: {lines:#?}"
    );
    let status = kubectl(&[
        "get",
        "deployment",
        "slow",
        "-n",
        &ns,
        "-o",
        "jsonpath={.status.updatedReplicas}/{.status.availableReplicas}",
    ]);
    assert_eq!(String::from_utf8_lossy(&status.stdout), "2/2");
    assert!(
        lines.iter().any(|l| l.starts_with("watch interrupted")),
        "the restart never reached the watches: {lines:#?}"
    );

    let objects = workload(&ns, "crash", "localhost/wait/app:1-crashloop", 0);
    let (readiness, lines, took) = wait_through_a_restart(&ns, "crash", objects).await;
    match &readiness {
        berth::apply::Readiness::Failed { cause, .. } => {
            assert!(
                matches!(cause, berth::apply::Cause::CrashLoop { .. }),
                "{cause:?}"
            )
        }
        other => panic!("expected the crash loop, got {other:?} after {took:?}: {lines:#?}"),
    }
    eprintln!("wait: ready after {took:?} across a restart; crash loop reported");
    cleanup(&ns);
}

// ---------------------------------------------------------------------------
// Prune and uninstall under faults.

fn config_map(ns: &str, name: &str, labels: serde_json::Value) -> berth::apply::Desired {
    let object = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {"k": "v"}});
    berth::apply::Desired::from_json(object, 1).unwrap()
}

/// A stale inventory lists objects that are no longer the release's: one
/// re-created by someone else under the same name, one of another release.
/// Neither prune nor uninstall deletes them; what the release owns goes.
#[tokio::test(flavor = "multi_thread")]
async fn prune_and_uninstall_delete_only_what_live_labels_prove_is_ours() {
    let _serial = serial();
    let ns = cluster::namespace("stale");
    let client = cluster::client().await;
    let release = Release::new(RELEASE, &ns);
    let ours = serde_json::json!({"app.kubernetes.io/instance": RELEASE});
    let namespace = berth::apply::Desired::from_json(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        0,
    )
    .unwrap();
    let v1: Vec<_> = std::iter::once(namespace.clone())
        .chain(["a", "b", "c", "d"].map(|n| config_map(&ns, n, ours.clone())))
        .collect();
    berth::apply::deploy(
        &client,
        &release,
        v1.clone(),
        &engine_options(&v1),
        &mut |_| {},
    )
    .await
    .unwrap();
    // b deleted and re-created by another tool; the inventory also claims e,
    // which another release owns.
    let ok = |args: &[&str]| assert!(kubectl(args).status.success(), "kubectl {args:?}");
    ok(&["delete", "configmap", "b", "-n", &ns]);
    ok(&[
        "create",
        "configmap",
        "b",
        "-n",
        &ns,
        "--from-literal=mine=yes",
    ]);
    ok(&[
        "create",
        "configmap",
        "e",
        "-n",
        &ns,
        "--from-literal=mine=other",
    ]);
    ok(&[
        "label",
        "configmap",
        "e",
        "-n",
        &ns,
        "app.kubernetes.io/instance=other",
    ]);
    let mut inventory = berth::apply::Inventory::read(&client, &release)
        .await
        .unwrap()
        .unwrap();
    inventory
        .objects
        .insert(config_map(&ns, "e", ours.clone()).key);
    inventory.write(&client, &release).await.unwrap();

    let v2 = vec![namespace, config_map(&ns, "a", ours.clone())];
    let report = berth::apply::deploy(
        &client,
        &release,
        v2.clone(),
        &engine_options(&v2),
        &mut |_| {},
    )
    .await
    .unwrap();
    let kept = report.kept.join("\n");
    assert!(
        kept.contains("ConfigMap") && kept.contains("/b") && kept.contains("/e"),
        "{kept}"
    );
    assert_eq!(
        report.count(Verb::Prune),
        2,
        "{:?}",
        report.objects(Verb::Prune)
    );
    let names = |ns: &str| {
        let out = kubectl(&["get", "configmaps", "-n", ns, "-o", "name"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let left = names(&ns);
    for name in ["configmap/a", "configmap/b", "configmap/e"] {
        assert!(left.contains(name), "{name} missing:\n{left}");
    }
    assert!(
        !left.contains("configmap/c") && !left.contains("configmap/d"),
        "{left}"
    );

    // Uninstall: the same rule.
    let mut inventory = berth::apply::Inventory::read(&client, &release)
        .await
        .unwrap()
        .unwrap();
    inventory
        .objects
        .extend(["b", "e"].map(|n| config_map(&ns, n, ours.clone()).key));
    inventory.write(&client, &release).await.unwrap();
    berth(&ns, &["uninstall"]).assert_code(0);
    let left = names(&ns);
    assert!(!left.contains("configmap/a"), "{left}");
    assert!(
        left.contains("configmap/b") && left.contains("configmap/e"),
        "{left}"
    );
    cleanup(&ns);
}

/// An uninstall killed midway, then run again during an API server restart,
/// then (if that one failed) once more: the release is gone, volumes kept.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_uninstall_finishes_when_run_again() {
    let _serial = serial();
    let _back = ApiServerBack;
    let ns = cluster::namespace("uninst");
    let mut tally = Tally::default();
    // Killed once it has deleted something (workloads go before config). An uninstall may
    // finish between that sight and the kill on a fast machine: then deploy and try again.
    let mut interrupted = false;
    for _attempt in 0..3 {
        finish(spawn_berth(&ns, &deploy_args(0))).assert_code(0);
        let mut child = spawn_berth(&ns, &["uninstall".to_string()]);
        let start = std::time::Instant::now();
        loop {
            let out = kubectl(&["get", "deployments", "-n", &ns, "-o", "name"]);
            if String::from_utf8_lossy(&out.stdout).lines().count() < 3 {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "uninstall never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.kill().unwrap();
        if finish(child).code != 0 {
            interrupted = true;
            break;
        }
    }
    assert!(
        interrupted,
        "three uninstalls finished before they could be killed"
    );

    let child = spawn_berth(&ns, &["uninstall".to_string()]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    restart_api_server();
    let run = finish(child);
    // The killed uninstall may have got as far as the release's record: then this one finds
    // nothing to uninstall ("release … not found", exit 1), which is the outcome wanted.
    if !(run.code == 1 && run.stderr.contains("not found in namespace")) {
        tally.record("uninstall after a kill, through a restart", &run);
    }
    if run.code != 0 {
        let again = berth(&ns, &["uninstall"]);
        tally.record("uninstall again", &again);
        assert!(
            again.code == 0 || again.stderr.contains("not found"),
            "{}",
            again.stderr
        );
    }
    let left = kubectl(&[
        "get",
        "deployments,statefulsets,services,configmaps,secrets,serviceaccounts,leases",
        "-n",
        &ns,
        "-o",
        "name",
    ]);
    let left = String::from_utf8_lossy(&left.stdout);
    let left: Vec<&str> = left
        .lines()
        .filter(|l| !l.contains("kube-root-ca.crt") && !l.ends_with("/default"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let claims = kubectl(&["get", "pvc", "-n", &ns, "-o", "name"]);
    assert_eq!(String::from_utf8_lossy(&claims.stdout).lines().count(), 1);
    eprintln!("uninstall: killed midway, re-run through a restart: {tally:?}");
    cleanup(&ns);
}
