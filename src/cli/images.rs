//! `berth images build|load|push`: clap definitions and the step that turns them into
//! [`berth::images`](crate::images) settings before any work starts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::{Outcome, ValuesArgs};
use crate::images::{self, BuildSettings, LoadSettings, Platform, PushSettings, TargetKind};
use crate::manifests::build_env::build_envs;
use crate::ui::Printer;
use crate::values::{self, ProcessEnv};

/// Build OCI images without Docker, side-load them into the cluster, or push them.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the images in images/*.toml into OCI archives (one <image>.tar per image).
    Build(BuildArgs),
    /// Side-load built archives into the cluster node's runtime, skipping images it has.
    Load(LoadArgs),
    /// Push built images to a registry (blobs it already has are skipped).
    Push(PushArgs),
}

/// Where specs, archives and the cache are: shared by all image commands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Repository root; spec contexts are relative to it [default: the directory holding
    /// SPECS_DIR when it is given, else the current directory].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Directory holding the image specs [default: ROOT/images].
    #[arg(long)]
    pub specs_dir: Option<PathBuf>,
    /// Directory for archives and build records [default: CACHE_DIR/images].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Cache directory for blobs and build steps.
    #[arg(long, env = "BERTH_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// What goes into a build.
#[derive(Debug, Args)]
pub struct BuildFlags {
    /// Target platform; several, comma-separated (linux/amd64,linux/arm64), build an OCI image index.
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Fetch a registry's images from elsewhere, e.g. docker.io=http://127.0.0.1:5000 (repeatable).
    #[arg(long = "registry-mirror", value_name = "REGISTRY=URL")]
    pub registry_mirrors: Vec<String>,
    /// Timestamp for files, config and labels.
    #[arg(long, env = "SOURCE_DATE_EPOCH", default_value_t = 0)]
    pub source_date_epoch: u64,
    /// Value for the org.opencontainers.image.revision label [default: git HEAD of ROOT; "" for none].
    #[arg(long)]
    pub revision: Option<String>,
    /// Build value for {NAME} placeholders in build steps, e.g. flavour=slim (repeatable).
    /// Variables a build reads belong in the stack: components.NAME.image.buildEnv.
    #[arg(long = "build-value", value_name = "NAME=VALUE")]
    pub build_values: Vec<String>,
}

/// `berth images build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Components to build (spec names); all when none are given.
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,
    /// Check the specs without building: placeholders, inputs, copy paths, `$VAR`s in env and
    /// the host tools (nothing is pulled, run or written).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub build: BuildFlags,
    #[command(flatten)]
    pub common: CommonArgs,
    // The stack's values (berth.yaml, -f, --set): each image's buildEnv comes from them,
    // resolved as a deploy resolves it.
    #[command(flatten)]
    pub values: ValuesArgs,
}

/// `--target` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TargetArg {
    /// Detect Minikube, kind or a local containerd.
    Auto,
    /// A Minikube profile's nodes.
    Minikube,
    /// containerd on this host.
    Containerd,
    /// kind node containers.
    Kind,
    /// The local Docker daemon.
    Docker,
}

