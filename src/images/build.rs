//! Building one image from its spec: pull the base into the store, produce each app layer (from a
//! cached step output or by copying from the context), edit the config, write the manifest and
//! the archive, and record the result next to the archive.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::archive::{ArchiveImage, write_archive};
use super::bytecode;
use super::elf;
use super::error::{Error, ErrorKind};
use super::ignore::IgnoreRules;
use super::image_config::{self, ConfigInputs, media};
use super::layer::{LayerBlob, LayerTree, write_layer};
use super::platform::Platform;
use super::registry::{PulledImage, RegistryClient, descriptor_digest};
use super::spec::{BuildSpec, ImageSpec, LayerSource, LayerSpec, MirrorSpec, SpecKind};
use super::steps;
use super::store::{BlobStore, Digest};
use super::tools;
use super::{BuildSettings, Progress};

/// A built (or mirrored) image: its archive and what identifies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImage {
    /// Component name (spec file stem).
    pub name: String,
    /// Full reference with the content-derived tag, e.g. `localhost/todo-chatbot/backend:3f9a…`.
    pub reference: String,
    /// Manifest digest: the image's identity.
    pub manifest_digest: String,
    /// Manifest media type.
    pub manifest_media_type: String,
    /// Config digest (what Docker and Podman call the image id).
    pub config_digest: String,
    /// Layer digests in order (base layers first).
    pub layers: Vec<String>,
    /// App layers by name, for reports (empty for mirrors).
    pub app_layers: Vec<NamedLayer>,
    /// The archive for side-loading.
    pub archive: PathBuf,
    /// Archive size in bytes.
    pub archive_size: u64,
    /// The platform (`linux/arm64`), or the comma-separated platforms of an index.
    #[serde(default)]
    pub platform: String,
    /// For an image index (a build for several platforms): the image of each platform. The
    /// index's own `config_digest` is empty and its `layers` are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<BuiltImage>,
}

/// An app layer with its spec name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLayer {
    /// Layer name from the spec.
    pub name: String,
    /// The layer blob.
    #[serde(flatten)]
    pub blob: LayerBlob,
}

impl BuiltImage {
    /// Sum of the compressed sizes of all layers.
    pub fn layers_size(&self, store: &BlobStore) -> u64 {
        self.layers
            .iter()
            .filter_map(|d| Digest::parse(d).ok())
            .filter_map(|d| store.size(&d).ok())
            .sum()
    }

    /// The repository part of the reference (`localhost/todo-chatbot/backend`), for rendering.
    pub fn repository(&self) -> &str {
        self.split_reference().0
    }

    /// The tag part of the reference (content-derived for built images), for rendering.
    pub fn tag(&self) -> &str {
        self.split_reference().1
    }

    fn split_reference(&self) -> (&str, &str) {
        match self.reference.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (&self.reference, ""),
        }
    }

    /// Path of the JSON record written next to the archive.
    pub fn record_path(out_dir: &Path, name: &str) -> PathBuf {
        out_dir.join(format!("{name}.json"))
    }
}

/// An image whose blobs are all in the store, ready for its archive.
struct Assembled<'a> {
    reference: &'a str,
    manifest: &'a Digest,
    media_type: &'a str,
    config: &'a Digest,
    layers: Vec<Digest>,
    app_layers: Vec<NamedLayer>,
}

/// What every build of a run shares, whatever the platform.
#[derive(Clone, Copy)]
pub(super) struct Tools<'a> {
    pub settings: &'a BuildSettings,
    pub store: &'a BlobStore,
    pub client: &'a RegistryClient,
    pub progress: &'a Progress,
}

impl<'a> Tools<'a> {
    /// A builder of images for `platform` whose archives and records go to `out_dir`.
    pub fn builder(self, platform: &'a Platform, out_dir: &'a Path) -> Builder<'a> {
        Builder {
            tools: self,
            platform,
            out_dir,
        }
    }
}

pub(super) struct Builder<'a> {
    tools: Tools<'a>,
    /// The one platform this builder builds for.
    platform: &'a Platform,
    /// Where its archive and record go.
    out_dir: &'a Path,
}

