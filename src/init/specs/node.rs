//! Specs for Node services: Next.js (standalone or `next start`), static sites built by Vite or
//! Create React App, plain Node servers. With a `package-lock.json` the steps install exactly
//! it (`npm ci`); without one, `npm ci` fails, so they resolve at build time (`npm install`) and
//! the user is told to commit a lock.

use std::fmt::Write as _;
use std::path::Path;

use super::build_context::BuildContext;
use super::node_build::ServerBuild;
use super::npm_lock::{LockState, lock_state};
use super::placeholders::load_placeholders;
use super::{env, port, toml_list, toml_str};
use crate::init::findings::Service;
use crate::init::write::scalar;

const STATIC_SERVER: &str = "docker.io/joseluisq/static-web-server:2-debian";
const NODE_BASE: &str = "docker.io/library/node:22-bookworm-slim";

/// Whether the service's directory has an npm lock file `npm ci` accepts.
pub fn has_lock(root: &Path, service: &Service) -> bool {
    let legacy_peers = legacy_peer_deps(root, service).is_some();
    lock_state(&root.join(&service.dir), legacy_peers) == LockState::InSync
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
    let locked = match lock_state(&root.join(&service.dir), legacy_peers) {
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
    let ctx = BuildContext::of(service, notes);
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nworkdir = \"/app\"",
        toml_str(NODE_BASE),
        toml_str(&ctx.dir)
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
        &ctx,
        &[
            "package.json",
            "package-lock.json",
            "next.config.js",
            "next.config.mjs",
            "next.config.ts",
            "next.config.mts",
            "next.config.cjs",
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
        "cp -a .next/standalone/. \"$2/\"; mkdir -p \"$2/.next\"; cp -a .next/static \"$2/.next/static\"; if [ -d public ]; then cp -a public \"$2/public\"; fi".to_string()
    } else {
        let _ = writeln!(
            out,
            "# Production node_modules for the node's platform (npm --os/--cpu), then the build output."
        );
        out.push_str(&deps_layer(npm, &ctx, "/app"));
        let mut copy = "rm -rf .next/cache; cp -a .next package.json \"$2/\"; for f in next.config.* public; do if [ -e \"$f\" ]; then cp -a \"$f\" \"$2/\"; fi; done".to_string();
        if let Some(config) = typescript_config_without_runtime_typescript(root, service) {
            notes.push(format!(
                "{}: {}/{config} is TypeScript, which `next start` loads with the typescript package (Next.js 16 installs it at start when missing, which needs network): the image keeps node_modules/typescript from the build",
                service.name, service.dir
            ));
            // typescript has no dependencies and no native code: the build's copy runs anywhere.
            copy.push_str("; mkdir -p \"$2/node_modules\"; cp -a node_modules/typescript \"$2/node_modules/\"");
        }
        copy
    };
    let script = format!("{}{}; npx next build; {copy}", ctx.scratch(), npm.install());
    let placeholders = load_placeholders(service, notes);
    if !placeholders.is_empty() {
        let _ = writeln!(
            out,
            "# Placeholders for what the app's modules check as they load (next build loads them):\n# never the real values, which the pods get at run time."
        );
    }
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"app\"\ninputs = {}\nrun = {}\ndest = \"/app\"",
        inputs,
        toml_list(&["bash", "-c", &script, "app", "{context}", "{out}"])
    );
    if !placeholders.is_empty() {
        let table: Vec<String> = placeholders
            .iter()
            .map(|(k, v)| format!("{k} = {}", toml_str(v)))
            .collect();
        let _ = writeln!(out, "env = {{ {} }}", table.join(", "));
    }
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
    let ctx = BuildContext::of(service, notes);
    let _ = writeln!(
        out,
        "# Served by static-web-server: a single static binary, non-root, no writable paths, SPA fallback."
    );
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nentrypoint = [\"static-web-server\"]\ncmd = []\nports = [{port_text}]\ntools = [\"npm\", \"bash\", \"tar\"]\n",
        toml_str(STATIC_SERVER),
        toml_str(&ctx.dir)
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
        "{}{}; npm run build; cp -a {out_dir}/. \"$2/\"",
        ctx.scratch(),
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
            &ctx,
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
    let ctx = BuildContext::of(service, notes);
    // Widened, the app and what it imports keep their places relative to each other under /app.
    let app_dir = match ctx.app_path("") {
        p if p.is_empty() => "/app".to_string(),
        p => format!("/app/{}", p.trim_end_matches('/')),
    };
    let _ = writeln!(
        out,
        "base = {}\ncontext = {}\nuser = \"10001:10001\"\nworkdir = {}",
        toml_str(NODE_BASE),
        toml_str(&ctx.dir),
        toml_str(&app_dir)
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
    out.push_str(&deps_layer(npm, &ctx, &app_dir));
    let members: Vec<&str> = std::iter::once(ctx.app.as_str())
        .chain(ctx.extra.iter().map(String::as_str))
        .collect();
    let build = ServerBuild::of(root, service, main);
    let mut ignore = vec!["node_modules/", ".env", ".env.*", "Dockerfile"];
    // A build output committed with the sources is stale: the build step writes it afresh.
    let out_dir = build
        .as_ref()
        .and_then(|b| b.out_dir.as_ref())
        .map(|d| format!("{}/", ctx.app_path(d)));
    ignore.extend(out_dir.as_deref());
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"code\"\ncopy = {}\nignore = {}\ndest = \"/app\"",
        toml_list(&members),
        toml_list(&ignore)
    );
    let Some(build) = build else {
        return;
    };
    notes.extend(build.notes(service, main));
    let script = format!("{}{}; {}", ctx.scratch(), npm.install(), build.script());
    let _ = writeln!(
        out,
        "\n# What the start needs built, from a scratch copy with the development dependencies.\n[[layers]]\nname = \"build\"\ninputs = {}\nrun = {}\ndest = {}",
        build_inputs(root, &ctx, build.out_dir.as_deref()),
        toml_list(&["bash", "-c", &script, "build", "{context}", "{out}"]),
        toml_str(&app_dir)
    );
}

/// Every top-level entry of the app's directory but installed packages, the build's output and
/// env files (a build may read any of its sources), and the directories the app imports.
fn build_inputs(root: &Path, ctx: &BuildContext, out_dir: Option<&str>) -> String {
    let dir = root.join(&ctx.dir).join(&ctx.app);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            !matches!(n.as_str(), "node_modules" | ".git" | ".next")
                && !n.starts_with(".env")
                && Some(n.as_str()) != out_dir
        })
        .collect();
    names.sort();
    let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
    existing_inputs(root, ctx, &candidates)
}

