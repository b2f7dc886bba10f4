//! The reference app's backend image, built from the repository's own `images/backend.toml` and
//! `app/backend` on the Python base seeded by `scripts/registry.sh up --python`, then run in a
//! real containerd. `scripts/images-test.sh` runs this only when the app, its spec and the Python
//! base are all there (it needs `BERTH_TEST_REGISTRY`, `BERTH_TEST_CONTAINERD_SOCKET` and
//! `BERTH_TEST_APP_ROOT`).

use std::path::PathBuf;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set (see scripts/images-test.sh)"))
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
#[ignore = "needs the app, a registry with the Python base and containerd: run scripts/images-test.sh"]
fn backend_image_imports_its_dependencies_as_the_app_user() {
    let root = PathBuf::from(env("BERTH_TEST_APP_ROOT"));
    let socket = env("BERTH_TEST_CONTAINERD_SOCKET");
    let cache = std::env::var("BERTH_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| berth::images::default_cache_dir());
    let out = tempfile::tempdir().unwrap();
    let berth = env!("CARGO_BIN_EXE_berth");
    let common = [
        "--root",
        root.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    let mirror = format!("docker.io=http://{}", env("BERTH_TEST_REGISTRY"));
    let mut build = vec!["images", "build", "backend", "--registry-mirror", &mirror];
    build.extend(common);
    let printed = run(berth, &build);
    let reference = printed.split('\t').next().unwrap().to_owned();
    assert!(
        reference.starts_with("localhost/todo-chatbot/backend:"),
        "{printed}"
    );

    let mut load = vec![
        "images",
        "load",
        "backend",
        "--target",
        "containerd",
        "--containerd-socket",
        &socket,
    ];
    load.extend(common);
    run(berth, &load);
    let id = format!("berth-backend-{}", std::process::id());
    let script = "import os, pydantic_core, fastapi, sqlmodel, app.main; print('ok', os.getuid(), os.getcwd())";
    let output = run(
        "ctr",
        &[
            "-a", &socket, "-n", "k8s.io", "run", "--rm", &reference, &id, "python", "-c", script,
        ],
    );
    assert_eq!(output.trim(), "ok 10001 /app");
}
