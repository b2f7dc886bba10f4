//! Python services: dependencies and how they are pinned (requirements.txt, uv, Poetry), the
//! Python version, the ASGI app, FastAPI routes, MCP servers, env reads (`os.environ`, and
//! pydantic-settings classes through [`super::pysettings`]) and alembic.

use std::fs;
use std::path::Path;

use super::Detected;
use super::pyroutes;
use super::text::{
    files_with, identifiers_after, line_of, port_after_flag, quoted_after, relative,
};
use crate::init::findings::{EnvUse, Found, PythonTool, Runtime, Source};

/// The root project a `uv.lock` in `dir` locks, when it is not the `pyproject.toml`'s (a lock
/// copied from another project: `uv export --frozen` refuses it). `None` when they agree or
/// either cannot be read.
fn uv_lock_of_another_project(dir: &Path) -> Option<String> {
    let read = |name: &str| -> Option<toml::Table> {
        fs::read_to_string(dir.join(name)).ok()?.parse().ok()
    };
    let normalize = |name: &str| name.to_ascii_lowercase().replace(['_', '.'], "-");
    let project = read("pyproject.toml")?;
    let name = normalize(project.get("project")?.get("name")?.as_str()?);
    let lock = read("uv.lock")?;
    let roots: Vec<String> = lock
        .get("package")?
        .as_array()?
        .iter()
        .filter(|p| {
            p.get("source")
                .and_then(|s| s.get("virtual").or_else(|| s.get("editable")))
                .and_then(|s| s.as_str())
                == Some(".")
        })
        .filter_map(|p| p.get("name")?.as_str().map(normalize))
        .collect();
    (!roots.is_empty() && !roots.contains(&name)).then(|| roots.join(", "))
}

