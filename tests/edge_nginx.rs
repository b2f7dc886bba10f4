//! The edge proxy's configuration, as berth renders it, passes `nginx -t` of a
//! real nginx (Debian's, the one `scripts/images/seed-nginx.sh` puts in the test
//! image), for the shapes routes take. nginx resolves the upstream Service names
//! while checking, so it runs in a private mount namespace whose /etc/hosts
//! names them, with a private /tmp for its temporary paths (needs root, as the
//! images step has). `scripts/images-test.sh` sets BERTH_TEST_NGINX and runs this
//! with `--include-ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use berth::manifests::Manifest;

/// The ConfigMap of the edge, if the render has one.
fn edge_conf(objects: &[Manifest]) -> Option<String> {
    objects.iter().find_map(|o| match o {
        Manifest::ConfigMap(cm) if cm.metadata.name.as_deref() == Some("todo-chatbot-edge") => {
            cm.data.as_ref()?.get("nginx.conf").cloned()
        }
        _ => None,
    })
}

/// The `http://HOST:PORT` upstreams the configuration names.
fn upstream_hosts(conf: &str) -> Vec<String> {
    let mut hosts: Vec<String> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("proxy_pass http://"))
        .filter_map(|rest| rest.split(':').next())
        .map(str::to_string)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn nginx_test(nginx: &Path, dir: &Path, conf: &str) -> std::process::Output {
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let hosts: String = upstream_hosts(conf)
        .iter()
        .map(|h| format!("127.0.0.1 {h}\n"))
        .collect();
    let hosts_path = dir.join("hosts");
    std::fs::write(&hosts_path, format!("127.0.0.1 localhost\n{hosts}")).unwrap();
    let script = format!(
        "mount --bind '{}' /etc/hosts && mount -t tmpfs tmpfs /tmp && exec '{}' -t -e stderr -c '{}'",
        hosts_path.display(),
        nginx.display(),
        conf_path.display()
    );
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs")
}

fn nginx() -> PathBuf {
    PathBuf::from(std::env::var("BERTH_TEST_NGINX").expect(
        "BERTH_TEST_NGINX: the nginx binary (scripts/images/seed-nginx.sh --binary prints it)",
    ))
}

#[test]
#[ignore = "needs Debian's nginx and root: run scripts/images-test.sh"]
fn rendered_edge_configurations_pass_nginx_t() {
    let nginx = nginx();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edge-nginx");
    let cases: &[(&str, &[&str])] = &[
        ("defaults", &[]),
        (
            "strip-and-nested",
            &[
                "expose.routes./api.component=backend",
                "expose.routes./api.stripPrefix=true",
                "expose.routes./api/mcp/=mcp",
                "expose.edge.maxBodySize=0",
            ],
        ),
        (
            "none-mode-odd-paths",
            &[
                "expose.mode=none",
                "expose.routes./a;b{c}=backend",
                "expose.routes./caf%C3%A9=mcp",
                "expose.edge.maxBodySize=512k",
            ],
        ),
    ];
    for (name, sets) in cases {
        let values = common::load(&[], sets, &common::test_env());
        let conf = edge_conf(&common::render(&values))
            .unwrap_or_else(|| panic!("{name}: no edge ConfigMap rendered"));
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let out = nginx_test(&nginx, &dir, &conf);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("test is successful"),
            "{name}: nginx -t failed:\n{stderr}\n--- nginx.conf ---\n{conf}"
        );
    }
    // The check can fail: a configuration nginx refuses is reported.
    let dir = base.join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    let out = nginx_test(
        &nginx,
        &dir,
        "events {}\nhttp { server { listen 8080; location / { proxy_pass http://; } } }\n",
    );
    assert!(
        !out.status.success(),
        "nginx -t accepted a broken configuration"
    );
}

/// An upstream that streams server-sent events slowly and answers a WebSocket-style
/// upgrade by echoing, and a client that times the stream and checks the echo.
const STREAM_PY: &str = r#"
import socket, sys, threading, time

def upstream():
    server = socket.create_server(("127.0.0.1", 8000))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()

def serve(conn):
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(4096)
    if request.startswith(b"GET /api/stream"):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for event in (b"data: one\n\n", b"data: two\n\n"):
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            time.sleep(1.5)
        conn.sendall(b"0\r\n\r\n")
    elif b"upgrade: websocket" in request.lower():
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        while data := conn.recv(4096):
            conn.sendall(data)
    conn.close()

def client():
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", 8080))
    s.sendall(b"GET /api/stream HTTP/1.1\r\nHost: app.test\r\n\r\n")
    seen = b""
    while b"data: one" not in seen:
        seen += s.recv(4096)
    first = time.monotonic() - start
    while b"data: two" not in seen:
        seen += s.recv(4096)
    second = time.monotonic() - start
    s = socket.create_connection(("127.0.0.1", 8080))
    s.sendall(b"GET /api/ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(4096)
    s.sendall(b"ping-through-the-edge")
    echo = s.recv(4096)
    print(f"first={first:.2f} second={second:.2f} status={answer.split(b' ')[1].decode()} echo={echo.decode()}")

upstream() if sys.argv[1] == "upstream" else client()
"#;

#[test]
#[ignore = "needs Debian's nginx and root: run scripts/images-test.sh"]
fn streamed_answers_and_upgrades_pass_through_the_edge() {
    let nginx = nginx();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("edge-stream");
    std::fs::create_dir_all(&dir).unwrap();
    let values = common::load(&[], &[], &common::test_env());
    let conf = edge_conf(&common::render(&values)).expect("the default render has an edge");
    std::fs::write(dir.join("nginx.conf"), &conf).unwrap();
    std::fs::write(dir.join("stream.py"), STREAM_PY).unwrap();
    let hosts: String = upstream_hosts(&conf)
        .iter()
        .map(|h| format!("127.0.0.1 {h}\n"))
        .collect();
    std::fs::write(dir.join("hosts"), format!("127.0.0.1 localhost\n{hosts}")).unwrap();
    // A network namespace of its own (loopback only): nothing here listens on the machine.
    // A pid namespace too: when the script ends, the upstream and nginx end with it.
    let d = dir.display();
    let script = format!(
        "ip link set lo up && mount --bind '{d}/hosts' /etc/hosts && mount -t tmpfs tmpfs /tmp && \
         (python3 '{d}/stream.py' upstream &) && ('{nginx}' -e stderr -c '{d}/nginx.conf' &) && \
         for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8080))' 2>/dev/null && break; sleep 0.1; done && \
         python3 '{d}/stream.py' client",
        nginx = nginx.display()
    );
    let out = Command::new("timeout")
        .args([
            "60",
            "unshare",
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let field = |name: &str| -> String {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .to_string()
    };
    let (first, second): (f64, f64) = (
        field("first").parse().unwrap(),
        field("second").parse().unwrap(),
    );
    // The first event arrives while the upstream still writes. (Debian's nginx passes this
    // small stream early even with proxy_buffering on, so this guards the path as a whole,
    // e.g. against compression or caching, not that one directive.)
    assert!(
        first < 1.0 && second >= 1.4,
        "first event after {first} s, second after {second} s"
    );
    assert_eq!(field("status"), "101");
    assert_eq!(field("echo"), "ping-through-the-edge");
    eprintln!(
        "through the edge: first event after {first} s, second after {second} s; upgrade 101 and echo"
    );
}
