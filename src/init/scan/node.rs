//! Node services: Next.js (standalone or not), Vite / Create React App static builds, plain
//! Node servers; their port, health route handlers, `process.env` reads, build-time variables,
//! build-time network fetches and migrations (Prisma, Drizzle, Better Auth).

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::Detected;
use super::text::{
    files_with, identifiers_after, leading_quoted, line_of, port_after_flag, relative,
};
use crate::init::findings::{EnvUse, Found, Runtime, Source};

/// The Node project in `dir`, if it has a `package.json` that runs something.
pub fn detect(root: &Path, dir: &Path) -> Option<Detected> {
    let package_path = dir.join("package.json");
    let text = fs::read_to_string(&package_path).ok()?;
    let package: Value = serde_json::from_str(&text).ok()?;
    let pkg_rel = relative(root, &package_path);
    let mut deps: Vec<String> = ["dependencies", "devDependencies"]
        .iter()
        .filter_map(|k| package.get(*k).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    deps.sort();
    let has = |name: &str| deps.iter().any(|d| d == name);
    let script = |name: &str| {
        package
            .pointer(&format!("/scripts/{name}"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let mut found = Detected {
        packages: deps.clone(),
        ..Detected::default()
    };
    let start = script("start");
    let at_package = |what: &str| Source::new(&pkg_rel, line_of(&text, what), what.to_string());
    // A `next` dependency in a monorepo's root manifest is no app: one has pages or a config.
    let next_app = ["app", "pages", "src/app", "src/pages"]
        .iter()
        .any(|d| dir.join(d).is_dir())
        || next_output(root, dir).is_some();
    if has("next") && next_app {
        let (standalone, source) =
            next_output(root, dir).unwrap_or((false, at_package("\"next\"")));
        found.runtime = Some(Found::new(Runtime::NextJs { standalone }, source));
        let port = start
            .as_deref()
            .and_then(|s| port_after_flag(s, &["-p", "--port"]));
        found.port = Some(match port {
            Some(p) => Found::new(p, at_package("\"start\"")),
            None => Found::new(3000, Source::assumed("port 3000 (Next.js default)")),
        });
        found.health = next_health_route(root, dir);
        // What the page serves itself, so a route to another component leaves it alone.
        found.routes = next_route_handlers(dir);
    } else if has("vite") || has("react-scripts") {
        let out_dir = if has("vite") { "dist" } else { "build" };
        let what = if has("vite") {
            "\"vite\""
        } else {
            "\"react-scripts\""
        };
        found.runtime = Some(Found::new(
            Runtime::StaticSite {
                out_dir: out_dir.into(),
            },
            at_package(what),
        ));
        // The static server berth's spec uses listens on 8080 (non-root, no privileged port).
        found.port = Some(Found::new(
            8080,
            Source::assumed("port 8080 of the static file server"),
        ));
        found.health = Some(Found::new(
            "/".into(),
            Source::assumed("/ (a static site has no health route)"),
        ));
    } else if let Some(start) = start {
        found.runtime = Some(Found::new(
            Runtime::Node {
                script: start.clone(),
            },
            at_package("\"start\""),
        ));
    } else {
        return None;
    }
    if has("vite") {
        found.dev_proxies = super::dev_proxy::vite_proxies(root, dir);
    }
    // One note on a literal local URL is enough to send the user to the code.
    let mut literal_noted = false;
    let sources = files_with(dir, &[".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"], 4);
    for file in &sources {
        let Ok(code) = fs::read_to_string(file) else {
            continue;
        };
        let file_rel = relative(root, file);
        for (line, name) in super::load_checks::presence_checks(&code) {
            let what = format!("throws when {name} is unset, as the module loads");
            found
                .load_checks
                .push(Found::new(name, Source::new(&file_rel, Some(line), what)));
        }
        for pattern in [
            "process.env.",
            "process.env[\"",
            "process.env['",
            "import.meta.env.",
        ] {
            for (line, name) in identifiers_after(&code, pattern) {
                // Set by Node, Vite and Next.js themselves, never by the deploy.
                if matches!(
                    name.as_str(),
                    "NODE_ENV"
                        | "MODE"
                        | "DEV"
                        | "PROD"
                        | "BASE_URL"
                        | "SSR"
                        | "NEXT_RUNTIME"
                        | "NEXT_PHASE"
                ) {
                    continue;
                }
                let build_time = crate::values::env_names::is_browser_visible(&name);
                let use_ = EnvUse {
                    example: code_default(&code, line, &format!("{pattern}{name}")),
                    required: false,
                    build_time,
                };
                found.env.push((
                    name.clone(),
                    Found::new(
                        use_,
                        Source::new(&file_rel, Some(line), format!("reads {name}")),
                    ),
                ));
            }
        }
        if found.port.is_none()
            && let Some(line) = line_of(&code, "listen(")
            && let Some(port) = code
                .lines()
                .nth(line - 1)
                .and_then(|l| first_number(l, 1024))
        {
            found.port = Some(Found::new(
                port,
                Source::new(&file_rel, Some(line), "listen(…)"),
            ));
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_browser = match found.runtime.as_ref().map(|r| &r.value) {
            Some(Runtime::StaticSite { .. }) => true,
            Some(Runtime::NextJs { .. }) => code.contains("\"use client\""),
            _ => false,
        } && ![".config.", ".test.", ".spec."]
            .iter()
            .any(|m| name.contains(m));
        if in_browser
            && !literal_noted
            && let Some((line, url)) = literal_local_url(&code)
        {
            literal_noted = true;
            found.notes.push(Found::new(
                format!(
                    "the page calls {url}, written in its code (no variable): a browser reaches it only where that port of localhost is forwarded (`berth open`), not through the cluster's origin; read it from a build-time variable (VITE_*, NEXT_PUBLIC_*) with that default for berth init to route it"
                ),
                Source::new(&file_rel, Some(line), "a literal URL"),
            ));
        }
        if code.contains("next/font/google") {
            found.build_fetches.push(Found::new(
                "next/font/google downloads fonts during `next build`".into(),
                Source::new(
                    &file_rel,
                    line_of(&code, "next/font/google"),
                    "import next/font/google",
                ),
            ));
        }
    }
    if found.port.is_none() {
        found.port = Some(Found::new(
            3000,
            Source::assumed("port 3000 (Node default)"),
        ));
    }
    found.migration = migration(root, dir, &deps, &pkg_rel, &text);
    Some(found)
}

/// `output: "standalone"` in next.config.*, with where.
fn next_output(root: &Path, dir: &Path) -> Option<(bool, Source)> {
    for name in [
        "next.config.js",
        "next.config.mjs",
        "next.config.ts",
        "next.config.mts",
        "next.config.cjs",
    ] {
        let Ok(text) = fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let rel = relative(root, &dir.join(name));
        let standalone = text.contains("\"standalone\"") || text.contains("'standalone'");
        return Some(if standalone {
            (
                true,
                Source::new(rel, line_of(&text, "standalone"), "output: \"standalone\""),
            )
        } else {
            (
                false,
                Source::new(rel, None, "no standalone output: `next start`"),
            )
        });
    }
    None
}

/// The URL path of a Next.js route handler (`app/**/route.ts`) or API route
/// (`pages/api/**.ts`), from its file relative to the project (`src/` or not).
fn next_route_path(rel: &str) -> Option<String> {
    let rel = rel.strip_prefix("src/").unwrap_or(rel);
    if let Some(inner) = rel.strip_prefix("app/") {
        let route = inner
            .strip_suffix("/route.ts")
            .or_else(|| inner.strip_suffix("/route.js"))?;
        // Route groups `(name)` are not part of the URL.
        let segments: Vec<&str> = route
            .split('/')
            .filter(|s| !(s.starts_with('(') && s.ends_with(')')))
            .collect();
        Some(format!("/{}", segments.join("/")))
    } else {
        let inner = rel.strip_prefix("pages/api/")?;
        Some(format!(
            "/api/{}",
            inner.trim_end_matches(".ts").trim_end_matches(".js")
        ))
    }
}

/// Every route handler's path.
fn next_route_handlers(dir: &Path) -> Vec<String> {
    files_with(dir, &["route.ts", "route.js", ".ts", ".js"], 6)
        .iter()
        .filter_map(|file| next_route_path(&relative(dir, file)))
        .collect()
}

/// A route handler (`app/**/health/route.ts`) or API route (`pages/api/health.ts`).
fn next_health_route(root: &Path, dir: &Path) -> Option<Found<String>> {
    for file in files_with(dir, &["route.ts", "route.js", ".ts", ".js"], 6) {
        let Some(path) = next_route_path(&relative(dir, &file)) else {
            continue;
        };
        let last = path.rsplit('/').next().unwrap_or("");
        if matches!(last, "health" | "healthz" | "ready" | "readyz" | "ping") {
            return Some(Found::new(
                path,
                Source::new(relative(root, &file), None, "route handler"),
            ));
        }
    }
    None
}

fn migration(
    root: &Path,
    dir: &Path,
    deps: &[String],
    pkg_rel: &str,
    pkg: &str,
) -> Option<Found<Vec<String>>> {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if dir.join("prisma/schema.prisma").is_file() {
        return Some(Found::new(
            words(&["npx", "prisma", "migrate", "deploy"]),
            Source::new(
                relative(root, &dir.join("prisma/schema.prisma")),
                None,
                "Prisma schema",
            ),
        ));
    }
    for name in [
        "drizzle.config.ts",
        "drizzle.config.js",
        "drizzle.config.mjs",
    ] {
        if dir.join(name).is_file() {
            return Some(Found::new(
                words(&["npx", "drizzle-kit", "migrate"]),
                Source::new(relative(root, &dir.join(name)), None, "Drizzle config"),
            ));
        }
    }
    if deps.iter().any(|d| d == "better-auth") {
        return Some(Found::new(
            words(&["npx", "@better-auth/cli", "migrate", "--yes"]),
            Source::new(pkg_rel, line_of(pkg, "\"better-auth\""), "better-auth"),
        ));
    }
    None
}

/// The literal a read falls back to on `line` (1-based): `process.env.X || "http://…"`,
/// `?? '…'`, or a template literal without substitutions. Code defaults are the development
/// values the team wrote, safe to show (a secret is never classified from its value).
fn code_default(code: &str, line: usize, read: &str) -> Option<String> {
    let text = code.lines().nth(line.checked_sub(1)?)?;
    let rest = &text[text.find(read)? + read.len()..];
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("||")
        .or_else(|| rest.strip_prefix("??"))?
        .trim_start();
    if let Some(body) = rest.strip_prefix('`') {
        let end = body.find('`')?;
        let literal = &body[..end];
        return (!literal.contains("${")).then(|| literal.to_string());
    }
    leading_quoted(rest).filter(|v| !v.is_empty())
}

/// The first quoted `http://localhost:PORT…` (or 127.0.0.1) in `code` that no env read falls
/// back to (those are code defaults, routed by init), with its 1-based line. Config files of
/// the development server (a proxy target) run on the build machine, not in the browser.
fn literal_local_url(code: &str) -> Option<(usize, String)> {
    code.lines().enumerate().find_map(|(n, line)| {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//")
            || trimmed.starts_with('*')
            || line.contains("process.env")
            || line.contains("import.meta.env")
        {
            return None;
        }
        ["\"", "'", "`"].iter().find_map(|quote| {
            ["http://localhost:", "http://127.0.0.1:"]
                .iter()
                .find_map(|host| {
                    let at = line.find(&format!("{quote}{host}"))? + quote.len();
                    let url: String = line[at..]
                        .chars()
                        .take_while(|c| !matches!(c, '"' | '\'' | '`' | '$' | ' '))
                        .collect();
                    Some((n + 1, url))
                })
        })
    })
}

fn first_number(line: &str, min: u16) -> Option<u16> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<u16>().ok())
        .find(|n| *n >= min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_local_urls_but_not_code_defaults_or_comments() {
        let code = "// the API runs on http://localhost:2000 in development\n\
                    const A = process.env.VITE_API || \"http://localhost:8000\";\n\
                    const baseURL = \"http://localhost:2000/api/v1/todo\";\n";
        assert_eq!(
            literal_local_url(code),
            Some((3, "http://localhost:2000/api/v1/todo".to_string()))
        );
        assert_eq!(
            literal_local_url("fetch(`http://127.0.0.1:8000/api/${id}`)"),
            Some((1, "http://127.0.0.1:8000/api/".to_string()))
        );
        assert_eq!(
            literal_local_url("const A = import.meta.env.VITE_API ?? 'http://localhost:8000';"),
            None
        );
        assert_eq!(literal_local_url("fetch('/api/tasks')"), None);
    }

    #[test]
    fn code_defaults_and_route_handler_paths() {
        let code = "const API = process.env.NEXT_PUBLIC_API_URL || \"http://localhost:8000\";\n\
                    const B = import.meta.env.VITE_API_URL ?? 'http://localhost:8000/api';\n\
                    const C = process.env.NEXT_PUBLIC_X || `http://${host}`;\n\
                    const D = process.env.PLAIN;\n";
        let at = |line: usize, read: &str| code_default(code, line, read);
        assert_eq!(
            at(1, "process.env.NEXT_PUBLIC_API_URL").as_deref(),
            Some("http://localhost:8000")
        );
        assert_eq!(
            at(2, "import.meta.env.VITE_API_URL").as_deref(),
            Some("http://localhost:8000/api")
        );
        assert_eq!(
            at(3, "process.env.NEXT_PUBLIC_X"),
            None,
            "a template with a substitution"
        );
        assert_eq!(at(4, "process.env.PLAIN"), None);

        assert_eq!(
            next_route_path("src/app/api/auth/[...all]/route.ts").as_deref(),
            Some("/api/auth/[...all]")
        );
        assert_eq!(
            next_route_path("app/(site)/healthz/route.js").as_deref(),
            Some("/healthz")
        );
        assert_eq!(
            next_route_path("pages/api/health.ts").as_deref(),
            Some("/api/health")
        );
        assert_eq!(next_route_path("src/app/page.tsx"), None);
    }
}