/// The Python project in `dir`, if it has one.
pub fn detect(root: &Path, dir: &Path) -> Option<Detected> {
    let rel = |name: &str| relative(root, &dir.join(name));
    let stale_lock = uv_lock_of_another_project(dir);
    let (tool, tool_file) = if dir.join("uv.lock").is_file()
        && (stale_lock.is_none() || !dir.join("requirements.txt").is_file())
    {
        (PythonTool::Uv, "uv.lock")
    } else if dir.join("poetry.lock").is_file() {
        (PythonTool::Poetry, "poetry.lock")
    } else if dir.join("requirements.txt").is_file() {
        (PythonTool::Requirements, "requirements.txt")
    } else {
        return None;
    };
    // What the image installs, not every file that lists dependencies: a pyproject.toml beside
    // the requirements.txt the image installs may name packages (alembic) the image lacks.
    let deps_text = installed_requirements(dir, tool).to_ascii_lowercase();
    let mut found = Detected {
        python: Some((
            tool,
            Found::new(
                python_version(root, dir),
                Source::new(rel(tool_file), None, "lock file"),
            ),
        )),
        ..Detected::default()
    };
    if let (Some(other), PythonTool::Requirements) = (&stale_lock, tool) {
        found.notes.push(Found::new(
            format!(
                "uv.lock locks another project ({other}), not pyproject.toml's: the image installs requirements.txt (run `uv lock` to use uv)"
            ),
            Source::new(rel("uv.lock"), None, "lock file"),
        ));
    }
    // (what the code uses, the distributions that provide it): psycopg2's wheels are
    // psycopg2-binary, and SQLModel brings SQLAlchemy.
    found.packages = [
        ("fastapi", &["fastapi"][..]),
        ("asyncpg", &["asyncpg"]),
        ("psycopg2", &["psycopg2", "psycopg2-binary"]),
        ("psycopg", &["psycopg"]),
        ("sqlalchemy", &["sqlalchemy", "sqlmodel"]),
        ("alembic", &["alembic"]),
        ("uvicorn", &["uvicorn"]),
        ("gunicorn", &["gunicorn"]),
        ("django", &["django"]),
        ("daphne", &["daphne"]),
    ]
    .iter()
    .filter(|(_, dists)| dists.iter().any(|d| has_package(&deps_text, d)))
    .map(|(p, _)| p.to_string())
    .collect();
    // The version the image uses: reported with the tool's source unless a pin was found.
    if let Some((_, version)) = &mut found.python {
        if let Some(pin) = pinned_version(root, dir) {
            *version = pin;
        } else {
            version.source = Source::assumed("Python 3.12 (no version pinned)");
        }
    }
    let files = files_with(dir, &[".py"], 3);
    // (path in the service, path in the repository, text) of each file, for the health route.
    let mut texts: Vec<(String, String, String)> = Vec::new();
    let (mut sqlite_mention, mut sqlite_file) = (None, None);
    let mut mcp_http: Option<Found<Runtime>> = None;
    // The MCP server's own port: the service's only when the MCP server is what runs.
    let mut mcp_port: Option<Found<u16>> = None;
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let file_rel = relative(root, file);
        let module_path = relative(dir, file);
        if found.runtime.is_none()
            && let Some(var) = assignment_of(&text, "FastAPI(")
        {
            let module = module_path.trim_end_matches(".py").replace('/', ".");
            let line = line_of(&text, "FastAPI(");
            found.runtime = Some(Found::new(
                Runtime::Asgi {
                    app: format!("{module}:{var}"),
                },
                Source::new(&file_rel, line, format!("{var} = FastAPI()")),
            ));
        }
        for decorator in [".get(", ".api_route("] {
            for (_, path) in quoted_after(&text, decorator) {
                if path.starts_with('/') {
                    found.routes.push(path);
                }
            }
        }
        // Every method's paths: a route sent to this service must cover them all.
        for decorator in [".post(", ".put(", ".patch(", ".delete("] {
            for (_, path) in quoted_after(&text, decorator) {
                if path.starts_with('/') && !found.routes.contains(&path) {
                    found.routes.push(path);
                }
            }
        }
        for (line, prefix) in quoted_after(&text, "prefix=") {
            if prefix.starts_with('/') {
                found.routes.push(prefix);
                let _ = line;
            }
        }
        if text.contains("FastMCP(") {
            let line = line_of(&text, "FastMCP(");
            let transport = ["streamable-http", "streamable_http", "sse"]
                .into_iter()
                .find(|t| text.contains(&format!("\"{t}\"")) || text.contains(&format!("'{t}'")));
            match transport {
                Some(t) => {
                    let path = if t == "sse" { "/sse" } else { "/mcp" };
                    let port = quoted_or_number_after(&text, "port=");
                    if let Some(port) = port {
                        mcp_port.get_or_insert(Found::new(
                            port,
                            Source::new(&file_rel, line_of(&text, "port="), "port="),
                        ));
                    }
                    mcp_http = Some(Found::new(
                        Runtime::McpHttp {
                            script: module_path.clone(),
                            path: path.into(),
                        },
                        Source::new(&file_rel, line, format!("FastMCP over {t}")),
                    ));
                }
                None => found.stdio_mcp.push(Found::new(
                    "MCP server over stdio, run in-process".to_string(),
                    Source::new(&file_rel, line, "FastMCP without an HTTP transport"),
                )),
            }
        }
        if found.port.is_none()
            && text.contains("uvicorn.run(")
            && let Some(port) = quoted_or_number_after(&text, "port=")
        {
            found.port = Some(Found::new(
                port,
                Source::new(&file_rel, line_of(&text, "port="), "uvicorn.run(port=…)"),
            ));
        }
        for (pattern, required) in [
            ("os.environ[\"", true),
            ("os.environ['", true),
            ("os.environ.get(\"", false),
            ("os.environ.get('", false),
            ("os.getenv(\"", false),
            ("os.getenv('", false),
        ] {
            for (line, name) in identifiers_after(&text, pattern) {
                let what = if required {
                    format!("os.environ[\"{name}\"]")
                } else {
                    format!("reads {name}")
                };
                let example = if required {
                    None
                } else {
                    default_after(&text, line, &name)
                };
                found.env.push((
                    name,
                    Found::new(
                        EnvUse {
                            example,
                            required,
                            build_time: false,
                        },
                        Source::new(&file_rel, Some(line), what),
                    ),
                ));
            }
        }
        for var in super::pysettings::read(&text) {
            found.env.push((
                var.env,
                Found::new(
                    EnvUse {
                        example: var.default,
                        required: var.required,
                        build_time: false,
                    },
                    Source::new(
                        &file_rel,
                        Some(var.line),
                        format!("{}.{} (pydantic-settings)", var.class, var.field),
                    ),
                ),
            ));
        }
        // django-environ/decouple readers only where Django is what runs (`env(` and
        // `config(` are common names elsewhere).
        if has_package(&deps_text, "django") {
            for (name, usage, line, what) in super::django::env_reads(&text) {
                found.env.push((
                    name,
                    Found::new(usage, Source::new(&file_rel, Some(line), what)),
                ));
            }
        }
        if sqlite_mention.is_none() && text.contains("sqlite") {
            sqlite_mention = Some(Source::new(&file_rel, line_of(&text, "sqlite"), "sqlite"));
        }
        if sqlite_file.is_none()
            && let Some((path, line)) = super::sqlite::database_file(&text, &module_path)
        {
            sqlite_file = Some(Found::new(
                path,
                Source::new(&file_rel, Some(line), "SQLite database"),
            ));
        }
        if found.database_tls.is_none()
            && let Some((line, what)) = super::database_tls::requirement(&text)
        {
            found.database_tls = Some(Found::new(
                what.to_string(),
                Source::new(&file_rel, Some(line), what),
            ));
        }
        if found.own_package.is_none() {
            found.own_package = super::own_package::import_of_itself(root, dir, &file_rel, &text);
        }
        texts.push((module_path, file_rel, text));
    }
    super::sqlite::plan(&mut found, sqlite_mention, sqlite_file);
    // asyncpg beside a synchronous driver, and no code that is async with the database: the
    // engine is SQLAlchemy's synchronous one, which cannot take an asyncpg URL.
    let async_db = texts.iter().any(|(_, _, t)| {
        [
            "create_async_engine",
            "AsyncEngine",
            "AsyncSession",
            "import asyncpg",
        ]
        .iter()
        .any(|w| t.contains(w))
    });
    if !async_db
        && found
            .packages
            .iter()
            .any(|p| p == "psycopg2" || p == "psycopg")
    {
        found.packages.retain(|p| p != "asyncpg");
    }
    if found.runtime.is_none() {
        super::django::find(&mut found, &texts, &relative(root, dir));
    }
    if found.runtime.is_none() {
        found.runtime = mcp_http;
        if found.port.is_none() {
            found.port = mcp_port;
        }
    } else if let Some(mcp) = mcp_http {
        // The scan makes it a component when compose runs it as its own service.
        found.mcp_beside = Some((mcp, mcp_port));
    }
    found.runtime.as_ref()?;
    if let Some(Runtime::Asgi { app }) = found.runtime.as_ref().map(|r| &r.value)
        && let Some((module, var)) = app.split_once(':')
    {
        let files: Vec<pyroutes::File> = texts
            .iter()
            .map(|(module_path, file_rel, text)| pyroutes::File {
                module_path,
                file_rel,
                text,
            })
            .collect();
        let module_path = format!("{}.py", module.replace('.', "/"));
        found.health = pyroutes::health(&files, &module_path, var)
            .map(|h| Found::new(h.path, Source::new(&h.file, Some(h.line), "GET route")));
    }
    if dir.join("alembic.ini").is_file() {
        found.migration = Some(Found::new(
            vec!["alembic".into(), "upgrade".into(), "head".into()],
            Source::new(rel("alembic.ini"), None, "alembic"),
        ));
    }
    if found.port.is_none() {
        for file in ["Procfile", "start.sh"] {
            if let Ok(text) = fs::read_to_string(dir.join(file))
                && let Some(port) = port_after_flag(&text, &["--port", "-p"])
            {
                found.port = Some(Found::new(
                    port,
                    Source::new(rel(file), line_of(&text, "port"), "--port"),
                ));
            }
        }
    }
    Some(found)
}

