//! Deploys through a registry, on the test cluster: `berth deploy --registry`
//! builds a tiny busybox-based image, pushes only missing blobs to a registry
//! that needs a login (htpasswd), renders it pinned by digest and gives the
//! ServiceAccounts a pull Secret made from the credentials the push used (a
//! stand-in `docker-credential-*` helper). And `berth deploy --images build`
//! run in a team's directory builds from the `images/` beside its berth.yaml.
//!
//! The registries are real (Debian's docker-registry, started through
//! scripts/registry.sh, seeded with busybox, and scripts/images/auth-registry.sh).
#![cfg(feature = "cluster-tests")]
// Each test has its own runtime; the guard only keeps them from starting the
// registries at once.
#![allow(clippy::await_holding_lock)]

mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::{Api, ListParams};

/// The release is named after the stack's appName.
const RELEASE: &str = "regtest";
const USER: &str = "berth-test";

/// The registries are shared per process: one test at a time starts them.
static SERIAL: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn last_line(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The seeded registry (busybox bases) and a fresh one that needs a login;
/// stopped again on drop (the seeded one only when this test started it).
struct Registries {
    seeded: String,
    auth: String,
    password: String,
    auth_dir: tempfile::TempDir,
    started_seeded: bool,
}

impl Registries {
    fn start() -> Self {
        let script = repo().join("scripts/registry.sh");
        let running = Command::new(&script).arg("addr").output().unwrap();
        let seeded = last_line(
            &Command::new(&script).arg("up").output().unwrap(),
            "scripts/registry.sh up",
        );
        let auth_dir = tempfile::tempdir().unwrap();
        let password = format!("pw-{}-{}", std::process::id(), rand_suffix());
        let auth = last_line(
            &Command::new(repo().join("scripts/images/auth-registry.sh"))
                .arg("start")
                .arg(auth_dir.path().join("registry"))
                .args([USER, &password])
                .output()
                .unwrap(),
            "scripts/images/auth-registry.sh start",
        );
        Registries {
            seeded,
            auth,
            password,
            auth_dir,
            started_seeded: !running.status.success(),
        }
    }
}

impl Drop for Registries {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/images/auth-registry.sh"))
            .arg("stop")
            .arg(self.auth_dir.path().join("registry"))
            .output();
        if self.started_seeded {
            let _ = Command::new(repo().join("scripts/registry.sh"))
                .arg("down")
                .output();
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

/// A team's directory: berth.yaml with one component built from
/// images/regtest.toml (busybox serving a file), and its build context.
fn team_dir(content: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "berth.yaml",
        "appName: regtest\nappVersion: 0.1.0\nnamespace: {name: regtest, create: true}\n\
         components:\n  web:\n    image: {repository: localhost/berth-test/regtest, tag: dev, build: images/regtest.toml}\n    port: 8080\n    probes: {tcp: true}\n\
         database: {mode: external, external: {urlSecret: dbUrl}}\n\
         secrets:\n  dbUrl: {fromEnv: REGTEST_DATABASE_URL, generate: {length: 24}}\n\
         expose: {mode: none}\n",
    );
    write(
        "images/regtest.toml",
        "kind = \"build\"\nrepository = \"localhost/berth-test/regtest\"\n\
         base = \"docker.io/library/busybox:1.35.0\"\ncontext = \"site\"\nuser = \"10001:10001\"\n\
         workdir = \"/app\"\nentrypoint = [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/app\"]\nports = [8080]\n\n\
         [[layers]]\nname = \"site\"\ncopy = [\".\"]\ndest = \"/app\"\n",
    );
    write("site/index.html", content);
    dir
}

/// berth run in `dir` (no flags pointing at it), against the test cluster.
fn berth_in(dir: &Path, cache: &Path, args: &[&str], env: &[(&str, &str)]) -> cluster::Run {
    let start = std::time::Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env("BERTH_CACHE_DIR", cache)
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("SOURCE_DATE_EPOCH");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("berth runs");
    cluster::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// `berth deploy --yes -n NS --timeout 2m ARGS…` in `dir`.
fn deploy_in(
    dir: &Path,
    cache: &Path,
    ns: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> cluster::Run {
    let mut all = vec!["deploy", "--yes", "-n", ns, "--timeout", "2m"];
    all.extend_from_slice(args);
    berth_in(dir, cache, &all, env)
}

/// A Docker config naming a stand-in credential helper (`credsStore`), the
/// way Docker Desktop stores logins; the helper logs which servers it was
/// asked for. Returns (DOCKER_CONFIG, PATH).
fn docker_login(dir: &Path, password: &str) -> (String, String) {
    use std::os::unix::fs::PermissionsExt as _;
    let helper = dir.join("docker-credential-berth-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\necho \"$server\" >> '{}'\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{password}\"}}' \"$server\"\n",
            dir.join("asked").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("config.json"), r#"{"credsStore":"berth-test"}"#).unwrap();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    (dir.display().to_string(), path)
}

/// The images of a Deployment's containers and init containers.
async fn images_of(ns: &str, name: &str) -> Vec<String> {
    let deployment = Api::<Deployment>::namespaced(cluster::client().await, ns)
        .get(name)
        .await
        .unwrap();
    let spec = deployment.spec.unwrap().template.spec.unwrap();
    spec.containers
        .into_iter()
        .chain(spec.init_containers.unwrap_or_default())
        .filter_map(|c| c.image)
        .collect()
}

/// `(uploaded, total)` from the push line berth prints for `image`.
fn blobs_pushed(stderr: &str, image: &str) -> (usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&format!("{image}: pushed ")))
        .unwrap_or_else(|| panic!("no push line for {image}:\n{stderr}"));
    let counts = line.rsplit(", ").next().unwrap();
    let mut numbers = counts
        .split_whitespace()
        .filter_map(|w| w.parse::<usize>().ok());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Whether the registry serves `repository@digest` (with the login).
fn registry_has(registry: &str, password: &str, repository: &str, digest: &str) -> bool {
    let url = format!("http://{registry}/v2/{repository}/manifests/{digest}");
    let output = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-u", &format!("{USER}:{password}")])
        .args([
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        ])
        .arg(url)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout) == "200"
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_pushes_pins_by_digest_and_pulls_with_a_secret_from_the_login() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registries = Registries::start();
    let ns = cluster::namespace("registry");
    let team = team_dir(&format!("registry test {ns}\n"));
    let cache = tempfile::tempdir().unwrap();
    let login = tempfile::tempdir().unwrap();
    let (docker_config, path) = docker_login(login.path(), &registries.password);
    let mirror = format!("docker.io=http://{}", registries.seeded);
    let deploy = || {
        deploy_in(
            team.path(),
            cache.path(),
            &ns,
            &["--registry", &registries.auth, "--registry-mirror", &mirror],
            &[("DOCKER_CONFIG", &docker_config), ("PATH", &path)],
        )
    };
    let never_shows_the_password = |run: &cluster::Run| {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains(&registries.password),
            "the password was printed:\n{all}"
        );
    };

    let first = deploy();
    first.assert_code(0);
    never_shows_the_password(&first);
    let (uploaded, total) = blobs_pushed(&first.stderr, "regtest");
    assert!(
        total >= 3 && uploaded == total,
        "a fresh registry gets every blob: {uploaded}/{total}"
    );

    // The workload runs the pushed image, by digest, and the registry has it.
    let images = images_of(&ns, &format!("{RELEASE}-web")).await;
    let prefix = format!("{}/berth-test/regtest@sha256:", registries.auth);
    assert!(
        !images.is_empty() && images.iter().all(|i| i.starts_with(&prefix)),
        "{images:?}"
    );
    let digest = images[0].rsplit_once('@').unwrap().1;
    assert_eq!(digest.len(), "sha256:".len() + 64);
    assert!(registry_has(
        &registries.auth,
        &registries.password,
        "berth-test/regtest",
        digest
    ));

    // The pull Secret holds the login the push used, for that registry host.
    let client = cluster::client().await;
    let secret = Api::<Secret>::namespaced(client.clone(), &ns)
        .get(&format!("{RELEASE}-image-pull"))
        .await
        .unwrap();
    assert_eq!(
        secret.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson")
    );
    let config: serde_json::Value =
        serde_json::from_slice(&secret.data.unwrap()[".dockerconfigjson"].0).unwrap();
    let entry = &config["auths"][registries.auth.as_str()];
    assert_eq!(entry["username"], USER);
    assert_eq!(entry["password"], registries.password.as_str());
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", registries.password));
    assert_eq!(entry["auth"], basic.as_str());
    assert_eq!(
        config["auths"].as_object().unwrap().len(),
        1,
        "only the pushed-to registry: {config}"
    );
    let asked = std::fs::read_to_string(login.path().join("asked")).unwrap();
    assert!(asked.lines().any(|l| l == registries.auth), "{asked}");

    // Every ServiceAccount of the release references it.
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={RELEASE}")))
        .await
        .unwrap();
    assert!(!accounts.items.is_empty());
    for account in &accounts.items {
        let names: Vec<&str> = account
            .image_pull_secrets
            .iter()
            .flatten()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(
            names,
            [format!("{RELEASE}-image-pull")],
            "{:?}",
            account.metadata.name
        );
    }

    // The revision records neither the login nor the Secret's content.
    let release = berth::apply::Release::new(RELEASE, &ns);
    let (_, content) = berth::apply::revision::load(&client, &release, 1)
        .await
        .unwrap()
        .expect("revision 1");
    let recorded = format!("{}{}", content.manifests, content.values);
    assert!(recorded.contains(&format!("{RELEASE}-image-pull")));
    for secret in [registries.password.as_str(), basic.as_str()] {
        assert!(
            !recorded.contains(secret),
            "the revision holds a credential"
        );
    }

    // Nothing changed: the second deploy uploads no blob and writes nothing.
    let second = deploy();
    second.assert_code(0);
    never_shows_the_password(&second);
    assert_eq!(blobs_pushed(&second.stderr, "regtest"), (0, total));
    assert!(second.stderr.contains("no changes"), "{}", second.stderr);
    assert_eq!(images_of(&ns, &format!("{RELEASE}-web")).await, images);

    // The pull Secret is the release's: a deploy without the registry prunes it.
    let without = deploy_in(team.path(), cache.path(), &ns, &["--images", "skip"], &[]);
    without.assert_code(0);
    let pruned = Api::<Secret>::namespaced(client.clone(), &ns)
        .get_opt(&format!("{RELEASE}-image-pull"))
        .await
        .unwrap();
    assert!(pruned.is_none(), "{}", without.stderr);
    cluster::cleanup(&ns);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_required_pull_secret_without_a_login_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registries = Registries::start();
    let ns = cluster::namespace("nologin");
    let team = team_dir("no login\n");
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let run = deploy_in(
        team.path(),
        cache.path(),
        &ns,
        &[
            "--registry",
            &registries.auth,
            "--set",
            "registry.pullSecret=true",
            "--registry-mirror",
            &format!("docker.io=http://{}", registries.seeded),
        ],
        &[("DOCKER_CONFIG", &empty.path().display().to_string())],
    );
    run.assert_code(2);
    assert!(
        run.stderr.contains("registry.pullSecret") && run.stderr.contains("no credentials"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let namespaces = cluster::kubectl(&["get", "namespace", &ns]);
    assert!(!namespaces.status.success(), "the namespace was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_builds_from_the_images_beside_berth_yaml() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registries = Registries::start();
    let ns = cluster::namespace("teamdir");
    let team = team_dir(&format!("team dir {ns}\n"));
    let cache = tempfile::tempdir().unwrap();
    let mirror = format!("docker.io=http://{}", registries.seeded);
    // What `berth images build` makes of the same directory.
    let built = berth_in(
        team.path(),
        cache.path(),
        &["images", "build", "--registry-mirror", &mirror],
        &[],
    );
    built.assert_code(0);
    let reference = built.stdout.split('\t').next().unwrap().to_string();
    assert!(
        reference.starts_with("localhost/berth-test/regtest:") && !reference.ends_with(":dev"),
        "{reference}"
    );
    let build = ["--images", "build", "--registry-mirror", &mirror];
    let run = deploy_in(team.path(), cache.path(), &ns, &build, &[]);
    run.assert_code(0);
    assert_eq!(
        images_of(&ns, &format!("{RELEASE}-web")).await,
        std::slice::from_ref(&reference)
    );

    // --root and --specs-dir name another tree: its spec and content are built.
    let elsewhere = team_dir(&format!("elsewhere {ns}\n"));
    let root = elsewhere.path().display().to_string();
    let specs = elsewhere.path().join("images").display().to_string();
    let elsewhere_flags = [&build[..], &["--root", &root, "--specs-dir", &specs]].concat();
    let run = deploy_in(team.path(), cache.path(), &ns, &elsewhere_flags, &[]);
    run.assert_code(0);
    let images = images_of(&ns, &format!("{RELEASE}-web")).await;
    assert!(
        images[0].starts_with("localhost/berth-test/regtest:") && images[0] != reference,
        "{images:?}"
    );
    drop(registries);
    cluster::cleanup(&ns);
}
