//! `berth mcp`: a Model Context Protocol server so AI agents can operate a
//! release with what berth knows (its objects, revisions and root causes).
//!
//! Each tool is a short function over the library (`pipeline`, `apply`,
//! `manifests`) returning that library's result as structured JSON. Tools that
//! change the cluster (deploy, rollback, scale) exist only when the server is
//! started with `--allow-writes`. Secret values never leave: renders and diffs
//! are redacted the way the CLI redacts them.

pub mod auth;
pub mod inputs;
pub mod outputs;
pub mod scale;
mod server;
mod transport;

pub use server::{BerthServer, ServerSettings, WRITE_TOOLS};
pub use transport::{HTTP_PATH, serve_http, serve_stdio, url};
