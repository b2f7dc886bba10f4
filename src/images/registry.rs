//! Registry client wrapper over `oci-client`: mirrors, plain-HTTP hosts, credentials (Docker's and
//! Podman's, see [`credentials`](super::credentials)), platform selection, and blobs streamed into
//! the [`BlobStore`].
//!
//! `oci-client`'s `pull()` buffers whole layers in memory, so this module only uses
//! `pull_manifest_raw` (keeping the exact manifest bytes, hence digests) and `pull_blob` streaming
//! into a temporary file that the store verifies and renames.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde_json::Value;

use super::credentials;
use super::error::ErrorKind;
use super::platform::{Platform, listed_platforms, select_manifest};
use super::store::{BlobStore, Digest};
use super::{Progress, Transfer};

/// A registry served elsewhere: `docker.io=http://127.0.0.1:5000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// Host (and port) to contact instead.
    pub host: String,
    /// Whether to speak plain HTTP.
    pub plain_http: bool,
}

impl Mirror {
    /// Parse `REGISTRY=URL` into `(registry, mirror)`.
    pub fn parse_mapping(s: &str) -> Result<(String, Mirror), String> {
        let (registry, url) = s.split_once('=').ok_or_else(|| {
            format!("registry mirror {s:?} must look like docker.io=http://127.0.0.1:5000")
        })?;
        Ok((registry.trim().to_owned(), Mirror::parse_url(url.trim())?))
    }

