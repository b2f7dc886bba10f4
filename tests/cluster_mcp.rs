//! `berth mcp` driven by a real MCP client (the official Python SDK, the
//! version the reference app pins) against the test cluster, over stdio and
//! streamable HTTP: the tools it lists, the root cause it reports for a
//! failing release, write tools refused when read-only and working with
//! `--allow-writes`, and no secret value in anything it answers.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// A secret value the server can read from its environment; it must never come back.
const CANARY: &str = "canary-mcp-5e1f0a7c";
/// The bearer token of the servers that need one.
const TOKEN: &str = "test-token-7f3a9c2e5b1d4e8f";

/// The Python with the `mcp` SDK: `BERTH_MCP_PYTHON` (scripts/test.sh sets it
/// from the app's venv), else that venv where scripts/app-test.sh builds it.
fn python() -> String {
    let path = std::env::var("BERTH_MCP_PYTHON").unwrap_or_else(|_| {
        let cache = std::env::var("BERTH_APP_CACHE")
            .unwrap_or_else(|_| format!("{}/.cache/berth/app", std::env::var("HOME").unwrap()));
        format!("{cache}/venv/bin/python")
    });
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: set BERTH_MCP_PYTHON to a Python with the `mcp` SDK, or run scripts/app-test.sh once to build the app's venv"
    );
    path
}

/// Runs the client with `target` (`stdio BERTH ARGS…` or `http URL`) and the calls.
fn client(target: &[&str], calls: Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(calls.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "MCP client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client prints JSON")
}

/// `berth mcp --http 127.0.0.1:0 ARGS…`, stopped on drop.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["mcp", "--http", "127.0.0.1:0", "--kubeconfig"])
            .arg(cluster::kubeconfig())
            .args(args)
            .env("OPENAI_API_KEY", CANARY)
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("berth mcp starts");
        // The first line names the URL it serves.
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        HttpServer { child, url }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool_names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn call<'a>(report: &'a Value, index: usize, tool: &str) -> &'a Value {
    let call = &report["calls"][index];
    assert_eq!(call["tool"], tool);
    call
}

fn revisions(ns: &str) -> usize {
    let run = cluster::berth(ns, &["history", "-o", "json"]);
    run.assert_code(0);
    serde_json::from_str::<Vec<Value>>(&run.stdout)
        .unwrap()
        .len()
}