/// The requirements the image installs, one a line: requirements.txt as it is; pyproject.toml's
/// main dependencies (`[project] dependencies`, Poetry's `[tool.poetry.dependencies]` names),
/// not its development groups, which the export leaves out.
fn installed_requirements(dir: &Path, tool: PythonTool) -> String {
    let text = fs::read_to_string(dir.join(tool.installed_file())).unwrap_or_default();
    if tool == PythonTool::Requirements {
        return text;
    }
    let Ok(project) = text.parse::<toml::Table>() else {
        return text;
    };
    let mut lines: Vec<String> = project
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(String::from))
        .collect();
    if let Some(poetry) = project
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        lines.extend(poetry.keys().cloned());
    }
    lines.join("\n")
}

fn has_package(deps: &str, name: &str) -> bool {
    deps.lines().any(|l| {
        let l = l.trim().trim_start_matches(['"', '\'']);
        l.strip_prefix(name).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with(|c: char| {
                    matches!(
                        c,
                        '=' | '>' | '<' | '~' | '[' | ' ' | '"' | '\'' | '^' | ';' | '!' | ','
                    )
                })
        })
    })
}

/// `NAME = FastAPI(`: the variable a call is assigned to.
fn assignment_of(text: &str, call: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (lhs, rhs) = l.split_once('=')?;
        let lhs = lhs.trim().split(':').next()?.trim();
        (rhs.trim_start().starts_with(call)
            && lhs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !lhs.is_empty())
        .then(|| lhs.to_string())
    })
}

