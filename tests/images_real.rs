//! Image tests against real parts: a registry (Debian's docker-registry, seeded with a busybox
//! base built from Debian's busybox-static), skopeo, and a containerd started on its own socket.
//! `scripts/images-test.sh` sets everything up and runs these with `--include-ignored`; run by
//! hand they need `BERTH_TEST_REGISTRY=host:port` and `BERTH_TEST_CONTAINERD_SOCKET=path`.

#[path = "common/images.rs"]
mod common;

use std::fs;
use std::process::Command;

use common::{Fixture, fails_with_2, leftovers, ok, text};
use serde_json::Value;

const NEEDS: &str = "needs a real registry and containerd: run scripts/images-test.sh";

fn registry() -> String {
    std::env::var("BERTH_TEST_REGISTRY")
        .expect("BERTH_TEST_REGISTRY=host:port (see scripts/images-test.sh)")
}

fn containerd_socket() -> String {
    std::env::var("BERTH_TEST_CONTAINERD_SOCKET")
        .expect("BERTH_TEST_CONTAINERD_SOCKET=path (see scripts/images-test.sh)")
}

fn mirror() -> String {
    format!("docker.io=http://{}", registry())
}

/// One built image as `berth images build` prints it: reference, digest, archive.
#[derive(Debug, Clone, PartialEq)]
struct Printed {
    reference: String,
    digest: String,
    archive: String,
}

fn build(fx: &Fixture, components: &[&str], out: &str, cache: &str) -> Vec<Printed> {
    build_via(fx, &mirror(), components, out, cache)
}

/// Builds with docker.io mapped to `mirror`.
fn build_via(
    fx: &Fixture,
    mirror: &str,
    components: &[&str],
    out: &str,
    cache: &str,
) -> Vec<Printed> {
    let mut sub = vec!["images", "build"];
    sub.extend(components);
    let out_dir = fx.path(out).to_string_lossy().into_owned();
    let stdout = ok(&fx.berth_with_cache(
        &sub,
        &["--registry-mirror", mirror, "--out", &out_dir],
        cache,
    ));
    stdout
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Printed {
                reference: cols[0].into(),
                digest: cols[1].into(),
                archive: cols[2].into(),
            }
        })
        .collect()
}

fn record(fx: &Fixture, out: &str, name: &str) -> Value {
    serde_json::from_slice(&fs::read(fx.path(out).join(format!("{name}.json"))).unwrap()).unwrap()
}

