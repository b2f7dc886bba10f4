//! The images step of a deploy: build the images before applying, then
//! side-load them, or push them to the values' `registry` and pin them by
//! digest; point the values at exactly the content-derived tags built.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::hint::Hint;
use crate::images::{
    self, BuildSettings, BuiltImage, LoadReport, LoadSettings, Mirror, Platform, Progress,
    PushReport, PushSettings,
};
use crate::manifests::build_env::build_envs;
use crate::manifests::registry::{PULL_SECRET_SUFFIX, RegistryRender};
use crate::values::registry::{PullSecret, Registry};
use crate::values::{Problem, Values, ValuesError};
use crate::wizard::ContextChoice;

/// Where a deploy's images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagesMode {
    /// Build and load when the context is a local cluster (Minikube, kind),
    /// build and push when the values name a registry, else skip.
    Auto,
    /// Build the images; with a registry, push them and pin them by digest.
    Build,
    /// Build and side-load them into the cluster's container runtime.
    Load,
    /// Use the image references in the values as they are.
    Skip,
}

/// Where the specs are and how bases are fetched.
#[derive(Debug, Clone)]
pub struct ImageSources {
    /// Repository root: spec contexts are relative to it.
    pub root: PathBuf,
    /// Directory of specs (default `ROOT/images`).
    pub specs_dir: Option<PathBuf>,
    /// `--registry-mirror` mappings.
    pub mirrors: BTreeMap<String, Mirror>,
    /// Where side-loaded images go (detected by default).
    pub load: LoadSettings,
}

impl Default for ImageSources {
    fn default() -> Self {
        ImageSources {
            root: PathBuf::from("."),
            specs_dir: None,
            mirrors: BTreeMap::new(),
            load: LoadSettings::default(),
        }
    }
}

impl ImageSources {
    /// The build settings for `values`: the specs, the mirrors, and the build environment
    /// a frontend bakes in (its origin).
    pub fn build_settings(&self, values: &Values) -> BuildSettings {
        let mut settings = BuildSettings::new(&self.root);
        if let Some(dir) = &self.specs_dir {
            settings.specs_dir = dir.clone();
        }
        settings.registry.mirrors = self.mirrors.clone();
        // What each image's build reads (NEXT_PUBLIC_*, VITE_* …), resolved for this origin.
        settings.build_env = build_envs(values);
        settings
    }
}

/// What [`build_images`] built, and how long it took.
pub struct Built {
    pub images: Vec<BuiltImage>,
    pub elapsed: Duration,
}

/// Builds the specs named `only` (every spec when empty) for `values`.
pub async fn build_images(
    sources: &ImageSources,
    values: &Values,
    only: &[String],
    progress: &Progress,
) -> Result<Built, ImagesError> {
    let started = Instant::now();
    let mut settings = sources.build_settings(values);
    settings.only = only.to_vec();
    let images = images::build(&settings, progress)
        .await
        .map_err(|e| ImagesError::Build(e.into()))?;
    Ok(Built {
        images,
        elapsed: started.elapsed(),
    })
}

/// Side-loads `built` into the cluster's runtime (only the blobs it lacks, where it can say),
/// then points `values` at them.
pub fn load_images(
    sources: &ImageSources,
    built: &[BuiltImage],
    values: &mut Values,
    progress: &Progress,
) -> Result<Vec<LoadReport>, ImagesError> {
    // Loading runs the node's runtime tools as processes.
    let reports = tokio::task::block_in_place(|| images::load(&sources.load, built, progress))
        .map_err(|e| ImagesError::Load(e.into()))?;
    for image in built {
        use_built_image(values, image, image.repository(), image.tag());
    }
    Ok(reports)
}

