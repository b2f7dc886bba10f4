//! Host tools a spec's build steps run (`tools = ["uv", "pip", "python3"]`): found on `PATH`,
//! or — for uv and Poetry — installed at pinned versions into berth's cache when missing, or
//! refused before any step runs with the exact command that installs them.
//!
//! The pins and the cache directory are those of `scripts/build-tools.sh` (the same
//! requirements file, embedded; the same directory key), so the tests' tools and berth's are one
//! installation: `$BERTH_CACHE_DIR/build-tools/uv-<v>-poetry-<v>-export-<v>-<hash>/bin`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

use super::error::ErrorKind;

/// uv, pinned (scripts/build-tools.sh's `UV_VERSION`).
pub const UV_VERSION: &str = "0.13.9";
/// Poetry, pinned (scripts/build-tools.sh's `POETRY_VERSION`).
pub const POETRY_VERSION: &str = "2.5.1";
/// poetry-plugin-export, pinned (scripts/build-tools.sh's `EXPORT_VERSION`).
pub const EXPORT_VERSION: &str = "1.10.1";
/// The three tools and everything they depend on, pinned.
pub const REQUIREMENTS: &str = include_str!("../../scripts/requirements-build-tools.txt");

/// Where a tool comes from for a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// On `PATH`, here.
    OnPath(PathBuf),
    /// In berth's cache (this `bin` directory goes first on the steps' `PATH`).
    Cached(PathBuf),
    /// Not here yet: berth installs it (pinned, from PyPI) when a build needs it.
    Installable,
    /// Not here and berth cannot install it: the command that does.
    Missing { install: String },
}

impl Availability {
    /// One line for a report (`uv: berth's cache (…)`).
    pub fn describe(&self, name: &str) -> String {
        match self {
            Availability::OnPath(p) => format!("{name}: {}", p.display()),
            Availability::Cached(dir) => format!("{name}: berth's cache ({})", dir.display()),
            Availability::Installable => format!(
                "{name}: not installed; the first build installs the pinned version into berth's cache (needs python3 with venv)"
            ),
            Availability::Missing { install } => {
                format!("{name}: not found on PATH; install it: {install}")
            }
        }
    }
}

/// The pinned tools' directory in the cache (as scripts/build-tools.sh names it).
pub fn pinned_dir(cache_dir: &Path) -> PathBuf {
    let hash = hex::encode(Sha256::digest(REQUIREMENTS.as_bytes()));
    cache_dir.join("build-tools").join(format!(
        "uv-{UV_VERSION}-poetry-{POETRY_VERSION}-export-{EXPORT_VERSION}-{}",
        &hash[..12]
    ))
}

fn pinned(name: &str) -> bool {
    matches!(name, "uv" | "poetry")
}

fn complete(dir: &Path) -> bool {
    dir.join(".complete").is_file()
        && dir.join("bin/uv").is_file()
        && dir.join("bin/poetry").is_file()
}

/// Where `name` would come from for a build with this cache.
pub fn locate(name: &str, cache_dir: &Path) -> Availability {
    if let Some(path) = on_path(name) {
        return Availability::OnPath(path);
    }
    if pinned(name) {
        let dir = pinned_dir(cache_dir);
        if complete(&dir) {
            return Availability::Cached(dir.join("bin"));
        }
        if on_path("python3").is_some() {
            return Availability::Installable;
        }
    }
    Availability::Missing {
        install: install_command(name),
    }
}

