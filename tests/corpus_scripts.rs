//! The helpers of `scripts/real-repos.sh` that decide what its report says: the network-only
//! npm patch is listed exactly when a lock file resolves at a mirror registry, and the first
//! error of a failed `next build` is the line that names the cause, not the stack frame after it.

use std::fs;
use std::path::Path;
use std::process::Command;

fn script(name: &str, arg: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/corpus")
        .join(name);
    let out = Command::new("python3").arg(path).arg(arg).output().unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_lock_file_resolved_at_a_mirror_registry_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let lock = |dir: &str, host: &str| {
        let at = |name: &str| format!("https://{host}/{name}/-/{name}-1.0.0.tgz");
        let text = serde_json::json!({
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "web"},
                "node_modules/a": {"version": "1.0.0", "resolved": at("a")},
                "node_modules/b": {"version": "1.0.0", "resolved": at("b")},
                "node_modules/c": {"version": "1.0.0", "resolved": "git+ssh://git@example.invalid/c.git#abc"}
            }
        });
        fs::create_dir_all(dir).unwrap();
        fs::write(Path::new(dir).join("package-lock.json"), text.to_string()).unwrap();
    };
    let root = dir.path().to_string_lossy().into_owned();
    lock(&format!("{root}/web"), "registry.npmjs.org");
    assert_eq!(
        script("npm-registry.py", dir.path()),
        "",
        "npm's own registry"
    );
    lock(&format!("{root}/web"), "registry.npmmirror.example");
    lock(
        &format!("{root}/web/node_modules/x"),
        "registry.npmmirror.example",
    );
    let listed = script("npm-registry.py", dir.path());
    assert_eq!(
        listed.lines().count(),
        1,
        "node_modules is not the team's: {listed}"
    );
    assert!(
        listed.starts_with(
            "web/package-lock.json: resolved at registry.npmmirror.example (2 packages)"
        ) && listed.contains("npm_config_replace_registry_host=always"),
        "{listed}"
    );
}

#[test]
fn the_first_error_is_the_line_that_names_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("build.log");
    fs::write(
        &log,
        "error: berth images build: image web, step \"layer app\": command `bash -c x` failed (exit status: 1)\n\
         caused by: command `bash -c x` failed (exit status: 1)\n\
         --- output ---\n\
         > Build error occurred\n\
         Error: Turbopack build failed with 1 errors:\n\
         ./app/page.tsx:3:1\n\
         Module not found: Can't resolve '@/lib/api'\n\
         https://nextjs.org/docs/messages/module-not-found\n\
         \x20   at <unknown> (https://nextjs.org/docs/messages/module-not-found)\n",
    )
    .unwrap();
    let first = script("first-error.py", &log);
    assert!(
        first.contains("Module not found: Can't resolve '@/lib/api'"),
        "{first}"
    );
}
