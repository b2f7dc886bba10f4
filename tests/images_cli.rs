//! `berth images` failures that need no registry or runtime: each names the image and the step,
//! exits 2, and leaves the cache without half-written files.

#[path = "common/images.rs"]
mod common;

use common::{Fixture, fails_with_2, leftovers, run_berth};
use std::fs;

#[test]
fn spec_errors_name_the_image_and_exit_2() {
    let fx = Fixture::new();
    let spec = fs::read_to_string(fx.path("specs/hello.toml")).unwrap();
    fs::write(
        fx.path("specs/hello.toml"),
        spec.replace("user = \"10001:10001\"", "user = \"root\""),
    )
    .unwrap();
    let stderr = fails_with_2(&fx.berth(&["images", "build", "hello"], &[]));
    assert!(stderr.contains("image hello, step \"spec\""), "{stderr}");
    assert!(stderr.contains("numeric uid:gid"), "{stderr}");
}

#[test]
fn unknown_component_lists_the_available_ones() {
    let fx = Fixture::new();
    let stderr = fails_with_2(&fx.berth(&["images", "build", "frontend"], &[]));
    assert!(
        stderr.contains("no spec named \"frontend\" (available: busybox, hello)"),
        "{stderr}"
    );
}

#[test]
fn unreachable_registry_names_image_step_and_registry() {
    let fx = Fixture::new();
    // Port 1 on loopback: nothing listens there.
    let out = fx.berth(
        &["images", "build", "hello"],
        &["--registry-mirror", "docker.io=http://127.0.0.1:1"],
    );
    let stderr = fails_with_2(&out);
    assert!(
        stderr.contains("image hello, step \"pull base docker.io/library/busybox:1.35.0\""),
        "{stderr}"
    );
    assert!(stderr.contains("registry 127.0.0.1:1"), "{stderr}");
    assert!(
        leftovers(&fx.path("cache"), ".tmp").is_empty(),
        "temporary blobs left behind"
    );
}

#[test]
fn load_before_build_says_what_to_do() {
    let fx = Fixture::new();
    let stderr = fails_with_2(&fx.berth(&["images", "load", "hello"], &["--target", "containerd"]));
    assert!(stderr.contains("image hello, step \"load\""), "{stderr}");
    assert!(
        stderr.contains("hint: run `berth images build hello` first"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_rejected_before_any_work() {
    let fx = Fixture::new();
    let stderr = fails_with_2(&fx.berth(&["images", "build"], &["--platform", "amd64"]));
    assert!(stderr.contains("os/arch"), "{stderr}");
    let stderr = fails_with_2(&fx.berth(&["images", "build"], &["--registry-mirror", "docker.io"]));
    assert!(
        stderr.contains("docker.io=http://127.0.0.1:5000"),
        "{stderr}"
    );
    let stderr = fails_with_2(&run_berth(&["images", "load", "--target", "moon"]));
    assert!(stderr.contains("invalid value 'moon'"), "{stderr}");
}

#[test]
fn help_texts() {
    for command in ["build", "load", "push"] {
        let output = run_berth(&["images", command, "--help"]);
        assert!(output.status.success());
        insta::assert_snapshot!(
            format!("images_{command}_help"),
            common::text(&output.stdout)
        );
    }
}
