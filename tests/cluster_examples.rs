//! Teams' stacks from `examples/` deploy on the test cluster: ready, exactly
//! their objects, a no-op redeploy (generated secrets are reused from the
//! cluster), and a missing existing Secret refused before any write.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::process::Command;

use cluster::{Run, cleanup, kubectl};

/// berth in an example's directory (its berth.yaml is the stack).
fn berth_in(example: &str, ns: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let start = std::time::Instant::now();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args(args)
        .args(["-n", ns])
        .current_dir(dir)
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("berth runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

fn kubectl_text(args: &[&str]) -> String {
    let output = kubectl(args);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn names(ns: &str, kind: &str) -> Vec<String> {
    let mut names: Vec<String> = kubectl_text(&["get", kind, "-n", ns, "-o", "name"])
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn vite_fastapi_worker_deploys_with_its_task_worker_and_database() {
    let ns = cluster::namespace("ex-tidy");
    let port = format!("expose.nodePort={}", cluster::node_port(&ns));
    let flags = [
        "--release",
        "tidy",
        "--set",
        &port,
        "--set",
        "networkPolicy.enabled=true",
    ];
    let deploy = |extra: &[&str]| {
        let mut args = vec!["deploy", "--yes", "--timeout", "2m"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(extra);
        berth_in("vite-fastapi-worker", &ns, &args, &[])
    };
    deploy(&[]).assert_code(0);
    assert_eq!(
        names(&ns, "deployments"),
        ["tidy-api", "tidy-reminders", "tidy-tools", "tidy-ui"]
    );
    assert_eq!(names(&ns, "statefulsets"), ["tidy-postgres"]);
    assert_eq!(
        names(&ns, "services"),
        ["tidy-api", "tidy-postgres", "tidy-tools", "tidy-ui"],
        "the worker has no Service"
    );
    let init = kubectl_text(&[
        "get",
        "deployment",
        "tidy-api",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.template.spec.initContainers[*].name}",
    ]);
    assert_eq!(init, "migrate");
    // Generated secrets (JWT key, database password) are read back: nothing changes.
    let again = deploy(&[]);
    again.assert_code(0);
    assert!(again.stderr.contains("no changes"), "{}", again.stderr);
    cleanup(&ns);
}

#[test]
fn nextjs_fastapi_neon_deploys_with_its_external_database() {
    let ns = cluster::namespace("ex-neon");
    let port = format!("expose.nodePort={}", cluster::node_port(&ns));
    let env = [
        (
            "NEON_DATABASE_URL",
            "postgresql://app:pw@ep-x.neon.tech/taskpilot?sslmode=require",
        ),
        ("OPENAI_API_KEY", "sk-cluster-test"),
    ];
    // The test cluster has no Gateway API CRDs: expose through an Ingress here.
    let args = [
        "deploy",
        "--yes",
        "--timeout",
        "2m",
        "--release",
        "taskpilot",
        "--set",
        &port,
        "--set",
        "expose.mode=ingress",
    ];
    berth_in("nextjs-fastapi-neon", &ns, &args, &env).assert_code(0);
    assert_eq!(
        names(&ns, "deployments"),
        ["taskpilot-api", "taskpilot-web"]
    );
    assert!(names(&ns, "statefulsets").is_empty());
    let url = kubectl_text(&[
        "get",
        "secret",
        "taskpilot-api",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.DATABASE_URL}",
    ]);
    assert_eq!(
        url,
        base64_of("postgresql+asyncpg://app:pw@ep-x.neon.tech/taskpilot?ssl=require")
    );
    let paths = kubectl_text(&[
        "get",
        "ingress",
        "taskpilot-web",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.rules[0].http.paths[*].path}",
    ]);
    assert_eq!(paths, "/api/auth /api /");
    cleanup(&ns);
}

#[test]
fn a_missing_existing_secret_is_refused_before_any_write() {
    let ns = cluster::namespace("ex-existing");
    let port = format!("expose.nodePort={}", cluster::node_port(&ns));
    let args = [
        "deploy",
        "--yes",
        "--timeout",
        "1m",
        "--release",
        "tidy",
        "--set",
        &port,
        "--set",
        "components.api.existingSecret=tidy-api-keys",
    ];
    let run = berth_in("vite-fastapi-worker", &ns, &args, &[]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("components.api.existingSecret")
            && run.stderr.contains("tidy-api-keys"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let namespace = kubectl_text(&["get", "namespace", &ns]);
    assert!(
        namespace.contains("NotFound"),
        "the cluster was written to: {namespace}"
    );
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