/// `berth images load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Components to load; all when none are given.
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,
    /// Where to load.
    #[arg(long, value_enum, default_value = "auto")]
    pub target: TargetArg,
    /// containerd socket (implies --target containerd under auto).
    #[arg(long)]
    pub containerd_socket: Option<PathBuf>,
    /// containerd namespace the kubelet uses.
    #[arg(long, default_value = "k8s.io")]
    pub containerd_namespace: String,
    /// containerd snapshotter to unpack into [default: containerd's; overlayfs for kind].
    #[arg(long)]
    pub snapshotter: Option<String>,
    /// Minikube profile [default: the active one].
    #[arg(long)]
    pub minikube_profile: Option<String>,
    /// kind cluster name.
    #[arg(long)]
    pub kind_cluster: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `berth images push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Registry to push to: host[:port][/prefix], optionally http:// or https:// (loopback defaults to http).
    pub registry: String,
    /// Components to push; all when none are given.
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Run an images command; one line of data per image on stdout.
pub async fn run(command: ImagesCommand, printer: &Printer) -> Result<Outcome> {
    let progress = printer.images_progress();
    let lines: Vec<String> = match command {
        ImagesCommand::Build(args) if args.dry_run => {
            let settings = build_settings(&args.common, &args.components, Some(&args.build))?;
            let checked = images::check::dry_run(&settings).context("berth images build")?;
            checked
                .iter()
                .map(|c| {
                    let tools: Vec<String> = c.tools.iter().map(|(n, a)| a.describe(n)).collect();
                    format!(
                        "{}\t{}\tlayers: {}\ttools: {}",
                        c.name,
                        c.what,
                        if c.layers.is_empty() {
                            "-".to_owned()
                        } else {
                            c.layers.join("; ")
                        },
                        if tools.is_empty() {
                            "-".to_owned()
                        } else {
                            tools.join("; ")
                        }
                    )
                })
                .collect()
        }
        ImagesCommand::Build(args) => {
            let mut settings = build_settings(&args.common, &args.components, Some(&args.build))?;
            // Bad values exit 2 before anything is built; secrets are not needed here.
            let values = values::load_unchecked_secrets(&args.values.sources(), &ProcessEnv)?;
            settings.build_env = build_envs(&values);
            let built = images::build(&settings, &progress)
                .await
                .context("berth images build")?;
            built
                .iter()
                .map(|image| {
                    format!(
                        "{}\t{}\t{}",
                        image.reference,
                        image.manifest_digest,
                        image.archive.display()
                    )
                })
                .collect()
        }
        ImagesCommand::Load(args) => {
            let settings = build_settings(&args.common, &args.components, None)?;
            let built = images::read_built(&settings).context("berth images load")?;
            // Loading runs the node's runtime tools as processes.
            let reports = tokio::task::block_in_place(|| {
                images::load(&load_settings(&args), &built, &progress)
            })
            .context("berth images load")?;
            reports
                .iter()
                .map(|r| {
                    let outcome = &r.outcome;
                    format!("{}\t{}\t{}", r.reference, r.target, outcome)
                })
                .collect()
        }
        ImagesCommand::Push(args) => {
            let settings = build_settings(&args.common, &args.components, None)?;
            let built = images::read_built(&settings).context("berth images push")?;
            let push = PushSettings {
                registry: args.registry.clone(),
                registry_settings: settings.registry.clone(),
            };
            let reports = images::push(&push, &settings, &built, &progress)
                .await
                .context("berth images push")?;
            reports
                .iter()
                .map(|r| {
                    format!(
                        "{}@{}\t{}/{} blobs uploaded",
                        r.reference, r.digest, r.uploaded_blobs, r.total_blobs
                    )
                })
                .collect()
        }
    };
    printer.data(&lines.iter().map(|l| format!("{l}\n")).collect::<String>())?;
    Ok(Outcome::Success)
}

/// Turn the flags into [`BuildSettings`]; without build flags (load, push) only the paths
/// matter, since those commands read what a build recorded.
pub fn build_settings(
    common: &CommonArgs,
    components: &[String],
    build: Option<&BuildFlags>,
) -> Result<BuildSettings> {
    // Contexts are relative to the directory holding images/ (where berth.yaml is).
    let root = match (&common.root, &common.specs_dir) {
        (Some(root), _) => root.clone(),
        (None, Some(specs)) => std::path::absolute(specs)
            .ok()
            .and_then(|s| s.parent().map(std::path::Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from(".")),
        (None, None) => PathBuf::from("."),
    };
    let mut settings = BuildSettings::new(&root);
    if let Some(dir) = &common.cache_dir {
        settings.cache_dir = dir.clone();
        settings.out_dir = dir.join("images");
    }
    if let Some(out) = &common.out {
        settings.out_dir = out.clone();
    }
    if let Some(specs) = &common.specs_dir {
        settings.specs_dir = specs.clone();
    }
    settings.only = components.to_vec();
    if let Some(build) = build {
        apply_build_flags(&mut settings, build)?;
    }
    Ok(settings)
}

fn apply_build_flags(settings: &mut BuildSettings, build: &BuildFlags) -> Result<()> {
    settings.platforms = Platform::parse_list(&build.platform).map_err(anyhow::Error::msg)?;
    settings
        .registry
        .mirrors
        .extend(super::settings::registry_mirrors(&build.registry_mirrors)?);
    settings.source_date_epoch = build.source_date_epoch;
    settings.revision = match &build.revision {
        Some(r) if r.is_empty() => None,
        Some(r) => Some(r.clone()),
        None => git_head(&settings.root),
    };
    settings.build_values = parse_pairs(&build.build_values)?;
    Ok(())
}

fn parse_pairs(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        let Some((k, v)) = pair.split_once('=') else {
            bail!("--build-value {pair:?} must be NAME=VALUE");
        };
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok(map)
}

fn git_head(root: &std::path::Path) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn load_settings(args: &LoadArgs) -> LoadSettings {
    LoadSettings {
        target: match args.target {
            TargetArg::Auto => TargetKind::Auto,
            TargetArg::Minikube => TargetKind::Minikube,
            TargetArg::Containerd => TargetKind::Containerd,
            TargetArg::Kind => TargetKind::Kind,
            TargetArg::Docker => TargetKind::Docker,
        },
        containerd_socket: args.containerd_socket.clone(),
        containerd_namespace: args.containerd_namespace.clone(),
        snapshotter: args.snapshotter.clone(),
        minikube_profile: args.minikube_profile.clone(),
        kind_cluster: args.kind_cluster.clone(),
    }
}
