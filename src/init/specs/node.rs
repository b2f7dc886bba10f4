//! Specs for Node services: Next.js (standalone or `next start`), static sites built by Vite or
//! Create React App, plain Node servers. With a `package-lock.json` the steps install exactly
//! it (`npm ci`); without one, `npm ci` fails, so they resolve at build time (`npm install`) and
//! the user is told to commit a lock.

use std::fmt::Write as _;
use std::path::Path;

use super::{env, port, toml_list, toml_str};
use crate::init::findings::Service;
use crate::init::write::scalar;

const STATIC_SERVER: &str = "docker.io/joseluisq/static-web-server:2-debian";
const NODE_BASE: &str = "docker.io/library/node:22-bookworm-slim";

/// Copy the context (without dependencies and build output) to a scratch directory and `cd`
/// there: the step then installs and builds without touching the team's tree.
const SCRATCH: &str = "set -eu; w=$(mktemp -d); trap 'rm -rf \"$w\"' EXIT; \
tar -C \"$1\" --exclude=./node_modules --exclude=./.next --exclude=./dist --exclude=./build --exclude=./.git -cf - . | tar -C \"$w\" -xf -; cd \"$w\"; ";

/// Whether the service's directory has an npm lock file `npm ci` accepts.
pub fn has_lock(root: &Path, service: &Service) -> bool {
    lock_state(root, service) == LockState::InSync
}

#[derive(Debug, PartialEq, Eq)]
enum LockState {
    Missing,
    /// The first dependency whose range differs between package.json and the lock.
    Stale(String),
    InSync,
}

/// `npm ci` refuses a lock whose root entry declares other ranges than package.json (the team
/// ran `npm install` after editing package.json and did not commit the new lock).
fn lock_state(root: &Path, service: &Service) -> LockState {
    let dir = root.join(&service.dir);
    let read = |f: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).ok()?).ok()
    };
    let Some(lock) = read("package-lock.json") else {
        return LockState::Missing;
    };
    let Some(package) = read("package.json") else {
        return LockState::InSync;
    };
    // Lock files before v2 have no root entry to compare.
    let Some(locked) = lock.pointer("/packages/") else {
        return LockState::InSync;
    };
    for field in ["dependencies", "devDependencies", "optionalDependencies"] {
        let want = package.get(field).and_then(|d| d.as_object());
        let have = locked.get(field).and_then(|d| d.as_object());
        let empty = serde_json::Map::new();
        let (want, have) = (want.unwrap_or(&empty), have.unwrap_or(&empty));
        for (name, range) in want {
            if have.get(name) != Some(range) {
                return LockState::Stale(format!(
                    "{name}: {} in package.json, {} in the lock",
                    range,
                    have.get(name)
                        .map_or("absent".to_string(), |r| r.to_string())
                ));
            }
        }
        if let Some(extra) = have.keys().find(|k| !want.contains_key(*k)) {
            return LockState::Stale(format!("{extra}: in the lock, not in package.json"));
        }
    }
    LockState::InSync
}

/// How the build installs packages: from the lock (`npm ci`) or resolving them, and whether
/// peer dependencies are left to the team (`--legacy-peer-deps`, as their Dockerfile does: a
/// lock written that way lacks the peers `npm ci` would otherwise want).
#[derive(Clone, Copy)]
struct Npm {
    locked: bool,
    legacy_peers: bool,
}

impl Npm {
    fn flags(self) -> &'static str {
        if self.legacy_peers {
            " --legacy-peer-deps"
        } else {
            ""
        }
    }

    /// The install command of a full (build) install.
    fn install(self) -> String {
        let command = if self.locked {
            "npm ci --no-audit --no-fund"
        } else {
            "npm install --no-audit --no-fund --no-package-lock"
        };
        format!("{command}{}", self.flags())
    }
}

/// Whether a Dockerfile in the service's directory installs with `--legacy-peer-deps`.
fn legacy_peer_deps(root: &Path, service: &Service) -> Option<String> {
    let dir = root.join(&service.dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n == "Dockerfile" || n.starts_with("Dockerfile."))
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        std::fs::read_to_string(dir.join(n)).is_ok_and(|text| {
            text.lines()
                .any(|l| l.contains("npm") && l.contains("--legacy-peer-deps"))
        })
    })
}

fn lock_note(root: &Path, service: &Service, notes: &mut Vec<String>) -> Npm {
    let legacy_peers = match legacy_peer_deps(root, service) {
        Some(dockerfile) => {
            notes.push(format!(
                "{}: npm installs with --legacy-peer-deps, as {}/{dockerfile} does",
                service.name, service.dir
            ));
            true
        }
        None => false,
    };
    let locked = match lock_state(root, service) {
        LockState::InSync => true,
        LockState::Missing => {
            notes.push(format!(
                "{}: no package-lock.json in {}: the image build resolves dependency versions when it runs (npm install); commit a lock file (`npm install` writes one) for repeatable builds",
                service.name, service.dir
            ));
            false
        }
        LockState::Stale(what) => {
            notes.push(format!(
                "{}: {}/package-lock.json is out of sync with package.json ({what}), which `npm ci` refuses: the image build resolves with npm install; run `npm install` and commit the lock for repeatable builds",
                service.name, service.dir
            ));
            false
        }
    };
    Npm {
        locked,
        legacy_peers,
    }
}

