//! `berth dev`: deploy with the dev profile for the local origin, serve it there like `berth
//! open`, and roll out every edit of a component's build inputs until Ctrl-C. The loop is
//! `dev`'s; this resolves the flags, binds the local ports and prints what the session reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::apply_args::ApplyArgs;
use super::cluster_args::TargetArgs;
use super::images::TargetArg;
use super::{Outcome, ValuesArgs, hints, settings};
use crate::dev::{self, DevEvent, DevSettings};
use crate::images::{LoadSettings, TargetKind};
use crate::manifests::local_ports::EDGE;
use crate::operate::forward::{self, ForwardEvent};
use crate::operate::logs::LogEvent;
use crate::operate::open::{self, nothing_routed, parse_port};
use crate::pipeline::ImageSources;
use crate::ui::Printer;
use crate::values::{self, ProcessEnv, ValuesError};

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Components to watch and roll out (default: every component built from a spec).
    #[arg(value_name = "COMPONENT")]
    pub components: Vec<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Serve COMPONENT at local PORT instead of its default (repeatable), as `berth open`.
    #[arg(long = "port", value_name = "COMPONENT=PORT", value_parser = parse_port)]
    pub ports: Vec<(String, u16)>,
    /// On Ctrl-C, uninstall the release (volumes are kept) instead of leaving it serving.
    #[arg(long)]
    pub down: bool,
    /// Do not stream the watched components' logs.
    #[arg(long)]
    pub no_logs: bool,
    /// Poll for changes (twice a second) instead of waiting for file-system events.
    #[arg(long)]
    pub poll: bool,
    /// Repository root of the image specs [default: the directory holding berth.yaml, else .].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Directory holding the image specs [default: ROOT/images].
    #[arg(long)]
    pub specs_dir: Option<PathBuf>,
    /// Fetch a registry's base images from elsewhere, e.g. docker.io=http://127.0.0.1:5000 (repeatable).
    #[arg(long = "registry-mirror", value_name = "REGISTRY=URL")]
    pub registry_mirrors: Vec<String>,
    /// Where to side-load the images.
    #[arg(long = "load-target", value_enum, default_value = "auto")]
    pub load_target: TargetArg,
    /// containerd socket to side-load into (implies --load-target containerd under auto).
    #[arg(long)]
    pub containerd_socket: Option<PathBuf>,
}

pub async fn run(args: DevArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let mut sources = args.values.sources();
    // Served on localhost: the app is told that origin, as with `berth deploy --open`.
    let local = serde_json::json!({"expose": {"origin": "local", "url": ""}});
    sources.layers.push(("berth dev".into(), local));
    let (mut values, ctx) = settings::load_values(&sources, &args.target.release)?;
    open::override_ports(&mut values, &args.ports)?;
    if let Some(problem) = nothing_routed(&values) {
        return Err(ValuesError::invalid(vec![problem]).into());
    }
    dev::watched_specs(&values, &args.components)?;
    let mirrors = settings::registry_mirrors(&args.registry_mirrors)?;
    let root = settings::specs_root(args.root.as_deref(), sources.stack.as_deref());
    let image_sources = ImageSources {
        root,
        specs_dir: args.specs_dir.clone(),
        mirrors,
        load: LoadSettings {
            target: match args.load_target {
                TargetArg::Auto => TargetKind::Auto,
                TargetArg::Minikube => TargetKind::Minikube,
                TargetArg::Containerd => TargetKind::Containerd,
                TargetArg::Kind => TargetKind::Kind,
                TargetArg::Docker => TargetKind::Docker,
            },
            containerd_socket: args.containerd_socket.clone(),
            ..Default::default()
        },
    };
    let reload_sources = sources.clone();
    let ports = args.ports.clone();
    let settings = DevSettings {
        ctx,
        sources: image_sources,
        reload: Some(Box::new(move || {
            let mut values = values::load(&reload_sources, &ProcessEnv)?;
            open::override_ports(&mut values, &ports)?;
            Ok(values)
        })),
        stack_file: sources.stack.clone(),
        watch: args.components.clone(),
        options: settings::deploy_options(&args.apply, false),
        logs: !args.no_logs,
        poll: args.poll,
    };
    let down = args.down;
    args.target
        .cluster
        .run(printer, |connection| async move {
            let client = connection.client;
            let release =
                crate::apply::Release::new(&settings.ctx.release, &settings.ctx.namespace);
            // The entry is the edge proxy when the render has one.
            let plan = open::plan(&values, &release.name, edge_rendered(&values, &settings));
            // Busy ports are refused before anything is built or written.
            let bound = forward::bind(&plan.forwards).await?;
            printer.status(&format!(
                "berth dev: release {} in namespace {} (context {}), dev profile; Ctrl-C stops",
                release.name, release.namespace, connection.context
            ));
            let shown = printer.clone();
            let urls: Vec<String> = plan
                .forwards
                .iter()
                .map(|f| {
                    let role = if format!("http://localhost:{}", f.port) == plan.origin {
                        " (the app)"
                    } else {
                        ""
                    };
                    format!("http://localhost:{}  {}{role}\n", f.port, f.name)
                })
                .collect();
            let sink: dev::Sink = Arc::new(move |event| show(&shown, &urls, event));
            let stopping = printer.clone();
            let stop = async move {
                let _ = tokio::signal::ctrl_c().await;
                stopping
                    .status("stopping (Ctrl-C again quits at once, leaving the release as it is)");
                // Winding up may restore the last good version, which waits for readiness.
                tokio::spawn(async {
                    let _ = tokio::signal::ctrl_c().await;
                    std::process::exit(130);
                });
            };
            let summary = dev::run(client, settings, values, bound, down, stop, sink).await?;
            printer.status(&format!("stopped: {summary}"));
            Ok(Outcome::Success)
        })
        .await
}

