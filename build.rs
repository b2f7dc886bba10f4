//! Build facts for `berth --version`: the commit the binary was built from and its target
//! triple. The commit comes from `BERTH_BUILD_COMMIT` (release builds outside a checkout may
//! set it), else from git, else it is "unknown" (a source tarball has no history).

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    let target = env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BERTH_BUILD_TARGET={target}");
    println!("cargo:rerun-if-env-changed=BERTH_BUILD_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");

    let commit = match env::var("BERTH_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_string(),
        _ => {
            watch_git_head();
            match git(&["log", "-1", "--format=%h (%cs)", "--abbrev=12"]) {
                Some(commit) => commit,
                None => "unknown".into(),
            }
        }
    };
    println!("cargo:rustc-env=BERTH_BUILD_COMMIT={commit}");
}

/// Rebuild when this checkout's HEAD moves: its HEAD file and the branch it names (loose or
/// packed), never the whole refs directory, which other worktrees share.
fn watch_git_head() {
    let mut paths = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        paths.push(git(&["rev-parse", "--git-path", &branch]));
    }
    paths.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for path in paths.into_iter().flatten() {
        // A path that does not exist would make cargo rerun this script on every build.
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}
