//! Every shell command in the guides (```sh blocks of docs/DEPLOYMENT.md,
//! docs/MINIKUBE-SETUP.md and docs/AIOPS.md) runs against the test cluster,
//! in order, one shell per guide, in a temporary directory. A command that
//! needs what this machine lacks carries a trailing `# needs: WHAT` marker;
//! those are listed and counted, never silently dropped, and WHAT must be one
//! of the known reasons (a typo would otherwise hide a command).
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const GUIDES: [&str; 3] = [
    "docs/DEPLOYMENT.md",
    "docs/MINIKUBE-SETUP.md",
    "docs/AIOPS.md",
];

/// What a command may need that the test machine does not have.
const REASONS: [&str; 11] = [
    "minikube",
    "your-repo",
    "neon",
    "registry",
    "real-cluster",
    "kubectl-ai",
    "kagent",
    "docker-desktop",
    "an MCP client",
    "an MCP client on stdin",
    // Runs until Ctrl-C (berth open).
    "a terminal left running",
];

#[derive(Debug, PartialEq)]
enum Line {
    Run(String),
    Needs { command: String, what: String },
}

/// The commands of a guide's ```sh blocks (`\` continuations joined, comment lines dropped).
fn commands(markdown: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if !in_sh {
            in_sh = trimmed == "```sh";
            continue;
        }
        if trimmed == "```" {
            in_sh = false;
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{trimmed}");
        pending.clear();
        if full.is_empty() || full.starts_with('#') {
            continue;
        }
        out.push(match full.split_once("# needs:") {
            Some((command, what)) => Line::Needs {
                command: command.trim().to_string(),
                what: what.trim().to_string(),
            },
            None => Line::Run(full),
        });
    }
    out
}

#[test]
fn marked_and_continued_commands_are_parsed() {
    let doc = "text\n```sh\n# a comment\nberth a \\\n  --x\nminikube start   # needs: minikube\n```\n```yaml\nnot: run\n```\n";
    assert_eq!(
        commands(doc),
        [
            Line::Run("berth a --x".into()),
            Line::Needs {
                command: "minikube start".into(),
                what: "minikube".into()
            },
        ]
    );
}

#[test]
fn every_runnable_command_in_the_guides_succeeds() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let berth_dir = Path::new(env!("CARGO_BIN_EXE_berth")).parent().unwrap();
    let mut path = std::env::var("PATH").unwrap();
    if let Ok(kubectl) = std::env::var("KUBECTL") {
        let dir = Path::new(&kubectl).parent().unwrap();
        path = format!("{}:{path}", dir.display());
    }
    let path = format!("{}:{path}", berth_dir.display());
    let mut ran = 0;
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for guide in GUIDES {
        let text = std::fs::read_to_string(repo.join(guide)).unwrap();
        let mut script = String::from("set -euo pipefail\n");
        let mut runnable = Vec::new();
        for line in commands(&text) {
            match line {
                Line::Run(command) => {
                    script.push_str(&format!("echo '::run {}' >&2\n{command}\n", runnable.len()));
                    runnable.push(command);
                }
                Line::Needs { command, what } => {
                    assert!(
                        REASONS.contains(&what.as_str()),
                        "{guide}: unknown `# needs: {what}` on `{command}`; known: {REASONS:?}"
                    );
                    skipped
                        .entry(what)
                        .or_default()
                        .push(format!("{guide}: {command}"));
                }
            }
        }
        let ns = cluster::namespace("docs");
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(repo.join("scripts"), dir.path().join("scripts")).unwrap();
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("KUBECONFIG", cluster::kubeconfig())
            .env("BERTH_NAMESPACE", &ns)
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .env_remove("BERTH_RELEASE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("::run "))
            .and_then(|n| n.parse::<usize>().ok());
        assert!(
            out.status.success(),
            "{guide}: `{}` failed:\n{stderr}",
            last.map(|n| runnable[n].as_str()).unwrap_or("?")
        );
        assert_eq!(
            last.map(|n| n + 1),
            Some(runnable.len()),
            "{guide}: not every command ran"
        );
        ran += runnable.len();
        cluster::cleanup(&ns);
    }
    let count: usize = skipped.values().map(Vec::len).sum();
    eprintln!("ran {ran} commands from the guides; skipped {count}:");
    for (what, commands) in &skipped {
        eprintln!("  needs {what} ({}):", commands.len());
        for command in commands {
            eprintln!("    {command}");
        }
    }
    assert!(ran >= 20, "only {ran} commands ran");
}