#[test]
fn read_only_server_reports_the_root_cause_and_refuses_writes() {
    let ns = cluster::namespace("mcp-ro");
    cluster::deploy(
        &ns,
        &["--set", "components.mcp.image.tag=0.1.0-imagepullbackoff"],
    )
    .assert_code(1);
    let calls = json!([
        {"tool": "status", "arguments": {"namespace": ns}},
        {"tool": "diagnose", "arguments": {"namespace": ns, "component": "mcp"}},
        {"tool": "deploy", "arguments": {"namespace": ns}},
        {"tool": "logs", "arguments": {"namespace": ns, "component": "mcp", "tail": 5}},
        {"tool": "doctor", "arguments": {"namespace": ns}},
    ]);
    let berth = env!("CARGO_BIN_EXE_berth");
    let kubeconfig = cluster::kubeconfig();
    let stdio = client(
        &["stdio", berth, "mcp", "--kubeconfig", &kubeconfig],
        calls.clone(),
    );
    let server = HttpServer::start(&[]);
    let http = client(&["http", &server.url], calls);
    for (transport, report) in [("stdio", &stdio), ("http", &http)] {
        assert_eq!(report["server"], "berth", "{transport}");
        assert_eq!(
            tool_names(report),
            [
                "diagnose", "diff", "doctor", "history", "logs", "render", "status"
            ],
            "{transport}: a read-only server lists no write tool"
        );
        for tool in report["tools"].as_array().unwrap() {
            assert_eq!(tool["input_schema"]["type"], "object", "{tool}");
            assert_eq!(tool["has_output_schema"], true, "{tool}");
        }

        let status = call(report, 0, "status");
        assert_eq!(status["is_error"], false, "{transport}: {status}");
        let status = &status["structured"];
        assert_eq!(status["ready"], false);
        // The release's causes, ranked as `berth diagnose` ranks them; the missing
        // image is one of them (others, such as a database still starting under
        // load, may come and go).
        let causes = status["root_causes"].as_array().unwrap();
        let object = format!("Deployment {ns}/todo-chatbot-mcp");
        let image = causes
            .iter()
            .find(|c| c["object"] == object.as_str())
            .unwrap_or_else(|| panic!("{transport}: no cause for {object}: {causes:?}"));
        assert_eq!(image["finding"], "notReady", "{image}");
        assert_eq!(image["cause"]["kind"], "ImagePull", "{image}");
        assert!(
            image["message"]
                .as_str()
                .unwrap()
                .contains("ImagePullBackOff"),
            "{image}"
        );
        assert!(
            image["hint"]
                .as_str()
                .unwrap()
                .contains("load it into the cluster"),
            "{image}"
        );

        // diagnose of the component: the same cause first, and nothing about
        // other components.
        let diagnose = call(report, 1, "diagnose");
        assert_eq!(diagnose["is_error"], false, "{diagnose}");
        let diagnosis = &diagnose["structured"];
        assert_eq!(diagnosis["healthy"], false);
        let first = &diagnosis["causes"][0];
        for field in ["object", "finding", "cause", "message", "hint"] {
            assert_eq!(first[field], image[field], "{transport}: {field}");
        }
        for cause in diagnosis["causes"].as_array().unwrap() {
            assert!(
                cause["message"]
                    .as_str()
                    .unwrap()
                    .contains("todo-chatbot-mcp"),
                "{transport}: diagnose of mcp reports {cause}"
            );
        }

        let deploy = call(report, 2, "deploy");
        assert_eq!(deploy["is_error"], true, "{transport}: {deploy}");
        assert!(
            deploy["text"]
                .as_str()
                .unwrap()
                .contains("berth mcp --allow-writes"),
            "{deploy}"
        );

        // The test cluster's simulated pods serve no logs: the tool says which
        // containers it could not read rather than failing or answering nothing.
        let logs = call(report, 3, "logs");
        assert_eq!(logs["is_error"], false, "{transport}: {logs}");
        let logs = &logs["structured"];
        let read = logs["lines"].as_array().unwrap().len();
        let refused = logs["unavailable"].as_array().unwrap().len();
        assert!(read + refused > 0, "{transport}: {logs}");

        let doctor = call(report, 4, "doctor");
        assert_eq!(doctor["is_error"], false, "{transport}: {doctor}");
        let checks = doctor["structured"]["checks"].as_array().unwrap();
        let check = |id: &str| checks.iter().find(|c| c["id"] == id).cloned();
        assert_eq!(check("api-server").unwrap()["status"], "pass", "{checks:?}");
        assert!(check("node-capacity").is_some(), "{checks:?}");
    }
    // The refused deploys wrote nothing: still the one failed revision.
    assert_eq!(revisions(&ns), 1);
    cluster::cleanup(&ns);
}

