//! The images step of a deploy: build (and side-load) the images before
//! applying, and point the values at exactly the content-derived tags built.

use crate::images::{self, BuildSettings, BuiltImage, LoadSettings, Progress};
use crate::manifests::exposure::external_url;
use crate::values::Values;
use crate::wizard::ContextChoice;

/// Where a deploy's images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagesMode {
    /// Build and load when the context is a local cluster (Minikube, kind), else skip.
    Auto,
    /// Build the images; the cluster pulls them.
    Build,
    /// Build and side-load them into the cluster's container runtime.
    Load,
    /// Use the image references in the values as they are.
    Skip,
}

/// Why the images step failed.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error("cannot find the project directory")]
    Root(#[source] std::io::Error),
    #[error("building images")]
    Build(#[source] anyhow::Error),
    #[error("side-loading images into the cluster")]
    Load(#[source] anyhow::Error),
}

impl ImagesMode {
    /// `auto` made concrete for the chosen context: only local clusters get
    /// images side-loaded.
    pub fn resolve(self, context: Option<&ContextChoice>) -> ImagesMode {
        match self {
            ImagesMode::Auto if context.is_some_and(|c| c.local.is_some()) => ImagesMode::Load,
            ImagesMode::Auto => ImagesMode::Skip,
            other => other,
        }
    }
}

/// Builds (and for `Load`, side-loads) the images, then points the values at them.
pub async fn build_for_deploy(
    mode: ImagesMode,
    values: &mut Values,
    progress: &Progress,
) -> Result<(), ImagesError> {
    if matches!(mode, ImagesMode::Skip | ImagesMode::Auto) {
        return Ok(());
    }
    let root = std::env::current_dir().map_err(ImagesError::Root)?;
    let mut settings = BuildSettings::new(&root);
    // A frontend bakes the external URL in at build time (NEXT_PUBLIC_*).
    settings
        .build_values
        .insert("external_url".into(), external_url(values));
    let built = images::build(&settings, progress)
        .await
        .map_err(|e| ImagesError::Build(e.into()))?;
    if mode == ImagesMode::Load {
        // Loading runs the node's runtime tools as processes.
        tokio::task::block_in_place(|| images::load(&LoadSettings::default(), &built, progress))
            .map_err(|e| ImagesError::Load(e.into()))?;
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