    /// Parse `http://host:port`, `https://host` or a bare `host:port` (HTTPS unless loopback).
    pub fn parse_url(url: &str) -> Result<Mirror, String> {
        let (plain_http, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (false, rest)
        } else {
            (is_loopback(url), url)
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "registry address {url:?} must be a scheme and host[:port] without a path"
            ));
        }
        Ok(Mirror {
            host: host.to_owned(),
            plain_http,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// Canonical registry name used for mirror lookups (`index.docker.io` → `docker.io`).
fn canonical_registry(registry: &str) -> &str {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// Settings for talking to registries.
#[derive(Clone, Debug, Default)]
pub struct RegistrySettings {
    /// Registry name (`docker.io`) → where to fetch from instead.
    pub mirrors: BTreeMap<String, Mirror>,
    /// Extra hosts to contact over plain HTTP (e.g. a push target).
    pub plain_http_hosts: Vec<String>,
    /// Credential files (Docker `config.json` or Podman `auth.json`) to read instead of the
    /// defaults (`$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`, …; see
    /// [`credentials::default_files`]).
    pub credential_files: Option<Vec<PathBuf>>,
}

/// A base or mirrored image fetched into the store.
#[derive(Clone, Debug)]
pub struct PulledImage {
    /// The exact manifest bytes (an image manifest, never an index).
    pub manifest_bytes: Vec<u8>,
    /// Digest of those bytes.
    pub manifest_digest: Digest,
    /// Media type of the manifest.
    pub manifest_media_type: String,
    /// Parsed manifest.
    pub manifest: Value,
    /// Parsed config.
    pub config: Value,
}

/// A registry client with the berth policies applied.
pub struct RegistryClient {
    client: Client,
    settings: RegistrySettings,
    /// Credentials per registry and repository, so a helper is asked once per run.
    auths: Mutex<BTreeMap<String, RegistryAuth>>,
}

const MANIFEST_TYPES: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

impl RegistryClient {
    /// A client honouring `settings`.
    pub fn new(settings: RegistrySettings) -> Self {
        install_crypto_provider();
        let mut http: Vec<String> = settings
            .mirrors
            .values()
            .filter(|m| m.plain_http)
            .map(|m| m.host.clone())
            .collect();
        http.extend(settings.plain_http_hosts.iter().cloned());
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(http),
            platform_resolver: None,
            ..Default::default()
        };
        Self {
            client: Client::new(config),
            settings,
            auths: Mutex::default(),
        }
    }

    /// Parse `reference` and redirect it to a mirror when one is configured for its registry.
    pub fn resolve(&self, reference: &str) -> Result<Reference, ErrorKind> {
        let parsed: Reference = reference
            .parse()
            .map_err(|e| ErrorKind::Spec(format!("image reference {reference:?}: {e}")))?;
        let Some(mirror) = self
            .settings
            .mirrors
            .get(canonical_registry(parsed.registry()))
        else {
            return Ok(parsed);
        };
        let repo = parsed.repository().to_owned();
        Ok(match (parsed.digest(), parsed.tag()) {
            (Some(d), _) => Reference::with_digest(mirror.host.clone(), repo, d.to_owned()),
            (None, Some(t)) => Reference::with_tag(mirror.host.clone(), repo, t.to_owned()),
            (None, None) => Reference::with_tag(mirror.host.clone(), repo, "latest".to_owned()),
        })
    }

    /// The credentials requests for `reference` use (asked once per repository and run).
    pub fn auth_for(&self, reference: &Reference) -> Result<RegistryAuth, ErrorKind> {
        let registry = reference.resolve_registry();
        let key = format!("{registry}/{}", reference.repository());
        let mut cache = self.auths.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(auth) = cache.get(&key) {
            return Ok(auth.clone());
        }
        let files = match &self.settings.credential_files {
            Some(files) => files.clone(),
            None => credentials::default_files(),
        };
        let auth = credentials::lookup(&files, registry, reference.repository())?
            .map_or(RegistryAuth::Anonymous, |(auth, _)| auth);
        cache.insert(key, auth.clone());
        Ok(auth)
    }

    fn registry_err(reference: &Reference, e: OciDistributionError) -> ErrorKind {
        let text = e.to_string();
        let hint = if text.contains("manifest unknown") || text.contains("MANIFEST_UNKNOWN") {
            "\nhint: check the image name and tag; with --registry-mirror the mirror must hold the image"
        } else if text.contains("401") || text.to_lowercase().contains("unauthorized") {
            "\nhint: berth uses the credentials `docker login` or `podman login` stored (credential helpers and `auths` in $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or ~/.docker/config.json, Podman's auth.json)"
        } else if text.contains("error sending request") || text.contains("Connection refused") {
            "\nhint: is the registry running and reachable? (--registry-mirror maps a registry elsewhere)"
        } else {
            ""
        };
        ErrorKind::Registry {
            registry: reference.resolve_registry().to_owned(),
            message: format!("{} ({text}){hint}", reference.whole()),
        }
    }

    /// Fetch the manifest of `reference` for `platform`, its config and all its layers into
    /// `store`, streaming each blob to disk.
    pub async fn pull_image(
        &self,
        reference: &Reference,
        platform: &Platform,
        store: &BlobStore,
        progress: &Progress,
    ) -> Result<PulledImage, ErrorKind> {
        let (mut bytes, mut digest, mut value) = self.manifest(reference).await?;
        let mut pinned = reference.clone();
        if is_index(&value) {
            let chosen = select_manifest(&value, platform)
                .map(str::to_owned)
                .ok_or_else(|| ErrorKind::PlatformMissing {
                    platform: platform.to_string(),
                    reference: reference.whole(),
                    available: listed_platforms(&value),
                })?;
            pinned = reference.clone_with_digest(chosen.clone());
            (bytes, digest, value) = self.manifest(&pinned).await?;
            if digest.as_str() != chosen {
                return Err(ErrorKind::DigestMismatch {
                    expected: chosen,
                    actual: digest.to_string(),
                });
            }
        }
        let config_digest = descriptor_digest(&value["config"])?;
        self.fetch_blob(&pinned, &config_digest, store, &Transfer::unreported())
            .await?;
        let config: Value = serde_json::from_slice(&store.read(&config_digest)?).map_err(|e| {
            ErrorKind::Malformed {
                what: format!("image config {config_digest}"),
                message: e.to_string(),
            }
        })?;
        check_platform(&config, platform, reference)?;
        let layers = value["layers"].as_array().cloned().unwrap_or_default();
        let digests = layers
            .iter()
            .map(descriptor_digest)
            .collect::<Result<Vec<_>, _>>()?;
        let missing: u64 = layers
            .iter()
            .zip(&digests)
            .filter(|(_, d)| !store.contains(d))
            .filter_map(|(l, _)| l.get("size").and_then(Value::as_u64))
            .sum();
        let transfer = progress.transfer(missing, &format!("pull {}", reference.whole()));
        futures_util::stream::iter(
            digests
                .iter()
                .map(|d| self.fetch_blob(&pinned, d, store, &transfer)),
        )
        .buffer_unordered(3)
        .try_collect::<Vec<()>>()
        .await?;
        drop(transfer);
        store.put(&bytes)?;
        let media_type = value
            .get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or(OCI_IMAGE_MEDIA_TYPE)
            .to_owned();
        Ok(PulledImage {
            manifest_bytes: bytes,
            manifest_digest: digest,
            manifest_media_type: media_type,
            manifest: value,
            config,
        })
    }

    async fn manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Digest, Value), ErrorKind> {
        let auth = self.auth_for(reference)?;
        let (bytes, _) = self
            .client
            .pull_manifest_raw(reference, &auth, &MANIFEST_TYPES)
            .await
            .map_err(|e| Self::registry_err(reference, e))?;
        let digest = Digest::of(&bytes);
        if let Some(pinned) = reference.digest().filter(|d| *d != digest.as_str()) {
            return Err(ErrorKind::DigestMismatch {
                expected: pinned.to_owned(),
                actual: digest.to_string(),
            });
        }
        let value = serde_json::from_slice(&bytes).map_err(|e| ErrorKind::Malformed {
            what: format!("manifest of {}", reference.whole()),
            message: e.to_string(),
        })?;
        Ok((bytes.to_vec(), digest, value))
    }

    /// Stream one blob into the store unless it is already there, reporting bytes to `transfer`
    /// as they arrive.
    pub async fn fetch_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
        store: &BlobStore,
        transfer: &Transfer,
    ) -> Result<(), ErrorKind> {
        if store.contains(digest) {
            return Ok(());
        }
        let tmp = store.temp_file()?;
        let std_file = tmp
            .reopen()
            .map_err(|e| ErrorKind::io("open", tmp.path(), e))?;
        let file = tokio::fs::File::from_std(std_file);
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, transfer.writing(file));
        self.client
            .pull_blob(reference, digest.as_str(), &mut out)
            .await
            .map_err(|e| Self::registry_err(reference, e))?;
        store.commit_file(tmp, digest)?;
        Ok(())
    }

    /// Push blobs (skipping those the registry has) and then the manifest. Returns how many blobs
    /// were uploaded.
    pub async fn push_image(
        &self,
        target: &Reference,
        blobs: &[Digest],
        manifest_bytes: &[u8],
        manifest_media_type: &str,
        store: &BlobStore,
    ) -> Result<usize, ErrorKind> {
        let auth = self.auth_for(target)?;
        // Existence checks authenticate as pulls, uploads as pushes: with basic auth the client
        // keeps credentials per operation, so log in for both.
        for operation in [RegistryOperation::Pull, RegistryOperation::Push] {
            self.client
                .auth(target, &auth, operation)
                .await
                .map_err(|e| Self::registry_err(target, e))?;
        }
        let mut uploaded = 0;
        for digest in blobs {
            let exists = self
                .client
                .blob_exists(target, digest.as_str())
                .await
                .map_err(|e| Self::registry_err(target, e))?;
            if !exists {
                self.push_blob(target, digest, store).await?;
                uploaded += 1;
            }
        }
        let content_type = manifest_media_type
            .parse()
            .map_err(|_| ErrorKind::Malformed {
                what: "manifest media type".into(),
                message: manifest_media_type.to_owned(),
            })?;
        self.client
            .push_manifest_raw(target, manifest_bytes.to_vec(), content_type)
            .await
            .map_err(|e| Self::registry_err(target, e))?;
        Ok(uploaded)
    }

    async fn push_blob(
        &self,
        target: &Reference,
        digest: &Digest,
        store: &BlobStore,
    ) -> Result<(), ErrorKind> {
        let path = store.path(digest);
        let size = store.size(digest)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| ErrorKind::io("open", &path, e))?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20)
            .map_err(OciDistributionError::from);
        self.client
            .push_blob_stream(target, stream, digest.as_str(), Some(size))
            .await
            .map_err(|e| Self::registry_err(target, e))?;
        Ok(())
    }
}