#[test]
fn write_tools_work_with_allow_writes_and_never_show_secrets() {
    let ns = cluster::namespace("mcp-rw");
    let node_port = format!("expose.nodePort={}", cluster::node_port(&ns));
    // Write tools over HTTP need a token.
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), format!("{TOKEN}\n")).unwrap();
    let token_path = token_file.path().to_str().unwrap();
    let server = HttpServer::start(&["--allow-writes", "-n", &ns, "--token-file", token_path]);
    let auth = format!("Authorization:Bearer {TOKEN}");
    let report = client(
        &["http", &server.url, &auth],
        json!([
            {"tool": "deploy", "arguments": {"set": [node_port]}},
            {"tool": "scale", "arguments": {"component": "backend", "replicas": 3}},
            {"tool": "scale", "arguments": {"component": "backnd", "replicas": 3}},
            {"tool": "history", "arguments": {}},
            {"tool": "rollback", "arguments": {"revision": 1}},
            {"tool": "render", "arguments": {}},
            {"tool": "diff", "arguments": {"set": [node_port, "components.backend.replicas=1"]}},
        ]),
    );
    assert_eq!(
        tool_names(&report),
        [
            "deploy", "diagnose", "diff", "doctor", "history", "logs", "render", "rollback",
            "scale", "status"
        ]
    );
    let deploy = &call(&report, 0, "deploy")["structured"];
    assert_eq!(deploy["ready"], true, "{report}");
    assert_eq!(deploy["revision"], 1);

    let scale = &call(&report, 1, "scale")["structured"];
    assert_eq!(scale["ready"], true, "{report}");
    assert_eq!(scale["revision"], 2);
    assert_eq!(
        scale["updated"],
        json!([format!("Deployment {ns}/todo-chatbot-backend")])
    );

    let unknown = call(&report, 2, "scale");
    assert_eq!(unknown["is_error"], true);
    assert!(
        unknown["text"]
            .as_str()
            .unwrap()
            .contains("no workload for component `backnd`; its components: backend"),
        "{unknown}"
    );

    let history = &call(&report, 3, "history")["structured"]["revisions"];
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    let rollback = &call(&report, 4, "rollback")["structured"];
    assert_eq!(rollback["revision"], 3, "{report}");
    assert_eq!(rollback["ready"], true);
    let replicas = cluster::kubectl(&[
        "get",
        "deployment",
        "todo-chatbot-backend",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    // Revision 1 had the default two.
    assert_eq!(String::from_utf8_lossy(&replicas.stdout), "2");

    let render = &call(&report, 5, "render")["structured"]["objects"];
    let secrets: Vec<&Value> = render
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Secret")
        .collect();
    assert!(!secrets.is_empty());
    let diff = &call(&report, 6, "diff")["structured"];
    assert_eq!(diff["no_changes"], false, "{diff}");
    // The canary is in the live Secret (deploy read it from the server's
    // environment) and in no answer of the server.
    let live = cluster::kubectl(&["get", "secrets", "-n", &ns, "-o", "json"]);
    assert!(
        String::from_utf8_lossy(&live.stdout).contains(&base64(CANARY)),
        "the deploy did not use the server's environment"
    );
    let answers = report.to_string();
    assert!(!answers.contains(CANARY) && !answers.contains(&base64(CANARY)));
    drop(server);
    cluster::cleanup(&ns);
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// One raw HTTP/1.1 POST of an MCP `initialize` to `url` with extra headers;
/// the status code the server answers.
fn post_initialize(url: &str, headers: &[(&str, &str)]) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}
    })
    .to_string();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status:?}"))
}

/// The token from a Secret (the one kagent's headersFrom sends): no token or a
/// wrong one → 401, a foreign Origin → 403 even with the token, a loopback
/// Origin and the token → accepted, and the real client lists the tools.
#[test]
fn http_with_a_token_refuses_strangers_and_foreign_origins() {
    let ns = cluster::namespace("mcp-token");
    let create_ns = cluster::kubectl(&["create", "namespace", &ns]);
    assert!(create_ns.status.success(), "{create_ns:?}");
    let created = cluster::kubectl(&[
        "create",
        "secret",
        "generic",
        "berth-mcp-token",
        "-n",
        &ns,
        &format!("--from-literal=authorization=Bearer {TOKEN}"),
    ]);
    assert!(created.status.success(), "{created:?}");
    let secret = format!("{ns}/berth-mcp-token");
    let server = HttpServer::start(&["--allow-writes", "--token-secret", &secret]);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(post_initialize(&server.url, &[]), 401, "no token");
    assert_eq!(
        post_initialize(
            &server.url,
            &[("Authorization", "Bearer not-the-token-at-all")]
        ),
        401,
        "wrong token"
    );
    assert_eq!(
        post_initialize(
            &server.url,
            &[
                ("Authorization", &bearer),
                ("Origin", "http://evil.example")
            ]
        ),
        403,
        "foreign Origin"
    );
    assert_eq!(
        post_initialize(
            &server.url,
            &[
                ("Authorization", &bearer),
                ("Origin", "http://localhost:3000")
            ]
        ),
        200,
        "loopback Origin with the token"
    );
    let auth = format!("Authorization:{bearer}");
    let report = client(&["http", &server.url, &auth], json!([]));
    assert!(
        tool_names(&report).contains(&"deploy".to_string()),
        "{report}"
    );
    drop(server);
    cluster::cleanup(&ns);
}

/// Without a token, a non-loopback bind and write tools over HTTP are refused
/// before anything listens (exit 2, the flags that fix it named).
#[test]
fn http_without_a_token_is_refused_where_one_is_needed() {
    for args in [
        &["--http", "0.0.0.0:0"][..],
        &["--http", "127.0.0.1:0", "--allow-writes"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("mcp")
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr.contains("needs a token") && stderr.contains("--token-file"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("serving"), "{args:?}: {stderr}");
    }
}
