//! Image build specs (`images/<component>.toml`) for what the scan found. Every host-side step
//! builds in a scratch copy of the context or straight into `{out}`, never in the team's source
//! tree, and targets the node's platform through the `{pip_platforms}`, `{npm_os}` and
//! `{npm_cpu}` placeholders.
//!
//! Static sites are served by static-web-server (`joseluisq/static-web-server`): one static
//! binary of a few MB, no shell, runs as any non-root user on a read-only filesystem without
//! writable paths, and serves single-page apps with its fallback page — smaller and simpler to
//! run non-root than nginx, which needs writable cache and pid paths.

use std::fmt::Write as _;
use std::path::Path;

use super::findings::{PythonTool, Runtime, Service};
use super::write::scalar;

const STATIC_SERVER: &str = "docker.io/joseluisq/static-web-server:2-debian";
const NODE_BASE: &str = "docker.io/library/node:22-bookworm-slim";

/// Copy the context (without dependencies and build output) to a scratch directory and `cd`
/// there: the step then installs and builds without touching the team's tree.
const SCRATCH: &str = "set -eu; w=$(mktemp -d); trap 'rm -rf \"$w\"' EXIT; \
tar -C \"$1\" --exclude=./node_modules --exclude=./.next --exclude=./dist --exclude=./build --exclude=./.git -cf - . | tar -C \"$w\" -xf -; cd \"$w\"; ";

fn toml_list(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|i| toml_str(i)).collect();
    format!("[{}]", inner.join(", "))
}

fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The spec for `service` of app `app`.
pub fn spec(root: &Path, app: &str, service: &Service) -> String {
    let mut out = String::new();
    let port = service.port.as_ref().map_or(8000, |p| p.value);
    let port_text = port.to_string();
    let _ = writeln!(
        out,
        "# Written by `berth init` for component {} ({}); detected from {}.",
        service.name, service.dir, service.runtime.source
    );
    let _ = writeln!(
        out,
        "kind = \"build\"\nrepository = {}",
        toml_str(&format!("localhost/{app}/{}", service.name))
    );
    let context = toml_str(&service.dir);
    match &service.runtime.value {
        Runtime::Asgi { .. } | Runtime::McpHttp { .. } => {
            let (tool, version) = service
                .python
                .as_ref()
                .map_or((PythonTool::Requirements, "3.12"), |(t, v)| {
                    (*t, v.value.as_str())
                });
            let _ = writeln!(
                out,
                "# Python {version}: {}",
                service
                    .python
                    .as_ref()
                    .map_or("assumed".into(), |(_, v)| v.source.describe())
            );
            let _ = writeln!(
                out,
                "base = {}",
                toml_str(&format!("docker.io/library/python:{version}-slim-bookworm"))
            );
            let _ = writeln!(
                out,
                "context = {context}\nuser = \"10001:10001\"\nworkdir = \"/app\""
            );
            match &service.runtime.value {
                Runtime::Asgi { app: asgi } => {
                    let _ = writeln!(
                        out,
                        "entrypoint = {}",
                        toml_list(&["python", "-m", "uvicorn"])
                    );
                    let _ = writeln!(
                        out,
                        "cmd = {}",
                        toml_list(&[asgi, "--host", "0.0.0.0", "--port", &port_text])
                    );
                }
                Runtime::McpHttp { script, .. } => {
                    let _ = writeln!(
                        out,
                        "entrypoint = {}\ncmd = []",
                        toml_list(&["python", script])
                    );
                }
                _ => unreachable!(),
            }
            let _ = writeln!(
                out,
                "ports = [{port}]\n\n[env]\nPYTHONPATH = \"/app/deps\"\nPYTHONDONTWRITEBYTECODE = \"1\"\nPYTHONUNBUFFERED = \"1\"\nPORT = {}\n{}",
                toml_str(&port_text),
                dockerfile_env(service)
            );
            let (inputs, run): (&[&str], String) = match tool {
                PythonTool::Requirements => (
                    &["requirements.txt"],
                    toml_list(&[
                        "pip",
                        "install",
                        "--quiet",
                        "--no-compile",
                        "--target",
                        "{out}",
                        "--only-binary=:all:",
                        "--python-version",
                        version,
                        "-r",
                        "{context}/requirements.txt",
                    ]),
                ),
                PythonTool::Uv => (
                    &["pyproject.toml", "uv.lock"],
                    locked_deps(
                        version,
                        "uv export --quiet --frozen --no-dev --no-emit-project --no-hashes --project \"$1\" -o \"$2/.requirements.txt\"",
                    ),
                ),
                PythonTool::Poetry => (
                    &["pyproject.toml", "poetry.lock"],
                    locked_deps(
                        version,
                        "poetry -C \"$1\" export --only main --without-hashes -f requirements.txt -o \"$2/.requirements.txt\"",
                    ),
                ),
            };
            let tool_name = match tool {
                PythonTool::Requirements => "pip",
                PythonTool::Uv => "uv (export), python3 and pip",
                PythonTool::Poetry => "Poetry with poetry-plugin-export, python3 and pip",
            };
            let _ = writeln!(
                out,
                "# Locked dependencies as wheels for the image's platform (PIP_PLATFORM), with {tool_name} on this machine."
            );
            let _ = writeln!(
                out,
                "[[layers]]\nname = \"deps\"\ninputs = {}\nrun = {run}\nenv = {{ PIP_PLATFORM = \"{{pip_platforms}}\" }}\ndest = \"/app/deps\"\n",
                toml_list(inputs)
            );
            let _ = writeln!(
                out,
                "[[layers]]\nname = \"code\"\ncopy = [\".\"]\nignore = {}\ndest = \"/app\"",
                toml_list(&[
                    ".venv/",
                    "__pycache__/",
                    "tests/",
                    ".env",
                    ".env.*",
                    "Dockerfile"
                ])
            );
        }
        Runtime::NextJs { standalone } => {
            let _ = writeln!(
                out,
                "base = {}\ncontext = {context}\nuser = \"10001:10001\"\nworkdir = \"/app\"",
                toml_str(NODE_BASE)
            );
            if *standalone {
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
                "ports = [{port}]\n\n[env]\nNODE_ENV = \"production\"\nPORT = {}\nHOSTNAME = \"0.0.0.0\"\nNEXT_TELEMETRY_DISABLED = \"1\"\n",
                toml_str(&port_text)
            );
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
            let copy = if *standalone {
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
                out.push_str(&npm_deps_layer());
                "rm -rf .next/cache; cp -a .next package.json \"$2/\"; for f in next.config.* public; do if [ -e \"$f\" ]; then cp -a \"$f\" \"$2/\"; fi; done"
            };
            let script = format!("{SCRATCH}npm ci --no-audit --no-fund; npx next build; {copy}");
            let _ = writeln!(
                out,
                "[[layers]]\nname = \"app\"\ninputs = {}\nrun = {}\ndest = \"/app\"",
                inputs,
                toml_list(&["bash", "-c", &script, "app", "{context}", "{out}"])
            );
        }
        Runtime::StaticSite { out_dir } => {
            let _ = writeln!(
                out,
                "# Served by static-web-server: a single static binary, non-root, no writable paths, SPA fallback."
            );
            let _ = writeln!(
                out,
                "base = {}\ncontext = {context}\nuser = \"10001:10001\"\nentrypoint = [\"static-web-server\"]\ncmd = []\nports = [{port}]\n",
                toml_str(STATIC_SERVER)
            );
            let _ = writeln!(
                out,
                "[env]\nSERVER_PORT = {}\nSERVER_ROOT = \"/public\"\nSERVER_FALLBACK_PAGE = \"/public/index.html\"\n",
                toml_str(&port_text)
            );
            let script = format!(
                "{SCRATCH}npm ci --no-audit --no-fund; npm run build; cp -a {out_dir}/. \"$2/\""
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
        Runtime::Node { script } => {
            let main = script.strip_prefix("node ").map(str::trim);
            let _ = writeln!(
                out,
                "base = {}\ncontext = {context}\nuser = \"10001:10001\"\nworkdir = \"/app\"",
                toml_str(NODE_BASE)
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
            let _ = writeln!(
                out,
                "ports = [{port}]\n\n[env]\nNODE_ENV = \"production\"\nPORT = {}\n{}",
                toml_str(&port_text),
                dockerfile_env(service)
            );
            out.push_str(&npm_deps_layer());
            let _ = writeln!(
                out,
                "[[layers]]\nname = \"code\"\ncopy = [\".\"]\nignore = {}\ndest = \"/app\"",
                toml_list(&["node_modules/", ".env", ".env.*", "Dockerfile"])
            );
        }
    }
    out
}

/// Keeps the lines of an exported requirements file (argv: python version, machine, in, out)
/// whose environment markers hold for the image's CPython on Linux, without the markers. pip
/// evaluates markers against the interpreter running it, not `--python-version`, so an export
/// with `python_version >= "3.12"` on each line installs nothing from a host's 3.11.
const PINS_FOR_TARGET: &str = r##"import sys
try:
    from packaging.markers import Marker
except ImportError:
    from pip._vendor.packaging.markers import Marker
version, machine, src, dst = sys.argv[1:]
env = dict(python_version=version, python_full_version=version + ".0", platform_machine=machine,
           sys_platform="linux", platform_system="Linux", os_name="posix",
           implementation_name="cpython", platform_python_implementation="CPython")
with open(src) as lines, open(dst, "w") as out:
    for line in lines:
        req, _, marker = line.split(" #")[0].strip().partition(";")
        if req and not req.startswith("#") and (not marker.strip() or Marker(marker).evaluate(env)):
            out.write(req.strip() + "\n")
"##;

/// The `run` of a deps step for a locked project: `export` writes the complete pinned list to
/// `$2/.requirements.txt`; the pins that apply to the image are installed as wheels for its
/// platform without resolving again (`--no-deps`: the export already holds every package).
fn locked_deps(version: &str, export: &str) -> String {
    let script = format!(
        "set -eu; {export}; python3 -c \"$4\" {version} \"$3\" \"$2/.requirements.txt\" \"$2/.pins.txt\"; \
pip install --quiet --no-compile --target \"$2\" --only-binary=:all: --python-version {version} --no-deps -r \"$2/.pins.txt\"; \
rm \"$2/.requirements.txt\" \"$2/.pins.txt\""
    );
    toml_list(&[
        "bash",
        "-c",
        &script,
        "deps",
        "{context}",
        "{out}",
        "{uname_arch}",
        PINS_FOR_TARGET,
    ])
}

/// Production `node_modules` for the node's platform (npm `--os`/`--cpu`), installed straight
/// into the step's output from the lock file.
fn npm_deps_layer() -> String {
    let script = "set -eu; cp \"$1/package.json\" \"$1/package-lock.json\" \"$2/\"; cd \"$2\"; \
npm ci --omit=dev --no-audit --no-fund --os \"$3\" --cpu \"$4\"; rm package.json package-lock.json";
    let run = toml_list(&[
        "bash",
        "-c",
        script,
        "deps",
        "{context}",
        "{out}",
        "{npm_os}",
        "{npm_cpu}",
    ]);
    format!(
        "[[layers]]\nname = \"deps\"\ninputs = [\"package.json\", \"package-lock.json\"]\nrun = {run}\ndest = \"/app\"\n\n"
    )
}

/// `KEY = "value"` lines for the Dockerfile's `ENV` settings that are plain config.
fn dockerfile_env(service: &Service) -> String {
    let mut out = String::new();
    for (name, found) in &service.env {
        let Some(value) = &found.value.example else {
            continue;
        };
        let plain = matches!(
            super::classify::classify(name, Some(value)),
            super::classify::Class::Config
        );
        if found.source.what.starts_with("ENV ")
            && plain
            && !matches!(name.as_str(), "PORT" | "PYTHONPATH")
        {
            let _ = writeln!(out, "{name} = {}  # from {}", toml_str(value), found.source);
        }
    }
    out
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

/// A mirror spec for the database image found in compose.
pub fn mirror(repository: &str, tag: &str) -> String {
    format!(
        "# Written by `berth init`: the database image, side-loaded unchanged.\nkind = \"mirror\"\nsource = {}\n",
        toml_str(&format!("{repository}:{tag}"))
    )
}
