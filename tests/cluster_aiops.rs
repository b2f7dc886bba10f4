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
    assert!(
        !said.lines().any(|l| l.starts_with("not exported")),
        "every read-only command exists in this berth: {said}"
    );

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
        let stderr = String::from_utf8_lossy(&run.stderr);
        if tool["name"] == "berth_logs" && !run.status.success() {
            // The test cluster's simulated pods have no kubelet logs (kwok's
            // debugging handlers answer 400 "no logs found", 405 without
            // them); berth must say so per container. The real
            // node's test (scripts/node-test.sh) reads real lines.
            assert!(
                stderr.contains("no logs:")
                    && (stderr.contains("(405)") || stderr.contains("no logs found for container")),
                "{stderr}"
            );
            ran.push("berth_logs (no kubelet logs on the test cluster)".to_string());
            continue;
        }
        if tool["name"] == "berth_doctor" && run.status.code() == Some(1) {
            // Exit 1 is doctor's answer "a check failed"; the test cluster runs
            // no CoreDNS, so that check (and only that one) must fail.
            let stdout = String::from_utf8_lossy(&run.stdout);
            let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
            assert_eq!(failed.len(), 1, "{stdout}");
            assert!(failed[0].contains("cluster-dns"), "{stdout}");
            ran.push("berth_doctor (fails cluster-dns: no CoreDNS on the test cluster)".into());
            continue;
        }
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
