//! Revisions: one Secret per deploy in the release namespace holding the
//! rendered objects (secret values redacted by the caller) and the values
//! without secrets, gzip-compressed, plus status, time and berth version.
//! A deploy starts with a `pending` revision naming its holder; the release
//! lock ([`super::lock`]) keeps deploys apart, so a pending revision found by
//! the next lock holder is one whose deploy stopped midway.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::{ApplyError, FIELD_MANAGER, INSTANCE_LABEL, Release, tooling};

const RELEASE_LABEL: &str = "berth.dev/release";
const NUMBER_LABEL: &str = "berth.dev/revision";
const STATUS: &str = "berth.dev/status";
const TIME: &str = "berth.dev/time";
const VERSION: &str = "berth.dev/version";
const HOLDER: &str = "berth.dev/holder";
const EXPIRES: &str = "berth.dev/pending-expires";

/// A revision's status.
pub const PENDING: &str = "pending";
pub const DEPLOYED: &str = "deployed";
pub const FAILED: &str = "failed";
pub const SUPERSEDED: &str = "superseded";

/// What a revision records besides its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionContent {
    /// The rendered objects, Secrets redacted.
    pub manifests: Value,
    /// The values without secrets.
    pub values: Value,
}

/// One revision's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revision {
    pub number: u32,
    pub status: String,
    pub time: String,
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub holder: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expires: String,
}

fn secret_name(release: &Release, number: u32) -> String {
    format!("{}-rev-{number}", release.name)
}

fn api(client: &Client, release: &Release) -> Api<Secret> {
    Api::namespaced(client.clone(), &release.namespace)
}

fn display(release: &Release, number: u32) -> String {
    format!(
        "Secret {}/{}",
        release.namespace,
        secret_name(release, number)
    )
}

/// Every revision of the release, oldest first (content not decoded).
pub async fn list(client: &Client, release: &Release) -> Result<Vec<Revision>, ApplyError> {
    let selector = format!("{RELEASE_LABEL}={}", release.name);
    let secrets = api(client, release)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ApplyError::api("list", format!("revisions of {}", release.name), e))?;
    let mut revisions: Vec<Revision> = secrets.items.iter().filter_map(bookkeeping).collect();
    revisions.sort_by_key(|r| r.number);
    Ok(revisions)
}

fn bookkeeping(secret: &Secret) -> Option<Revision> {
    let labels = secret.metadata.labels.as_ref()?;
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    let get = |key: &str| annotations.get(key).cloned().unwrap_or_default();
    Some(Revision {
        number: labels.get(NUMBER_LABEL)?.parse().ok()?,
        status: labels.get(STATUS).cloned().unwrap_or_default(),
        time: get(TIME),
        version: get(VERSION),
        holder: get(HOLDER),
        expires: get(EXPIRES),
    })
}

/// Reads one revision with its content.
pub async fn load(
    client: &Client,
    release: &Release,
    number: u32,
) -> Result<Option<(Revision, RevisionContent)>, ApplyError> {
    let secret = api(client, release)
        .get_opt(&secret_name(release, number))
        .await
        .map_err(|e| ApplyError::api("get", display(release, number), e))?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let corrupt = |message: String| ApplyError::Corrupt {
        object: display(release, number),
        message,
    };
    let revision = bookkeeping(&secret).ok_or_else(|| corrupt("missing revision labels".into()))?;
    let data = secret.data.unwrap_or_default();
    let field = |key: &str| -> Result<Value, ApplyError> {
        let bytes = data
            .get(key)
            .ok_or_else(|| corrupt(format!("missing {key}")))?;
        decompress(&bytes.0).map_err(|e| corrupt(format!("unreadable {key}: {e}")))
    };
    let content = RevisionContent {
        manifests: field("manifests")?,
        values: field("values")?,
    };
    Ok(Some((revision, content)))
}

/// Starts a revision (the caller holds the release lock): marks pending
/// revisions of interrupted deploys failed and records a pending one.
pub async fn begin(
    client: &Client,
    release: &Release,
    content: &RevisionContent,
    ttl: Duration,
) -> Result<u32, ApplyError> {
    let revisions = list(client, release).await?;
    for stale in revisions.iter().filter(|r| r.status == PENDING) {
        set_status(client, release, stale.number, FAILED).await?;
    }
    let number = revisions.last().map_or(1, |r| r.number + 1);
    let expires = Timestamp::now()
        .checked_add(jiff_span(ttl))
        .unwrap_or_else(|_| Timestamp::now());
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(release, number)),
            namespace: Some(release.namespace.clone()),
            labels: Some(BTreeMap::from([
                (RELEASE_LABEL.into(), release.name.clone()),
                (NUMBER_LABEL.into(), number.to_string()),
                (STATUS.into(), PENDING.into()),
                (INSTANCE_LABEL.into(), release.name.clone()),
            ])),
            annotations: Some(BTreeMap::from([
                (TIME.into(), now_seconds().to_string()),
                (VERSION.into(), tooling()),
                (HOLDER.into(), holder()),
                (EXPIRES.into(), expires.to_string()),
            ])),
            ..Default::default()
        },
        type_: Some("berth.dev/revision".into()),
        data: Some(BTreeMap::from([
            ("manifests".into(), ByteString(compress(&content.manifests))),
            ("values".into(), ByteString(compress(&content.values))),
        ])),
        ..Default::default()
    };
    api(client, release)
        .patch(
            &secret_name(release, number),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|e| ApplyError::api("apply", display(release, number), e))?;
    Ok(number)
}

