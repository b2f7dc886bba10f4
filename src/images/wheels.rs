//! Wheels built on this machine for Python requirements the index has only as source.
//!
//! A step that installs dependencies for the image's platform (pip with `PIP_PLATFORM` and
//! `--only-binary=:all:`) cannot take an sdist: pip would build it for this machine, so it says
//! "No matching distribution found". A pure-Python source builds a `py3-none-any` wheel that runs
//! on any platform, so berth builds it here (`pip wheel --no-deps`, from source), keeps it in a
//! wheelhouse under its cache (one directory per requirement and index, reused by later builds:
//! the same wheel, the same layer) and runs the step again with the wheel on `PIP_FIND_LINKS`. A
//! source that builds a platform wheel is refused, naming the package and why.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::error::ErrorKind;
use super::store::Digest;

/// pip options that describe the image rather than this machine: the host build must not see
/// them (they are the step's, set in its environment).
const TARGET_OPTIONS: [&str; 8] = [
    "PIP_PLATFORM",
    "PIP_PYTHON_VERSION",
    "PIP_ABI",
    "PIP_IMPLEMENTATION",
    "PIP_ONLY_BINARY",
    "PIP_NO_BINARY",
    "PIP_TARGET",
    "PIP_NO_DEPS",
];

/// The requirement pip could not satisfy with a wheel, from its output ("No matching
/// distribution found for neon==0.1.2").
pub fn missing_requirement(output: &str) -> Option<String> {
    const MARKER: &str = "No matching distribution found for ";
    output.lines().find_map(|line| {
        let rest = line.split_once(MARKER)?.1.trim();
        (!rest.is_empty()).then(|| rest.to_owned())
    })
}

/// Whether a step installs for the image's platform with pip (its environment sets
/// `PIP_PLATFORM`), the only kind of step whose missing wheels berth builds.
pub fn targets_a_platform(env: &BTreeMap<String, String>) -> bool {
    env.contains_key("PIP_PLATFORM")
}

/// What the image needs, for messages: `linux x86_64 cp312` (the CPython version when the step's
/// command or environment names it with `--python-version`).
pub fn target_description(
    argv: &[String],
    env: &BTreeMap<String, String>,
    os: &str,
    machine: &str,
) -> String {
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    let version = env.get("PIP_PYTHON_VERSION").cloned().or_else(|| {
        words.iter().enumerate().find_map(|(i, w)| {
            let w = w.trim_matches(|c| c == '"' || c == '\'');
            match w.strip_prefix("--python-version") {
                Some("") => words.get(i + 1).map(|v| v.to_string()),
                Some(v) => v.strip_prefix('=').map(str::to_owned),
                None => None,
            }
        })
    });
    let version = version
        .map(|v| v.trim_matches(|c| c == '"' || c == '\'').replace('.', ""))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()));
    match version {
        Some(v) => format!("{os} {machine} cp{v}"),
        None => format!("{os} {machine}"),
    }
}

/// `neon 0.1.2` for `neon==0.1.2`; other requirements as written.
pub fn describe(requirement: &str) -> String {
    match requirement.split_once("==") {
        Some((name, version))
            if !name.trim().is_empty()
                && !version.trim().is_empty()
                && !version.contains([',', ';', ' ']) =>
        {
            format!("{} {}", name.trim(), version.trim())
        }
        _ => requirement.to_owned(),
    }
}

/// The distribution name of a requirement (`neon` for `neon[extra]==0.1.2 ; python_version>"3"`).
fn name_of(requirement: &str) -> &str {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(requirement.len());
    &requirement[..end]
}

/// Whether a wheel file name's tags say it runs on any platform and any Python 3
/// (`py3-none-any`, `py2.py3-none-any`).
pub fn is_pure(wheel: &str) -> bool {
    let Some(stem) = wheel.strip_suffix(".whl") else {
        return false;
    };
    let tags: Vec<&str> = stem.rsplitn(4, '-').collect();
    let [platform, abi, python, _rest] = tags[..] else {
        return false;
    };
    platform == "any"
        && abi == "none"
        && python.split('.').any(|t| {
            t == "py3" || (t.starts_with("py3") && t[3..].chars().all(|c| c.is_ascii_digit()))
        })
}

/// What the build of one requirement needs: the command that runs pip on this machine (the
/// step's `PATH`, working directory and environment), where wheels are kept, the image it is for.
pub struct WheelBuild<'a> {
    /// `pip` set up as the step runs it; berth removes the target's options and adds its own.
    pub pip: Command,
    /// The wheelhouse (`steps/wheels` in berth's cache).
    pub wheels_dir: &'a Path,
    /// The image's platform and Python, for messages (`linux x86_64 cp312`).
    pub target: &'a str,
    /// The index settings the step sees (`PIP_INDEX_URL`, …): part of the wheel's key.
    pub index: BTreeMap<String, String>,
}

