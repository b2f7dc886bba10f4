//! Joining the images built for several platforms into one OCI image index, with its archive
//! and build record.

use serde_json::json;

use super::archive::{ArchiveImage, write_index_archive};
use super::build::{BuiltImage, Tools, short, write_json_atomically};
use super::error::{Error, ErrorKind};
use super::image_config::{self, media};
use super::platform::Platform;
use super::spec::{ImageSpec, SpecKind};
use super::store::Digest;

/// Join the per-platform `images` of `spec` in an OCI image index: its archive (an OCI layout
/// whose `index.json` names the index; Docker's `manifest.json` has no form for it) and record go
/// to `settings.out_dir`. A built image's tag derives from the index digest.
pub(super) fn write_index(
    tools: Tools<'_>,
    spec: &ImageSpec,
    images: Vec<BuiltImage>,
) -> Result<BuiltImage, Error> {
    let Tools {
        settings,
        store,
        progress,
        ..
    } = tools;
    let name = spec.name.as_str();
    let at = |k: ErrorKind| k.at(name, "index");
    let mut descriptors = Vec::with_capacity(images.len());
    let mut platforms = Vec::with_capacity(images.len());
    for image in &images {
        let digest = Digest::parse(&image.manifest_digest).map_err(at)?;
        let platform: Platform = image.platform.parse().map_err(|m| {
            at(ErrorKind::Malformed {
                what: "platform of a build record".into(),
                message: m,
            })
        })?;
        descriptors.push(json!({
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest,
            "size": store.size(&digest).map_err(at)?,
            "platform": platform.to_json(),
        }));
        platforms.push(platform.to_string());
    }
    let index = json!({"schemaVersion": 2, "mediaType": media::INDEX, "manifests": descriptors});
    let (index_digest, _) = store
        .put(&serde_json::to_vec(&index).expect("serialisable"))
        .map_err(at)?;
    let reference = match &spec.kind {
        SpecKind::Build(b) => format!(
            "{}:{}",
            b.repository,
            image_config::content_tag(&index_digest)
        ),
        SpecKind::Mirror(m) => m.source.clone(),
    };
    let parsed = images
        .iter()
        .map(|i| {
            Ok((
                Digest::parse(&i.manifest_digest)?,
                Digest::parse(&i.config_digest)?,
                i.layers
                    .iter()
                    .map(|d| Digest::parse(d))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        })
        .collect::<Result<Vec<_>, ErrorKind>>()
        .map_err(at)?;
    let members: Vec<ArchiveImage<'_>> = images
        .iter()
        .zip(&parsed)
        .map(|(image, (manifest, config, layers))| ArchiveImage {
            reference: &image.reference,
            manifest,
            manifest_media_type: &image.manifest_media_type,
            config,
            layers,
        })
        .collect();
    let archive = settings.out_dir.join(format!("{name}.tar"));
    let archive_size = write_index_archive(
        store,
        &reference,
        &index_digest,
        &members,
        &archive,
        settings.source_date_epoch,
    )
    .map_err(|k| k.at(name, "archive"))?;
    let built = BuiltImage {
        name: name.to_owned(),
        reference: reference.clone(),
        manifest_digest: index_digest.to_string(),
        manifest_media_type: media::INDEX.to_owned(),
        config_digest: String::new(),
        layers: Vec::new(),
        app_layers: Vec::new(),
        archive,
        archive_size,
        platform: platforms.join(","),
        platforms: images,
    };
    let record = serde_json::to_vec_pretty(&built).expect("serialisable");
    write_json_atomically(&BuiltImage::record_path(&settings.out_dir, name), &record)
        .map_err(|k| k.at(name, "archive"))?;
    progress.step(
        name,
        &format!(
            "built index {reference} ({}) of {}",
            short(index_digest.as_str()),
            built.platform
        ),
    );
    Ok(built)
}
