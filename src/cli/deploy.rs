//! `berth deploy`: render, build images, apply with the engine and wait for
//! readiness. Never prompts with `--yes` or without a terminal; otherwise the
//! wizard (`deploy_wizard`) asks first.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::apply_args::ApplyArgs;
use super::cluster_args::{ClusterArgs, TargetArgs};
use super::report::{self, DeployProgress};
use super::{Outcome, ReleaseArgs, ValuesArgs, diff, settings};
use crate::apply::DeployOptions;
use crate::manifests::{self, RenderContext, output};
use crate::pipeline::origin::OriginNote;
use crate::pipeline::{self, ImageSources, ImagesMode};
use crate::ui::Printer;
use crate::values::{Origin, ValueSources, Values};
use crate::wizard;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print the objects without contacting the cluster.
    Client,
    /// Ask the API server what would change.
    Server,
}

/// `--images` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Images {
    /// Build and push with a registry, build and load when the context is a local cluster (Minikube, kind), else skip.
    Auto,
    /// Build the images; with --registry push them, else the cluster pulls them (after `berth images push`).
    Build,
    /// Build and side-load them into the cluster's container runtime.
    Load,
    /// Use the image references in the values as they are.
    Skip,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Never prompt (berth never prompts without a TTY either).
    #[arg(short = 'y', long, alias = "non-interactive")]
    pub yes: bool,
    /// Show what would be applied instead of applying it.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "server", require_equals = true)]
    pub dry_run: Option<DryRun>,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Let prune delete PersistentVolumeClaims of components no longer rendered.
    #[arg(long)]
    pub delete_data: bool,
    /// Where images come from: built and side-loaded for local clusters, built
    /// and pushed with a registry, by default.
    #[arg(long, value_enum, default_value_t = Images::Auto)]
    pub images: Images,
    /// Push built images to this registry (host[:port][/prefix]) and deploy them pinned by
    /// digest, with a pull Secret from your registry login; sets the `registry.url` value.
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// Fetch a registry's base images from elsewhere, e.g. docker.io=http://127.0.0.1:5000 (repeatable).
    #[arg(long = "registry-mirror", value_name = "REGISTRY=URL")]
    pub registry_mirrors: Vec<String>,
    /// Repository root of the image specs [default: the directory holding berth.yaml, else .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Directory holding the image specs [default: ROOT/images].
    #[arg(long)]
    pub specs_dir: Option<PathBuf>,
    /// Deploy for the local origin (expose.origin=local: http://localhost:<port>), then
    /// serve it there like `berth open` until Ctrl-C.
    #[arg(long, conflicts_with = "dry_run")]
    pub open: bool,
}

/// Everything a deploy needs, resolved from the flags.
pub struct DeploySettings {
    /// Ask with the wizard first (a terminal, no `--yes`, no dry-run).
    pub interactive: bool,
    pub dry_run: Option<DryRun>,
    pub sources: ValueSources,
    pub release: ReleaseArgs,
    pub cluster: ClusterArgs,
    pub options: DeployOptions,
    pub images: ImagesMode,
    /// Where the image specs are and how their bases are fetched.
    pub image_sources: ImageSources,
    /// Serve the release on localhost once it is ready (`--open`).
    pub open: bool,
}

impl DeploySettings {
    pub fn resolve(args: DeployArgs) -> anyhow::Result<Self> {
        let mut sources = args.values.sources();
        if let Some(url) = &args.registry {
            let layer = serde_json::json!({"registry": {"url": url}});
            sources.layers.push(("--registry".into(), layer));
        }
        if args.open {
            let layer = serde_json::json!({"expose": {"origin": "local", "url": ""}});
            sources.layers.push(("--open".into(), layer));
        }
        let mirrors = settings::registry_mirrors(&args.registry_mirrors)?;
        let root = settings::specs_root(args.root.as_deref(), sources.stack.as_deref());
        let images = match args.images {
            Images::Auto => ImagesMode::Auto,
            Images::Build => ImagesMode::Build,
            Images::Load => ImagesMode::Load,
            Images::Skip => ImagesMode::Skip,
        };
        let image_sources = ImageSources {
            root,
            specs_dir: args.specs_dir.clone(),
            mirrors,
            ..Default::default()
        };
        // Checked before the wizard asks anything; `execute` checks again with its answers.
        // Not when the user names files: one may be a pipe (`-f <(…)`) that reads only once,
        // and `execute` checks with every layer anyway.
        let reads_user_files = !sources.files.is_empty() || !sources.set_file.is_empty();
        if !reads_user_files
            && let Ok(values) =
                crate::values::load_unchecked_secrets(&sources, &crate::values::ProcessEnv)
        {
            let mode = images.resolve(
                args.target.cluster.chosen_context().as_ref(),
                values.registry.is_some(),
            );
            check_stack_here(&sources, &values, mode, &image_sources)?;
        }
        Ok(DeploySettings {
            interactive: wizard::should_run(args.yes) && args.dry_run.is_none(),
            dry_run: args.dry_run,
            image_sources,
            sources,
            options: settings::deploy_options(&args.apply, args.delete_data),
            images,
            release: args.target.release,
            cluster: args.target.cluster,
            open: args.open,
        })
    }
}