fn quoted_or_number_after(text: &str, pattern: &str) -> Option<u16> {
    text.lines().find_map(|l| {
        let i = l.find(pattern)?;
        let digits: String = l[i + pattern.len()..]
            .trim_start_matches(['"', '\'', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// The default in `os.getenv("NAME", "default")` on `line`.
fn default_after(text: &str, line: usize, name: &str) -> Option<String> {
    let l = text.lines().nth(line - 1)?;
    let start = l
        .find(&format!("\"{name}\""))
        .or_else(|| l.find(&format!("'{name}'")))?;
    let after = l[start + name.len() + 2..].trim_start();
    let after = after.strip_prefix(',')?;
    super::text::leading_quoted(after)
}

/// A pinned `3.x` from `.python-version`, `requires-python` or Poetry's `python = "^3.x"`.
fn pinned_version(root: &Path, dir: &Path) -> Option<Found<String>> {
    let minor = |text: &str| {
        let start = text.find("3.")?;
        let v: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let parts: Vec<&str> = v.split('.').filter(|p| !p.is_empty()).take(2).collect();
        (parts.len() == 2).then(|| parts.join("."))
    };
    if let Ok(text) = fs::read_to_string(dir.join(".python-version"))
        && let Some(v) = minor(&text)
    {
        return Some(Found::new(
            v,
            Source::new(
                relative(root, &dir.join(".python-version")),
                Some(1),
                text.trim().to_string(),
            ),
        ));
    }
    let text = fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    for key in ["requires-python", "python ="] {
        if let Some(line) = line_of(&text, key) {
            let l = text.lines().nth(line - 1)?;
            let range = l.split_once('=').map_or(l, |(_, r)| r);
            if let Some(v) =
                version_in_range(range.trim().trim_matches(['"', '\''])).or_else(|| minor(l))
            {
                return Some(Found::new(
                    v,
                    Source::new(
                        relative(root, &dir.join("pyproject.toml")),
                        Some(line),
                        l.trim().to_string(),
                    ),
                ));
            }
        }
    }
    None
}

/// The Python minors the official `python:X.Y-slim-bookworm` bases exist for, oldest first.
const BASE_MINORS: [u32; 5] = [9, 10, 11, 12, 13];

/// The version a range (`>=3.9`, `>=3.10,<3.13`, Poetry's `^3.11`/`~3.11`, `3.11.*`) allows:
/// 3.12 (berth's own and the best served by wheels) when it may, else the newest allowed base.
/// The lower bound is only what the team still supports: a lock resolved for newer Pythons
/// (`cryptography` 46 has no 3.9 wheel) would not install on it.
fn version_in_range(range: &str) -> Option<String> {
    let minor_of = |v: &str| -> Option<u32> {
        let mut parts = v.trim().trim_end_matches(".*").split('.');
        (parts.next()? == "3").then_some(())?;
        parts.next()?.parse().ok()
    };
    let mut allowed: Vec<u32> = BASE_MINORS.to_vec();
    let mut constrained = false;
    for clause in range.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (op, version) = ["~=", "==", ">=", "<=", "!=", ">", "<", "^", "~"]
            .iter()
            .find_map(|op| clause.strip_prefix(op).map(|v| (*op, v)))
            .unwrap_or(("==", clause));
        let Some(m) = minor_of(version) else {
            continue;
        };
        let patch_given = version.trim().split('.').count() > 2 && !version.ends_with(".*");
        constrained = true;
        allowed.retain(|a| match op {
            ">=" | ">" | "^" => *a >= m,
            "~=" if patch_given => *a == m,
            "~=" => *a >= m,
            "<=" => *a <= m,
            "<" => *a < m,
            "==" | "~" => *a == m,
            "!=" => patch_given || *a != m,
            _ => true,
        });
    }
    if !constrained {
        return None;
    }
    let pick = if allowed.contains(&12) {
        12
    } else {
        *allowed.last()?
    };
    Some(format!("3.{pick}"))
}

/// Python version when nothing pins one (3.12, what berth's own images use).
fn python_version(_root: &Path, _dir: &Path) -> String {
    "3.12".into()
}

#[cfg(test)]
mod tests {
    use super::{detect, uv_lock_of_another_project, version_in_range};
    use crate::init::findings::PythonTool;

    #[test]
    fn binary_wheels_and_sqlmodel_name_the_driver_and_orm_the_code_uses() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("main.py", "from fastapi import FastAPI\napp = FastAPI()\n");
        write(
            "requirements.txt",
            "fastapi\nsqlmodel>=0.0.16\npsycopg2-binary>=2.9.9\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "psycopg2", "sqlalchemy"]);
        write(
            "requirements.txt",
            "fastapi\nsqlalchemy\npsycopg[binary]==3.2.9\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "psycopg", "sqlalchemy"]);
    }

    #[test]
    fn a_uv_lock_of_another_project_gives_way_to_requirements_txt() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "pyproject.toml",
            "[project]\nname = \"Todo_Chatbot\"\nversion = \"0.1.0\"\n",
        );
        write("requirements.txt", "fastapi==0.115.14\n");
        write("main.py", "from fastapi import FastAPI\napp = FastAPI()\n");
        let lock = |root: &str| {
            format!(
                "version = 1\n\n[[package]]\nname = \"{root}\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\n\n[[package]]\nname = \"fastapi\"\nversion = \"0.115.14\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
            )
        };
        write("uv.lock", &lock("todo-chatbot"));
        assert_eq!(uv_lock_of_another_project(dir.path()), None);
        assert!(matches!(
            detect(dir.path(), dir.path()).unwrap().python,
            Some((PythonTool::Uv, _))
        ));

        write("uv.lock", &lock("memory-python-todo-app"));
        assert_eq!(
            uv_lock_of_another_project(dir.path()).as_deref(),
            Some("memory-python-todo-app")
        );
        let found = detect(dir.path(), dir.path()).unwrap();
        assert!(matches!(found.python, Some((PythonTool::Requirements, _))));
        assert!(
            found.notes[0]
                .value
                .contains("uv.lock locks another project"),
            "{:?}",
            found.notes
        );

        // Without requirements.txt the lock is all there is: uv, and its own error at build.
        std::fs::remove_file(dir.path().join("requirements.txt")).unwrap();
        assert!(matches!(
            detect(dir.path(), dir.path()).unwrap().python,
            Some((PythonTool::Uv, _))
        ));
    }

    #[test]
    fn a_synchronous_engine_gets_the_synchronous_driver_beside_asyncpg() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "requirements.txt",
            "fastapi\nsqlmodel\nasyncpg\npsycopg2-binary\n",
        );
        write(
            "main.py",
            "from fastapi import FastAPI\nfrom sqlmodel import create_engine\napp = FastAPI()\nengine = create_engine(URL)\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "psycopg2", "sqlalchemy"]);
        write(
            "main.py",
            "from fastapi import FastAPI\nfrom sqlalchemy.ext.asyncio import create_async_engine\napp = FastAPI()\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "asyncpg", "psycopg2", "sqlalchemy"]);
    }

    #[test]
    fn packages_are_those_of_the_file_the_image_installs() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("main.py", "from fastapi import FastAPI\napp = FastAPI()\n");
        write("requirements.txt", "fastapi\nuvicorn\n");
        write(
            "pyproject.toml",
            "[project]\nname = \"x\"\ndependencies = [\"fastapi\", \"alembic>=1.13\"]\n",
        );
        // requirements.txt is installed: pyproject.toml's alembic is not in the image.
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "uvicorn"]);
        // With a lock of this project, pyproject.toml is what is installed.
        write(
            "uv.lock",
            "version = 1\n\n[[package]]\nname = \"x\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi", "alembic"]);
        // A development group is not exported into the image.
        write(
            "pyproject.toml",
            "[project]\nname = \"x\"\ndependencies = [\"fastapi\"]\n\n[dependency-groups]\ndev = [\"alembic\"]\n",
        );
        let packages = detect(dir.path(), dir.path()).unwrap().packages;
        assert_eq!(packages, ["fastapi"]);
    }

    #[test]
    fn a_range_gives_the_version_the_image_uses_not_its_lower_bound() {
        for (range, want) in [
            (">=3.9", Some("3.12")),
            (">=3.13", Some("3.13")),
            (">=3.10,<3.12", Some("3.11")),
            ("^3.11", Some("3.12")),
            ("~3.10", Some("3.10")),
            ("3.11.*", Some("3.11")),
            ("==3.12.4", Some("3.12")),
            ("~=3.11.2", Some("3.11")),
            (">=3.9,!=3.12.*", Some("3.13")),
            ("<3.0", None),
            ("", None),
        ] {
            assert_eq!(version_in_range(range).as_deref(), want, "{range}");
        }
    }
}
