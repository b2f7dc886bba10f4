//! The image specs `berth init` writes build with berth against a real registry (the local one of
//! `scripts/registry.sh`, seeded with python:3.12- and 3.13-slim-bookworm), with the dependency
//! layer from PyPI wheels for the image's platform, and without writing into the team's source
//! tree. The uv and Poetry specs call the pinned `uv` and `poetry` of `scripts/build-tools.sh` on
//! PATH. `scripts/images-test.sh` runs this with `--include-ignored`; by hand it needs
//! `BERTH_TEST_REGISTRY=host:port` (and `BERTH_TEST_CONTAINERD_SOCKET` for the import checks).

#[path = "common/images.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Archive, ElfCensus, copy_tree, text};

/// Every file under `dir` (relative path) with its contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// berth's build cache: the shared one, as for the app's images. A step runs again whenever its
/// command or inputs (the spec, the lock file) change; an unchanged one is reused.
fn cache_dir() -> PathBuf {
    std::env::var_os("BERTH_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(berth::images::default_cache_dir)
}

/// A copy of a fixture repository in which `berth init --yes` has run, with an output
/// directory next to it.
struct InitRepo {
    tmp: tempfile::TempDir,
    repo: PathBuf,
}

impl InitRepo {
    fn new(fixture: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join(fixture);
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/repos")
                .join(fixture),
            &repo,
        );
        let this = Self { tmp, repo };
        let init = this.berth(&["init", "--yes"]);
        assert!(init.status.success(), "{}", text(&init.stderr));
        this
    }

    fn berth(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .current_dir(&self.repo)
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("BERTH_CACHE_DIR")
            .output()
            .unwrap()
    }

    /// `berth images SUBCOMMAND COMPONENT EXTRA…` with the spec init wrote, the private cache
    /// and output directories, and docker.io mapped to the test registry for builds.
    fn images(&self, subcommand: &str, component: &str, extra: &[&str]) -> Output {
        let registry = std::env::var("BERTH_TEST_REGISTRY")
            .expect("BERTH_TEST_REGISTRY=host:port (see scripts/images-test.sh)");
        let mirror = format!("docker.io=http://{registry}");
        let (root, specs) = (self.repo.display(), self.repo.join("images"));
        let (cache, out) = (cache_dir(), self.out());
        let mut args = vec![
            "images".to_owned(),
            subcommand.to_owned(),
            component.to_owned(),
            format!("--root={root}"),
            format!("--specs-dir={}", specs.display()),
            format!("--cache-dir={}", cache.display()),
            format!("--out={}", out.display()),
        ];
        if subcommand == "build" {
            args.push(format!("--registry-mirror={mirror}"));
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        self.berth(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    /// The spec init wrote for `component`.
    fn spec(&self, component: &str) -> toml::Value {
        let path = self.repo.join(format!("images/{component}.toml"));
        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// Builds `component` (checking that the source tree is byte for byte the same afterwards)
    /// and returns the image archive berth wrote.
    fn build(&self, component: &str, extra: &[&str]) -> Image {
        let before = tree(&self.repo);
        let build = self.images("build", component, extra);
        assert!(build.status.success(), "{}", text(&build.stderr));
        let after = tree(&self.repo);
        let before_names: BTreeSet<_> = before.keys().collect();
        let after_names: BTreeSet<_> = after.keys().collect();
        assert_eq!(
            before_names, after_names,
            "the build added or removed files in the team's source tree"
        );
        assert!(
            before == after,
            "the build changed files in the team's source tree"
        );
        let stdout = text(&build.stdout);
        let archive = stdout.trim().split('\t').nth(2).unwrap_or_else(|| {
            panic!("no archive path in {stdout:?}");
        });
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.out().join(format!("{component}.json"))).unwrap(),
        )
        .unwrap();
        let names: Vec<String> = record["app_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect();
        Image::read(Path::new(archive), names, stdout.clone())
    }
}

/// What a built image archive holds: its config, the files of berth's own layers by name, and
/// the machines of the ELF files in all its layers.
struct Image {
    printed: String,
    config: serde_json::Value,
    /// berth's layers in order: name and the absolute paths they hold.
    app_layers: Vec<(String, BTreeSet<String>)>,
    elf: ElfCensus,
}

impl Image {
    fn read(path: &Path, names: Vec<String>, printed: String) -> Self {
        let archive = Archive::read(path);
        let mut layers = archive.layers();
        assert!(
            layers.len() > names.len(),
            "no base layers: {}",
            archive.manifest
        );
        let app = layers.split_off(layers.len() - names.len());
        let app_layers = names
            .into_iter()
            .zip(app)
            .map(|(name, mut files)| {
                let paths = files
                    .entries()
                    .unwrap()
                    .map(|e| {
                        let path = e.unwrap().path().unwrap().to_string_lossy().into_owned();
                        format!("/{}", path.trim_start_matches("./").trim_start_matches('/'))
                    })
                    .collect();
                (name, paths)
            })
            .collect();
        Self {
            printed,
            config: archive.config.clone(),
            app_layers,
            elf: ElfCensus::of_archive(path),
        }
    }

    fn reference(&self) -> &str {
        self.printed.split('\t').next().unwrap()
    }

    fn env(&self, name: &str) -> Option<String> {
        self.config["config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str()?.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .next()
    }

    fn strings(&self, field: &str) -> Vec<String> {
        self.config["config"][field]
            .as_array()
            .unwrap_or_else(|| panic!("no {field} in {}", self.config))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    fn layer(&self, name: &str) -> &BTreeSet<String> {
        let found = self.app_layers.iter().find(|(n, _)| n == name);
        &found.unwrap_or_else(|| panic!("no layer {name}")).1
    }

    /// Whether the `deps` layer has the top-level package directory `/opt/deps/NAME/`.
    fn has_package(&self, name: &str) -> bool {
        self.layer("deps")
            .iter()
            .any(|f| f.starts_with(&format!("/opt/deps/{name}/")))
    }

    /// The `*.dist-info` directory names of the `deps` layer (`fastapi-0.115.14.dist-info`).
    fn dists(&self) -> BTreeSet<String> {
        self.layer("deps")
            .iter()
            .filter_map(|f| f.strip_prefix("/opt/deps/")?.split('/').next())
            .filter(|d| d.ends_with(".dist-info"))
            .map(str::to_owned)
            .collect()
    }
}

/// Asserts the checks every init-written Python image must pass: its base's CPython is
/// `python`, uvicorn serves `asgi` as the init-chosen non-root user, and the deps layer holds
/// `packages` (import names) with their compiled parts for that CPython and `machine`.
fn assert_python_image(image: &Image, python: &str, asgi: &str, machine: (&str, &str)) {
    let version = image.env("PYTHON_VERSION").expect("PYTHON_VERSION in Env");
    assert!(
        version.starts_with(&format!("{python}.")),
        "base CPython {version}, want {python}"
    );
    assert_eq!(image.strings("Entrypoint"), ["python", "-m", "uvicorn"]);
    assert_eq!(image.strings("Cmd")[0], asgi);
    assert_eq!(image.config["config"]["User"], "10001:10001");
    assert_eq!(
        image.env("PYTHONPATH").as_deref(),
        Some("/opt/deps"),
        "the deps layer is on the path"
    );
    // Compiled extensions exist and are for the image's CPython and machine only.
    let tag = format!(".cpython-{}-", python.replace('.', ""));
    let extensions: Vec<&String> = image
        .layer("deps")
        .iter()
        .filter(|f| f.ends_with(".so") && f.contains(".cpython-"))
        .collect();
    assert!(
        extensions.iter().any(|f| f.contains("/pydantic_core/")),
        "no compiled pydantic_core: {extensions:?}"
    );
    let foreign: Vec<_> = extensions.iter().filter(|f| !f.contains(&tag)).collect();
    assert!(
        foreign.is_empty(),
        "extensions for another CPython: {foreign:?}"
    );
    assert_eq!(image.elf.config_platform, format!("linux/{}", machine.0));
    assert!(
        image.elf.stray(machine.1).is_empty(),
        "ELF files for another machine: {:?}",
        image.elf.stray(machine.1)
    );
    assert!(image.elf.count(machine.1) > 0, "{:?}", image.elf);
}

/// Runs `python -c SCRIPT` in the image, loaded into the test containerd, as its user in its
/// workdir, with `env`; returns stdout. `None` when no containerd was given.
fn python_in_image(
    repo: &InitRepo,
    image: &Image,
    component: &str,
    env: &[(&str, &str)],
    script: &str,
) -> Option<String> {
    let Ok(socket) = std::env::var("BERTH_TEST_CONTAINERD_SOCKET") else {
        eprintln!("not importing the app in the image: BERTH_TEST_CONTAINERD_SOCKET is not set");
        return None;
    };
    let load = repo.images(
        "load",
        component,
        &["--target", "containerd", "--containerd-socket", &socket],
    );
    assert!(load.status.success(), "{}", text(&load.stderr));
    // Tests run in parallel threads of one process, several with a `backend`: the pid alone
    // gave two containers (and snapshots) one name.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("berth-init-{component}-{}-{run}", std::process::id());
    let mut args = vec![
        "-a".to_owned(),
        socket,
        "-n".into(),
        "k8s.io".into(),
        "run".into(),
        "--rm".into(),
    ];
    for (name, value) in env {
        args.extend(["--env".into(), format!("{name}={value}")]);
    }
    args.extend([
        image.reference().to_owned(),
        id,
        "python".into(),
        "-c".into(),
        script.into(),
    ]);
    let out = Command::new("ctr").args(&args).output().expect("ctr");
    assert!(
        out.status.success(),
        "python in {}: {}\n{}",
        image.reference(),
        text(&out.stdout),
        text(&out.stderr)
    );
    Some(text(&out.stdout))
}

#[test]
#[ignore = "needs a real registry: run scripts/images-test.sh"]
fn an_init_written_python_spec_builds_from_the_fixture() {
    let repo = InitRepo::new("broken-helm-chart");
    let image = repo.build("backend", &[]);
    assert!(
        image
            .reference()
            .starts_with("localhost/broken-helm-chart/backend:"),
        "{}",
        image.printed
    );
    let layers: Vec<&str> = image.app_layers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(layers, ["deps", "code"]);
    assert!(image.has_package("fastapi"), "{:?}", image.dists());
}

#[test]
#[ignore = "needs a real registry with python:3.13, uv on PATH: run scripts/images-test.sh"]
fn a_uv_project_pinned_to_python_3_13_builds_from_its_lock_file() {
    let repo = InitRepo::new("uv-py313");
    let spec = repo.spec("app");
    assert_eq!(
        spec["base"].as_str(),
        Some("docker.io/library/python:3.13-slim-bookworm"),
        "the base follows .python-version"
    );
    let image = repo.build("app", &[]);
    assert_python_image(&image, "3.13", "main:app", ("amd64", "x86-64"));
    // Exactly the locked versions of the main dependencies, no dev group, nothing for Windows.
    assert_locked(
        &image,
        &repo.repo.join("uv.lock"),
        &[
            ("fastapi", "fastapi"),
            ("uvicorn", "uvicorn"),
            ("sqlalchemy", "sqlalchemy"),
            ("psycopg-binary", "psycopg_binary"),
            ("google-genai", "google"),
        ],
    );
    let dists = image.dists();
    assert!(!image.has_package("pytest"), "the dev group was installed");
    assert!(
        !dists.iter().any(|d| d.starts_with("tzdata-")),
        "a Windows-only pin was installed: {dists:?}"
    );
    assert!(image.layer("code").contains("/app/main.py"));

    let printed = python_in_image(
        &repo,
        &image,
        "app",
        &[
            (
                "DATABASE_URL",
                "postgresql+psycopg://u:p@db.invalid/taskbot",
            ),
            ("GEMINI_API_KEY", "test-key"),
        ],
        "import os, sys, uvicorn, psycopg, main; \
         print(sys.version_info[:2] == (3, 13), os.getuid(), os.getcwd(), \
         main.engine.dialect.driver, sorted(r.path for r in main.app.routes if r.endpoint.__module__ == 'main'))",
    );
    if let Some(printed) = printed {
        assert_eq!(
            printed.trim(),
            "True 10001 /app psycopg ['/healthz', '/tasks']"
        );
    }
}

#[test]
#[ignore = "needs a real registry with python:3.13, uv on PATH: run scripts/images-test.sh"]
fn a_uv_project_builds_for_arm64_with_arm64_wheels() {
    let repo = InitRepo::new("uv-py313");
    let image = repo.build("app", &["--platform", "linux/arm64"]);
    assert_python_image(&image, "3.13", "main:app", ("arm64", "AArch64"));
    assert!(
        image
            .layer("deps")
            .iter()
            .any(|f| f.contains("/pydantic_core/") && f.ends_with("-aarch64-linux-gnu.so")),
        "no aarch64 pydantic_core"
    );
}

#[test]
#[ignore = "needs a real registry with python:3.12, Poetry on PATH: run scripts/images-test.sh"]
fn a_poetry_backend_builds_from_its_lock_file() {
    let repo = InitRepo::new("mcp-inprocess-poetry");
    let spec = repo.spec("backend");
    assert_eq!(
        spec["base"].as_str(),
        Some("docker.io/library/python:3.12-slim-bookworm"),
        "the base follows pyproject's python = \"^3.12\""
    );
    assert_eq!(spec["context"].as_str(), Some("backend"));
    let image = repo.build("backend", &[]);
    assert_python_image(&image, "3.12", "app.main:app", ("amd64", "x86-64"));
    assert_locked(
        &image,
        &repo.repo.join("backend/poetry.lock"),
        &[
            ("fastapi", "fastapi"),
            ("uvicorn", "uvicorn"),
            ("openai-agents", "agents"),
        ],
    );
    let dists = image.dists();
    // The lock holds two mcp versions split by python_version; the one for 3.12 is installed.
    assert!(
        dists.iter().filter(|d| d.starts_with("mcp-")).count() == 1,
        "{dists:?}"
    );
    assert!(image.layer("code").contains("/app/app/tools.py"));
    assert!(
        !image.layer("code").contains("/app/Dockerfile"),
        "the Dockerfile is not part of the image"
    );

    let printed = python_in_image(
        &repo,
        &image,
        "backend",
        &[("OPENAI_API_KEY", "test-key")],
        "import sys, uvicorn, app.main, app.tools; \
         print(sys.version_info[:2] == (3, 12), type(app.tools.mcp).__name__, \
         sorted(r.path for r in app.main.app.routes if r.endpoint.__module__ == 'app.main'))",
    );
    if let Some(printed) = printed {
        assert_eq!(printed.trim(), "True FastMCP ['/api/chat', '/api/health']");
    }
}

/// The deps layer holds each `(package, import name)` at the one version `lock` (uv.lock or
/// poetry.lock) pins for it.
fn assert_locked(image: &Image, lock: &Path, packages: &[(&str, &str)]) {
    let lock = std::fs::read_to_string(lock).unwrap();
    let dists = image.dists();
    for (package, import) in packages {
        let dist = format!(
            "{}-{}.dist-info",
            package.replace('-', "_"),
            locked_version(&lock, package)
        );
        assert!(dists.contains(&dist), "{dist} not in {dists:?}");
        assert!(image.has_package(import), "no /opt/deps/{import}/");
    }
}

/// The one version a lock file (uv.lock or poetry.lock) pins for `package`.
fn locked_version(lock: &str, package: &str) -> String {
    let lock: toml::Value = toml::from_str(lock).unwrap();
    let versions: Vec<&str> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some(package))
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 1, "{package}: {versions:?}");
    versions[0].to_owned()
}

/// A uv backend as a team has it: built with `berth images build` in the team's directory (no
/// `--root`: the spec's relative context resolves against the directory holding images/), with
/// uv taken from berth's cache rather than PATH. The Dockerfile's `ENV PATH=/app/.venv/bin:$PATH`
/// is not copied; berth's `PATH = "/opt/deps/bin:$PATH"` is expanded against the base's PATH; the
/// duplicate `PYTHONUNBUFFERED` is one key; `$APP_HOME` of another ENV line is resolved; the
/// alembic task runs as `python -m alembic`, and the console script works too.
#[test]
#[ignore = "needs a real registry with python:3.12 and uv in berth's cache: run scripts/images-test.sh"]
fn a_uv_backend_builds_in_the_teams_directory_with_its_tasks_command_in_the_image() {
    let repo = InitRepo::new("uv-alembic-oauth");
    let spec = repo.spec("backend");
    assert_eq!(spec["context"].as_str(), Some("backend"));
    let tools: Vec<&str> = spec["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tools, ["uv", "pip", "python3"]);
    let yaml = std::fs::read_to_string(repo.repo.join("berth.yaml")).unwrap();
    assert!(
        yaml.contains("migrate: {command: [python, \"-m\", alembic, upgrade, head]}"),
        "{yaml}"
    );
    // Without scripts/build-tools.sh's directory on PATH: berth finds (or installs) the pinned
    // uv in its cache.
    let path: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .filter(|d| !d.to_string_lossy().contains("build-tools"))
        .collect();
    let registry = std::env::var("BERTH_TEST_REGISTRY").expect("BERTH_TEST_REGISTRY");
    let out = repo.out();
    let build = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "images",
            "build",
            "backend",
            &format!("--cache-dir={}", cache_dir().display()),
            &format!("--out={}", out.display()),
            &format!("--registry-mirror=docker.io=http://{registry}"),
        ])
        .current_dir(&repo.repo)
        .env("PATH", std::env::join_paths(path).unwrap())
        .env_remove("BERTH_CACHE_DIR")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", text(&build.stderr));
    let stdout = text(&build.stdout);
    let archive = PathBuf::from(stdout.trim().split('\t').nth(2).unwrap());
    let image = Image::read(&archive, vec!["deps".into(), "code".into()], stdout.clone());
    assert_python_image(&image, "3.12", "app.main:app", ("amd64", "x86-64"));
    let base_path = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";
    assert_eq!(
        image.env("PATH").as_deref(),
        Some(format!("/opt/deps/bin:{base_path}").as_str()),
        "`$PATH` is the base's, never literal text"
    );
    assert_eq!(image.env("DATA_DIR").as_deref(), Some("/app/data"));
    assert_eq!(image.env("PYTHONUNBUFFERED").as_deref(), Some("1"));
    assert_eq!(
        image.env("UV_CACHE_DIR"),
        None,
        "refers to an unset variable"
    );
    assert!(image.layer("deps").contains("/opt/deps/bin/alembic"));
    let files = Archive::read(&archive).files();
    let script = String::from_utf8_lossy(&files["/opt/deps/bin/alembic"].data).into_owned();
    assert!(
        script.starts_with("#!/usr/local/bin/python3\n"),
        "the console script runs the image's Python: {}",
        script.lines().next().unwrap_or("")
    );
    assert!(
        image
            .layer("code")
            .contains("/app/alembic/versions/0001_tasks.py")
    );

    let printed = python_in_image(
        &repo,
        &image,
        "backend",
        &[],
        "import subprocess; \
         a = subprocess.run(['python', '-m', 'alembic', '--help'], capture_output=True); \
         b = subprocess.run(['alembic', '--help'], capture_output=True); \
         print(a.returncode, b.returncode)",
    );
    if let Some(printed) = printed {
        assert_eq!(
            printed.trim(),
            "0 0",
            "both forms of the task's command run"
        );
    }
}

/// berth installs the pinned uv and Poetry (scripts/build-tools.sh's pins and directory) into an
/// empty cache, from PyPI with the host's python3.
#[test]
#[ignore = "installs uv and Poetry from PyPI (about 40 s): run scripts/images-test.sh"]
fn the_pinned_build_tools_install_into_an_empty_cache() {
    let cache = tempfile::tempdir().unwrap();
    let bin = berth::images::tools::install_pinned(cache.path()).unwrap();
    assert_eq!(
        bin,
        berth::images::tools::pinned_dir(cache.path()).join("bin")
    );
    let uv = Command::new(bin.join("uv"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(text(&uv.stdout).starts_with(&format!("uv {}", berth::images::tools::UV_VERSION)));
    let export = Command::new(bin.join("poetry"))
        .args(["export", "--help"])
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert!(
        berth::images::tools::pinned_dir(cache.path())
            .join(".complete")
            .is_file()
    );
    // A second call finds it complete and returns at once.
    assert_eq!(
        berth::images::tools::install_pinned(cache.path()).unwrap(),
        bin
    );
}
