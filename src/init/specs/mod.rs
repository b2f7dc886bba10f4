//! Image build specs (`images/<component>.toml`) for what the scan found. Every host-side step
//! builds in a scratch copy of the context or straight into `{out}`, never in the team's source
//! tree, and targets the node's platform through the `{pip_platforms}`, `{npm_os}` and
//! `{npm_cpu}` placeholders. Each spec names the host tools its steps run (`tools`), so a build
//! can install the pinned ones or say how to get them before it starts.
//!
//! Static sites are served by static-web-server (`joseluisq/static-web-server`): one static
//! binary of a few MB, no shell, runs as any non-root user on a read-only filesystem without
//! writable paths, and serves single-page apps with its fallback page — smaller and simpler to
//! run non-root than nginx, which needs writable cache and pid paths.

mod build_context;
mod env;
mod node;
mod node_build;
mod npm_lock;
mod placeholders;
pub(crate) mod python;

use std::fmt::Write as _;
use std::path::Path;

use super::findings::{Runtime, Service};

pub use env::base_env;
pub use node::has_lock;

/// A spec's text, and what its writer could not carry over (for the user).
#[derive(Debug, Clone, Default)]
pub struct SpecText {
    pub text: String,
    pub notes: Vec<String>,
}

pub(super) fn toml_list(items: &[&str]) -> String {
    let inner: Vec<String> = items.iter().map(|i| toml_str(i)).collect();
    format!("[{}]", inner.join(", "))
}

pub(super) fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The spec for `service` of app `app`.
pub fn spec(root: &Path, app: &str, service: &Service) -> SpecText {
    let mut out = String::new();
    let mut notes = Vec::new();
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
    match &service.runtime.value {
        Runtime::Asgi { .. } | Runtime::McpHttp { .. } | Runtime::Django { .. } => {
            python::spec(&mut out, &mut notes, service);
        }
        Runtime::NextJs { standalone } => {
            node::next(&mut out, &mut notes, root, service, *standalone);
        }
        Runtime::StaticSite { out_dir } => {
            node::static_site(&mut out, &mut notes, root, service, out_dir);
        }
        Runtime::Node { script } => node::server(&mut out, &mut notes, root, service, script),
    }
    SpecText { text: out, notes }
}

/// The port the component listens on (8000 when nothing said).
pub(super) fn port(service: &Service) -> u16 {
    service.port.as_ref().map_or(8000, |p| p.value)
}

/// A mirror spec for the database image found in compose.
pub fn mirror(repository: &str, tag: &str) -> String {
    format!(
        "# Written by `berth init`: the database image, side-loaded unchanged.\nkind = \"mirror\"\nsource = {}\n",
        toml_str(&format!("{repository}:{tag}"))
    )
}