/// Ends a revision with `deployed` or `failed`; a deployed one supersedes the
/// previously deployed revisions.
pub async fn finish(
    client: &Client,
    release: &Release,
    number: u32,
    status: &str,
) -> Result<(), ApplyError> {
    if status == DEPLOYED {
        for old in list(client, release).await? {
            if old.number != number && old.status == DEPLOYED {
                set_status(client, release, old.number, SUPERSEDED).await?;
            }
        }
    }
    set_status(client, release, number, status).await
}

/// Which revisions to delete so that at most `keep` remain: the oldest first,
/// never a pending one nor the newest deployed one (rollback's default target
/// is chosen among the rest). `keep == 0` keeps everything.
pub fn beyond_limit(revisions: &[Revision], keep: usize) -> Vec<u32> {
    if keep == 0 || revisions.len() <= keep {
        return vec![];
    }
    let current = revisions
        .iter()
        .rev()
        .find(|r| r.status == DEPLOYED)
        .map(|r| r.number);
    revisions
        .iter()
        .filter(|r| r.status != PENDING && Some(r.number) != current)
        .map(|r| r.number)
        .take(revisions.len() - keep)
        .collect()
}

/// Deletes the revisions beyond `keep` (`--history-max`); returns their numbers.
pub async fn trim(client: &Client, release: &Release, keep: usize) -> Result<Vec<u32>, ApplyError> {
    let doomed = beyond_limit(&list(client, release).await?, keep);
    for &number in &doomed {
        delete(client, release, number).await?;
    }
    Ok(doomed)
}

async fn delete(client: &Client, release: &Release, number: u32) -> Result<(), ApplyError> {
    match api(client, release)
        .delete(&secret_name(release, number), &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::error::status_code(&e) == 404 => Ok(()),
        Err(e) => Err(ApplyError::api("delete", display(release, number), e)),
    }
}

async fn set_status(
    client: &Client,
    release: &Release,
    number: u32,
    status: &str,
) -> Result<(), ApplyError> {
    let patch = serde_json::json!({"metadata": {"labels": {STATUS: status}}});
    api(client, release)
        .patch(
            &secret_name(release, number),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|e| ApplyError::api("patch", display(release, number), e))?;
    Ok(())
}

/// Deletes every revision (uninstall, last).
pub async fn delete_all(client: &Client, release: &Release) -> Result<(), ApplyError> {
    for revision in list(client, release).await? {
        delete(client, release, revision.number).await?;
    }
    Ok(())
}

/// Now, to the second: enough for a history and easier to read.
fn now_seconds() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now())
}

fn jiff_span(ttl: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::from_secs(ttl.as_secs() as i64)
}

/// `host/pid` of this process, so a re-run on the same machine can tell a
/// crashed holder from a running one.
fn holder() -> String {
    format!("{}/{}", hostname(), std::process::id())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn compress(value: &Value) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(&serde_json::to_vec(value).expect("JSON serializes"))
        .and_then(|_| encoder.finish())
        .expect("writing to memory succeeds")
}

fn decompress(bytes: &[u8]) -> Result<Value, String> {
    let mut text = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_compressed() {
        let value = serde_json::json!({"items": [{"kind": "ConfigMap", "data": {"a": "b"}}]});
        assert_eq!(decompress(&compress(&value)).unwrap(), value);
    }

    fn revisions(statuses: &[&str]) -> Vec<Revision> {
        statuses
            .iter()
            .enumerate()
            .map(|(i, status)| Revision {
                number: i as u32 + 1,
                status: status.to_string(),
                time: String::new(),
                version: String::new(),
                holder: String::new(),
                expires: String::new(),
            })
            .collect()
    }

    #[test]
    fn history_limit_deletes_the_oldest_but_keeps_the_current_and_pending() {
        let history = revisions(&[SUPERSEDED, SUPERSEDED, DEPLOYED, FAILED]);
        assert_eq!(beyond_limit(&history, 2), [1, 2]);
        assert_eq!(beyond_limit(&history, 4), Vec::<u32>::new());
        assert_eq!(beyond_limit(&history, 0), Vec::<u32>::new());
        // The deployed revision survives even when it is among the oldest.
        let history = revisions(&[DEPLOYED, FAILED, FAILED, PENDING]);
        assert_eq!(beyond_limit(&history, 1), [2, 3]);
    }
}
