//! `berth init --yes && berth deploy` in teams' repositories (tests/fixtures/repos/) on the test
//! cluster: the whole flow without flags beyond the release, secrets and a free NodePort. The
//! test cluster simulates pods, so the image names need not exist (`--images skip`).
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::path::Path;
use std::process::Command;

use cluster::{Run, cleanup, kubectl};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn berth_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let start = std::time::Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args(args)
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

fn deployments(ns: &str) -> Vec<String> {
    let output = kubectl(&["get", "deployments", "-n", ns, "-o", "name"]);
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// A fixture, the secrets it needs (variable, value), the deployments it must have.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

const CASES: [Case; 12] = [
    (
        "monorepo-next-fastapi",
        &[("OPENAI_API_KEY", "sk-test")],
        &["rel-backend", "rel-frontend"],
    ),
    (
        "better-auth-neon",
        &[(
            "DATABASE_URL",
            "postgresql://app:pw@ep-x.neon.tech/notes?sslmode=require",
        )],
        &["rel-api", "rel-web"],
    ),
    (
        "mcp-service",
        &[("OPENAI_API_KEY", "sk-test")],
        &["rel-agent-api", "rel-mcp-server", "rel-web"],
    ),
    ("compose-only", &[], &["rel-api", "rel-web"]),
    ("dockerfiles-only", &[], &["rel-api", "rel-web"]),
    (
        "uv-py313",
        &[
            (
                "DATABASE_URL",
                "postgresql://app:pw@ep-x.neon.tech/taskbot?sslmode=require",
            ),
            ("GEMINI_API_KEY", "test-key"),
        ],
        &["rel-app"],
    ),
    (
        "mcp-inprocess-poetry",
        &[("OPENAI_API_KEY", "sk-test")],
        &["rel-backend", "rel-frontend"],
    ),
    ("broken-helm-chart", &[], &["rel-backend", "rel-frontend"]),
    (
        "cra-settings-k8s",
        &[("OPENAI_API_KEY", "sk-test")],
        &["rel-backend", "rel-frontend"],
    ),
    ("uv-alembic-oauth", &[], &["rel-backend", "rel-frontend"]),
    (
        "neon-next-mcp-compose",
        &[(
            "NEON_DATABASE_URL",
            "postgresql://notes:pw@ep-x.neon.tech/notes?sslmode=require",
        )],
        &["rel-api", "rel-mcp-server", "rel-web"],
    ),
    ("express-no-lock", &[], &["rel-app"]),
];

#[test]
fn init_then_deploy_makes_each_fixture_ready() {
    for (fixture, env, want) in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(fixture);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/repos")
                .join(fixture),
            &dir,
        );
        berth_in(&dir, &["init", "--yes"], &[]).assert_code(0);
        let ns = cluster::namespace("init");
        let port = format!("expose.nodePort={}", cluster::node_port(&ns));
        let args = [
            "deploy",
            "--yes",
            "--images",
            "skip",
            "--timeout",
            "2m",
            "--release",
            "rel",
            "-n",
            &ns,
            "--set",
            &port,
        ];
        let run = berth_in(&dir, &args, env);
        run.assert_code(0);
        assert_eq!(deployments(&ns), want, "{fixture}");
        cleanup(&ns);
    }
}
