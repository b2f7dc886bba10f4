//! The browser check itself (`scripts/browser-check.mjs`) against pages of our own served on
//! 127.0.0.1: it passes a page whose requests all succeed, and fails -- naming the request -- a
//! page with a 404, a CORS refusal, a console error, a 401 after signing in, or a task that is gone
//! after a reload. Needs node, Debian chromium and playwright-core (scripts/browser-tools.sh), so
//! the tests are ignored by plain `cargo test`; `scripts/test.sh`'s node step runs them with
//! `--include-ignored` before the real-node browser checks that rely on it.

#[path = "common/browser.rs"]
mod browser;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use browser::{BrowserReport, browser_check};

struct Request {
    method: String,
    path: String,
    cookie: String,
    body: String,
}

struct Response {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

fn respond(status: u16, content_type: &'static str, body: impl Into<String>) -> Response {
    Response {
        status,
        content_type,
        headers: vec![],
        body: body.into(),
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A tiny HTTP/1.1 server on 127.0.0.1 (one thread per connection, `Connection: close`).
fn serve(handler: Arc<Handler>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            std::thread::spawn(move || handle(stream, &*handler));
        }
    });
    format!("http://{addr}")
}

fn handle(stream: TcpStream, handler: &Handler) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let (mut length, mut cookie) = (0usize, String::new());
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "cookie" => cookie = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let response = handler(&request);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let mut stream = stream;
    let _ = stream.write_all(format!("{head}\r\n{}", response.body).as_bytes());
}

fn html(script: &str) -> Response {
    respond(
        200,
        "text/html",
        format!(
            "<!doctype html><html><head><title>check</title></head><body><p>page</p><script>{script}</script></body></html>"
        ),
    )
}

/// Pages with one kind of request each, and a second origin for cross-origin requests.
fn plain_pages() -> String {
    let other = serve(Arc::new(|r: &Request| match r.path.as_str() {
        "/api/open" => {
            let mut res = respond(200, "application/json", "{}");
            res.headers
                .push(("Access-Control-Allow-Origin".into(), "*".into()));
            res
        }
        _ => respond(200, "application/json", "{}"), // no CORS header: the browser refuses it
    }));
    serve(Arc::new(move |r: &Request| match r.path.as_str() {
        "/good" => html("fetch('/api/ok').then(r => r.json())"),
        "/missing" => html("fetch('/api/missing')"),
        "/cors-refused" => html(&format!("fetch('{other}/api/closed').catch(() => {{}})")),
        "/cors-allowed" => html(&format!("fetch('{other}/api/open').then(r => r.json())")),
        "/console" => html("console.error('the API URL is not configured')"),
        "/unauthorized" => html("fetch('/api/me')"),
        "/api/ok" => respond(200, "application/json", "{}"),
        "/api/me" => respond(401, "application/json", "{\"detail\": \"not signed in\"}"),
        _ => respond(404, "text/plain", "not found"),
    }))
}

fn assert_fails(report: &BrowserReport, expect: &str) {
    assert_eq!(report.code, 1, "{}", report.stderr);
    assert!(!report.ok());
    let all = [report.failed_requests(), report.errors()].concat();
    assert!(
        all.iter().any(|l| l.contains(expect)),
        "no problem mentions {expect:?}: {all:?}\n{}",
        report.stderr
    );
}

#[test]
#[ignore = "needs chromium and playwright-core (scripts/browser-tools.sh); run by scripts/test.sh's node step"]
fn page_whose_requests_succeed_passes() {
    let base = plain_pages();
    for page in ["/good", "/cors-allowed", "/unauthorized"] {
        let report = browser_check(&format!("{base}{page}"), &[]);
        assert!(report.ok(), "{page}: {}", report.stderr);
        assert!(report.json["requests"].as_u64().unwrap() >= 2, "{page}");
    }
}

#[test]
#[ignore = "needs chromium and playwright-core (scripts/browser-tools.sh); run by scripts/test.sh's node step"]
fn broken_requests_and_console_errors_fail() {
    let base = plain_pages();
    let missing = browser_check(&format!("{base}/missing"), &[]);
    assert_fails(&missing, "/api/missing");
    assert_eq!(
        missing.failed_requests(),
        vec![format!("http GET {base}/api/missing 404")]
    );
    let cors = browser_check(&format!("{base}/cors-refused"), &[]);
    assert_fails(&cors, "/api/closed");
    assert!(
        cors.failed_requests()[0].starts_with("cors GET "),
        "{:?}",
        cors.failed_requests()
    );
    assert_fails(
        &browser_check(&format!("{base}/console"), &[]),
        "the API URL is not configured",
    );
    // A page that does not answer at all.
    let report = browser_check(&format!("{base}/nowhere"), &[]);
    assert_eq!(report.code, 1);
    assert!(!report.step_ok("open the page"));
}

