//! `berth dev` against the test cluster, with real images: a team's directory whose one component
//! is built from busybox (the seeded registry of scripts/registry.sh) and side-loaded into a
//! private containerd (scripts/images/containerd.sh); kwok runs its pods and answers the local
//! origin's port-forwards. The session deploys once with the dev profile, rolls out an editor's
//! atomic save as one change (only the blobs containerd lacks are sent), ignores dependency trees,
//! survives a broken spec with the previous version serving, refuses a second session through the
//! release lock, and on Ctrl-C leaves the last good revision serving; a later `berth deploy`
//! renders without the dev profile; `--down` uninstalls and keeps the volume claims.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{cleanup, kubeconfig, kubectl, namespace, node_port};

const RELEASE: &str = "devtest";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn last_line(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().last().unwrap_or_default().trim().to_string()
}

/// The seeded registry (started here when no test started it yet) and a private containerd.
struct Parts {
    registry: String,
    started_registry: bool,
    containerd_dir: tempfile::TempDir,
    socket: String,
}

impl Parts {
    fn start() -> Self {
        let script = repo().join("scripts/registry.sh");
        let running = Command::new(&script).arg("addr").output().unwrap();
        let registry = last_line(
            Command::new(&script).arg("up").output().unwrap(),
            "scripts/registry.sh up",
        );
        let containerd_dir = tempfile::tempdir().unwrap();
        let socket = last_line(
            Command::new(repo().join("scripts/images/containerd.sh"))
                .arg("start")
                .arg(containerd_dir.path().join("containerd"))
                .output()
                .unwrap(),
            "scripts/images/containerd.sh start",
        );
        Parts {
            registry,
            started_registry: !running.status.success(),
            containerd_dir,
            socket,
        }
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/images/containerd.sh"))
            .arg("stop")
            .arg(self.containerd_dir.path().join("containerd"))
            .output();
        if self.started_registry {
            let _ = Command::new(repo().join("scripts/registry.sh"))
                .arg("down")
                .output();
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A team's directory: one component built from images/web.toml (busybox serving `site/`), an
/// internal database (a volume claim), routed at `/` on a NodePort.
fn team_dir(ns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "berth.yaml",
        &format!(
            "appName: {RELEASE}\nappVersion: 0.1.0\nnamespace: {{name: {ns}, create: true}}\n\
             components:\n  web:\n    image: {{repository: localhost/berth-test/devweb, tag: dev, build: images/web.toml}}\n    port: 8080\n    probes: {{tcp: true}}\n\
             database: {{mode: internal}}\n\
             secrets:\n  postgresPassword: {{fromEnv: DEVTEST_PG_PASSWORD, generate: {{length: 24}}}}\n\
             expose: {{mode: nodePort, nodePort: {}, routes: {{\"/\": web}}}}\n",
            node_port(ns)
        ),
    );
    write("images/web.toml", WEB_SPEC);
    write("site/index.html", "version 1\n");
    write("site/node_modules/dep/index.js", "module.exports = 1\n");
    write("site/.dockerignore", "node_modules\n");
    dir
}

const WEB_SPEC: &str = "kind = \"build\"\nrepository = \"localhost/berth-test/devweb\"\n\
    base = \"docker.io/library/busybox:1.35.0\"\ncontext = \"site\"\nuser = \"10001:10001\"\n\
    workdir = \"/app\"\nentrypoint = [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/app\"]\nports = [8080]\n\n\
    [[layers]]\nname = \"site\"\ncopy = [\".\"]\ndest = \"/app\"\n";

/// An editor's save: a temporary file in the same directory, renamed over the original.
fn atomic_save(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn berth_command(dir: &Path, cache: &Path, ns: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args(args)
        .args(["-n", ns])
        .current_dir(dir)
        .env("KUBECONFIG", kubeconfig())
        .env("NO_COLOR", "1")
        .env("BERTH_CACHE_DIR", cache)
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env_remove("SOURCE_DATE_EPOCH");
    command
}

/// A running `berth dev`, its stderr collected as it comes.
struct Session {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Session {
    fn start(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Session { child, stderr }
    }

    fn text(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until `count` lines contain `needle`.
    fn wait_for(&mut self, needle: &str, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.text().lines().filter(|l| l.contains(needle)).count() >= count {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "berth dev exited ({status}) before `{needle}`:\n{}",
                    self.text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no `{needle}` (x{count}) within {within:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ctrl-C, then the exit code.
    fn interrupt(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "berth dev did not stop:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        // The reader thread has seen the pipe close by now, give or take a line.
        std::thread::sleep(Duration::from_millis(200));
        (status.code().unwrap_or(-1), self.text())
    }
}

fn jsonpath(ns: &str, args: &[&str]) -> String {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    let out = kubectl(&all);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn web_image(ns: &str) -> String {
    jsonpath(
        ns,
        &[
            "get",
            "deployment",
            &format!("{RELEASE}-web"),
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
}

fn grace_seconds(ns: &str) -> String {
    jsonpath(
        ns,
        &[
            "get",
            "deployment",
            &format!("{RELEASE}-web"),
            "-o",
            "jsonpath={.spec.template.spec.terminationGracePeriodSeconds}",
        ],
    )
}

/// One HTTP exchange through the local origin (kwok's stand-in for the pod answers).
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
    while !answer.ends_with(b"kwok port-forward") {
        let n = stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_dev_session_rolls_out_saves_and_leaves_the_last_good_version_serving() {
    let parts = Parts::start();
    let ns = namespace("dev");
    let dir = team_dir(&ns);
    let cache = tempfile::tempdir().unwrap();
    let port = free_port();
    let mirror = format!("docker.io=http://{}", parts.registry);
    let port_flag = format!("web={port}");
    let dev_args = [
        "dev",
        "--registry-mirror",
        &mirror,
        "--load-target",
        "containerd",
        "--containerd-socket",
        &parts.socket,
        "--port",
        &port_flag,
        "--timeout",
        "2m",
    ];
    let mut dev = Session::start(&mut berth_command(dir.path(), cache.path(), &ns, &dev_args));
    dev.wait_for("watching web", 1, Duration::from_secs(240));
    let first = web_image(&ns);
    assert!(first.starts_with("localhost/berth-test/devweb:"), "{first}");
    assert_ne!(first, "localhost/berth-test/devweb:dev", "the built tag");
    // The dev profile: a short termination grace.
    assert_eq!(grace_seconds(&ns), "5");
    // The local origin serves through the API server.
    assert!(get(port).ends_with("kwok port-forward"), "{}", dev.text());

    // An editor's atomic save is one change, rolled out with only the blobs containerd lacks.
    let changes_before = dev.text().matches("change: ").count();
    atomic_save(&dir.path().join("site/index.html"), "version 2\n");
    dev.wait_for("→ serving", 1, Duration::from_secs(120));
    let second = web_image(&ns);
    assert_ne!(second, first, "{}", dev.text());
    let text = dev.text();
    assert_eq!(
        text.matches("change: ").count(),
        changes_before + 1,
        "{text}"
    );
    assert!(text.contains("change → built "), "{text}");
    let loaded = text
        .lines()
        .rfind(|l| l.starts_with(&second))
        .unwrap_or_else(|| panic!("no load line for {second}:\n{text}"));
    // The base layer is on the node: the site layer, config and manifest go.
    assert!(loaded.contains("(3 of 4 blobs sent"), "{loaded}");
    assert!(get(port).ends_with("kwok port-forward"));

    // Dependency trees are not watched.
    std::fs::write(dir.path().join("site/node_modules/dep/index.js"), "2\n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(dev.text().matches("change: ").count(), changes_before + 1);

    // A broken spec fails the build; the previous version keeps serving.
    atomic_save(
        &dir.path().join("images/web.toml"),
        &WEB_SPEC.replace("copy = [\".\"]", "copy = [\"missing-dir\"]"),
    );
    dev.wait_for("build failed", 1, Duration::from_secs(60));
    assert_eq!(web_image(&ns), second);
    // Fixed again: the same image as before, nothing rolled out twice.
    atomic_save(&dir.path().join("images/web.toml"), WEB_SPEC);
    dev.wait_for("nothing to roll out", 1, Duration::from_secs(60));
    assert_eq!(web_image(&ns), second);

    // A second session on the release is refused by the release lock.
    let refused = berth_command(dir.path(), cache.path(), &ns, &dev_args)
        .args(["--port", &format!("web={}", free_port())])
        .output()
        .unwrap();
    let refused_err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{refused_err}");
    assert!(
        refused_err.contains("berth dev"),
        "names the holder: {refused_err}"
    );

    // Ctrl-C: the last good version keeps serving, the revisions are marked dev.
    let (code, text) = dev.interrupt();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("stopped: 1 change served"), "{text}");
    assert_eq!(web_image(&ns), second);
    let history = berth_command(dir.path(), cache.path(), &ns, &["history"])
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&history.stdout);
    assert_eq!(history.matches("(berth dev)").count(), 2, "{history}");
    let claims = jsonpath(&ns, &["get", "pvc", "-o", "name"]);
    assert!(!claims.is_empty(), "the database's claim");

    // A later deploy renders without the dev profile, and its revision is not marked.
    let tag = second.rsplit(':').next().unwrap();
    let deployed = berth_command(
        dir.path(),
        cache.path(),
        &ns,
        &[
            "deploy",
            "--yes",
            "--images",
            "skip",
            "--no-wait",
            "--set",
            &format!("components.web.image.tag={tag}"),
        ],
    )
    .output()
    .unwrap();
    assert!(deployed.status.success(), "{deployed:?}");
    assert_eq!(grace_seconds(&ns), "30", "Kubernetes' default again");
    let history = berth_command(dir.path(), cache.path(), &ns, &["history"])
        .output()
        .unwrap();
    let history = String::from_utf8_lossy(&history.stdout);
    let newest = history.lines().last().unwrap();
    assert!(!newest.contains("(berth dev)"), "{history}");

    // --down: Ctrl-C uninstalls, keeping the volume claims.
    let mut down_args = dev_args.to_vec();
    down_args.extend(["--down", "--no-logs"]);
    let mut dev = Session::start(&mut berth_command(
        dir.path(),
        cache.path(),
        &ns,
        &down_args,
    ));
    dev.wait_for("watching web", 1, Duration::from_secs(120));
    let (code, text) = dev.interrupt();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("uninstalled (volumes kept)"), "{text}");
    let gone = kubectl(&["-n", &ns, "get", "deployment", &format!("{RELEASE}-web")]);
    assert!(!gone.status.success(), "the Deployment is uninstalled");
    assert_eq!(jsonpath(&ns, &["get", "pvc", "-o", "name"]), claims);
    cleanup(&ns);
}
