//! The browser's origin and `berth open` against the test cluster: the
//! NodePort origin read from the cluster (and from a Minikube profile: a file
//! under a fake MINIKUBE_HOME stands in for the one Minikube writes), recorded
//! and printed by deploy and status; `berth deploy --open` serving the release
//! on local ports through the API server (kwok answers pods/portforward, see
//! scripts/cluster/kwok/port-forward.yaml), a new pod per connection, a deleted
//! pod never chosen again, a newer template's pod chosen alone while it is ready,
//! a busy port refused with its holder.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{berth, cleanup, deploy, kubeconfig, kubectl, namespace, node_port};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn jsonpath(args: &[&str]) -> String {
    let out = kubectl(args);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn app_url(ns: &str) -> String {
    jsonpath(&[
        "-n",
        ns,
        "get",
        "configmap",
        "todo-chatbot-frontend",
        "-o",
        "jsonpath={.data.APP_URL}",
    ])
}

/// The address berth picks on the kwok nodes: a ready node's InternalIP.
fn node_address() -> String {
    jsonpath(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}",
    ])
}

#[test]
fn a_node_port_origin_is_the_nodes_address_for_deploy_status_and_diff() {
    let ns = namespace("origin");
    let port = node_port(&ns);
    let run = deploy(&ns, &["--images", "skip", "--no-wait"]);
    run.assert_code(0);
    let origin = format!("http://{}:{port}", node_address());
    assert!(
        run.stderr.contains(&format!("open {origin}")),
        "{}",
        run.stderr
    );
    // {externalUrl: /} in the defaults: the app is told the same origin.
    assert_eq!(app_url(&ns), origin);
    let status = berth(&ns, &["status"]);
    assert!(
        status.stdout.contains(&format!("URL: {origin}\n")),
        "{}",
        status.stdout
    );
    // The same origin is resolved again: nothing to change.
    berth(&ns, &["diff"]).assert_code(0);
    // Without a cluster the render falls back to localhost.
    let render = berth(
        &ns,
        &["render", "--set", &format!("expose.nodePort={port}")],
    );
    assert!(
        render
            .stdout
            .contains(&format!("APP_URL: http://localhost:{port}"))
    );
    cleanup(&ns);
}

/// berth with the test cluster under a kubeconfig whose context is `minikube`,
/// and a Minikube state directory of our own.
fn as_minikube(dir: &std::path::Path, args: &[&str]) -> cluster::Run {
    let config = dir.join("kubeconfig");
    std::fs::copy(kubeconfig(), &config).unwrap();
    let current = Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()))
        .args(["config", "current-context", "--kubeconfig"])
        .arg(&config)
        .output()
        .unwrap();
    let current = String::from_utf8_lossy(&current.stdout).trim().to_string();
    if current != "minikube" {
        let renamed = Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()))
            .args([
                "config",
                "rename-context",
                &current,
                "minikube",
                "--kubeconfig",
            ])
            .arg(&config)
            .output()
            .unwrap();
        assert!(renamed.status.success(), "{renamed:?}");
    }
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("KUBECONFIG", &config)
        .env("MINIKUBE_HOME", dir.join("minikube-home"))
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env_remove("BERTH_KUBE_CONTEXT")
        .output()
        .unwrap();
    cluster::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

#[test]
fn a_minikube_profile_gives_the_node_address() {
    let ns = namespace("minikube-origin");
    let port = node_port(&ns).to_string();
    let dir = tempfile::tempdir().unwrap();
    // The shape of the config.json Minikube writes (MINIKUBE_HOME/.minikube/profiles/NAME).
    let profile = dir.path().join("minikube-home/.minikube/profiles/minikube");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::write(
        profile.join("config.json"),
        r#"{"Name": "minikube", "Driver": "kvm2",
            "Nodes": [{"Name": "", "IP": "192.168.39.2", "Port": 8443, "ControlPlane": true, "Worker": true}]}"#,
    )
    .unwrap();
    let set_port = format!("expose.nodePort={port}");
    let doctor = as_minikube(
        dir.path(),
        &["doctor", "-o", "json", "-n", &ns, "--set", &set_port],
    );
    let report: serde_json::Value = serde_json::from_str(&doctor.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", doctor.stdout, doctor.stderr));
    let origin = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "origin")
        .expect("an origin check");
    assert_eq!(origin["status"], "pass", "{origin}");
    let want = format!("http://192.168.39.2:{port}");
    assert!(
        origin["message"].as_str().unwrap().contains(&want),
        "{origin}"
    );
    let run = as_minikube(
        dir.path(),
        &[
            "deploy",
            "--yes",
            "--images",
            "skip",
            "--no-wait",
            "-n",
            &ns,
            "--set",
            &set_port,
        ],
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!("open {want}")),
        "{}",
        run.stderr
    );
    assert_eq!(app_url(&ns), want);
    cleanup(&ns);
}

/// A child's stderr, collected as it comes.
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

/// One HTTP exchange on a fresh connection to 127.0.0.1:port: the answer up
/// to the end of its body (kwok's stand-in for a pod answers and exits, but
/// its simulated kubelet keeps the stream open while it reads).
fn get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.ends_with(b"\r\n\r\nkwok port-forward") {
        let n = stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Pods named in `berth open -v`'s "NAME: connection → POD" lines of `text`.
fn connected_pods(text: &str, name: &str) -> Vec<String> {
    let prefix = format!("{name}: connection → ");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(&prefix).map(String::from))
        .collect()
}