/// Whether the render has an edge proxy (several components routed on a NodePort).
fn edge_rendered(values: &values::Values, settings: &DevSettings) -> bool {
    let rendered = crate::manifests::render(values, &settings.ctx);
    let edge = format!("{}-{EDGE}", settings.ctx.release);
    rendered
        .iter()
        .any(|m| matches!(m, crate::manifests::Manifest::Service(_)) && m.name() == edge)
}

/// Prints one event of the session.
fn show(printer: &Printer, urls: &[String], event: DevEvent) {
    match event {
        DevEvent::Deploying => printer.status("deploying (building every image first)"),
        DevEvent::Deployed { ready, elapsed } => printer.status(&format!(
            "deployed in {}{}",
            dev::timing::seconds(elapsed),
            if ready { "" } else { ", not ready (see above)" }
        )),
        DevEvent::Watching {
            components,
            watches,
            polling,
        } => {
            if let Some(why) = polling {
                printer.status(&format!("warning: {why}; polling for changes every 0.5 s"));
            }
            printer.status(&format!(
                "watching {} ({watches} directories); save a file to roll it out",
                components.join(", ")
            ));
        }
        DevEvent::Serving => {
            for url in urls {
                let _ = printer.data(url);
            }
        }
        DevEvent::Change {
            paths,
            specs,
            values,
        } => {
            let mut what: Vec<String> = paths.iter().take(3).map(|p| shorten(p)).collect();
            if paths.len() > 3 {
                what.push(format!("+{} more", paths.len() - 3));
            }
            let mut rebuild = specs.join(", ");
            if values {
                rebuild = if rebuild.is_empty() {
                    "values".into()
                } else {
                    format!("{rebuild} and values")
                };
            }
            printer.status(&format!("change: {} → {rebuild}", what.join(", ")));
        }
        DevEvent::Unchanged { specs } => printer.status(&format!(
            "{}: the image is the same; nothing to roll out",
            specs.join(", ")
        )),
        DevEvent::Loaded { images } => {
            for (reference, outcome) in images {
                printer.status(&format!("{reference}: {outcome}"));
            }
        }
        DevEvent::Rollout(event) => match event {
            crate::apply::Event::Changed { object, verb } => {
                printer.detail(&format!("{object} {verb}"))
            }
            crate::apply::Event::Rollout { object, summary } => {
                printer.detail(&format!("{object}: {summary}"))
            }
            _ => {}
        },
        DevEvent::Served { revision, phases } => printer.status(&format!(
            "{phases}{}",
            revision
                .map(|r| format!(" [revision {r}]"))
                .unwrap_or_default()
        )),
        DevEvent::Copied {
            component,
            files,
            pods,
        } => printer.detail(&format!(
            "{component}: {files} file{} copied into {pods} running pod{}; reloading",
            if files == 1 { "" } else { "s" },
            if pods == 1 { "" } else { "s" }
        )),
        DevEvent::Recording => {
            printer.status("recording the code copied live as a revision (build and roll out)")
        }
        // The error says what happens instead: a build and a rollout.
        DevEvent::Failed {
            step: "copy",
            error,
        } => printer.failure(&format!("copy failed: {error}")),
        DevEvent::Failed {
            step: "reload",
            error,
        } => {
            printer.failure(&format!("reload failed: {error}"));
            printer.status("the server has the change and did not reload it; fix it and save again");
        }
        DevEvent::Failed { step, error } => {
            printer.failure(&format!("{step} failed: {error}"));
            printer.status("the previous version keeps serving; waiting for the next edit");
        }
        DevEvent::NotReady { object, cause } => {
            printer.failure(&format!("{object} is not ready: {cause}"));
            printer.hint(&hints::for_cause(&cause, "", false));
            printer.status("the previous version keeps serving; waiting for the next edit");
        }
        DevEvent::TimedOut { waiting } => {
            printer.failure(&format!("not ready in time: {}", waiting.join("; ")));
            printer.status("the previous version keeps serving; waiting for the next edit");
        }
        DevEvent::Log(LogEvent::Line(line)) => {
            let _ = printer.data(&format!("{line}\n"));
        }
        DevEvent::Log(LogEvent::Following { pod, container }) => {
            printer.detail(&format!("following {pod}/{container}"))
        }
        DevEvent::Log(LogEvent::Unavailable(u)) => printer.detail(&format!(
            "{}/{}: no logs ({})",
            u.pod, u.container, u.reason
        )),
        DevEvent::Forward(ForwardEvent::Connected { name, pod }) => {
            printer.detail(&format!("{name}: connection → {pod}"))
        }
        DevEvent::Forward(ForwardEvent::Retried { name, pod, error }) => printer.detail(&format!(
            "{name}: {pod} refused ({error}); trying another pod"
        )),
        DevEvent::Forward(ForwardEvent::Failed { name, error }) => printer.status(&format!(
            "{name}: a connection was closed unanswered: {error}"
        )),
        DevEvent::Restoring => {
            printer.status(
            "the last change did not become ready (or was interrupted): restoring the last good version",
        )
        }
        DevEvent::Restarted { component, pods } => printer.status(&format!(
            "{component}: {pods} pod{} restarted, to run the image's files instead of the code copied live",
            if pods == 1 { "" } else { "s" }
        )),
        DevEvent::Uninstalled => printer.status("uninstalled (volumes kept)"),
    }
}

/// A path relative to the current directory when it is under it.
fn shorten(path: &Path) -> String {
    let here = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&here)
        .unwrap_or(path)
        .display()
        .to_string()
}