/// The command that installs `name` on this machine.
pub fn install_command(name: &str) -> String {
    let apt = on_path("apt-get").is_some();
    let brew = cfg!(target_os = "macos");
    let package = match name {
        "npm" | "node" | "npx" => Some(("nodejs npm", "node")),
        "pip" | "pip3" => Some(("python3-pip", "python")),
        "python3" | "python" => Some(("python3 python3-venv python3-pip", "python")),
        "bash" => Some(("bash", "bash")),
        "tar" => Some(("tar", "gnu-tar")),
        "uv" | "poetry" => Some(("python3 python3-venv", "python")),
        _ => None,
    };
    let pinned_note = if pinned(name) {
        format!(
            " (then berth installs {name} itself), or `pip install --user uv=={UV_VERSION} poetry=={POETRY_VERSION} poetry-plugin-export=={EXPORT_VERSION}`"
        )
    } else {
        String::new()
    };
    match package {
        Some((debian, _)) if apt => format!("`sudo apt-get install -y {debian}`{pinned_note}"),
        Some((_, formula)) if brew => format!("`brew install {formula}`{pinned_note}"),
        Some((debian, _)) => format!(
            "your system's package for {name} (Debian/Ubuntu: `sudo apt-get install -y {debian}`){pinned_note}"
        ),
        None => format!("a `{name}` on PATH (the spec's `tools` names it)"),
    }
}

/// Makes every tool in `tools` available: returns the directories to put first on the steps'
/// `PATH` (berth's cache, when it holds or now installed one). `report` hears about installs.
pub fn ensure(
    tools: &[String],
    cache_dir: &Path,
    report: &dyn Fn(&str),
) -> Result<Vec<PathBuf>, ErrorKind> {
    let mut dirs = Vec::new();
    let mut missing = Vec::new();
    for name in tools {
        match locate(name, cache_dir) {
            Availability::OnPath(_) => {}
            Availability::Cached(dir) => push_unique(&mut dirs, dir),
            Availability::Installable => {
                report(&format!(
                    "installing uv {UV_VERSION} and Poetry {POETRY_VERSION} (poetry-plugin-export {EXPORT_VERSION}) into {}",
                    pinned_dir(cache_dir).display()
                ));
                push_unique(&mut dirs, install_pinned(cache_dir)?);
            }
            Availability::Missing { install } => missing.push(format!("{name}: {install}")),
        }
    }
    if missing.is_empty() {
        Ok(dirs)
    } else {
        Err(ErrorKind::Missing(format!(
            "the build steps need host tools that are not on PATH\nhint: install {}",
            missing.join("\nhint: install ")
        )))
    }
}

fn push_unique(dirs: &mut Vec<PathBuf>, dir: PathBuf) {
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

/// Installs the pinned uv and Poetry (with poetry-plugin-export) into a venv in the cache, the
/// way scripts/build-tools.sh does; returns its `bin` directory. Concurrent installs wait on a
/// lock; a half-made directory is never taken for a complete one (`.complete` is written last).
pub fn install_pinned(cache_dir: &Path) -> Result<PathBuf, ErrorKind> {
    let dir = pinned_dir(cache_dir);
    let root = dir.parent().expect("under build-tools");
    fs::create_dir_all(root).map_err(|e| ErrorKind::io("create directory", root, e))?;
    let lock_path = root.join(".lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ErrorKind::io("open", &lock_path, e))?;
    lock.lock()
        .map_err(|e| ErrorKind::io("lock", &lock_path, e))?;
    if complete(&dir) {
        return Ok(dir.join("bin"));
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| ErrorKind::io("remove", &dir, e))?;
    }
    let venv = dir.join("venv");
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv_exe(&venv, "pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        &format!("uv=={UV_VERSION}"),
    ]))?;
    let requirements = dir.join("requirements-build-tools.txt");
    fs::write(&requirements, REQUIREMENTS).map_err(|e| ErrorKind::io("write", &requirements, e))?;
    run(Command::new(venv_exe(&venv, "uv"))
        .args(["pip", "install", "--quiet", "--python"])
        .arg(venv_exe(&venv, "python"))
        .arg("-r")
        .arg(&requirements)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_PROGRESS", "1"))?;
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).map_err(|e| ErrorKind::io("create directory", &bin, e))?;
    for tool in ["uv", "poetry"] {
        let link = bin.join(tool);
        expose(&venv, tool, &link).map_err(|e| ErrorKind::io("link", &link, e))?;
    }
    for (tool, want) in [
        ("uv", format!("uv {UV_VERSION}")),
        ("poetry", format!("version {POETRY_VERSION})")),
    ] {
        let exe = bin.join(format!("{tool}{}", std::env::consts::EXE_SUFFIX));
        let out = Command::new(&exe)
            .arg("--version")
            .output()
            .map_err(|e| ErrorKind::io("run", &exe, e))?;
        let got = String::from_utf8_lossy(&out.stdout);
        if !got.contains(&want) {
            return Err(ErrorKind::Missing(format!(
                "{tool} in {} reports {got:?}, want {want}",
                bin.display()
            )));
        }
    }
    let marker = dir.join(".complete");
    fs::write(&marker, "").map_err(|e| ErrorKind::io("write", &marker, e))?;
    Ok(bin)
}

