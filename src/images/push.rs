//! Pushing built images to a registry, for clusters beyond one machine. Blobs the registry
//! already has are skipped; the manifest is pushed byte-for-byte, so the digest is unchanged. An
//! image index goes after the image of each platform (pushed by digest).

use std::collections::BTreeMap;

use base64::Engine as _;
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;

use super::Progress;
use super::build::BuiltImage;
use super::error::{Error, ErrorKind};
use super::registry::{Mirror, RegistryClient, RegistrySettings};
use super::store::{BlobStore, Digest};

/// Settings for `berth images push REGISTRY`.
#[derive(Clone, Debug)]
pub struct PushSettings {
    /// Target registry: `host[:port][/prefix]`, optionally with `http://` or `https://`
    /// (loopback hosts default to plain HTTP).
    pub registry: String,
    /// Mirrors and credentials.
    pub registry_settings: RegistrySettings,
}

/// What was pushed for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    /// Component name.
    pub image: String,
    /// Pushed reference (`host/prefix/repo:tag`).
    pub reference: String,
    /// Manifest digest (pull `host/prefix/repo@digest`).
    pub digest: String,
    /// Blobs uploaded (the others were already there).
    pub uploaded_blobs: usize,
    /// Blobs in the image (layers and config).
    pub total_blobs: usize,
}

/// The `.dockerconfigjson` of a pull Secret for what `reports` pushed, from the credentials the
/// push used (the same lookup, per repository); `None` when every push was anonymous. Keyed by
/// registry host, or by `host/repository` when repositories use different credentials.
pub fn pull_config(
    settings: &PushSettings,
    reports: &[PushReport],
) -> Result<Option<String>, Error> {
    let client = RegistryClient::new(settings.registry_settings.clone());
    let mut found: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for report in reports {
        let at = |k: ErrorKind| k.at(&report.image, "pull secret");
        let parsed: Reference = report
            .reference
            .parse()
            .map_err(|e| at(ErrorKind::Spec(format!("{}: {e}", report.reference))))?;
        let login = match client.auth_for(&parsed).map_err(at)? {
            RegistryAuth::Anonymous => continue,
            RegistryAuth::Basic(user, password) => (user, password),
            RegistryAuth::Bearer(_) => {
                return Err(at(ErrorKind::Credentials(format!(
                    "the credentials for {} are a bearer token, which a pull Secret cannot hold",
                    parsed.registry()
                ))));
            }
        };
        let key = (parsed.registry().to_owned(), parsed.repository().to_owned());
        found.insert(key, login);
    }
    if found.is_empty() {
        return Ok(None);
    }
    let one_login = found.values().all(|l| Some(l) == found.values().next());
    let auths: BTreeMap<String, serde_json::Value> = found
        .iter()
        .map(|((host, repository), (user, password))| {
            let key = match (one_login, host.as_str()) {
                (true, "docker.io" | "index.docker.io") => "https://index.docker.io/v1/".into(),
                (true, _) => host.clone(),
                (false, _) => format!("{host}/{repository}"),
            };
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let entry = serde_json::json!({"username": user, "password": password, "auth": auth});
            (key, entry)
        })
        .collect();
    Ok(Some(serde_json::json!({ "auths": auths }).to_string()))
}

/// Split `http://host:port/prefix` into the host (with its protocol choice) and the prefix.
pub fn parse_target(registry: &str) -> Result<(Mirror, String), ErrorKind> {
    let without_scheme = registry
        .strip_prefix("http://")
        .or_else(|| registry.strip_prefix("https://"))
        .unwrap_or(registry);
    let (host, prefix) = without_scheme
        .split_once('/')
        .unwrap_or((without_scheme, ""));
    let scheme = &registry[..registry.len() - without_scheme.len()];
    let mirror = Mirror::parse_url(&format!("{scheme}{host}")).map_err(ErrorKind::Spec)?;
    Ok((mirror, prefix.trim_matches('/').to_owned()))
}

/// Where `reference` goes in the target registry: same repository path and tag, new host.
pub fn target_reference(reference: &str, host: &str, prefix: &str) -> Result<String, ErrorKind> {
    let parsed: Reference = reference
        .parse()
        .map_err(|e| ErrorKind::Spec(format!("image reference {reference:?}: {e}")))?;
    let repository = if prefix.is_empty() {
        parsed.repository().to_owned()
    } else {
        format!("{prefix}/{}", parsed.repository())
    };
    let tag = parsed.tag().unwrap_or("latest");
    Ok(format!("{host}/{repository}:{tag}"))
}

/// Push every image in `images` from `store`.
pub async fn push(
    settings: &PushSettings,
    images: &[BuiltImage],
    store: &BlobStore,
    progress: &Progress,
) -> Result<Vec<PushReport>, Error> {
    let (target, prefix) = parse_target(&settings.registry).map_err(|k| k.at("-", "push"))?;
    let mut registry_settings = settings.registry_settings.clone();
    if target.plain_http {
        registry_settings.plain_http_hosts.push(target.host.clone());
    }
    let client = RegistryClient::new(registry_settings);
    let mut reports = Vec::new();
    for image in images {
        let at = |k: ErrorKind| k.at(&image.name, "push");
        let reference = target_reference(&image.reference, &target.host, &prefix).map_err(at)?;
        let parsed: Reference = reference
            .parse()
            .map_err(|e| at(ErrorKind::Spec(format!("{reference}: {e}"))))?;
        progress.step(&image.name, &format!("pushing to {reference}"));
        // An index: each platform's image by digest first, then the index under the tag.
        let mut uploaded = 0;
        let mut total = 0;
        for member in image.platforms.iter().chain([image]) {
            let target = if std::ptr::eq(member, image) {
                parsed.clone()
            } else {
                parsed.clone_with_digest(member.manifest_digest.clone())
            };
            let mut blobs = member
                .layers
                .iter()
                .chain([&member.config_digest])
                .filter(|d| !d.is_empty())
                .map(|d| Digest::parse(d))
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            blobs.sort();
            blobs.dedup();
            let manifest_digest = Digest::parse(&member.manifest_digest).map_err(at)?;
            let manifest = store.read(&manifest_digest).map_err(at)?;
            uploaded += client
                .push_image(
                    &target,
                    &blobs,
                    &manifest,
                    &member.manifest_media_type,
                    store,
                )
                .await
                .map_err(at)?;
            total += blobs.len();
        }
        progress.step(
            &image.name,
            &format!(
                "pushed {reference} ({}), {uploaded} of {total} blobs uploaded",
                image.manifest_digest,
            ),
        );
        reports.push(PushReport {
            image: image.name.clone(),
            reference,
            digest: image.manifest_digest.clone(),
            uploaded_blobs: uploaded,
            total_blobs: total,
        });
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let (m, prefix) = parse_target("127.0.0.1:5000").unwrap();
        assert!(m.plain_http);
        assert_eq!(prefix, "");
        let (m, prefix) = parse_target("https://registry.example.com/team/").unwrap();
        assert_eq!(
            (m.host.as_str(), m.plain_http, prefix.as_str()),
            ("registry.example.com", false, "team")
        );
        assert_eq!(
            target_reference(
                "localhost/todo-chatbot/backend:0123abcd",
                "r.example.com",
                "team"
            )
            .unwrap(),
            "r.example.com/team/todo-chatbot/backend:0123abcd"
        );
        assert_eq!(
            target_reference("docker.io/library/postgres:17.6", "127.0.0.1:5000", "").unwrap(),
            "127.0.0.1:5000/library/postgres:17.6"
        );
    }
}