/// Starts a copy of `pod` whose template hash is another one, as a rollout's
/// new ReplicaSet would, and waits until it is ready; returns its name.
fn newer_pod(ns: &str, pod: &str) -> String {
    let current: serde_json::Value =
        serde_json::from_str(&jsonpath(&["-n", ns, "get", "pod", pod, "-o", "json"])).unwrap();
    let name = format!("{pod}-newer");
    let mut labels = current["metadata"]["labels"].clone();
    labels["pod-template-hash"] = "newer".into();
    let manifest = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": current["spec"],
    });
    let file = std::env::temp_dir().join(format!("berth-{ns}-newer-pod.json"));
    std::fs::write(&file, manifest.to_string()).unwrap();
    let created = kubectl(&["create", "-f", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(created.status.success(), "{created:?}");
    let ready = kubectl(&[
        "-n",
        ns,
        "wait",
        "--for=condition=Ready",
        &format!("pod/{name}"),
        "--timeout=60s",
    ]);
    assert!(ready.status.success(), "{ready:?}");
    name
}

#[test]
fn deploy_open_serves_each_connection_through_a_ready_pod() {
    let ns = namespace("open");
    let (app, api) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "deploy",
            "--yes",
            "--open",
            "-v",
            "--images",
            "skip",
            "--timeout",
            "3m",
        ])
        .args(["-n", &ns])
        .args(["--set", &format!("expose.nodePort={}", node_port(&ns))])
        .args(["--set", &format!("expose.localPorts.frontend={app}")])
        .args(["--set", &format!("expose.localPorts.backend={api}")])
        .env("KUBECONFIG", kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect(&mut child);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut urls = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(
            !line.is_empty(),
            "berth deploy --open ended:\n{}",
            stderr.lock().unwrap()
        );
        urls.push(line);
    }
    assert!(
        urls[0].starts_with(&format!("http://localhost:{app} ")) && urls[0].contains("(the app)"),
        "{urls:?}"
    );
    assert!(
        urls[1].starts_with(&format!("http://localhost:{api}  backend")),
        "{urls:?}"
    );
    // Deployed for the local origin.
    assert_eq!(app_url(&ns), format!("http://localhost:{app}"));

    // Each connection goes through the API server to a pod (kwok answers the stream).
    for port in [app, api, api, api, api] {
        let answer = get(port);
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("kwok port-forward"), "{answer}");
    }
    let seen = connected_pods(&stderr.lock().unwrap(), "backend");
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        distinct.len(),
        2,
        "both backend replicas take connections: {seen:?}"
    );

    // A deleted pod is never chosen again; every connection is still answered.
    let gone = seen[0].clone();
    let deleted = kubectl(&["-n", &ns, "delete", "pod", &gone, "--wait=true"]);
    assert!(deleted.status.success(), "{deleted:?}");
    let mark = stderr.lock().unwrap().len();
    for _ in 0..6 {
        assert!(get(api).ends_with("kwok port-forward"));
    }
    let after = connected_pods(&stderr.lock().unwrap()[mark..], "backend");
    assert_eq!(after.len(), 6, "{after:?}");
    assert!(
        !after.contains(&gone),
        "{gone} chosen after deletion: {after:?}"
    );

    // A pod of a newer template, once ready, takes every connection (a rollout under way:
    // a client never gets the old version after the new one), and the old ones again
    // when it is gone.
    let newer = newer_pod(&ns, after.last().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mark = stderr.lock().unwrap().len();
        assert!(get(api).ends_with("kwok port-forward"));
        if connected_pods(&stderr.lock().unwrap()[mark..], "backend") == [newer.clone()] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{newer} ready, never chosen:\n{}",
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mark = stderr.lock().unwrap().len();
    for _ in 0..6 {
        assert!(get(api).ends_with("kwok port-forward"));
    }
    let rollout = connected_pods(&stderr.lock().unwrap()[mark..], "backend");
    assert_eq!(rollout, vec![newer.clone(); 6], "{rollout:?}");
    let deleted = kubectl(&["-n", &ns, "delete", "pod", &newer, "--wait=true"]);
    assert!(deleted.status.success(), "{deleted:?}");
    let mark = stderr.lock().unwrap().len();
    for _ in 0..4 {
        assert!(get(api).ends_with("kwok port-forward"));
    }
    let back = connected_pods(&stderr.lock().unwrap()[mark..], "backend");
    assert_eq!(back.len(), 4, "{back:?}");
    assert!(!back.contains(&newer), "{back:?}");

    // A second `berth open` on a port the first holds is refused, naming the holder.
    let busy = berth(
        &ns,
        &[
            "open",
            "--port",
            &format!("backend={api}"),
            "--port",
            &format!("frontend={}", free_port()),
        ],
    );
    busy.assert_code(2);
    assert!(busy.stdout.is_empty(), "{}", busy.stdout);
    assert!(
        busy.stderr.contains(&format!(
            "local port {api} (backend) is in use by pid {}",
            child.id()
        )),
        "{}",
        busy.stderr
    );
    assert!(
        busy.stderr.contains("--port backend=PORT"),
        "{}",
        busy.stderr
    );

    // Ctrl-C ends it cleanly and frees the ports.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "berth deploy --open ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0), "{}", stderr.lock().unwrap());
    TcpListener::bind(("127.0.0.1", api)).expect("the port is free again");
    cleanup(&ns);
}

#[test]
fn open_without_a_deployed_release_says_to_deploy_first() {
    let ns = namespace("open-none");
    let run = berth(&ns, &["open"]);
    run.assert_code(2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("has no revision"), "{}", run.stderr);
    assert!(run.stderr.contains("berth deploy --open"), "{}", run.stderr);
}
