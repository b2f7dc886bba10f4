//! A probe as a command the container itself runs (a Compose or image
//! `HEALTHCHECK`): slim images have no `curl`, so an HTTP or TCP check is
//! written for the runtime the image has — Python or Node.js — decided from
//! the image's base or its entrypoint.

use crate::values::Check;

/// A language runtime an image carries, able to make an HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    Node,
}

impl Runtime {
    /// The runtime an image has: from its base image's name
    /// (`docker.io/library/python:3.12-slim`), else its entrypoint's program.
    pub fn detect(base: Option<&str>, entrypoint: &[String]) -> Option<Runtime> {
        let repository = base.map(|b| {
            let name = b.rsplit('/').next().unwrap_or(b);
            name.split([':', '@'])
                .next()
                .unwrap_or(name)
                .to_ascii_lowercase()
        });
        match repository.as_deref() {
            Some(name) if name.starts_with("python") => return Some(Runtime::Python),
            Some(name) if name.starts_with("node") => return Some(Runtime::Node),
            _ => {}
        }
        let program = entrypoint.first()?;
        let program = program.rsplit('/').next().unwrap_or(program);
        match program {
            p if p.starts_with("python") => Some(Runtime::Python),
            "uvicorn" | "gunicorn" | "hypercorn" | "fastapi" | "flask" | "alembic" => {
                Some(Runtime::Python)
            }
            "node" | "npm" | "npx" | "next" | "pnpm" | "yarn" => Some(Runtime::Node),
            _ => None,
        }
    }
}

/// The command that performs `check` against the container's own `port`
/// (exit 0 healthy). An `exec` check runs as written; HTTP and TCP need a
/// runtime (`None` without one).
pub fn command(check: &Check, port: Option<u16>, runtime: Option<Runtime>) -> Option<Vec<String>> {
    let argv = |program: &str, flag: &str, code: String| {
        Some(vec![program.to_string(), flag.to_string(), code])
    };
    match check {
        Check::Exec(command) => Some(command.clone()),
        Check::Http(path) => {
            // A JSON string literal is a valid Python and JavaScript string literal.
            let url = serde_json::to_string(&format!("http://127.0.0.1:{}{path}", port?))
                .expect("a string serializes");
            match runtime? {
                // urlopen raises on an error status or no answer: a non-zero exit.
                Runtime::Python => argv(
                    "python",
                    "-c",
                    format!("import urllib.request; urllib.request.urlopen({url}, timeout=4)"),
                ),
                Runtime::Node => argv(
                    "node",
                    "-e",
                    format!(
                        "fetch({url},{{signal:AbortSignal.timeout(4000)}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
                    ),
                ),
            }
        }
        Check::Tcp => {
            let port = port?;
            match runtime? {
                Runtime::Python => argv(
                    "python",
                    "-c",
                    format!(
                        "import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=4).close()"
                    ),
                ),
                Runtime::Node => argv(
                    "node",
                    "-e",
                    format!(
                        "require(\"net\").connect({port},\"127.0.0.1\").on(\"connect\",()=>process.exit(0)).on(\"error\",()=>process.exit(1))"
                    ),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_comes_from_the_base_or_the_entrypoint() {
        let none: &[String] = &[];
        assert_eq!(
            Runtime::detect(Some("docker.io/library/python:3.12-slim-bookworm"), none),
            Some(Runtime::Python)
        );
        assert_eq!(
            Runtime::detect(Some("node:22-bookworm-slim"), none),
            Some(Runtime::Node)
        );
        assert_eq!(
            Runtime::detect(None, &["uvicorn".into(), "app:app".into()]),
            Some(Runtime::Python)
        );
        assert_eq!(
            Runtime::detect(
                Some("joseluisq/static-web-server:2"),
                &["static-web-server".into()]
            ),
            None
        );
    }

    #[test]
    fn checks_become_commands_of_the_runtime() {
        let http = Check::Http("/health".into());
        let python = command(&http, Some(8000), Some(Runtime::Python)).unwrap();
        assert_eq!(python[..2], ["python", "-c"]);
        assert!(
            python[2].contains("\"http://127.0.0.1:8000/health\""),
            "{python:?}"
        );
        let node = command(&http, Some(3000), Some(Runtime::Node)).unwrap();
        assert_eq!(node[..2], ["node", "-e"]);
        assert!(
            node[2].contains("fetch(\"http://127.0.0.1:3000/health\""),
            "{node:?}"
        );
        assert_eq!(command(&http, Some(80), None), None);
        let exec = Check::Exec(vec!["cat".into(), "/tmp/ok".into()]);
        assert_eq!(
            command(&exec, None, None),
            Some(vec!["cat".into(), "/tmp/ok".into()])
        );
    }
}