fn run(command: &mut Command) -> Result<(), ErrorKind> {
    let line = format!("{command:?}");
    let out = command.output().map_err(|e| ErrorKind::Command {
        command: line.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(ErrorKind::Command {
        command: line,
        message: format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    })
}

/// A venv's executable: `bin/NAME`, or `Scripts\NAME.exe` on Windows.
fn venv_exe(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    } else {
        venv.join("bin").join(name)
    }
}

/// The venv's `tool` at `link`, in a directory of its own: only uv and Poetry go on the
/// build's `PATH`, not the venv's python and pip.
#[cfg(unix)]
fn expose(_venv: &Path, tool: &str, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(Path::new("../venv/bin").join(tool), link)
}

/// Windows keeps a venv's launchers in `Scripts\` as `.exe` files that name their python by
/// absolute path, so a copy works where a symlink would need privileges.
#[cfg(not(unix))]
fn expose(venv: &Path, tool: &str, link: &Path) -> std::io::Result<()> {
    let exe = venv_exe(venv, tool);
    fs::copy(&exe, link.with_file_name(exe.file_name().expect("a file"))).map(drop)
}

/// The executable `name` on `PATH` (with the platform's `.exe` suffix where it has one).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&path)
        .map(|dir| dir.join(&file))
        .find(|p| executable(p))
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pins are scripts/build-tools.sh's: one installation for the tests and for berth.
    #[test]
    fn pins_and_directory_are_the_scripts() {
        let script = include_str!("../../scripts/build-tools.sh");
        for (var, value) in [
            ("UV_VERSION", UV_VERSION),
            ("POETRY_VERSION", POETRY_VERSION),
            ("EXPORT_VERSION", EXPORT_VERSION),
        ] {
            assert!(
                script.lines().any(|l| l == format!("{var}={value}")),
                "scripts/build-tools.sh does not set {var}={value}"
            );
        }
        assert!(
            script.contains(
                "key=uv-$UV_VERSION-poetry-$POETRY_VERSION-export-$EXPORT_VERSION-$(sha256sum \"$requirements\" | cut -c1-12)"
            ),
            "the script's directory key changed: change pinned_dir with it"
        );
        let dir = pinned_dir(Path::new("/c"));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("uv-0.13.9-poetry-2.5.1-export-1.10.1-"),
            "{name}"
        );
        assert_eq!(
            name.len(),
            "uv-0.13.9-poetry-2.5.1-export-1.10.1-".len() + 12
        );
    }

    #[test]
    fn a_tool_nobody_can_install_is_refused_with_the_command() {
        let cache = tempfile::tempdir().unwrap();
        let err = ensure(
            &["sh".into(), "berth-no-such-tool".into()],
            cache.path(),
            &|_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("berth-no-such-tool") && err.contains("hint: install"),
            "{err}"
        );
        assert!(!err.contains("sh:"), "sh is on PATH: {err}");
        assert!(install_command("npm").contains("nodejs npm"));
    }
}
