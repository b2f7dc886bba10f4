//! The reference app's images, built from the repository's own `images/*.toml` and `app/` on the
//! bases seeded by `scripts/registry.sh up --python --node`, loaded into a real containerd and
//! run there as their non-root user. `scripts/images-test.sh` runs these only when the app, the
//! specs and the bases are all there (they need `BERTH_TEST_REGISTRY`,
//! `BERTH_TEST_CONTAINERD_SOCKET` and `BERTH_TEST_APP_ROOT`).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set (see scripts/images-test.sh)"))
}

fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().expect(program)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Builds `component`'s image with berth and side-loads it into the test containerd;
/// returns its reference.
fn build_and_load(component: &str) -> String {
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
    let mut build = vec!["images", "build", component, "--registry-mirror", &mirror];
    build.extend(common);
    let printed = run(berth, &build);
    let reference = printed.split('\t').next().unwrap().to_owned();
    assert!(
        reference.starts_with(&format!("localhost/todo-chatbot/{component}:")),
        "{printed}"
    );
    let mut load = vec![
        "images",
        "load",
        component,
        "--target",
        "containerd",
        "--containerd-socket",
        &socket,
    ];
    load.extend(common);
    run(berth, &load);
    reference
}

/// Runs the image's own entrypoint on the host network with `env`, and returns the body
/// of `GET http://127.0.0.1:<PORT><path>` once it answers (the task is removed afterwards).
fn serve_and_get(
    reference: &str,
    component: &str,
    env_vars: &[(&str, &str)],
    path: &str,
) -> String {
    let socket = env("BERTH_TEST_CONTAINERD_SOCKET");
    let port = free_port();
    let id = format!("berth-{component}-{}", std::process::id());
    let mut args = vec![
        "-a".to_string(),
        socket.clone(),
        "-n".into(),
        "k8s.io".into(),
        "run".into(),
        "-d".into(),
        "--net-host".into(),
        "--env".into(),
        format!("PORT={port}"),
    ];
    for (name, value) in env_vars {
        args.extend(["--env".into(), format!("{name}={value}")]);
    }
    args.extend([reference.to_string(), id.clone()]);
    run("ctr", &args.iter().map(String::as_str).collect::<Vec<_>>());
    let url = format!("http://127.0.0.1:{port}{path}");
    let start = Instant::now();
    let body = loop {
        let got = output("curl", &["-fsS", "--max-time", "2", &url]);
        if got.status.success() {
            break Ok(text(&got.stdout));
        }
        if start.elapsed() > Duration::from_secs(60) {
            break Err(text(&got.stderr));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let ctr = |rest: &[&str]| {
        let mut all = vec!["-a", socket.as_str(), "-n", "k8s.io"];
        all.extend(rest);
        output("ctr", &all)
    };
    let _ = ctr(&["task", "delete", "--force", &id]);
    let _ = ctr(&["container", "delete", &id]);
    body.unwrap_or_else(|e| panic!("{component} never answered {url}: {e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What `command` prints when run in `reference` (as the image's user, in its workdir).
fn in_image(reference: &str, component: &str, command: &[&str]) -> String {
    let socket = env("BERTH_TEST_CONTAINERD_SOCKET");
    let id = format!("berth-{component}-check-{}", std::process::id());
    let mut args = vec!["-a", &socket, "-n", "k8s.io", "run", "--rm", reference, &id];
    args.extend(command);
    run("ctr", &args)
}

#[test]
#[ignore = "needs the app, a registry with the Python base and containerd: run scripts/images-test.sh"]
fn backend_image_imports_its_dependencies_and_serves_as_the_app_user() {
    let reference = build_and_load("backend");
    let script = "import os, pydantic_core, fastapi, sqlmodel, app.main; print('ok', os.getuid(), os.getcwd())";
    let printed = in_image(&reference, "backend", &["python", "-c", script]);
    assert_eq!(printed.trim(), "ok 10001 /app");
    let body = serve_and_get(
        &reference,
        "backend",
        &[
            ("HOST", "127.0.0.1"),
            ("AUTH_SECRET", "images-test-secret-0123456789abcdef"),
        ],
        "/health",
    );
    assert!(body.contains("ok"), "{body}");
}

#[test]
#[ignore = "needs the app, a registry with the Python base and containerd: run scripts/images-test.sh"]
fn mcp_image_serves_its_health_endpoint_as_the_app_user() {
    let reference = build_and_load("mcp");
    let script = "import os, mcp, todo_mcp.server; print('ok', os.getuid(), os.getcwd())";
    let printed = in_image(&reference, "mcp", &["python", "-c", script]);
    assert_eq!(printed.trim(), "ok 10001 /app");
    // Without DATABASE_URL it uses SQLite under /tmp.
    let body = serve_and_get(&reference, "mcp", &[("HOST", "127.0.0.1")], "/health");
    assert!(body.contains("ok"), "{body}");
}

#[test]
#[ignore = "needs the app, a registry with the Node.js base and containerd: run scripts/images-test.sh"]
fn frontend_image_serves_its_health_route_as_the_app_user() {
    let reference = build_and_load("frontend");
    let script = "require.resolve('next'); console.log('ok', process.getuid(), process.cwd())";
    let printed = in_image(&reference, "frontend", &["node", "-e", script]);
    assert_eq!(printed.trim(), "ok 10001 /app");
    let body = serve_and_get(
        &reference,
        "frontend",
        &[
            ("HOSTNAME", "127.0.0.1"),
            ("BACKEND_URL", "http://127.0.0.1:9"),
            ("AUTH_SECRET", "images-test-secret-0123456789abcdef"),
        ],
        "/healthz",
    );
    assert!(body.contains("ok"), "{body}");
}