pub fn next(
    out: &mut String,
    notes: &mut Vec<String>,
    root: &Path,
    service: &Service,
    standalone: bool,
) {
    let port_text = port(service).to_string();
    let npm = lock_note(root, service, notes);
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nworkdir = \"/app\"",
        toml_str(NODE_BASE),
        toml_str(&service.dir)
    );
    if standalone {
        let _ = writeln!(out, "entrypoint = [\"node\", \"server.js\"]\ncmd = []");
    } else {
        let _ = writeln!(
            out,
            "entrypoint = {}\ncmd = []",
            toml_list(&[
                "node",
                "node_modules/next/dist/bin/next",
                "start",
                "-p",
                &port_text
            ])
        );
    }
    let _ = writeln!(
        out,
        "ports = [{port_text}]\ntools = [\"npm\", \"bash\", \"tar\"]\n"
    );
    out.push_str(&env::block(
        &[
            ("NODE_ENV", "production".into()),
            ("PORT", port_text.clone()),
            ("HOSTNAME", "0.0.0.0".into()),
            ("NEXT_TELEMETRY_DISABLED", "1".into()),
        ],
        service,
        NODE_BASE,
        notes,
    ));
    out.push('\n');
    let inputs = existing_inputs(
        root,
        service,
        &[
            "package.json",
            "package-lock.json",
            "next.config.js",
            "next.config.mjs",
            "next.config.ts",
            "tsconfig.json",
            "src",
            "app",
            "pages",
            "public",
        ],
    );
    let copy = if standalone {
        let _ = writeln!(
            out,
            "# One scratch build: the standalone server with its traced node_modules, static assets and public/.\n# Traced native packages follow the build machine: build on (or for) the node's platform."
        );
        "cp -a .next/standalone/. \"$2/\"; mkdir -p \"$2/.next\"; cp -a .next/static \"$2/.next/static\"; if [ -d public ]; then cp -a public \"$2/public\"; fi"
    } else {
        let _ = writeln!(
            out,
            "# Production node_modules for the node's platform (npm --os/--cpu), then the build output."
        );
        out.push_str(&deps_layer(npm));
        "rm -rf .next/cache; cp -a .next package.json \"$2/\"; for f in next.config.* public; do if [ -e \"$f\" ]; then cp -a \"$f\" \"$2/\"; fi; done"
    };
    let script = format!("{SCRATCH}{}; npx next build; {copy}", npm.install());
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"app\"\ninputs = {}\nrun = {}\ndest = \"/app\"",
        inputs,
        toml_list(&["bash", "-c", &script, "app", "{context}", "{out}"])
    );
}

pub fn static_site(
    out: &mut String,
    notes: &mut Vec<String>,
    root: &Path,
    service: &Service,
    out_dir: &str,
) {
    let port_text = port(service).to_string();
    let npm = lock_note(root, service, notes);
    let _ = writeln!(
        out,
        "# Served by static-web-server: a single static binary, non-root, no writable paths, SPA fallback."
    );
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nentrypoint = [\"static-web-server\"]\ncmd = []\nports = [{port_text}]\ntools = [\"npm\", \"bash\", \"tar\"]\n",
        toml_str(STATIC_SERVER),
        toml_str(&service.dir)
    );
    out.push_str(&env::block(
        &[
            ("SERVER_PORT", port_text.clone()),
            ("SERVER_ROOT", "/public".into()),
            ("SERVER_FALLBACK_PAGE", "/public/index.html".into()),
        ],
        service,
        STATIC_SERVER,
        notes,
    ));
    out.push('\n');
    let script = format!(
        "{SCRATCH}{}; npm run build; cp -a {out_dir}/. \"$2/\"",
        npm.install()
    );
    let _ = writeln!(
        out,
        "# The variables this build bakes in (VITE_*, REACT_APP_*) come from berth.yaml:\n# components.{}.image.buildEnv.",
        service.name
    );
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"site\"\ninputs = {}\nrun = {}\ndest = \"/public\"",
        existing_inputs(
            root,
            service,
            &[
                "package.json",
                "package-lock.json",
                "index.html",
                "vite.config.ts",
                "vite.config.js",
                "src",
                "public"
            ]
        ),
        toml_list(&["bash", "-c", &script, "site", "{context}", "{out}"])
    );
}

