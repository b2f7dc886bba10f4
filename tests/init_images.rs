//! The image specs `berth init` writes build with berth against a real registry (the local one of
//! `scripts/registry.sh`, seeded with python:3.12-slim-bookworm), with the dependency layer from
//! PyPI wheels for the image's platform, and without writing into the team's source tree.
//! `scripts/images-test.sh` runs this with `--include-ignored`; by hand it needs
//! `BERTH_TEST_REGISTRY=host:port`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn files(dir: &Path, out: &mut BTreeSet<String>, root: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out, root);
        } else {
            out.insert(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

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

#[test]
#[ignore = "needs a real registry: run scripts/images-test.sh"]
fn an_init_written_python_spec_builds_from_the_fixture() {
    let registry = std::env::var("BERTH_TEST_REGISTRY")
        .expect("BERTH_TEST_REGISTRY=host:port (see scripts/images-test.sh)");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("broken-helm-chart");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/repos/broken-helm-chart"),
        &repo,
    );
    let berth = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .current_dir(&repo)
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("BERTH_CACHE_DIR")
            .output()
            .unwrap()
    };
    let init = berth(&["init", "--yes"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut before = BTreeSet::new();
    files(&repo, &mut before, &repo);

    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let mirror = format!("docker.io=http://{registry}");
    let build = berth(&[
        "images",
        "build",
        "backend",
        "--root",
        repo.to_str().unwrap(),
        "--specs-dir",
        repo.join("images").to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--registry-mirror",
        &mirror,
    ]);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let stdout = String::from_utf8_lossy(&build.stdout);
    assert!(
        stdout.starts_with("localhost/broken-helm-chart/backend:"),
        "{stdout}"
    );

    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("backend.json")).unwrap()).unwrap();
    let layers: Vec<&str> = record["app_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["deps", "code"]);

    let mut after = BTreeSet::new();
    files(&repo, &mut after, &repo);
    assert_eq!(before, after, "the build wrote into the team's source tree");
}
