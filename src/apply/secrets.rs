//! Reading values back from the release's live Secrets, for callers that
//! reuse what an earlier deploy generated (so an unchanged redeploy stays a
//! no-op). The engine reads keys; what they mean is the caller's business.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use super::ApplyError;

/// The UTF-8 values of `(secret name, data key)` pairs in `namespace` that
/// exist and are not empty; missing Secrets and keys are simply absent.
pub async fn read_secret_keys(
    client: &Client,
    namespace: &str,
    wanted: &[(String, String)],
) -> Result<BTreeMap<(String, String), String>, ApplyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut names: Vec<&String> = wanted.iter().map(|(name, _)| name).collect();
    names.sort();
    names.dedup();
    let mut found = BTreeMap::new();
    for name in names {
        let live = api
            .get_opt(name)
            .await
            .map_err(|e| ApplyError::api("get", format!("Secret {namespace}/{name}"), e))?;
        let data = live.and_then(|s| s.data).unwrap_or_default();
        for (_, key) in wanted.iter().filter(|(n, _)| n == name) {
            let value = data
                .get(key)
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
                .filter(|v| !v.is_empty());
            if let Some(value) = value {
                found.insert((name.clone(), key.clone()), value);
            }
        }
    }
    Ok(found)
}

/// Which of the Secrets `names` exist in `namespace`.
pub async fn existing_secrets(
    client: &Client,
    namespace: &str,
    names: &[String],
) -> Result<BTreeSet<String>, ApplyError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut present = BTreeSet::new();
    for name in names {
        let live = api
            .get_metadata_opt(name)
            .await
            .map_err(|e| ApplyError::api("get", format!("Secret {namespace}/{name}"), e))?;
        if live.is_some() {
            present.insert(name.clone());
        }
    }
    Ok(present)
}