/// `berth deploy` where there is no stack to deploy: no `berth.yaml` here, and the embedded
/// example's image specs are missing (they live in berth's own repository).
#[derive(Debug, thiserror::Error)]
#[error(
    "no berth.yaml in {dir}: without one berth deploys its embedded example, whose image specs ({missing}) are not here"
)]
pub struct NoStackHere {
    dir: String,
    missing: String,
}

impl crate::hint::Hint for NoStackHere {
    fn hint(&self) -> Option<String> {
        Some("run `berth init` here to write berth.yaml and images/ from your repository, or run berth in the directory holding your berth.yaml (or pass the values that replace the example's images with -f/--values)".into())
    }
}

/// Refuses to build the embedded example outside berth's repository: a user who runs
/// `berth deploy` in their own project is told to describe it, instead of getting a
/// missing-file error about the example's build specs.
fn check_stack_here(
    sources: &ValueSources,
    values: &Values,
    mode: ImagesMode,
    image_sources: &ImageSources,
) -> Result<(), NoStackHere> {
    if sources.stack.is_some() || mode == ImagesMode::Skip {
        return Ok(());
    }
    let root = &image_sources.root;
    let missing: Vec<String> = values
        .enabled_components()
        .filter_map(|(_, c)| c.image.build.clone())
        .filter(|build| {
            let path = match &image_sources.specs_dir {
                Some(dir) => dir.join(Path::new(build).file_name().unwrap_or_default()),
                None => root.join(build),
            };
            !path.is_file()
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let dir = std::path::absolute(root).unwrap_or_else(|_| root.clone());
    Err(NoStackHere {
        dir: dir.display().to_string(),
        missing: missing.join(", "),
    })
}

pub async fn run(settings: DeploySettings, printer: &Printer) -> anyhow::Result<Outcome> {
    let (mut values, ctx) = settings::load_values(&settings.sources, &settings.release)?;
    pipeline::images::check_mode(settings.images, &values)?;
    if settings.dry_run == Some(DryRun::Client) {
        let mut objects = manifests::render(&values, &ctx);
        manifests::redact_secrets(&mut objects);
        printer.data(&output::to_yaml_stream(&objects))?;
        return Ok(Outcome::Success);
    }
    let settings = &settings;
    settings
        .cluster
        .run(printer, |connection| async move {
            let client = &connection.client;
            let place = settings.cluster.place(&connection);
            let origin = pipeline::origin::resolve_origin(client, &mut values, &place).await;
            if settings.dry_run == Some(DryRun::Server) {
                let prepared = pipeline::prepare(client, values, &ctx).await?;
                let force = settings.options.force_conflicts;
                return diff::print_plan(printer, client, &prepared, false, force).await;
            }
            printer.status(&format!(
                "deploying release {} to namespace {} (context {})",
                ctx.release, ctx.namespace, connection.context
            ));
            printer.detail(&format!("API server {}", connection.server));
            report_origin(printer, &origin);
            execute(printer, client, values, &ctx, settings, &origin).await
        })
        .await
}

/// Says where the origin came from, and warns when the browser cannot reach it.
pub fn report_origin(printer: &Printer, origin: &OriginNote) {
    match origin {
        OriginNote::Resolved { url, via } => {
            printer.detail(&format!("origin {url} (the NodePort on {via})"))
        }
        OriginNote::Unknown { url, why } => printer.status(&format!(
            "cannot tell the nodes' address ({why}); {{externalUrl}} stays {url}"
        )),
        _ => {}
    }
    if let Some((warning, hint)) = origin.warning() {
        printer.status(&format!("warning: {warning}"));
        printer.hint(hint);
    }
}

/// The line that says where to open the app once it is ready.
pub fn open_line(origin: &OriginNote, values: &Values, opening: bool) -> Option<String> {
    match origin {
        OriginNote::Unreachable { .. } => None,
        _ if values.expose.origin == Origin::Local && values.expose.url.is_empty() => {
            Some(if opening {
                format!("opening it at {}", origin.url())
            } else {
                format!("open it with `berth open`: {}", origin.url())
            })
        }
        _ => Some(format!("open {}", origin.url())),
    }
}

/// Builds the images, renders, applies and reports: the scripted path's and
/// the wizard's deploy; with `--open`, then serves it on localhost.
pub async fn execute(
    printer: &Printer,
    client: &kube::Client,
    values: Values,
    ctx: &RenderContext,
    settings: &DeploySettings,
    origin: &OriginNote,
) -> anyhow::Result<Outcome> {
    let open = open_line(origin, &values, settings.open);
    let opened = settings.open.then(|| values.clone());
    let images = settings.images.resolve(
        settings.cluster.chosen_context().as_ref(),
        values.registry.is_some(),
    );
    check_stack_here(&settings.sources, &values, images, &settings.image_sources)?;
    let mut progress = DeployProgress::new(printer);
    let result = pipeline::deploy_values(
        client,
        values,
        ctx,
        images,
        &settings.image_sources,
        &printer.images_progress(),
        &settings.options,
        &mut |event| progress.event(event),
    )
    .await;
    progress.finish();
    let release = crate::apply::Release::new(&ctx.release, &ctx.namespace);
    let outcome = report::deploy_outcome(
        printer,
        &release,
        &result?,
        settings.cluster.is_minikube(),
        open.as_deref(),
    );
    match opened {
        Some(values) if outcome == Outcome::Success => {
            super::open::serve(printer, client.clone(), &release, values, &[]).await
        }
        _ => Ok(outcome),
    }
}
