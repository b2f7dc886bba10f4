//! Revisions: one record per deploy in the release namespace holding the
//! rendered objects (secret values redacted by the caller) and the values
//! without secrets, plus status, time and berth version.
//!
//! A record is a head Secret `<release>-rev-<n>` (bookkeeping in its labels
//! and annotations, the first chunk of the content) and, when the compressed
//! content exceeds one chunk ([`payload::CHUNK_BYTES`]), part Secrets
//! `<release>-rev-<n>-part-<i>`. Parts are written before the head and
//! deleted after it, so a head always has its parts; the head's checksum
//! catches a part left from an interrupted write. Listing reads metadata only.
//! A deploy starts with a `pending` revision naming its holder; the release
//! lock ([`super::lock`]) keeps deploys apart, so a pending revision found by
//! the next lock holder is one whose deploy stopped midway.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::ownership::apply_params;
use super::payload::{self, CHUNK_BYTES};
use super::{ApplyError, Desired, INSTANCE_LABEL, Release, tooling};

const RELEASE_LABEL: &str = "berth.dev/release";
const NUMBER_LABEL: &str = "berth.dev/revision";
const STATUS: &str = "berth.dev/status";
const TIME: &str = "berth.dev/time";
const VERSION: &str = "berth.dev/version";
const HOLDER: &str = "berth.dev/holder";
const EXPIRES: &str = "berth.dev/pending-expires";
/// Set to `dev` on revisions `berth dev` wrote (rendered with its dev profile).
const WRITTEN_BY: &str = "berth.dev/written-by";
/// Labels a part with its release (not [`RELEASE_LABEL`]: parts are not revisions).
const REVISION_PART_LABEL: &str = "berth.dev/revision-part-of";
const PARTS: &str = "berth.dev/parts";
const SIZE: &str = "berth.dev/size";
const RAW_SIZE: &str = "berth.dev/raw-size";
const CHECKSUM: &str = "berth.dev/sha256";
/// The data key of a chunk, in the head and in each part.
const CONTENT: &str = "content";

/// A revision's status.
pub const PENDING: &str = "pending";
pub const DEPLOYED: &str = "deployed";
pub const FAILED: &str = "failed";
pub const SUPERSEDED: &str = "superseded";

/// What a revision records besides its bookkeeping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevisionContent {
    /// The rendered objects, Secrets redacted.
    pub manifests: Value,
    /// The values without secrets.
    pub values: Value,
    /// Written by `berth dev` (its dev profile: shorter grace, faster probes); bookkeeping,
    /// not content: a later `berth deploy` of the same values renders without it.
    pub dev: bool,
}

impl RevisionContent {
    /// A record of `objects` (whose Secret values the caller has redacted) and
    /// of the values that produced them (without secrets).
    pub fn new(objects: &[Desired], values: Value) -> Self {
        RevisionContent {
            manifests: encode_objects(objects),
            values,
            dev: false,
        }
    }

    /// The recorded objects, with their stages.
    pub fn objects(&self) -> Vec<Desired> {
        decode_objects(&self.manifests)
    }
}

/// `[{stage, object}]`: how revisions store objects.
pub fn encode_objects(objects: &[Desired]) -> Value {
    objects
        .iter()
        .map(|d| serde_json::json!({"stage": d.key.stage, "object": d.object}))
        .collect()
}

/// The inverse of [`encode_objects`]; entries without a stage or an object
/// identity are skipped.
pub fn decode_objects(value: &Value) -> Vec<Desired> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let stage = u8::try_from(item["stage"].as_u64()?).ok()?;
            Desired::from_json(item["object"].clone(), stage)
        })
        .collect()
}

/// One revision's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Revision {
    pub number: u32,
    pub status: String,
    pub time: String,
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub holder: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expires: String,
    /// Secrets the record takes (head and parts); 0 for records written
    /// before records were split.
    #[serde(skip_serializing_if = "is_zero")]
    pub parts: u32,
    /// Compressed bytes of the content, across parts (0 when unknown).
    #[serde(skip_serializing_if = "is_zero")]
    pub size: u64,
    /// Written by `berth dev`.
    #[serde(skip_serializing_if = "is_zero")]
    pub dev: bool,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

fn secret_name(release: &Release, number: u32) -> String {
    format!("{}-rev-{number}", release.name)
}