/// The todo app of the fixtures' UI contract: sign up (a cookie), then tasks through the API.
/// `forget` drops the tasks the server is given (the page still shows them until a reload);
/// `deny` makes the page ask an endpoint that answers 401 once signed in.
fn todo_app(forget: bool, deny: bool) -> String {
    let users: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let tasks: Arc<Mutex<Vec<String>>> = Arc::default();
    let page = format!(
        r#"
const root = document.body;
async function show() {{
  const me = await fetch('/api/me');
  if (me.status === 401) {{
    root.innerHTML = `<form id=f><input name=name><input name=email><input name=password type=password><button type=submit>Sign up</button></form>`;
    document.getElementById('f').onsubmit = async (e) => {{
      e.preventDefault();
      await fetch('/api/signup', {{method: 'POST', body: e.target.email.value}});
      show();
    }};
    return;
  }}
  {deny}
  const list = await (await fetch('/api/tasks')).json();
  root.innerHTML = `<form id=t><input name=title><button type=submit>Add</button></form><ul id=l></ul>`;
  const ul = document.getElementById('l');
  const add = (t) => {{ const li = document.createElement('li'); li.dataset.task = ''; li.textContent = t; ul.append(li); }};
  list.forEach(add);
  document.getElementById('t').onsubmit = async (e) => {{
    e.preventDefault();
    const title = e.target.title.value;
    await fetch('/api/tasks', {{method: 'POST', body: title}});
    add(title);
  }};
}}
show();
"#,
        deny = if deny {
            "await fetch('/api/admin');"
        } else {
            ""
        }
    );
    serve(Arc::new(move |r: &Request| {
        let signed_in = r
            .cookie
            .split(';')
            .filter_map(|c| c.trim().strip_prefix("user="))
            .any(|u| users.lock().unwrap().contains(u));
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/") => html(&page),
            ("POST", "/api/signup") => {
                let user = r.body.replace(['@', '.'], "_");
                users.lock().unwrap().insert(user.clone());
                let mut res = respond(201, "application/json", "{}");
                res.headers
                    .push(("Set-Cookie".into(), format!("user={user}; Path=/")));
                res
            }
            (_, "/api/me") if !signed_in => respond(401, "application/json", "{}"),
            ("GET", "/api/me") => respond(200, "application/json", "{}"),
            (_, "/api/admin") => respond(401, "application/json", "{}"),
            ("GET", "/api/tasks") if signed_in => respond(
                200,
                "application/json",
                serde_json::to_string(&*tasks.lock().unwrap()).unwrap(),
            ),
            ("POST", "/api/tasks") if signed_in => {
                if !forget {
                    tasks.lock().unwrap().push(r.body.clone());
                }
                respond(201, "application/json", "{}")
            }
            (_, p) if p.starts_with("/api/") => respond(401, "application/json", "{}"),
            _ => respond(404, "text/plain", "not found"),
        }
    }))
}

#[test]
#[ignore = "needs chromium and playwright-core (scripts/browser-tools.sh); run by scripts/test.sh's node step"]
fn todo_scenario_signs_up_adds_and_sees_the_task_after_a_reload() {
    let report = browser_check(&todo_app(false, false), &["--scenario", "todo"]);
    assert!(report.ok(), "{}", report.stderr);
    for step in [
        "open the page",
        "sign up when the page asks",
        "add a task through the UI",
        "reload and see the task",
    ] {
        assert!(report.step_ok(step), "{step}: {}", report.json["steps"]);
    }
    assert_eq!(report.json["steps"][1]["detail"], "signed up");
}

#[test]
#[ignore = "needs chromium and playwright-core (scripts/browser-tools.sh); run by scripts/test.sh's node step"]
fn todo_scenario_fails_when_the_task_is_gone_after_a_reload() {
    // The task never comes back: a short timeout for that wait.
    let report = browser_check(
        &todo_app(true, false),
        &["--scenario", "todo", "--timeout", "10"],
    );
    assert_eq!(report.code, 1, "{}", report.stderr);
    assert!(report.step_ok("add a task through the UI"));
    assert!(!report.step_ok("reload and see the task"));
    assert!(report.failed_requests().is_empty());
}

#[test]
#[ignore = "needs chromium and playwright-core (scripts/browser-tools.sh); run by scripts/test.sh's node step"]
fn a_401_counts_only_after_signing_in() {
    // Before signing up the page's /api/me answers 401: allowed. After it, /api/admin's 401 fails.
    let report = browser_check(&todo_app(false, true), &["--scenario", "todo"]);
    assert_fails(&report, "/api/admin");
    let denied: Vec<_> = report.json["failedRequests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 401)
        .collect();
    assert!(denied.iter().all(|r| r["afterLogin"] == true), "{denied:?}");
    assert!(
        !report
            .failed_requests()
            .iter()
            .any(|l| l.contains("/api/me"))
    );
}

#[test]
fn bad_usage_exits_2_with_nothing_on_stdout() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/browser-check.mjs");
    for args in [
        vec![],
        vec!["ftp://example.com"],
        vec!["http://127.0.0.1:1", "--scenario", "shop"],
        vec!["http://127.0.0.1:1", "--timeout", "soon"],
    ] {
        let out = std::process::Command::new("node")
            .arg(&script)
            .args(&args)
            .output()
            .expect("node");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("browser-check: error:"),
            "{args:?}"
        );
    }
}
