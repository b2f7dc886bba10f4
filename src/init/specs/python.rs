//! Specs for Python services (an ASGI app or an MCP server over HTTP) on the official
//! `python:X.Y-slim-bookworm` base: dependencies as wheels for the image's platform in
//! `/opt/deps` (pip `--target`), the code in `/app`, or in `/app/<dir>` when the app imports
//! its own directory as a package (`backend.main:app` for the service in `backend/`, whose
//! modules say `from backend.db import …`): then `/app` is on `PYTHONPATH` and the work directory
//! is the code's, so `alembic.ini` and its relative `script_location` are found as in the repo.
//!
//! `pip --target` writes console scripts (`alembic`, `uvicorn`) to `/opt/deps/bin` with the
//! build machine's interpreter in their `#!` line; the step points them at the base's
//! `/usr/local/bin/python3` and `PATH` puts them first, so a task's `alembic upgrade head` runs in
//! the image as it did in the team's.
//!
//! The dependencies stay outside `/app` so that a server reloading its code watches the code
//! alone: an ASGI app served by uvicorn gets a `[dev]` command (`--reload`, checking the code's
//! directory every 0.1 s) and `berth dev` copies an edit into the running container.

use std::fmt::Write as _;

use super::{env, port, toml_list, toml_str};
use crate::init::findings::{PythonTool, Runtime, Service};

/// Where the official Python images have their interpreter.
pub const IMAGE_PYTHON: &str = "/usr/local/bin/python3";

/// Where the dependencies go (pip `--target`), their console scripts in `bin/`.
pub const DEPS_DIR: &str = "/opt/deps";

/// Rewrites the `#!` line of the console scripts in `DEPS/bin` (argv: deps directory,
/// interpreter) to the image's interpreter. pip writes the interpreter running it, or, for a
/// long path, a `#!/bin/sh` + `'''exec' …` trampoline; both name the build machine.
pub const SHEBANGS: &str = r##"import os, sys
deps, python = sys.argv[1:]
bindir = os.path.join(deps, "bin")
for name in sorted(os.listdir(bindir)) if os.path.isdir(bindir) else []:
    path = os.path.join(bindir, name)
    if not os.path.isfile(path) or os.path.islink(path):
        continue
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"#!/bin/sh\n'''exec'"):
        data = data.split(b"\n' '''\n", 1)[-1]
    elif data.startswith(b"#!") and b"python" in data.split(b"\n", 1)[0]:
        data = data.split(b"\n", 1)[-1]
    else:
        continue
    with open(path, "wb") as f:
        f.write(b"#!" + python.encode() + b"\n" + data)
"##;

