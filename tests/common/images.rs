//! Shared helpers for the image tests: a copy of the fixture repository and a way to run berth.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary repository root holding `specs/` and the `hello/` context from
/// `tests/fixtures/images`, plus cache and output directories.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images"),
            dir.path(),
        );
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Run berth with `--root`, `--specs-dir`, `--cache-dir` pointing into the fixture.
    pub fn berth(&self, subcommand: &[&str], extra: &[&str]) -> Output {
        self.berth_with_cache(subcommand, extra, "cache")
    }

    pub fn berth_with_cache(&self, subcommand: &[&str], extra: &[&str], cache: &str) -> Output {
        self.berth_command(subcommand, extra, cache)
            .output()
            .expect("run berth")
    }

    /// The berth command line, for callers that need to add environment.
    pub fn berth_command(&self, subcommand: &[&str], extra: &[&str], cache: &str) -> Command {
        let root = self.root().to_string_lossy().into_owned();
        let specs = self.path("specs").to_string_lossy().into_owned();
        let cache = self.path(cache).to_string_lossy().into_owned();
        let mut args: Vec<&str> = subcommand.to_vec();
        args.extend([
            "--root",
            &root,
            "--specs-dir",
            &specs,
            "--cache-dir",
            &cache,
        ]);
        if subcommand.get(1) == Some(&"build") {
            args.extend(["--revision", "test-revision"]);
            args.extend(["--build-value", "greeting_suffix=built for tests"]);
        }
        args.extend(extra);
        berth_command(&args)
    }
}

pub fn run_berth(args: &[&str]) -> Output {
    berth_command(args).output().expect("run berth")
}

/// berth with `args`, without the caller's SOURCE_DATE_EPOCH, BERTH_CACHE_DIR or credential
/// files (DOCKER_CONFIG, REGISTRY_AUTH_FILE).
pub fn berth_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("BERTH_CACHE_DIR")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE");
    command
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Assert success and return stdout.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "berth failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Assert exit code 2 and return stderr.
pub fn fails_with_2(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2:\n--- stdout\n{}\n--- stderr\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stderr)
}

/// Files left in a directory tree whose names start with `prefix` (half-written leftovers).
pub fn leftovers(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(prefix) {
                found.push(path.clone());
            }
            if path.is_dir() {
                found.extend(leftovers(&path, prefix));
            }
        }
    }
    found
}
