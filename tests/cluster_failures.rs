//! Each kwok failure mode fails the deploy fast with the right cause.
#![cfg(feature = "cluster-tests")]

mod cluster;

use std::time::Duration;

use cluster::{cleanup, deploy};

fn fails_fast_with(test: &str, tag: &str, cause: &str, hint: &str) {
    let ns = cluster::namespace(test);
    let run = deploy(&ns, &["--set", &format!("mcp.image.tag={tag}")]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(cause),
        "expected {cause}:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(hint),
        "expected hint {hint}:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("todo-chatbot-mcp"), "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(90),
        "took {:?}",
        run.elapsed
    );
    cleanup(&ns);
}

#[test]
fn image_pull_backoff() {
    fails_fast_with(
        "pull",
        "0.1.0-imagepullbackoff",
        "ImagePullBackOff",
        "load it into the cluster",
    );
}

#[test]
fn crash_loop() {
    fails_fast_with("crash", "0.1.0-crashloop", "CrashLoopBackOff", "logs");
}

#[test]
fn out_of_memory() {
    fails_fast_with("oom", "0.1.0-oom", "OOMKilled", "memory limit");
}

#[test]
fn readiness_never_reached() {
    fails_fast_with(
        "notready",
        "0.1.0-notready",
        "never became ready",
        "readiness probe",
    );
}