impl Builder<'_> {
    pub async fn build(&self, spec: &ImageSpec) -> Result<BuiltImage, Error> {
        match &spec.kind {
            SpecKind::Build(b) => self.build_image(&spec.name, b).await,
            SpecKind::Mirror(m) => self.mirror_image(&spec.name, m).await,
        }
    }

    async fn pull(&self, name: &str, reference: &str, step: &str) -> Result<PulledImage, Error> {
        let at = |k: ErrorKind| k.at(name, &format!("{step} {reference}"));
        let resolved = self.tools.client.resolve(reference).map_err(at)?;
        self.tools
            .progress
            .step(name, &format!("{step} {reference} ({})", self.platform));
        self.tools
            .client
            .pull_image(
                &resolved,
                self.platform,
                self.tools.store,
                self.tools.progress,
            )
            .await
            .map_err(at)
    }

    async fn mirror_image(&self, name: &str, spec: &MirrorSpec) -> Result<BuiltImage, Error> {
        let pulled = self.pull(name, &spec.source, "pull").await?;
        let config_digest =
            descriptor_digest(&pulled.manifest["config"]).map_err(|k| k.at(name, "pull"))?;
        let layers = layer_digests(&pulled.manifest).map_err(|k| k.at(name, "pull"))?;
        self.finish(
            name,
            Assembled {
                reference: &spec.source,
                manifest: &pulled.manifest_digest,
                media_type: &pulled.manifest_media_type,
                config: &config_digest,
                layers,
                app_layers: Vec::new(),
            },
        )
    }

    async fn build_image(&self, name: &str, spec: &BuildSpec) -> Result<BuiltImage, Error> {
        let base = self.pull(name, &spec.base, "pull base").await?;
        let mut app_layers = Vec::new();
        for layer in &spec.layers {
            let step = format!("layer {}", layer.name);
            let blob = self
                .app_layer(name, spec, layer, &base)
                .map_err(|k| k.at(name, &step))?;
            app_layers.push((layer.name.clone(), blob));
        }
        let (config_digest, manifest_digest) = self
            .write_config_and_manifest(spec, &base, &app_layers)
            .map_err(|k| k.at(name, "config"))?;
        let reference = format!(
            "{}:{}",
            spec.repository,
            image_config::content_tag(&manifest_digest)
        );
        let mut layers = layer_digests(&base.manifest).map_err(|k| k.at(name, "pull base"))?;
        layers.extend(
            app_layers
                .iter()
                .map(|(_, l)| Digest::parse(&l.digest).expect("written by berth")),
        );
        let named = app_layers
            .into_iter()
            .map(|(name, blob)| NamedLayer { name, blob })
            .collect();
        self.finish(
            name,
            Assembled {
                reference: &reference,
                manifest: &manifest_digest,
                media_type: media::MANIFEST,
                config: &config_digest,
                layers,
                app_layers: named,
            },
        )
    }

    fn app_layer(
        &self,
        image: &str,
        spec: &BuildSpec,
        layer: &LayerSpec,
        base: &PulledImage,
    ) -> Result<LayerBlob, ErrorKind> {
        let epoch = self.tools.settings.source_date_epoch;
        match &layer.source {
            LayerSource::Run { run, inputs, env } => {
                let no_build_env = BTreeMap::new();
                let build_env = self
                    .tools
                    .settings
                    .build_env
                    .get(image)
                    .unwrap_or(&no_build_env);
                let mut step = steps::prepare(
                    run,
                    env,
                    inputs,
                    &spec.context,
                    &self.tools.settings.build_values,
                    build_env,
                    self.platform,
                )?;
                // Bytecode depends on the interpreter, which is the base's.
                let bytecode = layer.bytecode.then(|| base.manifest_digest.as_str());
                let layer_key = Digest::of(
                    json!({"step": step.key.as_str(), "dest": layer.dest, "owner": layer.owner.to_string(), "mtime": epoch, "bytecode": bytecode})
                        .to_string()
                        .as_bytes(),
                );
                if let Some(blob) = self.cached_layer(&layer_key) {
                    self.tools.progress.step(
                        image,
                        &format!("layer {}: cached ({})", layer.name, short(&blob.digest)),
                    );
                    return Ok(blob);
                }
                // Only a step that runs needs its tools (a cached build needs none).
                step.path_prefix =
                    tools::ensure(&spec.tools, &self.tools.settings.cache_dir, &|message| {
                        self.tools.progress.step(image, message)
                    })?;
                // Build values are public by rule (validated), so the line may show them.
                let with_env: String = step
                    .build_env
                    .iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect();
                self.tools.progress.step(
                    image,
                    &format!(
                        "layer {}: running {}{}",
                        layer.name,
                        step.argv.join(" "),
                        if with_env.is_empty() {
                            String::new()
                        } else {
                            format!(" (build env:{with_env})")
                        }
                    ),
                );
                let out = steps::run_step(
                    &step,
                    &self.tools.settings.cache_dir.join("steps"),
                    epoch,
                    &|message| self.tools.progress.step(image, message),
                )?;
                let compiled = if layer.bytecode {
                    self.with_bytecode(image, layer, base, &out)?
                } else {
                    None
                };
                let dir = compiled.as_ref().map_or(out.as_path(), |d| d.path());
                let mut tree = LayerTree::new();
                tree.add_dir_contents(dir, &layer.dest)?;
                check_architecture(&tree, self.platform)?;
                let blob = write_layer(self.tools.store, &tree, layer.owner, epoch)?;
                self.remember_layer(&layer_key, &blob)?;
                Ok(blob)
            }
            LayerSource::Copy { paths, ignore } => {
                let rules = read_ignore(&spec.context, ignore)?;
                let mut tree = LayerTree::new();
                for path in paths {
                    tree.add_copy(&spec.context, path, &layer.dest, &rules)?;
                }
                check_architecture(&tree, self.platform)?;
                let blob = write_layer(self.tools.store, &tree, layer.owner, epoch)?;
                self.tools.progress.step(
                    image,
                    &format!(
                        "layer {}: {} entries, {} ({}){}",
                        layer.name,
                        tree.len(),
                        human(blob.size),
                        short(&blob.digest),
                        left_out_note(tree.left_out())
                    ),
                );
                Ok(blob)
            }
        }
    }

    /// A linked copy of the step output `out` with its Python sources compiled by the base's
    /// interpreter, or `None` (reported) when this machine cannot run that interpreter.
    fn with_bytecode(
        &self,
        image: &str,
        layer: &LayerSpec,
        base: &PulledImage,
        out: &Path,
    ) -> Result<Option<tempfile::TempDir>, ErrorKind> {
        let layers = layer_digests(&base.manifest)?;
        let cache = &self.tools.settings.cache_dir;
        let interpreter = match bytecode::base_interpreter(
            self.tools.store,
            &base.manifest_digest,
            &layers,
            self.platform,
            cache,
        )? {
            Ok(interpreter) => interpreter,
            Err(why) => {
                self.tools
                    .progress
                    .step(image, &format!("layer {}: no bytecode: {why}", layer.name));
                return Ok(None);
            }
        };
        let tmp = self.tools.store.tmp_dir();
        fs::create_dir_all(&tmp).map_err(|e| ErrorKind::io("create directory", &tmp, e))?;
        let copy = tempfile::Builder::new()
            .prefix("bytecode-")
            .tempdir_in(&tmp)
            .map_err(|e| ErrorKind::io("create directory in", &tmp, e))?;
        bytecode::link_tree(out, copy.path())?;
        match bytecode::compile(&interpreter, copy.path(), &layer.dest) {
            bytecode::Outcome::Compiled => Ok(Some(copy)),
            bytecode::Outcome::Skipped(why) => {
                self.tools
                    .progress
                    .step(image, &format!("layer {}: no bytecode: {why}", layer.name));
                Ok(None)
            }
        }
    }

    fn layer_record(&self, key: &Digest) -> PathBuf {
        self.tools
            .settings
            .cache_dir
            .join("layers")
            .join(format!("{}.json", key.hex()))
    }

    fn cached_layer(&self, key: &Digest) -> Option<LayerBlob> {
        let blob: LayerBlob =
            serde_json::from_slice(&fs::read(self.layer_record(key)).ok()?).ok()?;
        let present = Digest::parse(&blob.digest).is_ok_and(|d| self.tools.store.contains(&d));
        present.then_some(blob)
    }

    fn remember_layer(&self, key: &Digest, blob: &LayerBlob) -> Result<(), ErrorKind> {
        write_json_atomically(
            &self.layer_record(key),
            &serde_json::to_vec(blob).expect("serialisable"),
        )
    }

    fn write_config_and_manifest(
        &self,
        spec: &BuildSpec,
        base: &PulledImage,
        app_layers: &[(String, LayerBlob)],
    ) -> Result<(Digest, Digest), ErrorKind> {
        let created = image_config::rfc3339(self.tools.settings.source_date_epoch);
        let labels = self.labels(spec, &created);
        let config = image_config::edit_config(
            &base.config,
            spec,
            &ConfigInputs {
                created: &created,
                labels: &labels,
                layers: app_layers,
            },
        )?;
        let (config_digest, config_size) = self
            .tools
            .store
            .put(&serde_json::to_vec(&config).expect("serialisable"))?;
        let mut descriptors: Vec<Value> = Vec::new();
        for layer in base.manifest["layers"].as_array().into_iter().flatten() {
            let media_type = layer["mediaType"].as_str().unwrap_or(media::LAYER_GZIP);
            let digest = descriptor_digest(layer)?;
            descriptors.push(image_config::layer_descriptor(
                image_config::oci_layer_media_type(media_type),
                digest.as_str(),
                self.tools.store.size(&digest)?,
            ));
        }
        for (_, blob) in app_layers {
            descriptors.push(image_config::layer_descriptor(
                media::LAYER_GZIP,
                &blob.digest,
                blob.size,
            ));
        }
        let manifest = image_config::manifest((&config_digest, config_size), &descriptors);
        let (manifest_digest, _) = self
            .tools
            .store
            .put(&serde_json::to_vec(&manifest).expect("serialisable"))?;
        Ok((config_digest, manifest_digest))
    }

    fn labels(&self, spec: &BuildSpec, created: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        labels.insert(
            "org.opencontainers.image.created".to_owned(),
            created.to_owned(),
        );
        if let Some(source) = spec.source.as_ref().or(self.tools.settings.source.as_ref()) {
            labels.insert("org.opencontainers.image.source".to_owned(), source.clone());
        }
        if let Some(revision) = &self.tools.settings.revision {
            labels.insert(
                "org.opencontainers.image.revision".to_owned(),
                revision.clone(),
            );
        }
        labels.extend(spec.labels.clone());
        labels
    }

    /// Write the archive (unless the previous one is this image) and the build record.
    fn finish(&self, name: &str, image: Assembled<'_>) -> Result<BuiltImage, Error> {
        let Assembled {
            reference,
            manifest: manifest_digest,
            media_type: manifest_media_type,
            config: config_digest,
            layers,
            app_layers,
        } = image;
        let out_dir = self.out_dir;
        let archive = out_dir.join(format!("{name}.tar"));
        let record_path = BuiltImage::record_path(out_dir, name);
        let previous = read_record(&record_path).ok();
        let reusable = previous.as_ref().is_some_and(|p| {
            p.manifest_digest == manifest_digest.as_str()
                && p.reference == reference
                && fs::metadata(&archive).is_ok_and(|m| m.len() == p.archive_size)
        });
        let archive_size = if let (true, Some(p)) = (reusable, &previous) {
            self.tools
                .progress
                .step(name, &format!("archive up to date: {}", archive.display()));
            p.archive_size
        } else {
            let layers_ref = &layers;
            let image = ArchiveImage {
                reference,
                manifest: manifest_digest,
                manifest_media_type,
                config: config_digest,
                layers: layers_ref,
            };
            write_archive(
                self.tools.store,
                &image,
                &archive,
                self.tools.settings.source_date_epoch,
            )
            .map_err(|k| k.at(name, "archive"))?
        };
        let built = BuiltImage {
            name: name.to_owned(),
            reference: reference.to_owned(),
            manifest_digest: manifest_digest.to_string(),
            manifest_media_type: manifest_media_type.to_owned(),
            config_digest: config_digest.to_string(),
            layers: layers.iter().map(Digest::to_string).collect(),
            app_layers,
            archive,
            archive_size,
            platform: self.platform.to_string(),
            platforms: Vec::new(),
        };
        let record = serde_json::to_vec_pretty(&built).expect("serialisable");
        write_json_atomically(&record_path, &record).map_err(|k| k.at(name, "archive"))?;
        self.tools.progress.step(
            name,
            &format!("built {reference} ({})", short(manifest_digest.as_str())),
        );
        Ok(built)
    }
}

