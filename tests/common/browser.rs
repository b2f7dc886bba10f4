//! The browser check (`scripts/browser-check.mjs`, ORIGINS.md) for Rust tests: headless Debian
//! chromium through playwright-core opens a URL, optionally drives the todo scenario of the
//! fixtures' UI contract, and reports every failed request and console error as JSON.
//! Include with `#[path = "common/browser.rs"] mod browser;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// What one run of the browser check found.
#[derive(Debug)]
pub struct BrowserReport {
    /// The check's exit code: 0 nothing failed, 1 something did, 2 bad usage.
    pub code: i32,
    /// The JSON report (`failedRequests`, `consoleErrors`, `pageErrors`, `steps`, …).
    pub json: serde_json::Value,
    /// One line per problem and a summary line.
    pub stderr: String,
}

impl BrowserReport {
    pub fn ok(&self) -> bool {
        self.code == 0 && self.json["ok"] == serde_json::Value::Bool(true)
    }

    /// The failed requests as `KIND METHOD URL STATUS|ERROR` lines.
    pub fn failed_requests(&self) -> Vec<String> {
        self.json["failedRequests"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|r| {
                        let detail = r.get("status").map_or_else(
                            || r["error"].as_str().unwrap_or("").to_string(),
                            |s| s.to_string(),
                        );
                        format!(
                            "{} {} {} {detail}",
                            r["kind"].as_str().unwrap_or("?"),
                            r["method"].as_str().unwrap_or("?"),
                            r["url"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Console errors and uncaught page errors.
    pub fn errors(&self) -> Vec<String> {
        ["consoleErrors", "pageErrors"]
            .iter()
            .flat_map(|k| self.json[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// Whether the scenario step called `name` ran and succeeded.
    pub fn step_ok(&self, name: &str) -> bool {
        self.json["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == name && s["ok"] == true))
    }
}

/// Run the browser check against `url` with extra `args` (`--scenario todo`, …). Installs
/// playwright-core and chromium through `scripts/browser-tools.sh` unless `BERTH_PLAYWRIGHT_DIR`
/// names an installed playwright-core.
pub fn browser_check(url: &str, args: &[&str]) -> BrowserReport {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/browser-check.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(url)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("node {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("browser check printed no JSON report ({e}); stdout: {stdout}\nstderr: {stderr}")
    });
    BrowserReport {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}