pub fn server(
    out: &mut String,
    notes: &mut Vec<String>,
    root: &Path,
    service: &Service,
    script: &str,
) {
    let port_text = port(service).to_string();
    let npm = lock_note(root, service, notes);
    let main = script.strip_prefix("node ").map(str::trim);
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nworkdir = \"/app\"",
        toml_str(NODE_BASE),
        toml_str(&service.dir)
    );
    match main {
        Some(main) => {
            let _ = writeln!(out, "entrypoint = {}\ncmd = []", toml_list(&["node", main]));
        }
        None => {
            let _ = writeln!(
                out,
                "# `npm start` runs {}: check it needs no writable home.\nentrypoint = [\"npm\", \"start\"]\ncmd = []",
                scalar(script)
            );
        }
    }
    let _ = writeln!(out, "ports = [{port_text}]\ntools = [\"npm\", \"bash\"]\n");
    out.push_str(&env::block(
        &[
            ("NODE_ENV", "production".into()),
            ("PORT", port_text.clone()),
        ],
        service,
        NODE_BASE,
        notes,
    ));
    out.push('\n');
    out.push_str(&deps_layer(npm));
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"code\"\ncopy = [\".\"]\nignore = {}\ndest = \"/app\"",
        toml_list(&["node_modules/", ".env", ".env.*", "Dockerfile"])
    );
}

/// Production `node_modules` for the node's platform (npm `--os`/`--cpu`), installed straight
/// into the step's output from the lock file (or resolved, without one).
fn deps_layer(npm: Npm) -> String {
    let (files, inputs, command) = if npm.locked {
        (
            "package.json package-lock.json",
            "[\"package.json\", \"package-lock.json\"]",
            "npm ci",
        )
    } else {
        (
            "package.json",
            "[\"package.json\"]",
            "npm install --no-package-lock",
        )
    };
    let copies: Vec<String> = files.split(' ').map(|f| format!("\"$1/{f}\"")).collect();
    let script = format!(
        "set -eu; cp {} \"$2/\"; cd \"$2\"; \
{command} --omit=dev --no-audit --no-fund{} --os \"$3\" --cpu \"$4\"; rm {files}",
        copies.join(" "),
        npm.flags()
    );
    let run = toml_list(&[
        "bash",
        "-c",
        &script,
        "deps",
        "{context}",
        "{out}",
        "{npm_os}",
        "{npm_cpu}",
    ]);
    format!("[[layers]]\nname = \"deps\"\ninputs = {inputs}\nrun = {run}\ndest = \"/app\"\n\n")
}

/// Keep only the inputs that exist (the cache key hashes each one; a missing one is an error).
fn existing_inputs(root: &Path, service: &Service, candidates: &[&str]) -> String {
    let dir = root.join(&service.dir);
    let present: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|c| dir.join(c).exists())
        .collect();
    toml_list(&present)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Runtime, Source};

    fn node_service() -> Service {
        let runtime = Runtime::Node {
            script: "node s.js".into(),
        };
        Service::new("web", ".", Found::new(runtime, Source::assumed("x")))
    }

    #[test]
    fn a_lock_npm_ci_would_refuse_is_stale() {
        let root = tempfile::tempdir().unwrap();
        let service = node_service();
        let write = |pkg: &str, lock: Option<&str>| {
            std::fs::write(root.path().join("package.json"), pkg).unwrap();
            match lock {
                Some(l) => std::fs::write(root.path().join("package-lock.json"), l).unwrap(),
                None => {
                    let _ = std::fs::remove_file(root.path().join("package-lock.json"));
                }
            }
        };
        let pkg = r#"{"dependencies": {"glob": "^10.5.0"}, "devDependencies": {"vite": "6.3.5"}}"#;
        let lock = |glob: &str| {
            format!(
                r#"{{"lockfileVersion": 3, "packages": {{"": {{"dependencies": {{"glob": "{glob}"}}, "devDependencies": {{"vite": "6.3.5"}}}}}}}}"#
            )
        };
        write(pkg, Some(&lock("^10.5.0")));
        assert_eq!(lock_state(root.path(), &service), LockState::InSync);
        write(pkg, Some(&lock("^10.3.10")));
        assert!(
            matches!(lock_state(root.path(), &service), LockState::Stale(w) if w.contains("glob")),
        );
        write(pkg, None);
        assert_eq!(lock_state(root.path(), &service), LockState::Missing);
    }

    #[test]
    fn a_dockerfile_installing_with_legacy_peer_deps_is_followed() {
        let root = tempfile::tempdir().unwrap();
        let service = node_service();
        let pkg = r#"{"dependencies": {"glob": "^10.5.0"}}"#;
        std::fs::write(root.path().join("package.json"), pkg).unwrap();
        let lock =
            r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"glob": "^10.5.0"}}}}"#;
        std::fs::write(root.path().join("package-lock.json"), lock).unwrap();
        let spec = |notes: &mut Vec<String>| {
            let mut out = String::new();
            server(&mut out, notes, root.path(), &service, "node s.js");
            out
        };
        let mut notes = Vec::new();
        let plain = spec(&mut notes);
        assert!(
            plain.contains("npm ci --omit=dev --no-audit --no-fund --os"),
            "{plain}"
        );
        assert!(notes.is_empty(), "{notes:?}");

        std::fs::write(
            root.path().join("Dockerfile"),
            "FROM node:22\nRUN npm install --legacy-peer-deps\n",
        )
        .unwrap();
        let legacy = spec(&mut notes);
        assert!(
            legacy.contains("npm ci --omit=dev --no-audit --no-fund --legacy-peer-deps --os"),
            "{legacy}"
        );
        assert!(notes[0].contains("as ./Dockerfile does"), "{notes:?}");
    }
}