/// Refuse a layer holding ELF files for another machine than `platform`'s: a mixed image would
/// only fail when the node runs it.
fn check_architecture(tree: &LayerTree, platform: &Platform) -> Result<(), ErrorKind> {
    let Some(expected) = platform.elf_machine() else {
        return Ok(());
    };
    let foreign: Vec<(String, u16)> = tree
        .elf_files()?
        .into_iter()
        .filter(|(_, machine)| *machine != expected)
        .collect();
    match foreign.first() {
        None => Ok(()),
        Some((first, machine)) => Err(ErrorKind::WrongArchitecture {
            platform: platform.to_string(),
            host: Platform::host().to_string(),
            count: foreign.len(),
            first: first.clone(),
            found: elf::machine_name(*machine),
        }),
    }
}

/// What a copy left out as the host's environments, for the layer's progress line: said, not
/// silent, since a team may wonder where its committed `venv/` went.
fn left_out_note(left: &[(String, &'static str)]) -> String {
    if left.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = left
        .iter()
        .take(5)
        .map(|(path, what)| format!("{path}/ ({what})"))
        .collect();
    let more = match left.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    format!(
        "; left out the host's environments: {}{more}",
        shown.join(", ")
    )
}

fn read_ignore(context: &Path, extra: &[String]) -> Result<IgnoreRules, ErrorKind> {
    let path = context.join(".dockerignore");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ErrorKind::io("read", path, e)),
    };
    IgnoreRules::new(&text, extra)
}