pub fn spec(out: &mut String, notes: &mut Vec<String>, service: &Service) {
    let port = port(service);
    let port_text = port.to_string();
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
    let base = format!("docker.io/library/python:{version}-slim-bookworm");
    let _ = writeln!(out, "base = {}", toml_str(&base));
    let package = own_package(service);
    let code_dir = package.map_or("/app".to_string(), |p| format!("/app/{p}"));
    // A Django project runs where its manage.py is, which is also the import root of its
    // settings package and apps (`backend/server/manage.py` with `core/settings.py`).
    let django_dir = match &service.runtime.value {
        Runtime::Django { project, .. } if project != "." => Some(format!("/app/{project}")),
        Runtime::Django { .. } => Some("/app".to_string()),
        _ => None,
    };
    let workdir = django_dir.clone().unwrap_or_else(|| code_dir.clone());
    if let (Some(p), Runtime::Asgi { app }) = (package, &service.runtime.value) {
        // Named by the app itself, or by an import in its code (`from api.src.db import …`).
        let by = service
            .own_package
            .as_ref()
            .filter(|_| !app.starts_with(&format!("{p}.")))
            .map_or(app.clone(), |f| format!("the code ({})", f.source));
        let _ = writeln!(
            out,
            "# {by} imports the directory itself as package `{p}`: the code in {code_dir}, /app on PYTHONPATH"
        );
    }
    let _ = writeln!(
        out,
        "context = {}\nuser = \"10001:10001\"\nworkdir = {}",
        toml_str(&service.dir),
        toml_str(&workdir)
    );
    match &service.runtime.value {
        Runtime::Asgi { app } => {
            let _ = writeln!(
                out,
                "entrypoint = {}",
                toml_list(&["python", "-m", "uvicorn"])
            );
            let _ = writeln!(
                out,
                "cmd = {}",
                toml_list(&[app, "--host", "0.0.0.0", "--port", &port_text])
            );
        }
        Runtime::McpHttp { script, .. } => {
            let _ = writeln!(
                out,
                "entrypoint = {}\ncmd = []",
                toml_list(&["python", script])
            );
        }
        Runtime::Django { wsgi, asgi, .. } => {
            let (comment, entrypoint, cmd) = django_server(service, wsgi, asgi, &port_text);
            if comment.contains("development server") {
                notes.push(format!("{}: {comment}", service.name));
            }
            let _ = writeln!(
                out,
                "# {comment}\nentrypoint = {}\ncmd = {}",
                toml_list(&entrypoint.iter().map(String::as_str).collect::<Vec<_>>()),
                toml_list(&cmd.iter().map(String::as_str).collect::<Vec<_>>())
            );
        }
        _ => unreachable!("python::spec is for Python runtimes"),
    }
    let (tools, tool_name): (&[&str], &str) = match tool {
        PythonTool::Requirements => (&["pip", "python3"], "pip"),
        PythonTool::Uv => (&["uv", "pip", "python3"], "uv (export), python3 and pip"),
        PythonTool::Poetry => (
            &["poetry", "pip", "python3"],
            "Poetry with poetry-plugin-export, python3 and pip",
        ),
    };
    let _ = writeln!(out, "ports = [{port}]\ntools = {}\n", toml_list(tools));
    out.push_str(&env::block(
        &[
            (
                "PYTHONPATH",
                match (&django_dir, package) {
                    (Some(dir), _) => format!("{DEPS_DIR}:{dir}"),
                    (None, Some(_)) => format!("{DEPS_DIR}:/app"),
                    (None, None) => DEPS_DIR.into(),
                },
            ),
            ("PATH", format!("{DEPS_DIR}/bin:$PATH")),
            ("PYTHONDONTWRITEBYTECODE", "1".into()),
            ("PYTHONUNBUFFERED", "1".into()),
            ("PORT", port_text.clone()),
        ],
        service,
        &base,
        notes,
    ));
    out.push('\n');
    let (inputs, install): (&[&str], String) = match tool {
        PythonTool::Requirements => (
            &["requirements.txt"],
            format!(
                "pip install --quiet --no-compile --target \"$2\" --only-binary=:all: --python-version {version} -r \"$1/requirements.txt\""
            ),
        ),
        PythonTool::Uv => (
            &["pyproject.toml", "uv.lock"],
            locked_install(
                version,
                "uv export --quiet --frozen --no-dev --no-emit-project --no-hashes --project \"$1\" -o \"$2/.requirements.txt\"",
            ),
        ),
        PythonTool::Poetry => (
            &["pyproject.toml", "poetry.lock"],
            locked_install(
                version,
                "poetry -C \"$1\" export --only main --without-hashes -f requirements.txt -o \"$2/.requirements.txt\"",
            ),
        ),
    };
    let script = format!("set -eu; {install}; python3 -c \"$5\" \"$2\" {IMAGE_PYTHON}");
    let run = toml_list(&[
        "bash",
        "-c",
        &script,
        "deps",
        "{context}",
        "{out}",
        "{uname_arch}",
        PINS_FOR_TARGET,
        SHEBANGS,
    ]);
    let _ = writeln!(
        out,
        "# Locked dependencies as wheels for the image's platform (PIP_PLATFORM), with {tool_name} on this machine;\n# their console scripts in {DEPS_DIR}/bin, run by the image's Python, which also compiles them\n# (bytecode: pods do not compile every module they import on each start)."
    );
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"deps\"\ninputs = {}\nrun = {run}\nenv = {{ PIP_PLATFORM = \"{{pip_platforms}}\" }}\ndest = {}\nbytecode = true\n",
        toml_list(inputs),
        toml_str(DEPS_DIR)
    );
    let _ = writeln!(
        out,
        "[[layers]]\nname = \"code\"\ncopy = [\".\"]\nignore = {}\ndest = {}",
        toml_list(&[
            ".venv/",
            "__pycache__/",
            "tests/",
            ".env",
            ".env.*",
            "Dockerfile"
        ]),
        toml_str(&code_dir)
    );
    sqlite_link(out, service, &code_dir);
    dev(out, service, &code_dir, &port_text);
}

