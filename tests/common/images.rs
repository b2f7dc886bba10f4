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

/// A single-image archive berth wrote (an OCI layout inside a tar), read independently of
/// berth's code: every file by name, the index's first manifest and its config.
pub struct Archive {
    pub blobs: std::collections::HashMap<String, Vec<u8>>,
    pub manifest: serde_json::Value,
    pub config: serde_json::Value,
}

impl Archive {
    pub fn read(archive: &Path) -> Self {
        use std::io::Read as _;
        let mut blobs = std::collections::HashMap::new();
        let mut tar = tar::Archive::new(fs::File::open(archive).unwrap());
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            blobs.insert(name, bytes);
        }
        let mut this = Self {
            blobs,
            manifest: serde_json::Value::Null,
            config: serde_json::Value::Null,
        };
        let index: serde_json::Value = this.json("index.json");
        this.manifest =
            serde_json::from_slice(this.blob(&index["manifests"][0]["digest"])).unwrap();
        this.config =
            serde_json::from_slice(this.blob(&this.manifest["config"]["digest"])).unwrap();
        this
    }

    fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.blobs[name]).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The blob with `digest` (`"sha256:…"`).
    pub fn blob(&self, digest: &serde_json::Value) -> &[u8] {
        let name = format!(
            "blobs/sha256/{}",
            &digest.as_str().unwrap()["sha256:".len()..]
        );
        &self.blobs[&name]
    }

    /// The layers, base first, as tar archives of their uncompressed contents.
    pub fn layers(&self) -> Vec<tar::Archive<flate2::read::GzDecoder<&[u8]>>> {
        self.manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| {
                tar::Archive::new(flate2::read::GzDecoder::new(self.blob(&layer["digest"])))
            })
            .collect()
    }
    /// The merged filesystem, keyed by absolute path without a trailing slash: the last
    /// layer's entry wins (berth's layers and the seeded bases have no whiteouts).
    pub fn files(&self) -> std::collections::BTreeMap<String, ImageEntry> {
        use std::io::Read as _;
        let mut merged = std::collections::BTreeMap::new();
        for mut files in self.layers() {
            for entry in files.entries().unwrap() {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let path = format!("/{}", path.trim_start_matches("./").trim_end_matches('/'));
                let header = entry.header();
                let (kind, uid, mode) = (
                    header.entry_type(),
                    header.uid().unwrap(),
                    header.mode().unwrap(),
                );
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                merged.insert(
                    path,
                    ImageEntry {
                        kind,
                        uid,
                        mode,
                        data,
                    },
                );
            }
        }
        merged
    }
}

/// One path of an image's merged filesystem.
#[derive(Debug, Clone)]
pub struct ImageEntry {
    pub kind: tar::EntryType,
    pub uid: u64,
    pub mode: u32,
    pub data: Vec<u8>,
}

/// What an image archive holds, architecture-wise: the config's `os`/`architecture` and every
/// ELF file of every layer with its machine (`e_machine`), read independently of berth's code.
#[derive(Debug, Default)]
pub struct ElfCensus {
    /// `os/architecture` from the image config.
    pub config_platform: String,
    /// ELF files per machine name (`AArch64`, `x86-64`, …).
    pub by_machine: std::collections::BTreeMap<String, usize>,
    /// Up to five paths of ELF files that are not for `expected` (see [`ElfCensus::stray`]).
    pub samples: std::collections::BTreeMap<String, Vec<String>>,
}

impl ElfCensus {
    /// Read the single-image archive berth wrote (OCI layout inside a tar).
    pub fn of_archive(archive: &Path) -> Self {
        use std::io::Read as _;
        let archive = Archive::read(archive);
        let config = &archive.config;
        let mut census = ElfCensus {
            config_platform: format!(
                "{}/{}",
                config["os"].as_str().unwrap(),
                config["architecture"].as_str().unwrap()
            ),
            ..Default::default()
        };
        for mut files in archive.layers() {
            for entry in files.entries().unwrap() {
                let mut entry = entry.unwrap();
                if entry.header().entry_type() != tar::EntryType::Regular {
                    continue;
                }
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let mut header = [0u8; 20];
                if entry.read_exact(&mut header).is_err() || &header[..4] != b"\x7fELF" {
                    continue;
                }
                let bytes = [header[18], header[19]];
                let machine = if header[5] == 2 {
                    u16::from_be_bytes(bytes)
                } else {
                    u16::from_le_bytes(bytes)
                };
                let name = match machine {
                    62 => "x86-64".to_owned(),
                    183 => "AArch64".to_owned(),
                    other => format!("machine {other}"),
                };
                *census.by_machine.entry(name.clone()).or_default() += 1;
                let samples = census.samples.entry(name).or_default();
                if samples.len() < 5 {
                    samples.push(path);
                }
            }
        }
        census
    }

    /// ELF files for another machine than `expected`, with sample paths.
    pub fn stray(&self, expected: &str) -> Vec<(String, usize, Vec<String>)> {
        self.by_machine
            .iter()
            .filter(|(machine, _)| *machine != expected)
            .map(|(m, n)| (m.clone(), *n, self.samples[m].clone()))
            .collect()
    }

    /// How many ELF files are for `machine`.
    pub fn count(&self, machine: &str) -> usize {
        self.by_machine.get(machine).copied().unwrap_or(0)
    }
}