fn part_name(release: &Release, number: u32, part: usize) -> String {
    format!("{}-rev-{number}-part-{part}", release.name)
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

/// Every revision of the release, oldest first (metadata only: content not read).
pub async fn list(client: &Client, release: &Release) -> Result<Vec<Revision>, ApplyError> {
    let selector = format!("{RELEASE_LABEL}={}", release.name);
    let heads = api(client, release)
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ApplyError::api("list", format!("revisions of {}", release.name), e))?;
    let mut revisions: Vec<Revision> = heads
        .items
        .iter()
        .filter_map(|h| bookkeeping(&h.metadata))
        .collect();
    revisions.sort_by_key(|r| r.number);
    Ok(revisions)
}

fn bookkeeping(meta: &ObjectMeta) -> Option<Revision> {
    let labels = meta.labels.as_ref()?;
    let annotations = meta.annotations.clone().unwrap_or_default();
    let get = |key: &str| annotations.get(key).cloned().unwrap_or_default();
    Some(Revision {
        number: labels.get(NUMBER_LABEL)?.parse().ok()?,
        status: labels.get(STATUS).cloned().unwrap_or_default(),
        time: get(TIME),
        version: get(VERSION),
        holder: get(HOLDER),
        expires: get(EXPIRES),
        parts: get(PARTS).parse().unwrap_or(0),
        size: get(SIZE).parse().unwrap_or(0),
        dev: get(WRITTEN_BY) == "dev",
    })
}

/// Reads one revision with its content.
pub async fn load(
    client: &Client,
    release: &Release,
    number: u32,
) -> Result<Option<(Revision, RevisionContent)>, ApplyError> {
    let secrets = api(client, release);
    let get = |name: String| {
        let secrets = secrets.clone();
        async move {
            secrets.get_opt(&name).await.map_err(|e| {
                ApplyError::api("get", format!("Secret {}/{name}", release.namespace), e)
            })
        }
    };
    let Some(head) = get(secret_name(release, number)).await? else {
        return Ok(None);
    };
    let corrupt = |message: String| ApplyError::Corrupt {
        object: display(release, number),
        message,
    };
    let revision =
        bookkeeping(&head.metadata).ok_or_else(|| corrupt("missing revision labels".into()))?;
    let data = head.data.unwrap_or_default();
    // Records written before they were split: two gzip'd fields in the head.
    if revision.parts == 0 {
        let field = |key: &str| -> Result<Value, ApplyError> {
            let bytes = data
                .get(key)
                .ok_or_else(|| corrupt(format!("missing {key}")))?;
            payload::decompress(&bytes.0).map_err(|e| corrupt(format!("unreadable {key}: {e}")))
        };
        let content = RevisionContent {
            manifests: field("manifests")?,
            values: field("values")?,
            dev: revision.dev,
        };
        return Ok(Some((revision, content)));
    }
    let mut chunks = vec![
        data.get(CONTENT)
            .ok_or_else(|| corrupt(format!("missing {CONTENT}")))?
            .0
            .clone(),
    ];
    for part in 1..revision.parts as usize {
        let secret = get(part_name(release, number, part))
            .await?
            .ok_or_else(|| corrupt(format!("part {part} of {} is missing", revision.parts)))?;
        let chunk = secret
            .data
            .and_then(|mut d| d.remove(CONTENT))
            .ok_or_else(|| corrupt(format!("part {part} holds no {CONTENT}")))?;
        chunks.push(chunk.0);
    }
    let checksum = head
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CHECKSUM).cloned())
        .unwrap_or_default();
    let mut whole = payload::decode(&chunks, &checksum).map_err(corrupt)?;
    let content = RevisionContent {
        manifests: whole["manifests"].take(),
        values: whole["values"].take(),
        dev: revision.dev,
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
    let whole = serde_json::json!({"manifests": content.manifests, "values": content.values});
    let encoded = payload::encode(&whole, CHUNK_BYTES);
    // Parts first: once the head exists, so does everything it names.
    for (part, chunk) in encoded.chunks.iter().enumerate().skip(1) {
        let labels = [
            (REVISION_PART_LABEL.to_string(), release.name.clone()),
            (NUMBER_LABEL.to_string(), number.to_string()),
            (INSTANCE_LABEL.to_string(), release.name.clone()),
        ];
        write(
            client,
            release,
            &part_name(release, number, part),
            labels.into(),
            BTreeMap::new(),
            chunk,
        )
        .await?;
    }
    // Parts beyond these, left by an interrupted write of the same number.
    delete_parts(client, release, Some(number), encoded.chunks.len()).await?;
    let labels = [
        (RELEASE_LABEL.to_string(), release.name.clone()),
        (NUMBER_LABEL.to_string(), number.to_string()),
        (STATUS.to_string(), PENDING.to_string()),
        (INSTANCE_LABEL.to_string(), release.name.clone()),
    ];
    let mut annotations: BTreeMap<String, String> = [
        (TIME.to_string(), now_seconds().to_string()),
        (VERSION.to_string(), tooling()),
        (HOLDER.to_string(), holder()),
        (EXPIRES.to_string(), expires.to_string()),
        (PARTS.to_string(), encoded.chunks.len().to_string()),
        (SIZE.to_string(), encoded.size.to_string()),
        (RAW_SIZE.to_string(), encoded.raw_size.to_string()),
        (CHECKSUM.to_string(), encoded.sha256.clone()),
    ]
    .into();
    if content.dev {
        annotations.insert(WRITTEN_BY.to_string(), "dev".to_string());
    }
    let head = secret_name(release, number);
    write(
        client,
        release,
        &head,
        labels.into(),
        annotations,
        &encoded.chunks[0],
    )
    .await?;
    Ok(number)
}