/// `[dev]` for an ASGI app uvicorn serves: the same server reloading the code's directory, so
/// `berth dev` copies an edit into the running container instead of rolling out a new image.
/// uvicorn logs "Application startup complete" once the reloaded app has started (FastAPI and
/// Starlette always run the lifespan).
fn dev(out: &mut String, service: &Service, code_dir: &str, port: &str) {
    let Runtime::Asgi { app } = &service.runtime.value else {
        return;
    };
    let command = toml_list(&[
        "python",
        "-m",
        "uvicorn",
        app,
        "--host",
        "0.0.0.0",
        "--port",
        port,
        "--reload",
        "--reload-dir",
        code_dir,
        "--reload-delay",
        "0.1",
    ]);
    let _ = writeln!(
        out,
        "\n# `berth dev`: uvicorn reloads the code in {code_dir} itself, so an edit to it is copied into the\n# running container instead of becoming a new image and pod.\n[dev]\ncommand = {command}\nready = \"Application startup complete\""
    );
}

/// How a Django project is served: by the production server its image installs (gunicorn for
/// the WSGI application, uvicorn or daphne for the ASGI one), else by Django's development
/// server, which the comment says. (comment, entrypoint, cmd).
fn django_server(
    service: &Service,
    wsgi: &Option<String>,
    asgi: &Option<String>,
    port: &str,
) -> (String, Vec<String>, Vec<String>) {
    let has = |p: &str| service.packages.iter().any(|x| x == p);
    let v = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let bind = format!("0.0.0.0:{port}");
    if let (Some(app), true) = (wsgi, has("gunicorn")) {
        return (
            format!("gunicorn (a dependency) serves the WSGI application {app}"),
            v(&["python", "-m", "gunicorn"]),
            v(&[app, "--bind", &bind]),
        );
    }
    if let (Some(app), true) = (asgi, has("uvicorn")) {
        return (
            format!("uvicorn (a dependency) serves the ASGI application {app}"),
            v(&["python", "-m", "uvicorn"]),
            v(&[app, "--host", "0.0.0.0", "--port", port]),
        );
    }
    if let (Some(app), true) = (asgi, has("daphne")) {
        return (
            format!("daphne (a dependency) serves the ASGI application {app}"),
            v(&["python", "-m", "daphne"]),
            v(&["-b", "0.0.0.0", "-p", port, app]),
        );
    }
    (
        "Django's development server (`manage.py runserver`): no production server (gunicorn, uvicorn, daphne) is among the dependencies the image installs; add one for production".into(),
        v(&["python", "manage.py"]),
        v(&["runserver", &bind, "--noreload"]),
    )
}

/// Where an image keeps the SQLite database its code writes beside itself: a writable volume
/// (the root filesystem is read-only), the file in the code a link to it.
pub const SQLITE_DIR: &str = "/data";

/// The directory that must be writable for the service's SQLite database: [`SQLITE_DIR`] for a
/// file among the code, else the absolute path's own directory (none for `/tmp`, always
/// writable).
pub fn sqlite_writable(service: &Service) -> Option<String> {
    let file = &service.sqlite.as_ref()?.value;
    if !file.starts_with('/') {
        return Some(SQLITE_DIR.to_string());
    }
    let parent = std::path::Path::new(file)
        .parent()?
        .to_string_lossy()
        .into_owned();
    (parent != "/" && parent != "/tmp").then_some(parent)
}

