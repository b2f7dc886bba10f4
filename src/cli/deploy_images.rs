//! The images step of `berth deploy`: build (and side-load) the images before
//! applying, and render exactly the content-derived tags that were built.

use anyhow::Context;
use clap::ValueEnum;

use super::cluster_args::ClusterArgs;
use crate::images::{self, BuildSettings, BuiltImage, LoadSettings, Progress};
use crate::manifests::exposure::external_url;
use crate::values::Values;
use crate::wizard::list_contexts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Images {
    /// Build and load when the context is a local cluster (Minikube, kind), else skip.
    Auto,
    /// Build the images; the cluster pulls them (after `berth images push`).
    Build,
    /// Build and side-load them into the cluster's container runtime.
    Load,
    /// Use the image references in the values as they are.
    Skip,
}

/// Resolves `auto` from the kubeconfig context: only local clusters get images side-loaded.
pub fn resolve(mode: Images, cluster: &ClusterArgs) -> Images {
    if mode != Images::Auto {
        return mode;
    }
    let contexts = list_contexts(cluster.kubeconfig.as_deref());
    let chosen = match &cluster.context {
        Some(name) => contexts.iter().find(|c| &c.name == name),
        None => contexts.iter().find(|c| c.current),
    };
    if chosen.is_some_and(|c| c.local.is_some()) {
        Images::Load
    } else {
        Images::Skip
    }
}

/// Builds (and for `load`, side-loads) the images, then points the values at them.
pub fn run(mode: Images, values: &mut Values) -> anyhow::Result<()> {
    if matches!(mode, Images::Skip | Images::Auto) {
        return Ok(());
    }
    let root = std::env::current_dir().context("finding the project directory")?;
    let mut settings = BuildSettings::new(&root);
    // A frontend bakes the external URL in at build time (NEXT_PUBLIC_*).
    settings
        .build_values
        .insert("external_url".into(), external_url(values));
    let progress = Progress::default();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let built = runtime
        .block_on(images::build(&settings, &progress))
        .context("building images (see `berth images build --help`)")?;
    if mode == Images::Load {
        images::load(&LoadSettings::default(), &built, &progress).context(
            "side-loading images into the cluster (try --images skip and load them yourself)",
        )?;
    }
    for image in &built {
        use_built_image(values, image);
    }
    Ok(())
}

/// Points every component whose `image.build` is the spec an image was built
/// from at its exact, content-derived tag.
fn use_built_image(values: &mut Values, image: &BuiltImage) {
    let components = values.components.values_mut().map(|c| &mut c.image);
    for target in components.chain([&mut values.database.internal.image]) {
        let built_from_spec = target.build.as_deref().is_some_and(|spec| {
            std::path::Path::new(spec)
                .file_stem()
                .and_then(|s| s.to_str())
                == Some(image.name.as_str())
        });
        if built_from_spec {
            target.repository = image.repository().to_string();
            target.tag = image.tag().to_string();
        }
    }
}