/// Server-side applies one Secret of a record holding `chunk`.
async fn write(
    client: &Client,
    release: &Release,
    name: &str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    chunk: &[u8],
) -> Result<(), ApplyError> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(release.namespace.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        type_: Some("berth.dev/revision".into()),
        data: Some(BTreeMap::from([(
            CONTENT.into(),
            ByteString(chunk.to_vec()),
        )])),
        ..Default::default()
    };
    api(client, release)
        .patch(name, &apply_params(true), &Patch::Apply(&secret))
        .await
        .map_err(|e| ApplyError::api("apply", format!("Secret {}/{name}", release.namespace), e))?;
    Ok(())
}

/// Deletes the part Secrets of revision `number` (of every revision when
/// `None`) from part `from` on.
async fn delete_parts(
    client: &Client,
    release: &Release,
    number: Option<u32>,
    from: usize,
) -> Result<(), ApplyError> {
    let mut selector = format!("{REVISION_PART_LABEL}={}", release.name);
    if let Some(number) = number {
        selector.push_str(&format!(",{NUMBER_LABEL}={number}"));
    }
    let parts = api(client, release)
        .list_metadata(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ApplyError::api("list", format!("revision parts of {}", release.name), e))?;
    for meta in parts.items.iter().map(|p| &p.metadata) {
        let name = meta.name.clone().unwrap_or_default();
        let index: usize = name
            .rsplit_once("-part-")
            .and_then(|(_, i)| i.parse().ok())
            .unwrap_or(usize::MAX);
        if index >= from {
            delete_secret(client, release, &name).await?;
        }
    }
    Ok(())
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

/// Deletes one revision: its head, then its parts.
async fn delete(client: &Client, release: &Release, number: u32) -> Result<(), ApplyError> {
    delete_secret(client, release, &secret_name(release, number)).await?;
    delete_parts(client, release, Some(number), 1).await
}

async fn delete_secret(client: &Client, release: &Release, name: &str) -> Result<(), ApplyError> {
    match api(client, release)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::error::status_code(&e) == 404 => Ok(()),
        Err(e) => Err(ApplyError::api(
            "delete",
            format!("Secret {}/{name}", release.namespace),
            e,
        )),
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

/// Deletes every revision (uninstall, last), and any part an interrupted
/// write or delete left behind.
pub async fn delete_all(client: &Client, release: &Release) -> Result<(), ApplyError> {
    for revision in list(client, release).await? {
        delete(client, release, revision.number).await?;
    }
    delete_parts(client, release, None, 0).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip_with_their_stages() {
        let objects: Vec<Desired> = [(0, "Namespace", "todo"), (2, "ConfigMap", "web")]
            .into_iter()
            .map(|(stage, kind, name)| {
                let object = serde_json::json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}});
                Desired::from_json(object, stage).unwrap()
            })
            .collect();
        let content = RevisionContent::new(&objects, serde_json::json!({}));
        let decoded = content.objects();
        assert_eq!(
            decoded.iter().map(|d| d.key.clone()).collect::<Vec<_>>(),
            objects.iter().map(|d| d.key.clone()).collect::<Vec<_>>()
        );
        assert!(decode_objects(&serde_json::json!([{"object": {}}])).is_empty());
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
                parts: 1,
                size: 0,
                dev: false,
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
