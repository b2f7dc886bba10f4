//! The one deploy orchestration: images → prepare → apply, used by the
//! scripted path and the wizard; rollback enters at apply with a recorded
//! revision. Ctrl-C stops between API calls: the pending revision and the
//! inventory superset are already recorded, so re-running converges.

use crate::apply::{self, ApplyError, DeployOptions, DeployReport, Event, Phase, Release};
use crate::hint::Hint;
use crate::images::Progress;
use crate::manifests::RenderContext;
use crate::values::Values;

use super::images::{ImageSources, ImagesError, ImagesMode, build_for_deploy};
use super::prepare::{PrepareError, Prepared, prepare};

/// Why a deploy did not finish.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("interrupted; release {} may be partly applied", .release.name)]
    Interrupted { release: Release },
    #[error(transparent)]
    Images(#[from] ImagesError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl Hint for DeployError {
    fn hint(&self) -> Option<String> {
        match self {
            DeployError::Interrupted { release } => Some(format!(
                "run the same `berth deploy` again to resume, or `berth rollback -n {} --release {}` to return to the previous revision",
                release.namespace, release.name
            )),
            DeployError::Images(err) => err.hint(),
            DeployError::Prepare(err) => err.hint(),
            DeployError::Apply(err) => err.hint(),
        }
    }
}

/// Builds (and loads or pushes) the images `images` asks for, renders
/// `values` with what the push pinned, and applies them.
#[allow(clippy::too_many_arguments)]
pub async fn deploy_values(
    client: &kube::Client,
    mut values: Values,
    ctx: &RenderContext,
    images: ImagesMode,
    sources: &ImageSources,
    images_progress: &Progress,
    options: &DeployOptions,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, DeployError> {
    let registry = build_for_deploy(client, images, sources, &mut values, images_progress).await?;
    let ctx = RenderContext {
        registry,
        ..ctx.clone()
    };
    let started = std::time::Instant::now();
    let prepared = prepare(client, values, &ctx).await?;
    progress(Event::Phase {
        phase: Phase::Render,
        elapsed: started.elapsed(),
    });
    apply_prepared(client, prepared, options, progress).await
}

/// Applies a prepared render under a release lock the caller holds (`berth dev`).
pub async fn apply_prepared_holding(
    client: &kube::Client,
    prepared: Prepared,
    options: &DeployOptions,
    lock: &apply::lock::ReleaseLock,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, DeployError> {
    let options = DeployOptions {
        revision: prepared.revision,
        ..options.clone()
    };
    Ok(apply::deploy_holding(
        client,
        &prepared.release,
        prepared.objects,
        &options,
        lock,
        progress,
    )
    .await?)
}

/// Applies a prepared render (or a recorded revision) with the engine.
pub async fn apply_prepared(
    client: &kube::Client,
    prepared: Prepared,
    options: &DeployOptions,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, DeployError> {
    let options = DeployOptions {
        revision: prepared.revision,
        ..options.clone()
    };
    let apply = apply::deploy(
        client,
        &prepared.release,
        prepared.objects,
        &options,
        progress,
    );
    tokio::select! {
        result = apply => Ok(result?),
        _ = tokio::signal::ctrl_c() => Err(DeployError::Interrupted { release: prepared.release }),
    }
}
