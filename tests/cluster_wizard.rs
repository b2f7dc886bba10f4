//! The `berth deploy` wizard driven through a real pseudo-terminal against the
//! test cluster: pressing Enter throughout deploys, a chosen external database +
//! Gemini + Ingress produces exactly that, Ctrl-C before confirming writes
//! nothing, and a saved values file reproduces the deploy without questions.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Session};

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";
const CTRL_C: &str = "\x03";

/// Starts `berth deploy` on a pseudo-terminal (80×24, no colour) in `dir`.
fn wizard(ns: &str, dir: &Path, port: u32) -> Session {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args([
            "deploy",
            "-n",
            ns,
            "--set",
            &format!("expose.nodePort={port}"),
            "--timeout",
            "2m",
            "--no-progress",
        ])
        .current_dir(dir)
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env("LINES", "24")
        .env("TERM", "dumb")
        .env("AUTH_SECRET", "wizard-test-auth")
        .env_remove("DATABASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("BERTH_RELEASE")
        .env_remove("BERTH_NAMESPACE")
        .env_remove("BERTH_KUBE_CONTEXT");
    let mut session = Session::spawn(command).expect("berth starts on a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
}

/// Waits for a prompt, then sends keys.
fn answer(session: &mut Session, prompt: &str, keys: &[&str]) {
    session
        .expect(prompt)
        .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
    // Let the prompt finish drawing and switch the terminal mode.
    std::thread::sleep(Duration::from_millis(150));
    for key in keys {
        session.send(key).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
}

/// Reads to the end and returns the exit code (128 + N when killed by signal N,
/// as a shell reports it: Ctrl-C at a line prompt is the terminal's SIGINT).
fn finish(mut session: Session) -> i32 {
    session.set_expect_timeout(Some(Duration::from_secs(180)));
    let _ = session.expect(Eof);
    match session.get_process().wait().expect("berth exits") {
        expectrl::WaitStatus::Exited(_, code) => code,
        expectrl::WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        other => panic!("berth did not exit normally: {other:?}"),
    }
}

/// The questions up to and including the images choice, all with Enter.
fn accept_all_defaults(session: &mut Session) {
    for prompt in [
        "Kubernetes context",
        "Namespace",
        "Release name",
        "Profile",
        "Components",
        "Database",
        "Volume size",
        // Secrets the components read that berth cannot generate, from the values.
        "GEMINI_API_KEY",
        "OPENAI_API_KEY",
        "Expose the app",
        "NodePort",
        "Replicas per component",
        "Images",
    ] {
        answer(session, prompt, &[ENTER]);
    }
}

fn kubectl_text(args: &[&str]) -> String {
    let out = cluster::kubectl(args);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn pressing_enter_throughout_deploys_the_dev_profile() {
    let ns = cluster::namespace("wizard-defaults");
    let dir = tempfile::tempdir().unwrap();
    let port = cluster::node_port(&ns);
    let mut session = wizard(&ns, dir.path(), port);
    accept_all_defaults(&mut session);
    // The URL that answers: the NodePort on the node's address, not localhost.
    let node = kubectl_text(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}",
    ]);
    let url = format!("http://{}:{port}", node.trim());
    session
        .expect(format!("The app will be at {url}").as_str())
        .expect("the plan names the URL that answers");
    answer(&mut session, "Save these answers", &[ENTER]);
    answer(&mut session, "Deploy now?", &[ENTER]);
    session
        .expect("is ready")
        .expect("the release becomes ready");
    session
        .expect(format!("open {url}").as_str())
        .expect("the URL again once the release is ready");
    assert_eq!(finish(session), 0);
    let deployments = kubectl_text(&["get", "deployments", "-n", &ns, "-o", "name"]);
    // Three components and the edge proxy in front of their routes.
    assert_eq!(deployments.lines().count(), 4, "{deployments}");
    let replicas = kubectl_text(&[
        "get",
        "deployment",
        "todo-chatbot-backend",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "1", "the dev profile runs one replica");
    assert!(
        kubectl_text(&["get", "statefulset", "todo-chatbot-postgres", "-n", &ns])
            .contains("todo-chatbot-postgres")
    );
    cluster::cleanup(&ns);
}

#[test]
fn external_database_gemini_and_ingress_produce_exactly_those_objects_and_a_reusable_values_file() {
    let ns = cluster::namespace("wizard-custom");
    let dir = tempfile::tempdir().unwrap();
    let url = "postgresql://todo:db-hunter2@db.example.com:5432/todo?sslmode=require";
    let mut session = wizard(&ns, dir.path(), cluster::node_port(&ns));
    for prompt in [
        "Kubernetes context",
        "Namespace",
        "Release name",
        "Profile",
        "Components",
    ] {
        answer(&mut session, prompt, &[ENTER]);
    }
    answer(&mut session, "Database", &[DOWN, ENTER]);
    // A URL whose driver and SSL parameter disagree is refused while answering.
    answer(
        &mut session,
        "Database URL",
        &["postgresql+asyncpg://u:p@h/db?sslmode=require", ENTER],
    );
    session
        .expect("ssl=require")
        .expect("the driver/SSL hint is shown");
    for _ in 0.."postgresql+asyncpg://u:p@h/db?sslmode=require".len() {
        session.send("\x7f").unwrap();
    }
    session.send(url).unwrap();
    session.send(ENTER).unwrap();
    answer(&mut session, "GEMINI_API_KEY", &["gemini-test-key", ENTER]);
    // A typed secret is reported masked, an optional one skipped with Enter as skipped.
    session
        .expect(expectrl::Regex(r"GEMINI_API_KEY[^\n]*\[hidden\]"))
        .expect("a typed secret is reported hidden");
    answer(&mut session, "OPENAI_API_KEY", &[ENTER]);
    session
        .expect(expectrl::Regex(r"OPENAI_API_KEY[^\n]*skipped \(not set\)"))
        .expect("a skipped secret is reported as skipped");
    answer(&mut session, "Expose the app", &[DOWN, ENTER]);
    answer(&mut session, "Ingress host", &[ENTER]);
    answer(&mut session, "Replicas per component", &[ENTER]);
    answer(&mut session, "Images", &[ENTER]);
    answer(&mut session, "Save these answers", &["y"]);
    answer(&mut session, "Values file", &[ENTER]);
    answer(&mut session, "Also write the secrets", &["n"]);
    answer(&mut session, "Deploy now?", &[ENTER]);
    session
        .expect("is ready")
        .expect("the release becomes ready");
    assert_eq!(finish(session), 0);

    let kinds = kubectl_text(&[
        "get",
        "ingress,statefulset,deployment",
        "-n",
        &ns,
        "-o",
        "name",
    ]);
    assert!(
        kinds.contains("ingress.networking.k8s.io/todo-chatbot-frontend"),
        "{kinds}"
    );
    assert!(
        !kinds.contains("statefulset"),
        "no in-cluster database: {kinds}"
    );
    let key = kubectl_text(&[
        "get",
        "secret",
        "todo-chatbot-backend",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.GEMINI_API_KEY}",
    ]);
    assert_eq!(key, "Z2VtaW5pLXRlc3Qta2V5", "base64 of the key typed");

    let saved = std::fs::read_to_string(dir.path().join("berth-values.yaml"))
        .expect("the values file was saved");
    for secret in ["db-hunter2", "gemini-test-key", "wizard-test-auth"] {
        assert!(
            !saved.contains(secret),
            "the saved values hold a secret:\n{saved}"
        );
    }
    assert!(!dir.path().join(".env").exists(), "no .env unless asked");
    // The saved file reproduces the deploy without questions: nothing to change.
    let diff = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["diff", "-f", "berth-values.yaml", "-n", &ns])
        .current_dir(dir.path())
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("DATABASE_URL", url)
        .env("GEMINI_API_KEY", "gemini-test-key")
        .env("AUTH_SECRET", "wizard-test-auth")
        .output()
        .unwrap();
    assert_eq!(
        diff.status.code(),
        Some(0),
        "diff against the saved values:\n{}{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&diff.stderr)
    );
    cluster::cleanup(&ns);
}

#[test]
fn ctrl_c_before_confirming_writes_nothing() {
    let ns = cluster::namespace("wizard-cancel");
    let dir = tempfile::tempdir().unwrap();
    let mut session = wizard(&ns, dir.path(), cluster::node_port(&ns));
    accept_all_defaults(&mut session);
    answer(&mut session, "Save these answers", &["y"]);
    answer(&mut session, "Values file", &[ENTER]);
    answer(&mut session, "Also write the secrets", &["y"]);
    answer(&mut session, "Secrets file", &[ENTER]);
    answer(&mut session, "Deploy now?", &[CTRL_C]);
    let code = finish(session);
    assert_ne!(code, 0, "an interrupted wizard does not succeed");
    let namespace = kubectl_text(&["get", "namespace", &ns]);
    assert!(
        namespace.contains("NotFound"),
        "the cluster was touched: {namespace}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(files.is_empty(), "files were written: {files:?}");
}