/// Why the images step failed.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error("building images")]
    Build(#[source] anyhow::Error),
    #[error("side-loading images into the cluster")]
    Load(#[source] anyhow::Error),
    #[error("pushing images to {registry}")]
    Push {
        registry: String,
        #[source]
        source: anyhow::Error,
    },
    /// The values ask for something the images step cannot do (exit 2, nothing written).
    #[error(transparent)]
    Values(#[from] ValuesError),
}

impl Hint for ImagesError {
    fn hint(&self) -> Option<String> {
        match self {
            ImagesError::Build(_) => Some("see `berth images build --help`".into()),
            ImagesError::Load(_) => Some(
                "try --images skip and load them yourself (`berth images load --help`)".into(),
            ),
            ImagesError::Push { .. } => Some(
                "berth pushes with the credentials `docker login` or `podman login` stored; see `berth images push --help`".into(),
            ),
            ImagesError::Values(_) => None,
        }
    }
}

impl ImagesMode {
    /// `auto` made concrete for the chosen context: images are pushed when the
    /// values name a registry, side-loaded into local clusters, else skipped.
    pub fn resolve(self, context: Option<&ContextChoice>, registry: bool) -> ImagesMode {
        match self {
            ImagesMode::Auto if registry => ImagesMode::Build,
            ImagesMode::Auto if context.is_some_and(|c| c.local.is_some()) => ImagesMode::Load,
            ImagesMode::Auto => ImagesMode::Skip,
            other => other,
        }
    }
}

/// What the images step refuses, checked before the cluster is contacted (and
/// again by [`build_for_deploy`]): `--images load` with a registry (one
/// side-loads, the other pushes), and a component named like the pull Secret.
pub fn check_mode(mode: ImagesMode, values: &Values) -> Result<(), ValuesError> {
    let Some(registry) = &values.registry else {
        return Ok(());
    };
    let mut problems = Vec::new();
    if mode == ImagesMode::Load {
        problems.push(
            Problem::new(
                "registry.url",
                format!(
                    "`{}` asks for images to be pushed, but --images load side-loads them",
                    registry.url.as_str()
                ),
            )
            .with_hint("use --images build (or auto) to push, or drop the registry to side-load"),
        );
    }
    // The pull Secret is `<release>-image-pull`: a component of that name
    // would own a Secret of the same name.
    if registry.pull_secret != PullSecret::Never
        && values.components.contains_key(PULL_SECRET_SUFFIX)
    {
        problems.push(
            Problem::new(
                format!("components.{PULL_SECRET_SUFFIX}"),
                format!(
                    "is named like the registry pull Secret (`<release>-{PULL_SECRET_SUFFIX}`)"
                ),
            )
            .with_hint("rename the component, or set registry.pullSecret to false"),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValuesError::invalid(problems))
    }
}

/// Builds the images, then side-loads (`Load`) or pushes them (`Build` with a
/// registry), points the values at them and returns what the render must pin.
pub async fn build_for_deploy(
    client: &kube::Client,
    mode: ImagesMode,
    sources: &ImageSources,
    values: &mut Values,
    progress: &Progress,
) -> Result<RegistryRender, ImagesError> {
    if matches!(mode, ImagesMode::Skip | ImagesMode::Auto) {
        return Ok(RegistryRender::default());
    }
    check_mode(mode, values)?;
    let registry = values.registry.clone();
    let mut settings = sources.build_settings(values);
    if registry.is_some() {
        // A pushed image is pulled by the nodes: build for theirs.
        settings.platforms = node_platforms(client, progress).await;
    }
    let built = images::build(&settings, progress)
        .await
        .map_err(|e| ImagesError::Build(e.into()))?;
    let Some(registry) = registry else {
        if mode == ImagesMode::Load {
            load_images(sources, &built, values, progress)?;
        }
        for image in &built {
            use_built_image(values, image, image.repository(), image.tag());
        }
        return Ok(RegistryRender::default());
    };
    push_and_pin(&settings, &registry, &built, values, progress).await
}

/// Pushes `built`, points the values at the pushed repositories and returns
/// the digest pins and, as `registry.pullSecret` asks, the pull Secret's content.
async fn push_and_pin(
    settings: &BuildSettings,
    registry: &Registry,
    built: &[BuiltImage],
    values: &mut Values,
    progress: &Progress,
) -> Result<RegistryRender, ImagesError> {
    let url = registry.url.as_str().to_string();
    let failed = |source: images::Error| ImagesError::Push {
        registry: url.clone(),
        source: source.into(),
    };
    let push = PushSettings {
        registry: url.clone(),
        registry_settings: settings.registry.clone(),
    };
    // Credentials are checked before anything is pushed: a required pull
    // Secret without them fails here.
    let docker_config_json = match registry.pull_secret {
        PullSecret::Never => None,
        PullSecret::Auto | PullSecret::Always => {
            let planned = planned_reports(&push, built).map_err(failed)?;
            images::push::pull_config(&push, &planned).map_err(failed)?
        }
    };
    if registry.pull_secret == PullSecret::Always && docker_config_json.is_none() {
        return Err(ValuesError::invalid(vec![
            Problem::new(
                "registry.pullSecret",
                format!("is true, but berth found no credentials for `{url}`"),
            )
            .with_hint(
                "log in first (docker login / podman login), or set registry.pullSecret to auto or false",
            ),
        ])
        .into());
    }
    let reports = images::push(&push, settings, built, progress)
        .await
        .map_err(failed)?;
    let mut pins = BTreeMap::new();
    for (image, report) in built.iter().zip(&reports) {
        let (repository, tag) = report
            .reference
            .rsplit_once(':')
            .unwrap_or((&report.reference, ""));
        use_built_image(values, image, repository, tag);
        pins.insert(
            report.reference.clone(),
            format!("{repository}@{}", report.digest),
        );
    }
    Ok(RegistryRender {
        pins,
        docker_config_json,
    })
}

/// What the push of `built` will name, before pushing (for the credential lookup).
fn planned_reports(
    push: &PushSettings,
    built: &[BuiltImage],
) -> Result<Vec<PushReport>, images::Error> {
    let (target, prefix) =
        images::push::parse_target(&push.registry).map_err(|k| k.at("-", "push"))?;
    built
        .iter()
        .map(|image| {
            let reference = images::push::target_reference(&image.reference, &target.host, &prefix)
                .map_err(|k| k.at(&image.name, "push"))?;
            Ok(PushReport {
                image: image.name.clone(),
                reference,
                digest: image.manifest_digest.clone(),
                uploaded_blobs: 0,
                total_blobs: 0,
            })
        })
        .collect()
}

/// The distinct platforms of the cluster's nodes; linux/amd64 when they cannot
/// be listed (a user allowed only into one namespace cannot read Nodes).
async fn node_platforms(client: &kube::Client, progress: &Progress) -> Vec<Platform> {
    use k8s_openapi::api::core::v1::Node;
    let nodes = kube::Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await;
    let platforms: BTreeSet<(String, String)> = nodes
        .iter()
        .flat_map(|list| &list.items)
        .filter_map(|node| node.status.as_ref()?.node_info.as_ref())
        .map(|info| (info.operating_system.clone(), info.architecture.clone()))
        .collect();
    if platforms.is_empty() {
        progress.step(
            "images",
            "cannot read the nodes' platform; building for linux/amd64",
        );
        return vec![Platform::default()];
    }
    platforms
        .into_iter()
        .map(|(os, arch)| Platform {
            os,
            ..Platform::from_node_arch(&arch)
        })
        .collect()
}

/// Points every component whose `image.build` is the spec an image was built
/// from at `repository:tag` (the content-derived tag).
pub fn use_built_image(values: &mut Values, image: &BuiltImage, repository: &str, tag: &str) {
    let components = values.components.values_mut().map(|c| &mut c.image);
    for target in components.chain([&mut values.database.internal.image]) {
        let built_from_spec = target.build.as_deref().is_some_and(|spec| {
            std::path::Path::new(spec)
                .file_stem()
                .and_then(|s| s.to_str())
                == Some(image.name.as_str())
        });
        if built_from_spec {
            target.repository = repository.to_string();
            target.tag = tag.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{self, ProcessEnv, ValueSources};

    fn values_with(registry: serde_json::Value) -> Values {
        let sources = ValueSources {
            layers: vec![("test".into(), serde_json::json!({ "registry": registry }))],
            ..Default::default()
        };
        values::load_unchecked_secrets(&sources, &ProcessEnv).unwrap()
    }

    #[test]
    fn load_with_a_registry_and_a_component_named_like_the_pull_secret_are_refused() {
        let values = values_with(serde_json::json!({"url": "r.example"}));
        assert!(check_mode(ImagesMode::Build, &values).is_ok());
        assert!(check_mode(ImagesMode::Auto, &values).is_ok());
        let err = check_mode(ImagesMode::Load, &values)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--images load"), "{err}");

        let mut clash = values.clone();
        let web = clash.components.values().next().unwrap().clone();
        clash.components.insert(PULL_SECRET_SUFFIX.into(), web);
        let err = check_mode(ImagesMode::Build, &clash)
            .unwrap_err()
            .to_string();
        assert!(err.contains("components.image-pull"), "{err}");
        clash.registry.as_mut().unwrap().pull_secret = PullSecret::Never;
        assert!(check_mode(ImagesMode::Build, &clash).is_ok());
    }

    #[test]
    fn auto_pushes_with_a_registry() {
        assert_eq!(ImagesMode::Auto.resolve(None, true), ImagesMode::Build);
        assert_eq!(ImagesMode::Auto.resolve(None, false), ImagesMode::Skip);
        assert_eq!(ImagesMode::Skip.resolve(None, true), ImagesMode::Skip);
    }
}
