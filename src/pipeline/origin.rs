//! The origin a deploy renders for: a NodePort's is the node's address, which
//! only the cluster (and Minikube's profile) can tell, so `deploy`, `diff` and
//! the wizard resolve it into `expose.url` before rendering; the revision then
//! records the origin the app was configured with.

use crate::cluster::origin::{LOCAL_ORIGIN_HINT, Place, Reach, resolve_node_port};
use crate::manifests::exposure::{external_url, origin_needs_cluster};
use crate::values::Values;

/// What resolving the origin found, for the command to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginNote {
    /// The values name the origin already (url, local, Ingress or Gateway host).
    Given { url: String },
    /// The NodePort's origin, now in `expose.url`.
    Resolved { url: String, via: String },
    /// The NodePort cannot be reached from here; the values keep the
    /// `http://localhost:<nodePort>` fallback.
    Unreachable { url: String, why: String },
    /// berth could not tell; the values keep the fallback.
    Unknown { url: String, why: String },
}

impl OriginNote {
    /// The origin the render uses.
    pub fn url(&self) -> &str {
        match self {
            OriginNote::Given { url }
            | OriginNote::Resolved { url, .. }
            | OriginNote::Unreachable { url, .. }
            | OriginNote::Unknown { url, .. } => url,
        }
    }

    /// A warning and its hint when the origin is not one the browser reaches.
    pub fn warning(&self) -> Option<(String, &'static str)> {
        match self {
            OriginNote::Unreachable { url, why } => Some((
                format!(
                    "{why}: the NodePort is not reachable from this machine, and {{externalUrl}} stays {url}"
                ),
                LOCAL_ORIGIN_HINT,
            )),
            _ => None,
        }
    }
}

/// Resolves a NodePort's origin from the cluster into `values.expose.url`
/// (nothing to do for any other origin).
pub async fn resolve_origin(
    client: &kube::Client,
    values: &mut Values,
    place: &Place,
) -> OriginNote {
    if !origin_needs_cluster(values) {
        return OriginNote::Given {
            url: external_url(values),
        };
    }
    let fallback = external_url(values);
    match resolve_node_port(client, place, values.expose.node_port).await {
        Reach::Reachable { url, via } => {
            values.expose.url = url.clone();
            OriginNote::Resolved { url, via }
        }
        Reach::Unreachable { why } => OriginNote::Unreachable { url: fallback, why },
        Reach::Unknown { why } => OriginNote::Unknown { url: fallback, why },
    }
}
