//! Images without Docker: build OCI images from specs, side-load them into a cluster node's
//! runtime, or push them to a registry.
//!
//! The deploy command uses three calls:
//!
//! ```no_run
//! # async fn f() -> Result<(), berth::images::Error> {
//! use berth::images::{self, BuildSettings, LoadSettings, Progress};
//! let progress = Progress::quiet();
//! let settings = BuildSettings::new(".");
//! // --images build (and load): build every spec in images/, then side-load the archives.
//! let built = images::build(&settings, &progress).await?;
//! images::load(&LoadSettings::default(), &built, &progress)?;
//! // --images load: side-load what the last build produced.
//! let built = images::read_built(&settings)?;
//! // What to render: built[i].repository() and built[i].tag(), imagePullPolicy IfNotPresent.
//! // (`load` spawns ctr/minikube/docker and waits: from async code, call it in spawn_blocking.)
//! # Ok(()) }
//! ```
//!
//! Layout of the work: [`spec`] parses `images/*.toml`; [`registry`] pulls base images (mirrors,
//! [`credentials`], platform) into the content-addressed [`store`]; [`steps`] runs host build steps
//! with a cache; [`layer`] writes deterministic layers; [`image_config`] edits the base config and
//! writes the manifest; [`archive`] writes the OCI + Docker archive; [`load`] side-loads it;
//! [`push`] pushes to a registry.

pub mod archive;
pub mod build;
pub mod bytecode;
pub mod check;
pub mod credentials;
pub mod elf;
pub mod env_refs;
pub mod error;
mod excerpt;
pub mod ignore;
pub mod image_config;
mod image_index;
pub mod layer;
pub mod load;
pub mod platform;
mod progress;
pub mod push;
pub mod registry;
pub mod spec;
pub mod steps;
pub mod store;
pub mod tools;
pub mod wheels;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use build::BuiltImage;
pub use error::{Error, ErrorKind, Result};
pub use load::{LoadOutcome, LoadReport, LoadSettings, TargetKind};
pub use platform::Platform;
pub use progress::{ImageEvent, Progress, Transfer};
pub use push::{PushReport, PushSettings};
pub use registry::{Mirror, RegistrySettings};

use spec::ImageSpec;
use store::BlobStore;

/// Resolved settings for building images.
#[derive(Clone, Debug)]
pub struct BuildSettings {
    /// Repository root: spec contexts are relative to it.
    pub root: PathBuf,
    /// Directory of specs (default `ROOT/images`).
    pub specs_dir: PathBuf,
    /// Components to build (spec names); empty means all.
    pub only: Vec<String>,
    /// Where archives and build records go (default `CACHE/images`).
    pub out_dir: PathBuf,
    /// Cache root: blobs, step outputs, layer records.
    pub cache_dir: PathBuf,
    /// Target platforms (take the node's when a cluster is reachable). One builds an image;
    /// several build one image per platform and an OCI image index of them (for pushing).
    pub platforms: Vec<Platform>,
    /// Mirrors, plain-HTTP hosts and credentials.
    pub registry: RegistrySettings,
    /// Timestamp for layers, config and labels (`SOURCE_DATE_EPOCH`, default 0).
    pub source_date_epoch: u64,
    /// `org.opencontainers.image.revision` label, when known.
    pub revision: Option<String>,
    /// `org.opencontainers.image.source` label for specs that do not set one.
    pub source: Option<String>,
    /// Build values for `{name}` placeholders in step commands (`--build-value`).
    pub build_values: BTreeMap<String, String>,
    /// Environment of every build step, by spec name: the stack's `image.buildEnv`, resolved
    /// (`NEXT_PUBLIC_API_URL=https://todo.example.com/api`). Part of each step's cache key.
    pub build_env: BTreeMap<String, BTreeMap<String, String>>,
}