/// A layer that makes the SQLite file among the code a link into [`SQLITE_DIR`] (SQLite follows
/// it and keeps its journal beside the real file). Laid over the code, after it.
fn sqlite_link(out: &mut String, service: &Service, code_dir: &str) {
    let Some(found) = service
        .sqlite
        .as_ref()
        .filter(|f| !f.value.starts_with('/'))
    else {
        return;
    };
    let file = &found.value;
    let name = file.rsplit('/').next().unwrap_or(file);
    let target = format!("{SQLITE_DIR}/{name}");
    let run = toml_list(&[
        "bash",
        "-c",
        "set -eu; mkdir -p \"$(dirname \"$1\")\"; ln -s \"$2\" \"$1\"",
        "sqlite",
        &format!("{{out}}/{file}"),
        &target,
    ]);
    let _ = writeln!(
        out,
        "\n# SQLite's {file} ({}): {code_dir}/{file} links to {target}, a writable volume.\n[[layers]]\nname = \"sqlite\"\nrun = {run}\ndest = {}",
        found.source,
        toml_str(code_dir)
    );
}

/// The service directory's own name when the ASGI app's module path starts with it
/// (`backend.main:app` for `backend/` or `services/backend/`): the code imports its directory
/// as a package, so the directory must sit under a path entry with that name.
fn own_package(service: &Service) -> Option<&str> {
    let Runtime::Asgi { app } = &service.runtime.value else {
        return None;
    };
    let name = std::path::Path::new(&service.dir).file_name()?.to_str()?;
    let first = app.split(['.', ':']).next()?;
    (service.dir != "." && (first == name || service.own_package.is_some())).then_some(name)
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

/// The install of a locked project (shell, `$1` context, `$2` out, `$3` machine, `$4` the
/// marker filter): `export` writes the complete pinned list to `$2/.requirements.txt`; the pins
/// that apply to the image are installed as wheels for its platform without resolving again
/// (`--no-deps`: the export already holds every package).
fn locked_install(version: &str, export: &str) -> String {
    format!(
        "{export}; python3 -c \"$4\" {version} \"$3\" \"$2/.requirements.txt\" \"$2/.pins.txt\"; \
pip install --quiet --no-compile --target \"$2\" --only-binary=:all: --python-version {version} --no-deps -r \"$2/.pins.txt\"; \
rm \"$2/.requirements.txt\" \"$2/.pins.txt\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Source};

    fn asgi(dir: &str, app: &str) -> Service {
        let runtime = Runtime::Asgi { app: app.into() };
        Service::new("api", dir, Found::new(runtime, Source::assumed("x")))
    }

    #[test]
    fn an_app_that_imports_its_own_directory_gets_the_code_under_that_name() {
        assert_eq!(
            own_package(&asgi("backend", "backend.main:app")),
            Some("backend")
        );
        assert_eq!(
            own_package(&asgi("services/api", "api.main:app")),
            Some("api")
        );
        assert_eq!(own_package(&asgi("backend", "main:app")), None);
        assert_eq!(own_package(&asgi("backend", "backend_x.main:app")), None);
        assert_eq!(own_package(&asgi(".", "main:app")), None);

        let (mut out, mut notes) = (String::new(), Vec::new());
        spec(&mut out, &mut notes, &asgi("backend", "backend.main:app"));
        assert!(out.contains("workdir = \"/app/backend\""), "{out}");
        assert!(out.contains("PYTHONPATH = \"/opt/deps:/app\""), "{out}");
        assert!(
            out.contains("copy = [\".\"]") && out.contains("dest = \"/app/backend\""),
            "{out}"
        );

        let (mut out, mut notes) = (String::new(), Vec::new());
        spec(&mut out, &mut notes, &asgi("backend", "main:app"));
        assert!(out.contains("workdir = \"/app\"\n"), "{out}");
        assert!(out.contains("PYTHONPATH = \"/opt/deps\""), "{out}");

        // `src.main:app`, whose modules also say `from backend.src.bus import …`: both roots.
        let by_import = Service {
            own_package: Some(Found::new(
                "backend".to_string(),
                Source::new(
                    "backend/src/events.py",
                    Some(4),
                    "from backend.src.bus import",
                ),
            )),
            ..asgi("backend", "src.main:app")
        };
        assert_eq!(own_package(&by_import), Some("backend"));
        let (mut out, mut notes) = (String::new(), Vec::new());
        spec(&mut out, &mut notes, &by_import);
        assert!(out.contains("workdir = \"/app/backend\""), "{out}");
        assert!(out.contains("PYTHONPATH = \"/opt/deps:/app\""), "{out}");
        assert!(out.contains("cmd = [\"src.main:app\""), "{out}");
        assert!(
            out.contains("# the code (backend/src/events.py:4 from backend.src.bus import)"),
            "{out}"
        );
    }

    #[test]
    fn django_runs_where_manage_py_is_under_the_server_its_image_installs() {
        let django = |packages: &[&str], asgi: Option<&str>| {
            let runtime = Runtime::Django {
                project: "server".into(),
                settings: "core.settings".into(),
                wsgi: Some("core.wsgi:application".into()),
                asgi: asgi.map(String::from),
            };
            Service {
                packages: packages.iter().map(|p| p.to_string()).collect(),
                ..Service::new("api", "backend", Found::new(runtime, Source::assumed("x")))
            }
        };
        let table = |service: &Service, notes: &mut Vec<String>| {
            let mut out = String::new();
            spec(&mut out, notes, service);
            out.parse::<toml::Table>()
                .unwrap_or_else(|e| panic!("{e}\n{out}"))
        };
        let words = |v: &toml::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .collect()
        };
        let mut notes = Vec::new();
        let t = table(&django(&["django", "gunicorn"], None), &mut notes);
        assert_eq!(t["workdir"].as_str(), Some("/app/server"));
        assert_eq!(
            t["env"]["PYTHONPATH"].as_str(),
            Some("/opt/deps:/app/server")
        );
        assert_eq!(words(&t["entrypoint"]), ["python", "-m", "gunicorn"]);
        assert_eq!(
            words(&t["cmd"]),
            ["core.wsgi:application", "--bind", "0.0.0.0:8000"]
        );
        assert!(notes.is_empty(), "{notes:?}");

        let t = table(
            &django(&["django", "uvicorn"], Some("core.asgi:application")),
            &mut notes,
        );
        assert_eq!(words(&t["entrypoint"]), ["python", "-m", "uvicorn"]);
        assert_eq!(words(&t["cmd"])[0], "core.asgi:application");

        // No production server installed: Django's own, and the user is told.
        let t = table(&django(&["django"], None), &mut notes);
        assert_eq!(words(&t["entrypoint"]), ["python", "manage.py"]);
        assert_eq!(
            words(&t["cmd"]),
            ["runserver", "0.0.0.0:8000", "--noreload"]
        );
        assert!(notes[0].contains("development server"), "{notes:?}");
        // Only an app uvicorn serves reloads under `berth dev`.
        assert!(!t.contains_key("dev"), "{t:?}");
    }

    #[test]
    fn an_app_uvicorn_serves_reloads_its_code_alone_under_berth_dev() {
        let (mut out, mut notes) = (String::new(), Vec::new());
        spec(&mut out, &mut notes, &asgi("backend", "backend.main:app"));
        let t: toml::Table = out.parse().unwrap_or_else(|e| panic!("{e}\n{out}"));
        let command: Vec<&str> = t["dev"]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(
            command,
            [
                "python",
                "-m",
                "uvicorn",
                "backend.main:app",
                "--host",
                "0.0.0.0",
                "--port",
                "8000",
                "--reload",
                "--reload-dir",
                "/app/backend",
                "--reload-delay",
                "0.1"
            ]
        );
        assert_eq!(
            t["dev"]["ready"].as_str(),
            Some("Application startup complete")
        );
        // The reloader walks the code's directory: the dependencies are elsewhere.
        let layers = t["layers"].as_array().unwrap();
        assert_eq!(layers[0]["dest"].as_str(), Some(DEPS_DIR));
        assert!(!DEPS_DIR.starts_with("/app/"));
    }
}