fn is_index(manifest: &Value) -> bool {
    let media = manifest.get("mediaType").and_then(Value::as_str);
    matches!(
        media,
        Some(OCI_IMAGE_INDEX_MEDIA_TYPE | IMAGE_MANIFEST_LIST_MEDIA_TYPE)
    ) || (media.is_none() && manifest.get("manifests").is_some())
}

/// The digest an OCI descriptor (`{"digest": …}`) names.
pub(super) fn descriptor_digest(descriptor: &Value) -> Result<Digest, ErrorKind> {
    Digest::parse(
        descriptor
            .get("digest")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )
}

fn check_platform(
    config: &Value,
    platform: &Platform,
    reference: &Reference,
) -> Result<(), ErrorKind> {
    let field = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    if field("os") == platform.os && field("architecture") == platform.architecture {
        return Ok(());
    }
    Err(ErrorKind::PlatformMissing {
        platform: platform.to_string(),
        reference: reference.whole(),
        available: format!("{}/{}", field("os"), field("architecture")),
    })
}

/// reqwest is built without a default crypto provider; install ring's once (kube uses ring too).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_mapping_rewrites_the_registry_only() {
        let (registry, mirror) = Mirror::parse_mapping("docker.io=http://127.0.0.1:5000").unwrap();
        assert_eq!(registry, "docker.io");
        assert_eq!(
            mirror,
            Mirror {
                host: "127.0.0.1:5000".into(),
                plain_http: true
            }
        );
        let client = RegistryClient::new(RegistrySettings {
            mirrors: [(registry, mirror)].into(),
            ..Default::default()
        });
        let r = client.resolve("docker.io/library/busybox:1.35.0").unwrap();
        assert_eq!(r.whole(), "127.0.0.1:5000/library/busybox:1.35.0");
        let untouched = client.resolve("ghcr.io/org/app:1").unwrap();
        assert_eq!(untouched.whole(), "ghcr.io/org/app:1");
        assert!(Mirror::parse_mapping("docker.io").is_err());
        assert!(Mirror::parse_url("http://h:1/path").is_err());
        assert!(
            !Mirror::parse_url("registry.example.com")
                .unwrap()
                .plain_http
        );
        assert!(Mirror::parse_url("localhost:5000").unwrap().plain_http);
    }
}
