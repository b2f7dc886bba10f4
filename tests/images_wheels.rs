//! Python requirements published only as source, built for real: a deps step that installs
//! wheels for the image's platform (pip with `PIP_PLATFORM` and `--only-binary=:all:`) gets a
//! pure-Python wheel built on this machine from the requirement's sdist, reproducibly; a source
//! that builds a platform wheel is refused, naming the package. The sdists are our own, made
//! here; the index is a local directory (`PIP_NO_INDEX`, `PIP_FIND_LINKS`) holding them and the
//! build backend (setuptools, pinned, from PyPI once into `$BERTH_CACHE_DIR/test-wheels`).
//! `scripts/images-test.sh` runs these with `--include-ignored` (a registry with busybox).

#[path = "common/images.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Fixture, fails_with_2, ok, text};

const SETUPTOOLS: &str = "setuptools==75.8.0";
const SETUPTOOLS_WHEEL: &str = "setuptools-75.8.0-py3-none-any.whl";

fn mirror() -> String {
    let registry = std::env::var("BERTH_TEST_REGISTRY")
        .expect("BERTH_TEST_REGISTRY=host:port (see scripts/images-test.sh)");
    format!("docker.io=http://{registry}")
}

/// The pinned build backend's wheel, downloaded from PyPI once per cache.
fn setuptools_wheel() -> PathBuf {
    let cache = std::env::var_os("BERTH_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/berth"))
        .join("test-wheels");
    let wheel = cache.join(SETUPTOOLS_WHEEL);
    if !wheel.is_file() {
        fs::create_dir_all(&cache).unwrap();
        let tmp = tempfile::tempdir_in(&cache).unwrap();
        let out = Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps"])
            .args(["--only-binary=:all:", SETUPTOOLS, "-d"])
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        fs::rename(tmp.path().join(SETUPTOOLS_WHEEL), &wheel).unwrap();
    }
    wheel
}

