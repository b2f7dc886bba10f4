//! Every custom-tool command `berth aiops export` writes for kubectl-ai runs
//! successfully against the test cluster, exactly as exported (kubectl-ai runs
//! the command with the user's environment, here the test kubeconfig).
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::process::Command;

use serde_json::Value;

#[test]
fn every_exported_custom_tool_command_runs() {
    let ns = cluster::namespace("aiops");
    let dir = tempfile::tempdir().unwrap();
    // The values the release was deployed with, as a team would keep them.
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        format!("expose:\n  nodePort: {}\n", cluster::node_port(&ns)),
    )
    .unwrap();
    let values = values.to_str().unwrap();
    cluster::deploy(&ns, &["-f", values]).assert_code(0);

    let out = dir.path().join("aiops");
    let berth = env!("CARGO_BIN_EXE_berth");
    let export = Command::new(berth)
        .args(["aiops", "export", "--out", out.to_str().unwrap(), "-n", &ns])
        .args(["-f", values, "--berth", berth])
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let said = String::from_utf8_lossy(&export.stderr);
    if let Some(line) = said.lines().find(|l| l.starts_with("not exported")) {
        // diagnose, logs and doctor come with the ops commands; said, not hidden.
        eprintln!("{line}");
    }

    let tools: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(out.join("kubectl-ai/tools.yaml")).unwrap(),
    )
    .unwrap();
    let tools = tools.as_array().unwrap();
    let mut ran = Vec::new();
    for tool in tools {
        let command = tool["command"].as_str().unwrap();
        let run = Command::new("sh")
            .args(["-c", command])
            .env("KUBECONFIG", cluster::kubeconfig())
            .env("NO_COLOR", "1")
            .env_remove("BERTH_NAMESPACE")
            .env_remove("BERTH_RELEASE")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{} (`{command}`) failed:\n{}\n{}",
            tool["name"],
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        // An agent reads stdout and stderr (diff's "0 to change" summary is on stderr).
        assert!(
            !run.stdout.is_empty() || !run.stderr.is_empty(),
            "`{command}` said nothing"
        );
        ran.push(tool["name"].as_str().unwrap().to_string());
    }
    eprintln!("ran {} custom-tool commands: {}", ran.len(), ran.join(", "));
    for always in [
        "berth_status",
        "berth_history",
        "berth_diff",
        "berth_render",
    ] {
        assert!(ran.iter().any(|n| n == always), "{always} not exported");
    }
    cluster::cleanup(&ns);
}