/// The directory holding a pure-Python wheel of `requirement`, built from its source here when
/// the wheelhouse does not have it yet; a source that builds a platform wheel, or that cannot be
/// built, is an error naming the requirement.
pub fn pure_wheel(requirement: &str, build: WheelBuild<'_>) -> Result<PathBuf, ErrorKind> {
    let key = Digest::of(
        json!({"version": 1, "requirement": requirement, "index": build.index})
            .to_string()
            .as_bytes(),
    );
    let done = build.wheels_dir.join(key.hex());
    if wheel_in(&done).is_some() {
        return Ok(done);
    }
    fs::create_dir_all(build.wheels_dir)
        .map_err(|e| ErrorKind::io("create directory", build.wheels_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(build.wheels_dir)
        .map_err(|e| ErrorKind::io("create directory in", build.wheels_dir, e))?;
    let no_wheel = |reason: String| ErrorKind::NoWheel {
        requirement: describe(requirement),
        target: build.target.to_owned(),
        reason,
    };
    let mut pip = build.pip;
    for name in TARGET_OPTIONS {
        pip.env_remove(name);
    }
    pip.args([
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-binary",
        name_of(requirement),
        "--wheel-dir",
    ])
    .arg(tmp.path())
    .arg(requirement);
    let output = pip
        .output()
        .map_err(|e| no_wheel(format!("pip could not be run here to build one: {e}")))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(no_wheel(format!(
            "building one from its source here failed (`pip wheel --no-deps {requirement}`, {}):\n{}",
            output.status,
            tail.join("\n")
        )));
    }
    let Some(wheel) = wheel_in(tmp.path()) else {
        return Err(no_wheel(
            "`pip wheel` built nothing from its source here".to_owned(),
        ));
    };
    if !is_pure(&wheel) {
        return Err(no_wheel(format!(
            "its source builds a platform wheel ({wheel}), which would hold this machine's binaries; \
             only pure-Python (py3-none-any) wheels are built here\n\
             hint: pin a version of {} that publishes a wheel for the image's platform, or replace it",
            name_of(requirement)
        )));
    }
    let kept = tmp.keep();
    if let Err(e) = fs::rename(&kept, &done) {
        // Another build made the same wheel first: it is as good as ours.
        let _ = fs::remove_dir_all(&kept);
        if wheel_in(&done).is_none() {
            return Err(ErrorKind::io("rename wheel directory to", &done, e));
        }
    }
    Ok(done)
}

/// The one wheel in `dir`.
fn wheel_in(dir: &Path) -> Option<String> {
    let mut wheels = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".whl"));
    let first = wheels.next()?;
    wheels.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pips_verdict_names_the_requirement() {
        let output = "Collecting fastapi==0.115.0\n\
            ERROR: Could not find a version that satisfies the requirement neon==0.1.2 (from versions: none)\n\
            ERROR: No matching distribution found for neon==0.1.2\n";
        assert_eq!(missing_requirement(output).as_deref(), Some("neon==0.1.2"));
        assert_eq!(missing_requirement("ERROR: Invalid requirement: 'x'"), None);
    }

    #[test]
    fn requirements_are_described_and_named() {
        assert_eq!(describe("neon==0.1.2"), "neon 0.1.2");
        assert_eq!(describe("neon>=0.1"), "neon>=0.1");
        assert_eq!(
            name_of("Foo_Bar.baz[x]==1 ; python_version>'3'"),
            "Foo_Bar.baz"
        );
        assert_eq!(name_of("neon==0.1.2"), "neon");
    }

    #[test]
    fn only_pure_python_3_wheels_are_pure() {
        for pure in [
            "neon-0.1.2-py3-none-any.whl",
            "six-1.16.0-py2.py3-none-any.whl",
            "a_b-1.0-1-py3-none-any.whl",
            "x-1.0-py312-none-any.whl",
        ] {
            assert!(is_pure(pure), "{pure}");
        }
        for not_pure in [
            "x-1.0-cp311-cp311-linux_x86_64.whl",
            "x-1.0-py3-none-linux_x86_64.whl",
            "x-1.0-cp312-abi3-manylinux_2_17_x86_64.whl",
            "x-1.0-py2-none-any.whl",
            "x-1.0.tar.gz",
            "garbage.whl",
        ] {
            assert!(!is_pure(not_pure), "{not_pure}");
        }
    }

    #[test]
    fn the_target_names_the_images_python() {
        let script = vec![
            "bash".to_owned(),
            "-c".to_owned(),
            "pip install --target \"$2\" --only-binary=:all: --python-version 3.12 -r r.txt"
                .to_owned(),
        ];
        let none = BTreeMap::new();
        assert_eq!(
            target_description(&script, &none, "linux", "x86_64"),
            "linux x86_64 cp312"
        );
        let eq = vec!["pip".to_owned(), "--python-version=3.13".to_owned()];
        assert_eq!(
            target_description(&eq, &none, "linux", "aarch64"),
            "linux aarch64 cp313"
        );
        let env: BTreeMap<String, String> =
            [("PIP_PYTHON_VERSION".to_owned(), "3.11".to_owned())].into();
        assert_eq!(
            target_description(&[], &env, "linux", "x86_64"),
            "linux x86_64 cp311"
        );
        assert_eq!(
            target_description(&["pip".to_owned()], &none, "linux", "x86_64"),
            "linux x86_64"
        );
        assert!(targets_a_platform(
            &[(
                "PIP_PLATFORM".to_owned(),
                "manylinux_2_17_x86_64".to_owned()
            )]
            .into()
        ));
        assert!(!targets_a_platform(&none));
    }
}