/// Read a build record written by a previous build.
pub fn read_record(path: &Path) -> Result<BuiltImage, ErrorKind> {
    let bytes = fs::read(path).map_err(|e| ErrorKind::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ErrorKind::Malformed {
        what: path.display().to_string(),
        message: e.to_string(),
    })
}

pub(super) fn write_json_atomically(path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| ErrorKind::io("create directory", dir, e))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| ErrorKind::io("create temporary file in", dir, e))?;
    fs::write(tmp.path(), bytes).map_err(|e| ErrorKind::io("write", tmp.path(), e))?;
    super::archive::publish(tmp, path)
}

fn layer_digests(manifest: &Value) -> Result<Vec<Digest>, ErrorKind> {
    manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(descriptor_digest)
        .collect()
}

/// `sha256:0123456789ab` for messages.
pub fn short(digest: &str) -> &str {
    &digest[..digest.len().min("sha256:".len() + 12)]
}

/// Human-readable byte count.
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_splits_into_repository_and_tag() {
        let mut image = BuiltImage {
            name: "backend".into(),
            reference: "localhost/todo-chatbot/backend:0123456789abcdef".into(),
            manifest_digest: String::new(),
            manifest_media_type: String::new(),
            config_digest: String::new(),
            layers: vec![],
            app_layers: vec![],
            archive: PathBuf::new(),
            archive_size: 0,
            platform: "linux/amd64".into(),
            platforms: Vec::new(),
        };
        assert_eq!(
            (image.repository(), image.tag()),
            ("localhost/todo-chatbot/backend", "0123456789abcdef")
        );
        image.reference = "127.0.0.1:5000/library/postgres:17.6".into();
        assert_eq!(
            (image.repository(), image.tag()),
            ("127.0.0.1:5000/library/postgres", "17.6")
        );
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 << 20), "3.0 MiB");
    }
}
