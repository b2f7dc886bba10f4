//! The Node image specs `berth init` writes build with berth against a real registry and run in a
//! real containerd: a Vite site on the static-web-server base (`registry.sh up --static`) and a
//! standalone Next.js server and a plain Node (Express) server on the Node base
//! (`registry.sh up --node`), each from a fixture
//! repository with a real lock file, built in a scratch copy without writing into the team's tree.
//! Layers go through berth's shared cache, so the npm install and build run again only when the
//! spec's step or the fixture's inputs change; the image checks and the HTTP checks run every time.
//! `scripts/images-test.sh` runs these with `--include-ignored`; by hand they need
//! `BERTH_TEST_REGISTRY=host:port` and `BERTH_TEST_CONTAINERD_SOCKET=path`.

#[path = "common/images.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{Archive, ImageEntry, berth_command, copy_tree, ok, text};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set (see scripts/images-test.sh)"))
}

fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// A fixture repository copied to a temporary directory, after `berth init --yes` there.
struct InitRepo {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

/// What `berth images build` printed and wrote for one component.
struct Built {
    reference: String,
    archive: PathBuf,
    stderr: String,
}

impl InitRepo {
    fn new(fixture: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(fixture);
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/repos")
                .join(fixture),
            &root,
        );
        ok(&berth_command(&["init", "--yes"])
            .current_dir(&root)
            .output()
            .unwrap());
        Self { tmp, root }
    }

    /// The spec init wrote for `component`.
    fn spec(&self, component: &str) -> toml::Table {
        let path = self.root.join(format!("images/{component}.toml"));
        toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `berth images SUB COMPONENT EXTRA… --root --specs-dir --cache-dir --out`, asserting success.
    fn images(&self, sub: &str, component: &str, extra: &[&str]) -> Output {
        let root = self.root.to_string_lossy().into_owned();
        let specs = self.root.join("images").to_string_lossy().into_owned();
        let cache = layer_cache().to_string_lossy().into_owned();
        let out = self.tmp.path().join("out").to_string_lossy().into_owned();
        let mut args = vec!["images", sub, component];
        args.extend(extra);
        args.extend([
            "--root",
            &root,
            "--specs-dir",
            &specs,
            "--cache-dir",
            &cache,
            "--out",
            &out,
        ]);
        let output = berth_command(&args).output().unwrap();
        ok(&output);
        output
    }

    fn build(&self, component: &str) -> Built {
        let mirror = format!("docker.io=http://{}", env("BERTH_TEST_REGISTRY"));
        let output = self.images("build", component, &["--registry-mirror", &mirror]);
        let stdout = text(&output.stdout);
        let cols: Vec<&str> = stdout.trim().split('\t').collect();
        assert_eq!(cols.len(), 3, "{stdout}");
        Built {
            reference: cols[0].to_owned(),
            archive: PathBuf::from(cols[2]),
            stderr: text(&output.stderr),
        }
    }

    /// Every path under the repository (directories too), relative to it.
    fn tree(&self) -> BTreeSet<String> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
                if path.is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.root, &self.root, &mut out);
        out
    }
}

/// berth's shared cache (as for the app's images): a layer is rebuilt whenever the spec's step or
/// its inputs change, so warm runs skip npm and the build but check the same image.
fn layer_cache() -> PathBuf {
    std::env::var("BERTH_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| berth::images::default_cache_dir())
}

/// Whether the layer's step ran in this build (else it must have come from the cache).
fn layer_ran(built: &Built, layer: &str) -> bool {
    let ran = built.stderr.contains(&format!("layer {layer}: running"));
    assert!(
        ran || built.stderr.contains(&format!("layer {layer}: cached")),
        "{}",
        built.stderr
    );
    ran
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn json_strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The `dest` of the spec's layer `name`.
fn layer_dest(spec: &toml::Table, name: &str) -> String {
    spec["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no layer {name} in {spec:?}"))["dest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The build must not have written into the team's tree: same paths before and after, and no
/// dependency or build output directory anywhere in the component's context.
fn assert_source_untouched(before: &BTreeSet<String>, repo: &InitRepo, context: &str) {
    let after = repo.tree();
    assert_eq!(
        before.symmetric_difference(&after).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the build changed the team's tree"
    );
    for dir in ["node_modules", "dist", ".next", "build"] {
        assert!(
            !repo.root.join(context).join(dir).exists(),
            "{context}/{dir} was written into the source tree"
        );
    }
}

fn file<'a>(files: &'a BTreeMap<String, ImageEntry>, path: &str) -> &'a ImageEntry {
    let entry = files.get(path).unwrap_or_else(|| {
        let near: Vec<&String> = files
            .keys()
            .filter(|k| k.starts_with(path.rsplit_once('/').unwrap().0))
            .take(20)
            .collect();
        panic!("{path} is not in the image; near it: {near:?}")
    });
    assert_eq!(entry.kind, tar::EntryType::Regular, "{path}");
    assert!(entry.mode & 0o004 != 0, "{path} is not world-readable");
    entry
}

/// The image config's user is numeric and not root.
fn assert_non_root(image: &Archive) -> String {
    let user = image.config["config"]["User"].as_str().unwrap_or("");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("user {user:?} is not numeric"));
    assert_ne!(uid, 0, "the image runs as root");
    user.to_owned()
}

