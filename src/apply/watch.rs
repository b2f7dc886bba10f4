//! Waits on one object between two writes, by watching it (not polling):
//! until a deleted object is gone, until a namespace is active. Each is
//! bounded by elapsed time; a broken watch reconnects within that time.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::watch_object;
use kube::{Client, Resource};

use super::wait::Reconnect;
use super::{ApplyError, ObjectKey};

/// How long a deleted object may take to go (its finalizers, its
/// dependents under foreground deletion).
pub const DELETION: Duration = Duration::from_secs(120);

/// How long a new namespace may take to become active.
pub const NAMESPACE_ACTIVE: Duration = Duration::from_secs(60);

/// Waits until the object `uid` named `key` is gone: absent, or replaced by
/// another object of the same name (a different UID is not the one deleted).
/// Without a UID, only absence counts.
pub async fn until_deleted(
    client: &Client,
    key: &ObjectKey,
    uid: Option<&str>,
    within: Duration,
) -> Result<(), ApplyError> {
    until(client, key, "be deleted", within, |live| match live {
        None => true,
        Some(object) => uid.is_some_and(|uid| object.meta().uid.as_deref() != Some(uid)),
    })
    .await
}

/// Waits until the namespace `key` reports phase `Active`.
pub async fn until_namespace_active(
    client: &Client,
    key: &ObjectKey,
    within: Duration,
) -> Result<(), ApplyError> {
    until(client, key, "become active", within, |live| {
        live.and_then(|n| n.data.get("status"))
            .is_some_and(|status| status["phase"] == "Active")
    })
    .await
}

/// Watches `key` (a list, then a watch from its resourceVersion, selected by
/// name) until `done` holds, for at most `within`. Watch errors (an API
/// server restart) reconnect with backoff; the deadline still holds.
async fn until(
    client: &Client,
    key: &ObjectKey,
    what: &'static str,
    within: Duration,
    done: impl Fn(Option<&DynamicObject>) -> bool,
) -> Result<(), ApplyError> {
    let api: Api<DynamicObject> = key.api(client);
    let states = watch_object(api, &key.name).backoff(Reconnect::default());
    let reached = async {
        let mut states = std::pin::pin!(states);
        while let Some(state) = states.next().await {
            if let Ok(live) = state
                && done(live.as_ref())
            {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(within, reached).await {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(ApplyError::Timeout {
            object: key.to_string(),
            what,
            seconds: within.as_secs_f64().ceil() as u64,
        }),
    }
}
