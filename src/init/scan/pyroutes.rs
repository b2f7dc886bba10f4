//! The GET route of a FastAPI app that a probe can call: a concrete path (no `{param}`: a probe
//! cannot fill one in) that the app serves — declared on the app object itself, or on an
//! `APIRouter` that the app's module includes, with the router's and the include's prefixes —
//! and named like a health check. A router nobody includes serves nothing.

use super::text::leading_quoted;

/// One Python file of the service: its path relative to the service (`src/api/health.py`),
/// relative to the repository (for sources), and its text.
pub struct File<'a> {
    pub module_path: &'a str,
    pub file_rel: &'a str,
    pub text: &'a str,
}

/// A probe path with where it was declared (file relative to the repository, line).
#[derive(Debug, PartialEq, Eq)]
pub struct Health {
    pub path: String,
    pub file: String,
    pub line: usize,
}

/// The best health route among `files`, given the app variable and its file's module path.
pub fn health(files: &[File], app_module: &str, app_var: &str) -> Option<Health> {
    let app = files.iter().find(|f| f.module_path == app_module)?;
    let includes = includes(app.text, app_var);
    let mut best: Option<(usize, Health)> = None;
    let mut offer = |tier: usize, path: String, file: &str, line: usize| {
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let (Some(rank), false) = (health_rank(last), path.contains('{')) else {
            return;
        };
        let score = tier * 10 + rank;
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            let health = Health {
                path,
                file: file.to_string(),
                line,
            };
            best = Some((score, health));
        }
    };
    // The app's own routes: in its module, or in one that imports the app object to decorate it.
    let imports_app = format!("import {app_var}");
    for file in files
        .iter()
        .filter(|f| f.module_path == app_module || f.text.contains(&imports_app))
    {
        for (object, path, line) in gets(file.text) {
            if object == app_var && path.starts_with('/') {
                offer(0, path, file.file_rel, line);
            }
        }
    }
    for file in files {
        let stem = module_stem(file.module_path);
        for (var, router_prefix) in routers(file.text) {
            let Some(include_prefix) = includes
                .iter()
                .find(|i| i.module == stem && i.var == var)
                .map(|i| i.prefix.as_str())
            else {
                continue;
            };
            for (object, path, line) in gets(file.text) {
                if object == var {
                    let full = format!("{include_prefix}{router_prefix}{path}");
                    if full.starts_with('/') {
                        offer(1, full, file.file_rel, line);
                    }
                }
            }
        }
    }
    best.map(|(_, h)| h)
}

/// Health-like last segments, best first.
pub(super) fn health_rank(segment: &str) -> Option<usize> {
    [
        "health",
        "healthz",
        "healthcheck",
        "readyz",
        "ready",
        "livez",
        "ping",
        "status",
    ]
    .iter()
    .position(|n| *n == segment)
}

fn module_stem(module_path: &str) -> &str {
    let name = module_path.rsplit('/').next().unwrap_or(module_path);
    name.strip_suffix(".py").unwrap_or(name)
}

/// `@OBJECT.get("PATH"…)` and `@OBJECT.api_route("PATH"…)`: (object, path, 1-based line).
fn gets(text: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(decorator) = line.trim_start().strip_prefix('@') else {
            continue;
        };
        for method in [".get(", ".api_route("] {
            if let Some(i) = decorator.find(method)
                && let Some(path) = leading_quoted(&decorator[i + method.len()..])
            {
                found.push((decorator[..i].trim().to_string(), path, n + 1));
            }
        }
    }
    found
}

/// `VAR = APIRouter(prefix="/x")`: each router variable with its own prefix.
fn routers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (lhs, rhs) = l.split_once('=')?;
            let var = lhs.trim().split(':').next()?.trim();
            let rhs = rhs.trim_start();
            if !rhs.starts_with("APIRouter(")
                || var.is_empty()
                || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return None;
            }
            Some((var.to_string(), prefix_in(rhs).unwrap_or_default()))
        })
        .collect()
}

fn prefix_in(call: &str) -> Option<String> {
    let i = call.find("prefix=")?;
    leading_quoted(&call[i + "prefix=".len()..])
}

/// A router the app includes: the module it comes from (its last name), its variable there,
/// and the include's prefix.
struct Include {
    module: String,
    var: String,
    prefix: String,
}

