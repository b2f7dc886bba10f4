//! A frontend's development proxy: `server.proxy` in a Vite config sends a path prefix of the
//! page's own origin to another local server (`"/api": "http://localhost:8000"`, or
//! `{target: "http://localhost:8000"}`). Such a page calls its API relative to itself, so the
//! deployed stack must route that prefix on the same origin.

use std::fs;
use std::path::Path;

use super::text::relative;
use crate::init::findings::{Found, Source};

/// A prefix the development server passes to a local port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevProxy {
    pub prefix: String,
    pub port: u16,
}

const VITE_CONFIGS: [&str; 6] = [
    "vite.config.js",
    "vite.config.ts",
    "vite.config.mjs",
    "vite.config.mts",
    "vite.config.cjs",
    "vite.config.cts",
];

/// The proxies of the Vite config in `dir`, each with where it is written.
pub fn vite_proxies(root: &Path, dir: &Path) -> Vec<Found<DevProxy>> {
    let Some((path, text)) = VITE_CONFIGS
        .iter()
        .find_map(|name| Some((dir.join(name), fs::read_to_string(dir.join(name)).ok()?)))
    else {
        return Vec::new();
    };
    let Some(start) = text.find("proxy") else {
        return Vec::new();
    };
    let rel = relative(root, &path);
    let mut found = Vec::new();
    // Each `"<prefix>": "<url>"` or `"<prefix>": { target: "<url>" … }` in the proxy block.
    let mut rest = &text[start..];
    while let Some(at) = rest.find(['"', '\'']) {
        let quote = rest.as_bytes()[at] as char;
        let after = &rest[at + 1..];
        let Some(end) = after.find(quote) else { break };
        let key = &after[..end];
        rest = &after[end + 1..];
        if !key.starts_with('/') || !rest.trim_start().starts_with(':') {
            continue;
        }
        let value = rest.trim_start()[1..].trim_start();
        let url = if value.starts_with('{') {
            value.find("target").and_then(|t| quoted_after(&value[t..]))
        } else {
            quoted_after(value)
        };
        if let Some(port) = url.as_deref().and_then(local_port) {
            let what = format!("proxies {key} to localhost:{port}");
            let line = text[..text.len() - rest.len()].lines().count();
            found.push(Found::new(
                DevProxy {
                    prefix: key.to_string(),
                    port,
                },
                Source::new(&rel, Some(line), what),
            ));
        }
    }
    found
}

/// The first quoted string in `text`.
fn quoted_after(text: &str) -> Option<String> {
    let at = text.find(['"', '\'', '`'])?;
    let quote = text.as_bytes()[at] as char;
    let after = &text[at + 1..];
    Some(after[..after.find(quote)?].to_string())
}

/// The port of an `http://localhost:PORT` (or 127.0.0.1) URL.
fn local_port(url: &str) -> Option<u16> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0")
        .then(|| port.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_a_vite_proxy_and_only_local_targets() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("vite.config.ts"),
            "export default defineConfig({\n  server: {\n    proxy: {\n      '/api': 'http://localhost:8000',\n      \"/auth\": { target: \"http://127.0.0.1:4000\", changeOrigin: true },\n      '/cdn': 'https://cdn.example.com',\n    },\n  },\n});\n",
        )
        .unwrap();
        let found = vite_proxies(dir.path(), dir.path());
        let proxies: Vec<(&str, u16)> = found
            .iter()
            .map(|f| (f.value.prefix.as_str(), f.value.port))
            .collect();
        assert_eq!(proxies, [("/api", 8000), ("/auth", 4000)]);
        assert_eq!(
            found[0].source.to_string(),
            "vite.config.ts:4 proxies /api to localhost:8000"
        );
    }
}