/// A task of the image running in the test containerd on the host network, removed on drop.
struct Running {
    socket: String,
    id: String,
}

impl Running {
    fn start(repo: &InitRepo, component: &str, built: &Built, env_vars: &[(&str, &str)]) -> Self {
        Self::run(repo, component, built, env_vars, true)
    }

    /// In a network namespace of its own, with only loopback: reached through `exec_until_ok`.
    fn start_isolated(
        repo: &InitRepo,
        component: &str,
        built: &Built,
        env_vars: &[(&str, &str)],
    ) -> Self {
        Self::run(repo, component, built, env_vars, false)
    }

    fn run(
        repo: &InitRepo,
        component: &str,
        built: &Built,
        env_vars: &[(&str, &str)],
        host_network: bool,
    ) -> Self {
        let socket = env("BERTH_TEST_CONTAINERD_SOCKET");
        repo.images(
            "load",
            component,
            &["--target", "containerd", "--containerd-socket", &socket],
        );
        // Unique per run: parallel tests of one process may load the same component name.
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("berth-init-{component}-{}-{run}", std::process::id());
        let mut args = vec![
            "-a".to_owned(),
            socket.clone(),
            "-n".into(),
            "k8s.io".into(),
            "run".into(),
            "-d".into(),
        ];
        if host_network {
            args.push("--net-host".into());
        }
        for (name, value) in env_vars {
            args.extend(["--env".into(), format!("{name}={value}")]);
        }
        args.extend([built.reference.clone(), id.clone()]);
        let started = output("ctr", &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(started.status.success(), "{}", text(&started.stderr));
        Self { socket, id }
    }

    /// The output of `command` run inside the container, retried for up to a minute until it
    /// succeeds (the server may not listen yet).
    fn exec_until_ok(&self, command: &[&str]) -> String {
        let start = Instant::now();
        for attempt in 0.. {
            let exec_id = format!("probe-{attempt}");
            let mut args = vec![
                "-a",
                self.socket.as_str(),
                "-n",
                "k8s.io",
                "task",
                "exec",
                "--exec-id",
                &exec_id,
                self.id.as_str(),
            ];
            args.extend(command);
            let got = output("ctr", &args);
            if got.status.success() {
                return text(&got.stdout);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{command:?} never succeeded: {}",
                text(&got.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        unreachable!()
    }

    /// Status and body of `GET url`, waiting up to a minute for the server to listen.
    fn get(&self, url: &str) -> (u16, Vec<u8>) {
        let start = Instant::now();
        loop {
            let got = output(
                "curl",
                &["-sS", "--max-time", "5", "-w", "\n%{http_code}", url],
            );
            if got.status.success() {
                let body = got.stdout;
                let split = body.iter().rposition(|b| *b == b'\n').unwrap();
                let code = text(&body[split + 1..]).parse().unwrap();
                return (code, body[..split].to_vec());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{url} never answered: {}",
                text(&got.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for args in [
            &["task", "delete", "--force", self.id.as_str()][..],
            &["container", "delete", self.id.as_str()][..],
        ] {
            let mut all = vec!["-a", self.socket.as_str(), "-n", "k8s.io"];
            all.extend(args);
            let _ = output("ctr", &all);
        }
    }
}

fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

#[test]
#[ignore = "needs a registry with the static-web-server base and containerd: run scripts/images-test.sh"]
fn an_init_written_vite_spec_builds_a_site_the_static_server_serves() {
    let repo = InitRepo::new("mcp-inprocess-poetry");
    let spec = repo.spec("frontend");
    let context = spec["context"].as_str().unwrap().to_owned();
    // Where the site goes is where the server is told to serve from.
    let served = spec["env"]["SERVER_ROOT"].as_str().unwrap().to_owned();
    assert_eq!(layer_dest(&spec, "site"), served);
    let before = repo.tree();
    let built = repo.build("frontend");
    let ran = layer_ran(&built, "site");
    assert_source_untouched(&before, &repo, &context);

    let image = Archive::read(&built.archive);
    let user = assert_non_root(&image);
    assert_eq!(
        json_strings(&image.config["config"]["Entrypoint"]),
        strings(&spec["entrypoint"])
    );
    let files = image.files();
    let server = file(&files, "/usr/local/bin/static-web-server");
    assert_eq!(&server.data[..4], b"\x7fELF", "the server is a real binary");

    // The built page, not the source one: Vite rewrote the module script into a hashed asset.
    let index = text(&file(&files, &format!("{served}/index.html")).data);
    assert!(
        !index.contains("/src/main.jsx"),
        "source index.html: {index}"
    );
    let script = index
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no script in {index}"));
    assert!(
        script.starts_with("/assets/") && script.ends_with(".js"),
        "{index}"
    );
    // (The fixture's module only exports an unused function, so the bundle is Vite's own code.)
    let asset = file(&files, &format!("{served}{script}")).data.clone();
    assert!(!asset.is_empty(), "{script} is empty");

    let port = free_port();
    let running = Running::start(
        &repo,
        "frontend",
        &built,
        &[("SERVER_PORT", &port), ("SERVER_HOST", "127.0.0.1")],
    );
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        running.get(&format!("{base}/")),
        (200, index.clone().into_bytes())
    );
    assert_eq!(running.get(&format!("{base}{script}")), (200, asset));
    // A client-side route falls back to the app's page (static-web-server serves the fallback
    // page without its trailing newline).
    let (status, body) = running.get(&format!("{base}/todos/42"));
    assert_eq!((status, text(&body).trim_end()), (200, index.trim_end()));
    eprintln!("vite site (step ran: {ran}): served as {user} by static-web-server from {served}");
}

/// A Node server image built from the spec init wrote for `component` of `fixture`, with what
/// every such image must show: the source tree untouched, a non-root user, `node server.js`.
struct NodeServer {
    repo: InitRepo,
    spec: toml::Table,
    workdir: String,
    built: Built,
    /// Whether `layer`'s step ran (not served from the layer cache).
    ran: bool,
    user: String,
    files: BTreeMap<String, ImageEntry>,
}

impl NodeServer {
    fn build(fixture: &str, component: &str, layer: &str) -> Self {
        let repo = InitRepo::new(fixture);
        let spec = repo.spec(component);
        let context = spec["context"].as_str().unwrap().to_owned();
        let workdir = spec["workdir"].as_str().unwrap().to_owned();
        let before = repo.tree();
        let built = repo.build(component);
        let ran = layer_ran(&built, layer);
        assert_source_untouched(&before, &repo, &context);

        let image = Archive::read(&built.archive);
        let user = assert_non_root(&image);
        let entrypoint = json_strings(&image.config["config"]["Entrypoint"]);
        assert_eq!(entrypoint, strings(&spec["entrypoint"]));
        assert_eq!(entrypoint, ["node", "server.js"]);
        let files = image.files();
        file(&files, &format!("{workdir}/server.js"));
        Self {
            repo,
            spec,
            workdir,
            built,
            ran,
            user,
            files,
        }
    }
}

#[test]
#[ignore = "needs a registry with the Node base and containerd: run scripts/images-test.sh"]
fn an_init_written_standalone_next_spec_builds_a_server_that_answers() {
    let NodeServer {
        repo,
        spec,
        workdir,
        built,
        ran,
        user,
        files,
    } = NodeServer::build("mcp-service", "web", "app");
    assert_eq!(layer_dest(&spec, "app"), workdir);
    file(&files, &format!("{workdir}/.next/BUILD_ID"));
    file(
        &files,
        &format!("{workdir}/.next/server/app/api/chat/route.js"),
    );
    let static_assets = files
        .keys()
        .filter(|p| p.starts_with(&format!("{workdir}/.next/static/")) && p.ends_with(".js"))
        .count();
    assert!(static_assets > 0, "no .next/static chunks in the image");
    // The traced production dependencies, without the dev ones.
    for package in ["next", "react", "react-dom"] {
        file(
            &files,
            &format!("{workdir}/node_modules/{package}/package.json"),
        );
    }
    assert!(
        !files.contains_key(&format!("{workdir}/node_modules/typescript/package.json")),
        "a devDependency was shipped"
    );

    let port = free_port();
    let running = Running::start(
        &repo,
        "web",
        &built,
        &[("PORT", &port), ("HOSTNAME", "127.0.0.1")],
    );
    let base = format!("http://127.0.0.1:{port}");
    // The route handler exists and only takes POST; an unknown path is Next's 404.
    assert_eq!(running.get(&format!("{base}/api/chat")).0, 405);
    assert_eq!(running.get(&format!("{base}/no-such-page")).0, 404);
    eprintln!(
        "next standalone (step ran: {ran}): {static_assets} static chunks, served as {user} by node server.js"
    );
}

#[test]
#[ignore = "needs a registry with the Node base and containerd: run scripts/images-test.sh"]
fn an_init_written_node_server_spec_builds_a_server_that_answers() {
    let NodeServer {
        repo,
        spec,
        workdir,
        built,
        ran,
        user,
        files,
    } = NodeServer::build("compose-only", "web", "deps");
    let context = spec["context"].as_str().unwrap();
    // The locked production dependencies, installed for the image's platform.
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo.root.join(context).join("package-lock.json")).unwrap(),
    )
    .unwrap();
    let locked = lock["packages"].as_object().unwrap();
    for (path, entry) in locked.iter().filter(|(p, _)| !p.is_empty()) {
        let manifest = file(&files, &format!("{workdir}/{path}/package.json"));
        let manifest: serde_json::Value = serde_json::from_slice(&manifest.data).unwrap();
        assert_eq!(manifest["version"], entry["version"], "{path}");
    }
    assert!(locked.len() > 50, "express and what it depends on");

    // Run in the container's own network namespace (loopback only) and ask from inside it.
    let running = Running::start_isolated(&repo, "web", &built, &[("PORT", "3000")]);
    let body = running.exec_until_ok(&["wget", "-qO-", "http://127.0.0.1:3000/"]);
    assert_eq!(body, "todo");
    eprintln!(
        "node server (step ran: {ran}): {} locked packages, served as {user} by node server.js",
        locked.len() - 1
    );
}

/// Without a package-lock.json, `npm ci` would fail: the spec init writes installs with
/// `npm install` (resolving at build time, as init told the user) and the server runs.
#[test]
#[ignore = "needs a registry with the Node base and containerd: run scripts/images-test.sh"]
fn a_node_server_without_a_lock_file_builds_with_npm_install() {
    let NodeServer {
        repo,
        spec,
        workdir,
        built,
        ran,
        user,
        files,
    } = NodeServer::build("express-no-lock", "app", "deps");
    let deps = spec["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str() == Some("deps"))
        .unwrap();
    let run = strings(&deps["run"]).join(" ");
    assert!(
        run.contains("npm install --no-package-lock") && !run.contains("npm ci"),
        "{run}"
    );
    assert_eq!(strings(&deps["inputs"]), ["package.json"]);
    file(
        &files,
        &format!("{workdir}/node_modules/express/package.json"),
    );
    assert!(!files.contains_key(&format!("{workdir}/package-lock.json")));
    let running = Running::start_isolated(&repo, "app", &built, &[("PORT", "3000")]);
    let body = running.exec_until_ok(&["wget", "-qO-", "http://127.0.0.1:3000/healthz"]);
    assert!(body.contains("\"ok\":true"), "{body}");
    eprintln!("node server without a lock (step ran: {ran}): served as {user}");
}
