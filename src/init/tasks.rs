//! A task's command must exist in the image that runs it (tasks run in the component's image):
//! checked here before init writes it, and rewritten into a form that needs nothing from the
//! network or the build machine.
//!
//! - Python images: dependencies are installed with `pip --target`; their console scripts are in
//!   `/opt/deps/bin` (on `PATH`, see [`super::specs`]), but `python -m alembic` needs no script
//!   at all, so a module that runs as one is called that way.
//! - Node images: `npx pkg` runs `pkg` from `node_modules` when it is there and downloads it
//!   otherwise (at run time, often with no network). The lock file says whether `pkg` is a
//!   production dependency (a `next start` or Node server image has those) and which file its
//!   command is; the task then runs `node node_modules/pkg/<bin>`. A standalone Next.js image
//!   holds only the traced server, and a static site has no Node at all: such a task is not
//!   written, and the user is told how to run it.

use std::path::Path;

use serde_json::Value;

use super::findings::{Runtime, Service};

/// Python tools that run as `python -m NAME`.
const PYTHON_MODULES: [&str; 4] = ["alembic", "uvicorn", "gunicorn", "pytest"];

/// `command` as the image of `service` can run it, or why it cannot (with what to do).
pub fn resolve(root: &Path, service: &Service, command: &[String]) -> Result<Vec<String>, String> {
    let Some(program) = command.first() else {
        return Err("the task has no command".into());
    };
    match &service.runtime.value {
        Runtime::Asgi { .. } | Runtime::McpHttp { .. } | Runtime::Django { .. } => {
            python(service, program, command)
        }
        Runtime::StaticSite { .. } => Err(format!(
            "`{}` needs Node, but {}'s image only serves the built files; run it from your machine against the database",
            command.join(" "),
            service.name
        )),
        Runtime::NextJs { standalone: true } => Err(format!(
            "`{}` needs its package in the image, but a standalone Next.js image holds only the server's traced node_modules (npx would download it at run time); run it from your machine against the database, or build without `output: \"standalone\"` with the package in `dependencies`",
            command.join(" ")
        )),
        Runtime::NextJs { standalone: false } | Runtime::Node { .. } => {
            node(root, service, program, command)
        }
    }
}

fn python(service: &Service, program: &str, command: &[String]) -> Result<Vec<String>, String> {
    let has = |p: &str| service.packages.iter().any(|x| x == p);
    if matches!(program, "python" | "python3") {
        return Ok(command.to_vec());
    }
    if PYTHON_MODULES.contains(&program) && has(program) {
        let mut out = vec!["python".to_string(), "-m".to_string()];
        out.extend(command.iter().cloned());
        return Ok(out);
    }
    if has(program) {
        // A console script of a dependency: its bin directory is on PATH.
        return Ok(command.to_vec());
    }
    let installed = service
        .python
        .as_ref()
        .map_or("requirements.txt", |(tool, _)| tool.installed_file());
    Err(format!(
        "`{}`: {program} is not in {}/{installed}, the dependencies {}'s image installs, so the image has no such command; add it there",
        command.join(" "),
        service.dir,
        service.name
    ))
}

