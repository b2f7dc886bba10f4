//! Node services: Next.js (standalone or not), Vite / Create React App static builds, plain
//! Node servers; their port, health route handlers, `process.env` reads, build-time variables,
//! build-time network fetches and migrations (Prisma, Drizzle, Better Auth).

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::Detected;
use super::text::{files_with, identifiers_after, line_of, port_after_flag, relative};
use crate::init::findings::{EnvUse, Found, Runtime, Source};

/// Prefixes of variables a bundler bakes into the browser code at build time.
pub const BUILD_TIME_PREFIXES: [&str; 3] = ["NEXT_PUBLIC_", "VITE_", "REACT_APP_"];

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
    if has("next") {
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
    let sources = files_with(dir, &[".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"], 4);
    for file in &sources {
        let Ok(code) = fs::read_to_string(file) else {
            continue;
        };
        let file_rel = relative(root, file);
        for pattern in [
            "process.env.",
            "process.env[\"",
            "process.env['",
            "import.meta.env.",
        ] {
            for (line, name) in identifiers_after(&code, pattern) {
                if matches!(
                    name.as_str(),
                    "NODE_ENV" | "MODE" | "DEV" | "PROD" | "BASE_URL" | "SSR"
                ) {
                    continue;
                }
                let build_time = BUILD_TIME_PREFIXES.iter().any(|p| name.starts_with(p));
                let use_ = EnvUse {
                    example: None,
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

/// A route handler (`app/**/health/route.ts`) or API route (`pages/api/health.ts`).
fn next_health_route(root: &Path, dir: &Path) -> Option<Found<String>> {
    for file in files_with(dir, &["route.ts", "route.js", ".ts", ".js"], 6) {
        let rel_in_app = relative(dir, &file);
        let rel_in_app = rel_in_app.strip_prefix("src/").unwrap_or(&rel_in_app);
        let path = if let Some(inner) = rel_in_app.strip_prefix("app/") {
            let Some(route) = inner
                .strip_suffix("/route.ts")
                .or_else(|| inner.strip_suffix("/route.js"))
            else {
                continue;
            };
            format!("/{route}")
        } else if let Some(inner) = rel_in_app.strip_prefix("pages/api/") {
            format!(
                "/api/{}",
                inner.trim_end_matches(".ts").trim_end_matches(".js")
            )
        } else {
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

fn first_number(line: &str, min: u16) -> Option<u16> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<u16>().ok())
        .find(|n| *n >= min)
}