impl BuildSettings {
    /// Defaults for a repository at `root`: specs in `root/images`, the user cache directory,
    /// linux/amd64, `SOURCE_DATE_EPOCH` from the environment. A relative `root` is made
    /// absolute here: steps run in their context directory, where `./backend` would name
    /// another place.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        let cache_dir = default_cache_dir();
        Self {
            specs_dir: root.join("images"),
            out_dir: cache_dir.join("images"),
            root,
            only: Vec::new(),
            cache_dir,
            platforms: vec![Platform::default()],
            registry: RegistrySettings::default(),
            source_date_epoch: source_date_epoch_from_env(),
            revision: None,
            source: None,
            build_values: BTreeMap::new(),
            build_env: BTreeMap::new(),
        }
    }

    /// The blob store under the cache directory.
    pub fn store(&self) -> Result<BlobStore> {
        BlobStore::open(&self.cache_dir).map_err(|k| k.at("-", "open cache"))
    }

    /// The selected specs, in name order.
    pub fn specs(&self) -> Result<Vec<ImageSpec>> {
        let all = spec::load_dir(&self.specs_dir, &self.root)?;
        select(all, &self.only)
    }
}

fn select(all: Vec<ImageSpec>, only: &[String]) -> Result<Vec<ImageSpec>> {
    if let Some(unknown) = only.iter().find(|o| !all.iter().any(|s| &s.name == *o)) {
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        return Err(ErrorKind::Spec(format!(
            "no spec named {unknown:?} (available: {})",
            names.join(", ")
        ))
        .at(unknown, "spec"));
    }
    Ok(all
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .collect())
}

/// `$BERTH_CACHE_DIR`, else `$XDG_CACHE_HOME/berth`, else `~/.cache/berth`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_CACHE_DIR") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("berth");
    }
    // `$HOME`, or `%USERPROFILE%` on Windows.
    let home = std::env::home_dir().unwrap_or_else(|| ".".into());
    home.join(".cache/berth")
}

/// `SOURCE_DATE_EPOCH` when set to a number, else 0.
pub fn source_date_epoch_from_env() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Build (or mirror) every selected image and write its archive to `settings.out_dir`; with
/// several platforms, each platform's image goes to `out_dir/platforms/<os>-<arch>/` and the
/// archive in `out_dir` holds an OCI image index of them.
pub async fn build(settings: &BuildSettings, progress: &Progress) -> Result<Vec<BuiltImage>> {
    let specs = settings.specs()?;
    let store = settings.store()?;
    let client = registry::RegistryClient::new(settings.registry.clone());
    let tools = build::Tools {
        settings,
        store: &store,
        client: &client,
        progress,
    };
    let mut built = Vec::with_capacity(specs.len());
    for spec in &specs {
        let image = match settings.platforms.as_slice() {
            [] => {
                return Err(ErrorKind::Spec("no target platform given".into()).at("-", "build"));
            }
            [one] => tools.builder(one, &settings.out_dir).build(spec).await?,
            several => {
                let mut images = Vec::with_capacity(several.len());
                for platform in several {
                    let dir = settings.out_dir.join("platforms").join(platform.slug());
                    images.push(tools.builder(platform, &dir).build(spec).await?);
                }
                image_index::write_index(tools, spec, images)?
            }
        };
        built.push(image);
    }
    Ok(built)
}

/// The images the last build wrote to `settings.out_dir`, for the selected specs.
pub fn read_built(settings: &BuildSettings) -> Result<Vec<BuiltImage>> {
    settings
        .specs()?
        .iter()
        .map(|spec| {
            let path = BuiltImage::record_path(&settings.out_dir, &spec.name);
            build::read_record(&path).map_err(|_| {
                ErrorKind::Missing(format!(
                    "no build of this image in {}\nhint: run `berth images build {}` first",
                    settings.out_dir.display(),
                    spec.name
                ))
                .at(&spec.name, "load")
            })
        })
        .collect()
}

/// Side-load `images` into the target's runtime(s); see [`load`](mod@load).
pub fn load(
    settings: &LoadSettings,
    images: &[BuiltImage],
    progress: &Progress,
) -> Result<Vec<LoadReport>> {
    if let Some(index) = images.iter().find(|i| !i.platforms.is_empty()) {
        return Err(ErrorKind::Missing(format!(
            "{} was built for several platforms ({}): side-loading takes one, the node's\n\
             hint: build it with --platform set to the node's platform, or push the index to a registry",
            index.reference,
            index.platform
        ))
        .at(&index.name, "load"));
    }
    load::load(settings, images, progress)
}

/// Push `images` (their blobs come from the build cache) to `settings.registry`.
pub async fn push(
    settings: &PushSettings,
    build: &BuildSettings,
    images: &[BuiltImage],
    progress: &Progress,
) -> Result<Vec<PushReport>> {
    push::push(settings, images, &build.store()?, progress).await
}