/// `APP.include_router(NAME, prefix="/x")` in the app's file, NAME resolved through the file's
/// imports: `from .api.health import router as health_router` or `from .api import health` with
/// `health.router`.
fn includes(text: &str, app_var: &str) -> Vec<Include> {
    // Imported name → (module's last name, variable in it; empty for a module import).
    let mut imported: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("from ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once(" import ") else {
            continue;
        };
        let module_last = module.trim().rsplit('.').next().unwrap_or("").to_string();
        for name in names.trim_matches(['(', ')', ' ']).split(',') {
            let mut words = name.split_whitespace();
            let (Some(original), alias) = (words.next(), words.nth(1)) else {
                continue;
            };
            let alias = alias.unwrap_or(original).to_string();
            // `from .api import health`: a module; `from .api.health import router`: a variable.
            imported.push((alias.clone(), module_last.clone(), original.to_string()));
        }
    }
    let call = format!("{app_var}.include_router(");
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(i) = line.find(&call) else {
            continue;
        };
        let args = &line[i + call.len()..];
        let name: String = args
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let prefix = prefix_in(args).unwrap_or_default();
        let resolved = match name.rsplit_once('.') {
            // `health.router` or `api.health.router`: module name, then the variable.
            Some((module, var)) => {
                let last = module.rsplit('.').next().unwrap_or(module);
                let module = imported
                    .iter()
                    .find(|(alias, ..)| alias == last)
                    .map_or(last.to_string(), |(_, _, original)| original.clone());
                Some((module, var.to_string()))
            }
            None => imported
                .iter()
                .find(|(alias, ..)| *alias == name)
                .map(|(_, module, var)| (module.clone(), var.clone())),
        };
        if let Some((module, var)) = resolved {
            found.push(Include {
                module,
                var,
                prefix,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_gets_a_concrete_health_path_the_app_serves() {
        let main = "from fastapi import FastAPI\n\
                    from .api.health import router as health_router\n\
                    from .api import items\n\
                    app = FastAPI()\n\
                    app.include_router(health_router)\n\
                    app.include_router(items.router, prefix=\"/api\")\n\
                    @app.get(\"/\")\n\
                    def root(): ...\n";
        let deployments = "router = APIRouter()\n@router.get(\"/{name}/status\")\ndef s(): ...\n";
        let health_py = "router = APIRouter(prefix=\"/health\", tags=[\"h\"])\n@router.get(\"\")\ndef h(): ...\n@router.get(\"/ready\")\ndef r(): ...\n";
        let items = "router = APIRouter(prefix=\"/items\")\n@router.get(\"/ping\")\ndef p(): ...\n";
        let unmounted = "router = APIRouter()\n@router.get(\"/healthz\")\ndef z(): ...\n";
        let file = |module_path, text| File {
            module_path,
            file_rel: module_path,
            text,
        };
        let files = [
            file("src/api/deployments.py", deployments),
            file("src/api/unmounted.py", unmounted),
            file("src/api/items.py", items),
            file("src/api/health.py", health_py),
            file("src/main.py", main),
        ];
        // The included router's `""` under its prefix; the templated and unmounted ones never.
        let got = health(&files, "src/main.py", "app").unwrap();
        assert_eq!((got.path.as_str(), got.line), ("/health", 2));
        // A route on the app itself comes first.
        let main_with_own = format!("{main}@app.get(\"/status\")\ndef st(): ...\n");
        let mut files = files;
        files[4] = file("src/main.py", &main_with_own);
        let got = health(&files, "src/main.py", "app").unwrap();
        assert_eq!(got.path, "/status");
        // Only the templated route: no probe path.
        let files = [
            file("src/api/deployments.py", deployments),
            file(
                "src/main.py",
                "from .api.deployments import router\napp = FastAPI()\napp.include_router(router)\n",
            ),
        ];
        assert_eq!(health(&files, "src/main.py", "app"), None);
        // A module that imports the app object and declares a route on it.
        let files = [
            file(
                "src/routes.py",
                "from .main import app\n@app.get(\"/healthz\")\ndef z(): ...\n",
            ),
            file("src/main.py", "app = FastAPI()\n"),
        ];
        assert_eq!(
            health(&files, "src/main.py", "app").unwrap().path,
            "/healthz"
        );
        // A module import: `items.router` under `/api` + `/items`.
        let files = [file("src/api/items.py", items), file("src/main.py", main)];
        assert_eq!(
            health(&files, "src/main.py", "app").unwrap().path,
            "/api/items/ping"
        );
    }
}