/// An sdist `name-1.0.0.tar.gz` in `dist` with one module; `platform` makes its wheel a
/// platform wheel (a distribution that says it has extension modules, no compiler needed).
fn sdist(dist: &Path, name: &str, platform: bool) {
    let module = name.replace('-', "_");
    let base = format!("{module}-1.0.0");
    let pyproject = format!(
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"{name}\"\nversion = \"1.0.0\"\nrequires-python = \">=3.8\"\n"
    );
    let setup = if platform {
        "from setuptools import setup\nfrom setuptools.dist import Distribution\n\n\n\
         class Platform(Distribution):\n    def has_ext_modules(self):\n        return True\n\n\n\
         setup(distclass=Platform, packages=[\"PKG\"])\n"
            .replace("PKG", &module)
    } else {
        format!("from setuptools import setup\n\nsetup(packages=[\"{module}\"])\n")
    };
    let pkg_info = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n");
    let files = [
        ("pyproject.toml".to_owned(), pyproject),
        ("setup.py".to_owned(), setup),
        ("PKG-INFO".to_owned(), pkg_info),
        (
            format!("{module}/__init__.py"),
            format!("GREETING = \"hello from {name}\"\n"),
        ),
    ];
    let file = fs::File::create(dist.join(format!("{base}.tar.gz"))).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, format!("{base}/{path}"), content.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// A context `py` with `requirements` and a local index, and a spec `py` installing them for
/// linux/amd64 CPython 3.12 the way berth's Python specs do.
fn python_fixture(requirements: &str) -> Fixture {
    let fx = Fixture::new();
    let dist = fx.path("py/dist");
    fs::create_dir_all(&dist).unwrap();
    fs::copy(setuptools_wheel(), dist.join(SETUPTOOLS_WHEEL)).unwrap();
    sdist(&dist, "berth-pure-fixture", false);
    sdist(&dist, "berth-platform-fixture", true);
    fs::write(fx.path("py/requirements.txt"), requirements).unwrap();
    fs::write(fx.path("py/app.py"), "print('app')\n").unwrap();
    fs::write(
        fx.path("specs/py.toml"),
        r#"kind = "build"
repository = "localhost/berth-test/py"
base = "docker.io/library/busybox:1.35.0"
context = "py"
user = "10001:10001"
workdir = "/app"
entrypoint = ["/bin/sh"]
tools = ["pip"]

[[layers]]
name = "deps"
inputs = ["requirements.txt", "dist"]
run = ["pip", "install", "--quiet", "--no-compile", "--target", "{out}", "--only-binary=:all:", "--python-version", "3.12", "-r", "{context}/requirements.txt"]
env = { PIP_PLATFORM = "{pip_platforms}", PIP_NO_INDEX = "1", PIP_FIND_LINKS = "{context}/dist", PIP_DISABLE_PIP_VERSION_CHECK = "1" }
dest = "/app/deps"

[[layers]]
name = "code"
copy = ["app.py"]
dest = "/app"
"#,
    )
    .unwrap();
    fx
}

fn build(fx: &Fixture, cache: &str, out: &str) -> std::process::Output {
    fx.berth_with_cache(
        &["images", "build", "py"],
        &[
            "--registry-mirror",
            &mirror(),
            "--platform",
            "linux/amd64",
            "--out",
            &fx.path(out).to_string_lossy(),
        ],
        cache,
    )
}

/// The paths in the image's `deps` layer (from the build record and the cache's blob).
fn deps_files(fx: &Fixture, cache: &str, out: &str) -> Vec<String> {
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(fx.path(out).join("py.json")).unwrap()).unwrap();
    let digest = record["app_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "deps")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = fs::read(
        fx.path(cache)
            .join("blobs/sha256")
            .join(&digest["sha256:".len()..]),
    )
    .unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
#[ignore = "needs a real registry with busybox and pip with PyPI: run scripts/images-test.sh"]
fn a_pure_python_sdist_is_built_here_and_the_image_is_reproducible() {
    let fx = python_fixture("berth-pure-fixture==1.0.0\n");
    let first = build(&fx, "cache-a", "out-a");
    let printed = ok(&first);
    let stderr = text(&first.stderr);
    assert!(
        stderr.contains(
            "berth-pure-fixture 1.0.0 has no wheel for linux x86_64 cp312: using a pure-Python wheel built here"
        ),
        "the build says what it did: {stderr}"
    );
    let files = deps_files(&fx, "cache-a", "out-a");
    assert!(
        files.contains(&"app/deps/berth_pure_fixture/__init__.py".to_owned()),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("app/deps/berth_pure_fixture-1.0.0.dist-info/")),
        "{files:?}"
    );
    // A second build from an empty cache builds the wheel and the step again: same image.
    let second = ok(&build(&fx, "cache-b", "out-b"));
    let digest = |printed: &str| printed.trim().split('\t').nth(1).unwrap().to_owned();
    assert_eq!(
        digest(&printed),
        digest(&second),
        "same sources, same image"
    );
    // The wheel is kept: a third build with the step's output gone reuses it.
    let steps = fx.path("cache-b/steps");
    for entry in fs::read_dir(&steps).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "wheels" {
            fs::remove_dir_all(entry.path()).unwrap();
        }
    }
    fs::remove_dir_all(fx.path("cache-b/layers")).unwrap();
    let third = build(&fx, "cache-b", "out-c");
    assert_eq!(digest(&ok(&third)), digest(&printed));
}

#[test]
#[ignore = "needs a real registry with busybox and pip with PyPI: run scripts/images-test.sh"]
fn a_source_that_builds_a_platform_wheel_is_refused_by_name() {
    let fx = python_fixture("berth-pure-fixture==1.0.0\nberth-platform-fixture==1.0.0\n");
    let output = build(&fx, "cache", "out");
    let stderr = fails_with_2(&output);
    assert!(text(&output.stdout).is_empty());
    assert!(
        stderr.contains("image py, step \"layer deps\"")
            && stderr.contains(
                "berth-platform-fixture 1.0.0 has no wheel for linux x86_64 cp312 and its source builds a platform wheel"
            )
            && stderr.contains("linux_x86_64.whl"),
        "{stderr}"
    );
    assert!(!stderr.contains("from versions: none"), "{stderr}");
    assert!(!fx.path("out/py.tar").exists(), "no archive");
    let steps = fx.path("cache/steps");
    let kept: Vec<String> = fs::read_dir(&steps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["wheels"], "no step output kept: {kept:?}");
}