/// A TypeScript Next.js config (`next.config.ts` / `.mts`) in a project whose production
/// dependencies lack `typescript`: `next start` (Next.js 16) loads such a config only with the
/// typescript package, and installs it from the network when it is missing. The standalone
/// server has its config built in and loads no file.
fn typescript_config_without_runtime_typescript(root: &Path, service: &Service) -> Option<String> {
    let dir = root.join(&service.dir);
    let config = ["next.config.ts", "next.config.mts"]
        .into_iter()
        .find(|name| dir.join(name).is_file())?;
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).ok()?).ok()?;
    let runtime = package
        .get("dependencies")
        .and_then(|d| d.get("typescript"))
        .is_some();
    (!runtime).then(|| config.to_string())
}

/// Production `node_modules` for the node's platform (npm `--os`/`--cpu`), installed straight
/// into the step's output from the lock file (or resolved, without one).
fn deps_layer(npm: Npm, ctx: &BuildContext, dest: &str) -> String {
    let (files, command): (&[&str], &str) = if npm.locked {
        (&["package.json", "package-lock.json"], "npm ci")
    } else {
        (&["package.json"], "npm install --no-package-lock")
    };
    let paths: Vec<String> = files.iter().map(|f| ctx.app_path(f)).collect();
    let copies: Vec<String> = paths.iter().map(|p| format!("\"$1/{p}\"")).collect();
    let script = format!(
        "set -eu; cp {} \"$2/\"; cd \"$2\"; \
{command} --omit=dev --no-audit --no-fund{} --os \"$3\" --cpu \"$4\"; rm {}",
        copies.join(" "),
        npm.flags(),
        files.join(" ")
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
    let inputs: Vec<&str> = paths.iter().map(String::as_str).collect();
    format!(
        "[[layers]]\nname = \"deps\"\ninputs = {}\nrun = {run}\ndest = {}\n\n",
        toml_list(&inputs),
        toml_str(dest)
    )
}

/// Keep only the inputs that exist (the cache key hashes each one; a missing one is an error),
/// relative to the context.
fn existing_inputs(root: &Path, ctx: &BuildContext, candidates: &[&str]) -> String {
    let dir = root.join(&ctx.dir);
    let mut present: Vec<String> = candidates
        .iter()
        .map(|c| ctx.app_path(c))
        .filter(|c| dir.join(c).exists())
        .collect();
    // What the app imports from outside its directory changes the build as much as its own code.
    present.extend(ctx.extra.iter().cloned());
    let present: Vec<&str> = present.iter().map(String::as_str).collect();
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
    fn a_dockerfile_installing_with_legacy_peer_deps_is_followed() {
        let root = tempfile::tempdir().unwrap();
        let service = node_service();
        let pkg = r#"{"dependencies": {"glob": "^10.5.0"}}"#;
        std::fs::write(root.path().join("package.json"), pkg).unwrap();
        let lock = r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"glob": "^10.5.0"}}, "node_modules/glob": {"version": "10.5.0"}}}"#;
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

    #[test]
    fn a_typescript_next_config_keeps_typescript_in_a_next_start_image() {
        let root = tempfile::tempdir().unwrap();
        let runtime = Runtime::NextJs { standalone: false };
        let service = Service::new("web", ".", Found::new(runtime, Source::assumed("x")));
        let write = |name: &str, text: &str| std::fs::write(root.path().join(name), text).unwrap();
        let spec = |standalone: bool| {
            let (mut out, mut notes) = (String::new(), Vec::new());
            next(&mut out, &mut notes, root.path(), &service, standalone);
            (out, notes)
        };
        let keeps = "cp -a node_modules/typescript";
        write(
            "package.json",
            r#"{"dependencies": {"next": "16.0.0"}, "devDependencies": {"typescript": "5.9.3"}}"#,
        );
        write("next.config.mjs", "export default {};\n");
        let (out, notes) = spec(false);
        assert!(
            !out.contains(keeps),
            "a JavaScript config needs no typescript:\n{out}"
        );
        assert!(notes.iter().all(|n| !n.contains("typescript")), "{notes:?}");

        std::fs::remove_file(root.path().join("next.config.mjs")).unwrap();
        write("next.config.mts", "export default {};\n");
        let (out, notes) = spec(false);
        assert!(out.contains(keeps), "{out}");
        assert!(
            out.contains("\"next.config.mts\""),
            "an input of the build:\n{out}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("./next.config.mts is TypeScript")),
            "{notes:?}"
        );
        let (out, _) = spec(true);
        assert!(
            !out.contains(keeps),
            "standalone loads no config file:\n{out}"
        );

        write(
            "package.json",
            r#"{"dependencies": {"next": "16.0.0", "typescript": "5.9.3"}}"#,
        );
        let (out, _) = spec(false);
        assert!(
            !out.contains(keeps),
            "already a production dependency:\n{out}"
        );
    }

    #[test]
    fn a_server_importing_outside_its_directory_keeps_the_layout_under_app() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("api")).unwrap();
        std::fs::write(root.path().join("api/package.json"), "{}").unwrap();
        let runtime = Runtime::Node {
            script: "node src/index.js".into(),
        };
        let mut service = Service::new("api", "api", Found::new(runtime, Source::assumed("x")));
        service.imports_outside = vec![Found::new(
            "lib/shared".to_string(),
            Source::new("api/src/index.js", Some(1), "imports '../../lib/shared/x'"),
        )];
        let (mut out, mut notes) = (String::new(), Vec::new());
        server(
            &mut out,
            &mut notes,
            root.path(),
            &service,
            "node src/index.js",
        );
        for want in [
            "context = \".\"\n",
            "workdir = \"/app/api\"\n",
            "cp \"$1/api/package.json\" \"$2/\"",
            "inputs = [\"api/package.json\"]",
            "dest = \"/app/api\"\n",
            "copy = [\"api\", \"lib/shared\"]\n",
        ] {
            assert!(out.contains(want), "{want}:\n{out}");
        }
        assert!(
            notes
                .iter()
                .any(|n| n.contains("build context widened to .")),
            "{notes:?}"
        );
    }
}
