//! The origin check: the origin the app will be told (`{externalUrl}`: CORS
//! lists, auth base URLs, public API URLs) against how this machine reaches
//! the app.

use super::*;
use crate::cluster::origin::{Reach, resolve_node_port};
use crate::manifests::exposure::external_url;
use crate::values::{ExposeMode, Origin};

pub(super) async fn origin(client: &Client, place: &Place, values: &Values) -> Check {
    const ID: &str = "origin";
    let expose = &values.expose;
    let url = external_url(values);
    if !expose.url.is_empty() {
        return Check::pass(
            ID,
            format!("the app is told its origin is {url} (expose.url)"),
        );
    }
    if expose.origin == Origin::Local {
        return Check::pass(
            ID,
            format!(
                "the app is told its origin is {url} (expose.origin: local): `berth open` serves it there"
            ),
        );
    }
    match expose.mode {
        ExposeMode::Ingress | ExposeMode::Gateway => Check::pass(
            ID,
            format!(
                "the app is told its origin is {url}, the {} host",
                mode_name(expose.mode)
            ),
        ),
        ExposeMode::None => Check::warn(
            ID,
            format!("nothing is exposed, and {{externalUrl}} resolves to {url}"),
            "serve it there with `berth deploy --open` (expose.origin: local), or expose it (expose.mode)",
        ),
        ExposeMode::NodePort => match resolve_node_port(client, place, expose.node_port).await {
            Reach::Reachable { url, via } => Check::pass(
                ID,
                format!("the app will be told its origin is {url}, the NodePort on {via}"),
            ),
            Reach::Unreachable { why } => Check::warn(
                ID,
                format!(
                    "{why}: a NodePort origin is not one a browser here can open, so the app's CORS lists and auth URLs ({{externalUrl}}) would name an unreachable origin"
                ),
                LOCAL_ORIGIN_HINT,
            ),
            Reach::Unknown { why } => Check::warn(
                ID,
                format!("cannot tell the nodes' address ({why}); {{externalUrl}} would be {url}"),
                "set expose.url to the origin the browser uses, or serve it locally: berth deploy --open",
            ),
        },
    }
}

fn mode_name(mode: ExposeMode) -> &'static str {
    match mode {
        ExposeMode::Ingress => "Ingress",
        ExposeMode::Gateway => "Gateway",
        ExposeMode::NodePort => "NodePort",
        ExposeMode::None => "none",
    }
}