fn node(
    root: &Path,
    service: &Service,
    program: &str,
    command: &[String],
) -> Result<Vec<String>, String> {
    let shown = command.join(" ");
    if program != "npx" {
        return Ok(command.to_vec());
    }
    let Some(at) = command.iter().skip(1).position(|w| !w.starts_with('-')) else {
        return Err(format!("`{shown}` names no package"));
    };
    let package = &command[at + 1];
    let args = &command[at + 2..];
    let lock_path = root.join(&service.dir).join("package-lock.json");
    let lock: Value = std::fs::read_to_string(&lock_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            format!(
                "`{shown}`: without a package-lock.json nothing says {package} is in the image (npx would download it at run time); commit a lock with {package} in `dependencies`"
            )
        })?;
    let entry = lock
        .pointer(&format!("/packages/node_modules~1{}", package.replace('/', "~1")))
        .ok_or_else(|| {
            format!(
                "`{shown}`: {package} is not in {}/package-lock.json, so the image lacks it (npx would download it at run time); add it to `dependencies`",
                service.dir
            )
        })?;
    if entry.get("dev").and_then(Value::as_bool) == Some(true) {
        return Err(format!(
            "`{shown}`: {package} is a devDependency, which the image leaves out (npx would download it at run time); move it to `dependencies`"
        ));
    }
    let bins = entry.get("bin").and_then(Value::as_object);
    let short = package.rsplit('/').next().unwrap_or(package);
    let bin = bins.and_then(|b| {
        if b.len() == 1 {
            b.values().next()
        } else {
            b.get(short)
        }
    });
    let Some(bin) = bin.and_then(Value::as_str) else {
        return Err(format!(
            "`{shown}`: {package} has no command in {}/package-lock.json",
            service.dir
        ));
    };
    let mut out = vec![
        "node".to_string(),
        format!("node_modules/{package}/{}", bin.trim_start_matches("./")),
    ];
    out.extend(args.iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Source};

    fn service(runtime: Runtime, packages: &[&str]) -> Service {
        Service {
            packages: packages.iter().map(|p| p.to_string()).collect(),
            ..Service::new("web", "web", Found::new(runtime, Source::assumed("x")))
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn python_tasks_run_as_modules_or_scripts_of_dependencies() {
        let api = service(
            Runtime::Asgi {
                app: "main:app".into(),
            },
            &["alembic", "fastapi"],
        );
        let root = Path::new("/nowhere");
        assert_eq!(
            resolve(root, &api, &words("alembic upgrade head")).unwrap(),
            words("python -m alembic upgrade head")
        );
        assert_eq!(
            resolve(root, &api, &words("python manage.py migrate")).unwrap(),
            words("python manage.py migrate")
        );
        let err = resolve(root, &api, &words("prisma migrate deploy")).unwrap_err();
        assert!(err.contains("not in web/requirements.txt"), "{err}");
    }

    #[test]
    fn npx_runs_the_locked_production_package_or_is_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("web")).unwrap();
        std::fs::write(
            root.path().join("web/package-lock.json"),
            r#"{"lockfileVersion": 3, "packages": {
                "": {"name": "web"},
                "node_modules/prisma": {"version": "6.0.0", "bin": {"prisma": "build/index.js"}},
                "node_modules/@better-auth/cli": {"version": "1.0.0", "bin": {"cli": "dist/index.mjs"}},
                "node_modules/drizzle-kit": {"version": "0.30.0", "dev": true, "bin": {"drizzle-kit": "bin.cjs"}}
            }}"#,
        )
        .unwrap();
        let node = service(
            Runtime::Node {
                script: "node index.js".into(),
            },
            &[],
        );
        assert_eq!(
            resolve(root.path(), &node, &words("npx prisma migrate deploy")).unwrap(),
            words("node node_modules/prisma/build/index.js migrate deploy")
        );
        assert_eq!(
            resolve(
                root.path(),
                &node,
                &words("npx --yes @better-auth/cli migrate --yes")
            )
            .unwrap(),
            words("node node_modules/@better-auth/cli/dist/index.mjs migrate --yes")
        );
        let dev = resolve(root.path(), &node, &words("npx drizzle-kit migrate")).unwrap_err();
        assert!(dev.contains("devDependency"), "{dev}");
        let absent = resolve(root.path(), &node, &words("npx knex migrate:latest")).unwrap_err();
        assert!(absent.contains("not in web/package-lock.json"), "{absent}");
        let standalone = service(Runtime::NextJs { standalone: true }, &[]);
        let err = resolve(
            root.path(),
            &standalone,
            &words("npx prisma migrate deploy"),
        )
        .unwrap_err();
        assert!(err.contains("standalone"), "{err}");
    }
}