fn app_layer(record: &Value, name: &str) -> String {
    record["app_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no layer {name}"))["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn skopeo_inspect(target: &str) -> Value {
    serde_json::from_str(&run("skopeo", &["inspect", "--tls-verify=false", target])).unwrap()
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn build_is_reproducible_and_skopeo_accepts_the_archive() {
    let _ = NEEDS;
    let fx = Fixture::new();
    let first = build(&fx, &["hello"], "out-a", "cache-a");
    // A second, cold build (own cache) from the same inputs.
    let second = build(&fx, &["hello"], "out-b", "cache-b");
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].digest, second[0].digest,
        "same inputs must give the same image digest"
    );
    assert_eq!(first[0].reference, second[0].reference);
    assert!(
        first[0]
            .reference
            .starts_with("localhost/berth-test/hello:")
    );
    assert_eq!(
        first[0].reference.rsplit(':').next().unwrap(),
        &first[0].digest["sha256:".len()..][..16],
        "tag derives from content"
    );
    assert_eq!(
        fs::read(&first[0].archive).unwrap(),
        fs::read(&second[0].archive).unwrap(),
        "archives must be byte-identical"
    );

    for transport in ["oci-archive", "docker-archive"] {
        let info = skopeo_inspect(&format!("{transport}:{}", first[0].archive));
        assert_eq!(info["Architecture"], "amd64", "{transport}");
        assert_eq!(info["Os"], "linux");
        assert_eq!(
            info["Layers"].as_array().unwrap().len(),
            3,
            "busybox layer + deps + code"
        );
        assert_eq!(
            info["Labels"]["org.opencontainers.image.revision"],
            "test-revision"
        );
        assert_eq!(
            info["Labels"]["org.opencontainers.image.created"],
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            info["Labels"]["org.opencontainers.image.source"],
            "https://example.invalid/berth"
        );
        assert!(
            info["Env"]
                .as_array()
                .unwrap()
                .contains(&"GREETING=hello from berth".into())
        );
    }
    let oci = skopeo_inspect(&format!("oci-archive:{}", first[0].archive));
    assert_eq!(
        oci["Digest"],
        first[0].digest.as_str(),
        "the OCI index points at the manifest berth reported"
    );

    // The code layer: .dockerignore applied, fixed owner and modes, explicit parents.
    let code = app_layer(&record(&fx, "out-a", "hello"), "code");
    let blob = fs::read(
        fx.path("cache-a/blobs/sha256")
            .join(&code["sha256:".len()..]),
    )
    .unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    let entries: Vec<(String, u32, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().to_string_lossy().into_owned(),
                e.header().mode().unwrap(),
                e.header().uid().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "app/",
            "app/.dockerignore",
            "app/bin/",
            "app/bin/hello.sh",
            "app/message.txt"
        ]
    );
    assert_eq!(
        entries.iter().map(|e| e.1).collect::<Vec<_>>(),
        [0o755, 0o644, 0o755, 0o755, 0o644]
    );
    assert!(entries.iter().all(|e| e.2 == 0), "app files are root-owned");
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn a_one_file_code_change_rebuilds_only_the_code_layer() {
    let fx = Fixture::new();
    let before = build(&fx, &["hello"], "out", "cache");
    let record_before = record(&fx, "out", "hello");
    fs::write(fx.path("hello/message.txt"), "a changed message\n").unwrap();
    let after = build(&fx, &["hello"], "out", "cache");
    let record_after = record(&fx, "out", "hello");
    assert_ne!(before[0].digest, after[0].digest);
    assert_ne!(
        before[0].reference, after[0].reference,
        "a new content-derived tag"
    );
    assert_eq!(
        app_layer(&record_before, "deps"),
        app_layer(&record_after, "deps")
    );
    assert_ne!(
        app_layer(&record_before, "code"),
        app_layer(&record_after, "code")
    );
    let layers = |r: &Value| r["layers"].as_array().unwrap().clone();
    assert_eq!(
        layers(&record_before)[0],
        layers(&record_after)[0],
        "base layer unchanged"
    );
    assert_eq!(layers(&record_before).len(), layers(&record_after).len());
    let changed: Vec<usize> = (0..layers(&record_before).len())
        .filter(|&i| layers(&record_before)[i] != layers(&record_after)[i])
        .collect();
    assert_eq!(changed, [2], "only the code layer (index 2) differs");
    // The deps step did not run again.
    let stderr = text(
        &fx.berth(
            &["images", "build", "hello"],
            &[
                "--registry-mirror",
                &mirror(),
                "--out",
                &fx.path("out").to_string_lossy(),
            ],
        )
        .stderr,
    );
    assert!(stderr.contains("layer deps: cached"), "{stderr}");
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn after_a_code_change_containerd_gets_only_the_blobs_it_lacks() {
    let fx = Fixture::new();
    let socket = containerd_socket();
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    let load = || {
        ok(&fx.berth(
            &["images", "load", "hello"],
            &[
                "--target",
                "containerd",
                "--containerd-socket",
                &socket,
                "--out",
                &out_dir,
            ],
        ))
    };
    // Unique content: the containerd of the test run has seen other builds of this fixture.
    let nonce = format!(
        "partial {} {:?}\n",
        std::process::id(),
        std::time::SystemTime::now()
    );
    fs::write(fx.path("hello/message.txt"), &nonce).unwrap();
    build(&fx, &["hello"], "out", "cache");
    let first = load();
    let changed = format!("{nonce}changed\n");
    fs::write(fx.path("hello/message.txt"), &changed).unwrap();
    let after = build(&fx, &["hello"], "out", "cache");
    let second = load();
    // The base and deps layers are on the node: the code layer, config and manifest go.
    let row = second
        .lines()
        .find(|l| l.starts_with(after[0].reference.as_str()))
        .unwrap_or_else(|| panic!("first: {first}\nsecond: {second}"));
    assert!(row.contains("(3 of 5 blobs sent"), "{row}");
    let listing = run("ctr", &["-a", &socket, "-n", "k8s.io", "images", "ls"]);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(after[0].reference.as_str()) && l.contains(&after[0].digest)),
        "{listing}"
    );
    // It unpacks and runs from the layers the node already had.
    let id = format!("berth-partial-{}", std::process::id());
    let output = run(
        "ctr",
        &[
            "-a",
            &socket,
            "-n",
            "k8s.io",
            "run",
            "--rm",
            &after[0].reference,
            &id,
        ],
    );
    assert!(output.contains(changed.trim_end()), "{output}");
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn containerd_imports_runs_as_non_root_and_skips_present_images() {
    let fx = Fixture::new();
    let built = build(&fx, &["hello", "busybox"], "out", "cache");
    let socket = containerd_socket();
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    let load = |components: &[&str]| {
        let mut sub = vec!["images", "load"];
        sub.extend(components);
        ok(&fx.berth(
            &sub,
            &[
                "--target",
                "containerd",
                "--containerd-socket",
                &socket,
                "--out",
                &out_dir,
            ],
        ))
    };
    let first = load(&["hello", "busybox"]);
    let hello = &built
        .iter()
        .find(|b| b.reference.contains("hello"))
        .unwrap()
        .reference;
    assert!(
        first
            .lines()
            .any(|l| l.starts_with(hello.as_str()) && l.contains("loaded in")),
        "{first}"
    );
    let second = load(&["hello"]);
    assert!(
        second.contains("already present"),
        "second load must skip: {second}"
    );

    let listing = run("ctr", &["-a", &socket, "-n", "k8s.io", "images", "ls"]);
    let row = listing
        .lines()
        .find(|l| l.starts_with(hello.as_str()))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        row.contains(&built.iter().find(|b| &b.reference == hello).unwrap().digest),
        "{row}"
    );
    assert!(
        listing.contains("docker.io/library/busybox:1.35.0"),
        "mirrored image loaded: {listing}"
    );

    let id = format!("berth-test-{}", std::process::id());
    let output = run(
        "ctr",
        &["-a", &socket, "-n", "k8s.io", "run", "--rm", hello, &id],
    );
    assert_eq!(
        output.lines().collect::<Vec<_>>(),
        [
            "hello from berth, world: uid=10001 gid=10001 cwd=/app",
            "dep: alpha==1.0",
            "dep: beta==2.0",
            "built for tests",
            "one message from the code layer",
        ]
    );
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn push_then_pull_by_digest_round_trips() {
    let fx = Fixture::new();
    let built = build(&fx, &["hello"], "out", "cache");
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    // A repository of its own: the registry outlives test runs, and identical builds would
    // otherwise find every blob already there.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let target = format!("{}/pushed-{nanos}", registry());
    let pushed = ok(&fx.berth(&["images", "push", &target, "hello"], &["--out", &out_dir]));
    let tag = built[0].reference.rsplit(':').next().unwrap();
    let expected_ref = format!("{target}/berth-test/hello:{tag}@{}", built[0].digest);
    assert!(pushed.starts_with(&expected_ref), "{pushed}");
    assert!(
        pushed.contains("4/4 blobs uploaded"),
        "first push uploads every blob: {pushed}"
    );
    let again = ok(&fx.berth(&["images", "push", &target, "hello"], &["--out", &out_dir]));
    assert!(
        again.contains("0/4 blobs uploaded"),
        "second push skips every blob: {again}"
    );

    let by_digest = format!("docker://{target}/berth-test/hello@{}", built[0].digest);
    let info = skopeo_inspect(&by_digest);
    assert_eq!(info["Digest"], built[0].digest.as_str());
    let pulled = fx.path("pulled");
    run(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            &by_digest,
            &format!("oci:{}:x", pulled.display()),
        ],
    );
    let index: Value =
        serde_json::from_slice(&fs::read(pulled.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        built[0].digest.as_str(),
        "pulled manifest is byte-identical"
    );
    let record = record(&fx, "out", "hello");
    for layer in record["layers"].as_array().unwrap() {
        let hex = &layer.as_str().unwrap()["sha256:".len()..];
        let pulled_blob = fs::read(pulled.join("blobs/sha256").join(hex)).unwrap();
        let cached_blob = fs::read(fx.path("cache/blobs/sha256").join(hex)).unwrap();
        assert_eq!(pulled_blob, cached_blob);
    }
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn mirror_spec_keeps_the_upstream_digest() {
    let fx = Fixture::new();
    let built = build(&fx, &["busybox"], "out", "cache");
    let upstream = skopeo_inspect(&format!("docker://{}/library/busybox:1.35.0", registry()));
    assert_eq!(built[0].reference, "docker.io/library/busybox:1.35.0");
    assert_eq!(built[0].digest, upstream["Digest"].as_str().unwrap());
}

/// `image.buildEnv` from the stack (berth.yaml in the working directory, `--set` over it):
/// every build step of the spec gets the resolved values, a new origin builds the layer again
/// and gives a new image, the same origin is served from the cache, and a refused value exits 2
/// before anything is built.
#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn build_env_follows_the_origin_and_the_same_origin_hits_the_cache() {
    let fx = Fixture::new();
    fs::write(
        fx.path("specs/origin.toml"),
        r#"kind = "build"
repository = "localhost/berth-test/origin"
base = "docker.io/library/busybox:1.35.0"
context = "hello"
user = "10001:10001"
entrypoint = ["/bin/cat", "/app/site/api-url"]

[[layers]]
name = "site"
inputs = ["message.txt"]
run = ["sh", "-c", "printf '%s %s' \"$VITE_API_URL\" \"$VITE_MODE\" > {out}/api-url"]
dest = "/app/site"
"#,
    )
    .unwrap();
    fs::write(
        fx.path("berth.yaml"),
        r#"appName: origin-test
components:
  web:
    image:
      repository: localhost/berth-test/origin
      tag: "0.1.0"
      build: specs/origin.toml
      buildEnv:
        VITE_API_URL: {externalUrl: /api}
        VITE_MODE: demo
    port: 8080
database: {mode: none}
expose:
  mode: ingress
  ingress: {host: a.example.test}
  routes: {"/": web}
"#,
    )
    .unwrap();
    let mirror = mirror();
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    let build_in_repo = |extra: &[&str]| {
        let mut args = vec![
            "--registry-mirror",
            mirror.as_str(),
            "--out",
            out_dir.as_str(),
        ];
        args.extend_from_slice(extra);
        fx.berth_command(&["images", "build", "origin"], &args, "cache")
            .current_dir(fx.root())
            .output()
            .unwrap()
    };
    let site = |output: &std::process::Output| {
        let line = ok(output);
        let record = record(&fx, "out", "origin");
        (line, app_layer(&record, "site"), text(&output.stderr))
    };

    let (first, first_layer, stderr) = site(&build_in_repo(&[]));
    assert!(
        stderr.contains("layer site: running")
            && stderr.contains("VITE_API_URL=http://a.example.test/api"),
        "{stderr}"
    );
    assert_eq!(
        file_in_layer(&fx, "cache", &first_layer, "app/site/api-url").as_deref(),
        Some("http://a.example.test/api demo")
    );

    let (again, again_layer, stderr) = site(&build_in_repo(&[]));
    assert!(
        stderr.contains("layer site: cached"),
        "same origin: {stderr}"
    );
    assert_eq!(
        (again.as_str(), again_layer.as_str()),
        (first.as_str(), first_layer.as_str())
    );

    let (other, other_layer, stderr) = site(&build_in_repo(&[
        "--set",
        "expose.ingress.host=b.example.test",
    ]));
    assert!(
        stderr.contains("layer site: running"),
        "new origin: {stderr}"
    );
    assert_ne!(other_layer, first_layer);
    assert_ne!(other, first, "a new image (content-derived tag and digest)");
    assert_eq!(
        file_in_layer(&fx, "cache", &other_layer, "app/site/api-url").as_deref(),
        Some("http://b.example.test/api demo")
    );

    // Back to the first origin: its layer is still cached.
    let (back, _, stderr) = site(&build_in_repo(&[]));
    assert!(stderr.contains("layer site: cached"), "{stderr}");
    assert_eq!(back, first);

    let stderr = fails_with_2(&build_in_repo(&[
        "--set",
        "components.web.image.buildEnv.VITE_BACKEND.urlOf=web",
    ]));
    assert!(
        stderr.contains("components.web.image.buildEnv.VITE_BACKEND.urlOf")
            && stderr.contains("cannot resolve cluster DNS"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn bad_input_fails_with_image_and_step_and_keeps_the_cache_clean() {
    let fx = Fixture::new();
    let spec_path = fx.path("specs/hello.toml");
    let spec = fs::read_to_string(&spec_path).unwrap();

    fs::write(
        &spec_path,
        spec.replace("busybox:1.35.0", "busybox:0.0-missing"),
    )
    .unwrap();
    let stderr = fails_with_2(&fx.berth(
        &["images", "build", "hello"],
        &["--registry-mirror", &mirror()],
    ));
    assert!(
        stderr.contains("image hello, step \"pull base docker.io/library/busybox:0.0-missing\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("MANIFEST_UNKNOWN") || stderr.contains("manifest unknown"),
        "{stderr}"
    );

    fs::write(
        &spec_path,
        spec.replace(
            "sed 's/^/dep: /'",
            "echo 'ERROR: no matching distribution for alpha' >&2; exit 7; sed",
        ),
    )
    .unwrap();
    let stderr = fails_with_2(&fx.berth(
        &["images", "build", "hello"],
        &["--registry-mirror", &mirror()],
    ));
    assert!(
        stderr.contains("image hello, step \"layer deps\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR: no matching distribution for alpha"),
        "step output is shown: {stderr}"
    );
    assert!(stderr.contains("exit status: 7"), "{stderr}");

    fs::write(
        &spec_path,
        spec.replace("context = \"hello\"", "context = \"no-such-dir\""),
    )
    .unwrap();
    let stderr = fails_with_2(&fx.berth(
        &["images", "build", "hello"],
        &["--registry-mirror", &mirror()],
    ));
    assert!(
        stderr.contains("image hello, step \"layer deps\"") && stderr.contains("no-such-dir"),
        "{stderr}"
    );

    // Nothing half-written survived, and the blobs that are there are intact.
    let cache = fx.path("cache");
    assert!(leftovers(&cache, ".tmp").is_empty() && leftovers(&cache, ".running-").is_empty());
    for blob in fs::read_dir(cache.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        let digest = berth::images::store::Digest::of(&fs::read(blob.path()).unwrap());
        assert_eq!(digest.hex(), blob.file_name().to_string_lossy());
    }
    // After fixing the spec the build succeeds from the same cache.
    fs::write(&spec_path, spec).unwrap();
    assert_eq!(build(&fx, &["hello"], "out", "cache").len(), 1);
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn push_uses_credentials_from_the_docker_config() {
    use base64::Engine as _;
    let fx = Fixture::new();
    let built = build(&fx, &["hello"], "out", "cache");
    let registry =
        std::env::var("BERTH_TEST_AUTH_REGISTRY").expect("BERTH_TEST_AUTH_REGISTRY=host:port");
    let credentials = std::env::var("BERTH_TEST_AUTH_CREDENTIALS")
        .expect("BERTH_TEST_AUTH_CREDENTIALS=user:password");
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    let push_with = |config_credentials: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        if let Some(creds) = config_credentials {
            let auth = base64::engine::general_purpose::STANDARD.encode(creds);
            let config = serde_json::json!({"auths": {registry.as_str(): {"auth": auth}}});
            fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        }
        fx.berth_command(
            &["images", "push", &registry, "hello"],
            &["--out", &out_dir],
            "cache",
        )
        .env("DOCKER_CONFIG", dir.path())
        .output()
        .unwrap()
    };

    let stderr = fails_with_2(&push_with(None));
    assert!(
        stderr.contains("image hello, step \"push\"")
            && stderr.contains(&format!("registry {registry}")),
        "{stderr}"
    );
    let user = credentials.split(':').next().unwrap();
    let stderr = fails_with_2(&push_with(Some(&format!("{user}:wrong-password"))));
    assert!(stderr.contains("image hello, step \"push\""), "{stderr}");

    let pushed = ok(&push_with(Some(&credentials)));
    assert!(pushed.contains("4/4 blobs uploaded"), "{pushed}");
    let by_digest = format!("docker://{registry}/berth-test/hello@{}", built[0].digest);
    let info: Value = serde_json::from_str(&run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &credentials,
            &by_digest,
        ],
    ))
    .unwrap();
    assert_eq!(info["Digest"], built[0].digest.as_str());
}

/// A stand-in `docker-credential-<name>` in `dir` speaking the helper protocol: it logs the
/// server URL it is asked for and answers with the user and secret stored beside it.
fn credential_helper(dir: &std::path::Path, name: &str, user: &str, secret: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::write(dir.join("user"), user).unwrap();
    fs::write(dir.join("secret"), secret).unwrap();
    let script = format!(
        r#"#!/bin/sh
[ "$1" = get ] || {{ echo "unsupported action $1" >&2; exit 1; }}
read -r server
echo "$server" >> "{dir}/asked"
printf '{{"ServerURL":"%s","Username":"%s","Secret":"%s"}}' "$server" "$(cat "{dir}/user")" "$(cat "{dir}/secret")"
"#,
        dir = dir.display()
    );
    let program = dir.join(format!("docker-credential-{name}"));
    fs::write(&program, script).unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn push_uses_credential_helpers_and_podman_auth_files() {
    use base64::Engine as _;
    let fx = Fixture::new();
    let built = build(&fx, &["hello"], "out", "cache");
    let registry =
        std::env::var("BERTH_TEST_AUTH_REGISTRY").expect("BERTH_TEST_AUTH_REGISTRY=host:port");
    let credentials = std::env::var("BERTH_TEST_AUTH_CREDENTIALS")
        .expect("BERTH_TEST_AUTH_CREDENTIALS=user:password");
    let (user, password) = credentials.split_once(':').unwrap();
    // Its own repositories, so the other push test's blob counts stay its own.
    let target = format!("{registry}/helpers");
    let out_dir = fx.path("out").to_string_lossy().into_owned();
    let helpers = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap()
    );
    let push = |env: &[(&str, &std::path::Path)]| {
        let mut command = fx.berth_command(
            &["images", "push", &target, "hello"],
            &["--out", &out_dir],
            "cache",
        );
        command.env("PATH", &path);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let never_shows = |output: &std::process::Output, secret: &str| {
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(!all.contains(secret), "a secret was printed:\n{all}");
    };

    // Docker Desktop's shape: `credsStore` names a helper, `auths` keeps an empty entry.
    let docker = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"credsStore": "berth-test", "auths": {registry.as_str(): {}}});
    fs::write(docker.path().join("config.json"), config.to_string()).unwrap();
    credential_helper(helpers.path(), "berth-test", user, password);
    let output = push(&[("DOCKER_CONFIG", docker.path())]);
    never_shows(&output, password);
    let pushed = ok(&output);
    assert!(
        pushed.contains(&format!("{target}/berth-test/hello:"))
            && pushed.contains(&built[0].digest),
        "{pushed}"
    );
    assert_eq!(
        fs::read_to_string(helpers.path().join("asked")).unwrap(),
        format!("{registry}\n"),
        "the helper is asked once, for the registry's host"
    );

    // `credHelpers` for this registry wins over `credsStore`; a wrong secret fails, unprinted.
    let per_registry = tempfile::tempdir().unwrap();
    credential_helper(
        per_registry.path(),
        "per-registry",
        user,
        "wrong-secret-7f3a",
    );
    let config = serde_json::json!({"credsStore": "berth-test", "credHelpers": {registry.as_str(): "per-registry"}});
    fs::write(docker.path().join("config.json"), config.to_string()).unwrap();
    let mut command = fx.berth_command(
        &["images", "push", &target, "hello"],
        &["--out", &out_dir],
        "cache",
    );
    command
        .env("PATH", format!("{}:{path}", per_registry.path().display()))
        .env("DOCKER_CONFIG", docker.path());
    let output = command.output().unwrap();
    never_shows(&output, "wrong-secret-7f3a");
    let stderr = fails_with_2(&output);
    assert!(
        stderr.contains("image hello, step \"push\"")
            && stderr.contains("hint: berth uses the credentials"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(per_registry.path().join("asked")).unwrap(),
        format!("{registry}\n")
    );

    // A helper named but not installed is a clear error, not an anonymous attempt.
    let config = serde_json::json!({"credsStore": "not-installed"});
    fs::write(docker.path().join("config.json"), config.to_string()).unwrap();
    let stderr = fails_with_2(&push(&[("DOCKER_CONFIG", docker.path())]));
    assert!(
        stderr.contains("docker-credential-not-installed") && stderr.contains("not found on PATH"),
        "{stderr}"
    );

    // Podman's auth.json through REGISTRY_AUTH_FILE, ahead of DOCKER_CONFIG's broken helper.
    let podman = tempfile::tempdir().unwrap();
    let auth_file = podman.path().join("auth.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(&credentials);
    let config = serde_json::json!({"auths": {registry.as_str(): {"auth": auth}}});
    fs::write(&auth_file, config.to_string()).unwrap();
    let output = push(&[
        ("REGISTRY_AUTH_FILE", &auth_file),
        ("DOCKER_CONFIG", docker.path()),
    ]);
    never_shows(&output, password);
    assert!(ok(&output).contains(&built[0].digest));
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn base_pulls_through_the_anonymous_token_flow() {
    let registry =
        std::env::var("BERTH_TEST_TOKEN_REGISTRY").expect("BERTH_TEST_TOKEN_REGISTRY=host:port");
    let token_log =
        std::env::var("BERTH_TEST_TOKEN_LOG").expect("BERTH_TEST_TOKEN_LOG=path of token.log");
    // Without a token the registry refuses and names its token server.
    let headers = run(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            &format!("http://{registry}/v2/"),
        ],
    );
    assert!(
        headers.starts_with("HTTP/1.1 401") && headers.contains("Bearer realm=\"http://"),
        "{headers}"
    );

    let fx = Fixture::new();
    let via_token = build_via(
        &fx,
        &format!("docker.io=http://{registry}"),
        &["hello"],
        "out-token",
        "cache-token",
    );
    let direct = build(&fx, &["hello"], "out-direct", "cache-direct");
    assert_eq!(via_token[0].digest, direct[0].digest);
    let requests = fs::read_to_string(&token_log).unwrap();
    assert!(
        requests.contains("scope=repository:library/busybox:pull"),
        "no pull token was requested:\n{requests}"
    );
}

#[test]
#[ignore = "needs a real registry and containerd: run scripts/images-test.sh"]
fn platform_is_chosen_from_an_index_and_checked_against_the_config() {
    let fx = Fixture::new();
    let direct = build(&fx, &["hello"], "out-direct", "cache");
    let spec_path = fx.path("specs/hello.toml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    fs::write(
        &spec_path,
        spec.replace("busybox:1.35.0", "busybox:1.35.0-index"),
    )
    .unwrap();
    let via_index = build(&fx, &["hello"], "out-index", "cache");
    assert_eq!(
        via_index[0].digest, direct[0].digest,
        "linux/amd64 from the index is the same base"
    );

    let attempt = |platform: &str| {
        fails_with_2(&fx.berth(
            &["images", "build", "hello"],
            &["--registry-mirror", &mirror(), "--platform", platform],
        ))
    };
    let stderr = attempt("linux/s390x");
    assert!(
        stderr.contains("no manifest for platform linux/s390x"),
        "{stderr}"
    );
    assert!(
        stderr.contains("available: linux/arm64/v8, linux/amd64"),
        "{stderr}"
    );
    // The index claims arm64 for a manifest whose config says amd64: berth checks the config.
    let stderr = attempt("linux/arm64");
    assert!(
        stderr.contains("image hello, step \"pull base docker.io/library/busybox:1.35.0-index\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("no manifest for platform linux/arm64")
            && stderr.contains("available: linux/amd64"),
        "{stderr}"
    );
}

/// Reads one file out of a layer blob in the cache.
fn file_in_layer(fx: &Fixture, cache: &str, layer: &str, path: &str) -> Option<String> {
    use std::io::Read as _;
    let blob = fs::read(
        fx.path(cache)
            .join("blobs/sha256")
            .join(&layer["sha256:".len()..]),
    )
    .unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == path {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return Some(text);
        }
    }
    None
}

#[test]
#[ignore = "needs a real registry with arm64 bases (registry.sh up --arm64): run scripts/images-test.sh"]
fn arm64_builds_target_arm64_and_refuse_host_binaries() {
    let fx = Fixture::new();
    let spec_path = fx.path("specs/hello.toml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    fs::write(
        &spec_path,
        spec.replace("busybox:1.35.0", "busybox:1.35.0-linux-arm64"),
    )
    .unwrap();
    let build_arm64 = |out: &str| {
        fx.berth(
            &["images", "build", "hello"],
            &[
                "--registry-mirror",
                &mirror(),
                "--platform",
                "linux/arm64",
                "--out",
                &fx.path(out).to_string_lossy(),
            ],
        )
    };
    let printed = ok(&build_arm64("out"));
    let archive = printed.trim().split('\t').nth(2).unwrap().to_owned();
    let census = common::ElfCensus::of_archive(std::path::Path::new(&archive));
    assert_eq!(census.config_platform, "linux/arm64");
    assert!(census.stray("AArch64").is_empty(), "{census:?}");
    assert!(census.count("AArch64") >= 1, "busybox is there: {census:?}");
    eprintln!(
        "hello linux/arm64: {} ELF files, all AArch64",
        census.count("AArch64")
    );
    // The build step was told the target platform.
    let deps = app_layer(&record(&fx, "out", "hello"), "deps");
    assert_eq!(
        file_in_layer(&fx, "cache", &deps, "app/deps/lib/platform").as_deref(),
        Some("linux/arm64\n")
    );

    // A host (x86-64) binary in the context: the arm64 build fails, naming it; amd64 accepts it.
    fs::copy("/bin/true", fx.path("hello/bin/tool")).unwrap();
    let output = build_arm64("out-mixed");
    let stderr = fails_with_2(&output);
    assert!(text(&output.stdout).is_empty());
    assert!(
        stderr.contains("image hello, step \"layer code\"")
            && stderr.contains("x86-64 binaries, but the image is for linux/arm64")
            && stderr.contains("/app/bin/tool")
            && stderr.contains("{pip_platforms}"),
        "{stderr}"
    );
    assert!(
        !fx.path("out-mixed/hello.tar").exists(),
        "no archive of a mixed image"
    );
    fs::write(&spec_path, &spec).unwrap();
    let amd64 = build(&fx, &["hello"], "out-amd64", "cache");
    let census = common::ElfCensus::of_archive(std::path::Path::new(&amd64[0].archive));
    assert_eq!(census.config_platform, "linux/amd64");
    assert!(census.stray("x86-64").is_empty(), "{census:?}");
    assert!(
        census.count("x86-64") >= 2,
        "busybox and the tool: {census:?}"
    );
}

#[test]
#[ignore = "needs a real registry with arm64 bases (registry.sh up --arm64): run scripts/images-test.sh"]
fn several_platforms_build_and_push_an_image_index() {
    let fx = Fixture::new();
    let spec_path = fx.path("specs/hello.toml");
    let spec = fs::read_to_string(&spec_path).unwrap();
    fs::write(
        &spec_path,
        spec.replace("busybox:1.35.0", "busybox:1.35.0-multiarch"),
    )
    .unwrap();
    let out = fx.path("out").to_string_lossy().into_owned();
    let printed = ok(&fx.berth(
        &["images", "build", "hello"],
        &[
            "--registry-mirror",
            &mirror(),
            "--platform",
            "linux/amd64,linux/arm64",
            "--out",
            &out,
        ],
    ));
    let cols: Vec<&str> = printed.trim().split('\t').collect();
    let (reference, digest, archive) = (cols[0], cols[1], cols[2]);
    assert_eq!(
        reference.rsplit(':').next().unwrap(),
        &digest["sha256:".len()..][..16],
        "the tag derives from the index"
    );
    // The archive's index.json names the image index, which lists each platform's image.
    let raw = run(
        "skopeo",
        &["inspect", "--raw", &format!("oci-archive:{archive}")],
    );
    assert_eq!(
        format!("sha256:{}", hex_sha256(raw.as_bytes())),
        digest,
        "{raw}"
    );
    let index: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    for (entry, (platform, machine)) in index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .zip([("linux/amd64", "x86-64"), ("linux/arm64", "AArch64")])
    {
        let slug = platform.replace('/', "-");
        let member = record(&fx, &format!("out/platforms/{slug}"), "hello");
        assert_eq!(entry["digest"], member["manifest_digest"]);
        assert_eq!(
            format!(
                "{}/{}",
                entry["platform"]["os"].as_str().unwrap(),
                entry["platform"]["architecture"].as_str().unwrap()
            ),
            platform
        );
        let census = common::ElfCensus::of_archive(std::path::Path::new(
            member["archive"].as_str().unwrap(),
        ));
        assert_eq!(census.config_platform, platform);
        assert!(
            census.stray(machine).is_empty() && census.count(machine) >= 1,
            "{census:?}"
        );
    }

    // Pushed, the registry serves the same index, and each platform's image under it.
    let pushed = ok(&fx.berth(&["images", "push", &registry(), "hello"], &["--out", &out]));
    assert!(pushed.contains(digest), "{pushed}");
    let target = format!("docker://{}/berth-test/hello", registry());
    let served = run(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("{target}@{digest}"),
        ],
    );
    assert_eq!(served, raw);
    for arch in ["amd64", "arm64"] {
        let info: Value = serde_json::from_str(&run(
            "skopeo",
            &[
                "--override-arch",
                arch,
                "inspect",
                "--tls-verify=false",
                &format!("{target}:{}", reference.rsplit(':').next().unwrap()),
            ],
        ))
        .unwrap();
        assert_eq!(info["Architecture"], arch);
    }

    // Side-loading takes the node's one platform: a clear error, nothing loaded.
    let stderr = fails_with_2(&fx.berth(
        &["images", "load", "hello"],
        &[
            "--target",
            "containerd",
            "--containerd-socket",
            &containerd_socket(),
            "--out",
            &out,
        ],
    ));
    assert!(
        stderr.contains("built for several platforms (linux/amd64,linux/arm64)"),
        "{stderr}"
    );
}

fn hex_sha256(bytes: &[u8]) -> String {
    berth::images::store::Digest::of(bytes).hex().to_owned()
}
