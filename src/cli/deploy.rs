//! `berth deploy`: render, then apply with the engine and wait for readiness.
//! Never prompts: `--yes` is accepted for scripts and the future wizard.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::apply_args::ApplyArgs;
use super::cluster_args::ClusterArgs;
use super::deploy_images::{self, Images};
use super::prepare::{self, Prepared};
use super::{Outcome, ReleaseArgs, ValuesArgs};
use crate::apply::{self, DeployOptions, DeployReport, Readiness};
use crate::manifests::{self, output};
use crate::ui;
use crate::wizard;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print the objects without contacting the cluster.
    Client,
    /// Ask the API server what would change.
    Server,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
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
    /// Where images come from: built and side-loaded for local clusters by default.
    #[arg(long, value_enum, default_value_t = Images::Auto)]
    pub images: Images,
}

pub fn run(args: DeployArgs) -> anyhow::Result<Outcome> {
    if wizard::should_run(args.yes) && args.dry_run.is_none() {
        return super::deploy_wizard::run(args);
    }
    let (mut values, ctx) = prepare::load(&args.values, &args.release)?;
    if args.dry_run.is_none() {
        deploy_images::run(
            deploy_images::resolve(args.images, &args.cluster),
            &mut values,
        )?;
    }
    if args.dry_run == Some(DryRun::Client) {
        let mut objects = manifests::render(&values, &ctx);
        manifests::redact_secrets(&mut objects);
        ui::write_stdout(&output::to_yaml_stream(&objects))?;
        return Ok(Outcome::Success);
    }
    let cluster = args.cluster.clone();
    cluster.run(|connection| async move {
        let prepared = prepare::prepare(&connection.client, values, &ctx).await?;
        if args.dry_run == Some(DryRun::Server) {
            return super::diff::print_plan(
                &connection.client,
                &prepared,
                false,
                args.apply.force_conflicts,
            )
            .await;
        }
        ui::status(&format!(
            "deploying release {} to namespace {} (context {})",
            prepared.release.name, prepared.release.namespace, connection.context
        ));
        let options = deploy_options(&args, prepared.revision.clone());
        deploy(&connection.client, prepared, &options).await
    })
}

/// The engine's options from the flags.
pub fn deploy_options(
    args: &DeployArgs,
    revision: apply::revision::RevisionContent,
) -> DeployOptions {
    DeployOptions {
        force_conflicts: args.apply.force_conflicts,
        recreate: args.apply.recreate,
        delete_data: args.delete_data,
        wait: args.apply.wait(),
        history_max: args.apply.history_max,
        revision,
        also_owned: vec![],
    }
}

/// Runs the engine and reports the outcome; shared with rollback.
pub async fn deploy(
    client: &kube::Client,
    prepared: Prepared,
    options: &DeployOptions,
) -> anyhow::Result<Outcome> {
    let mut progress = Progress::new();
    let mut report_line = |line: &str| progress.line(line);
    let release = prepared.release.clone();
    let apply = apply::deploy(
        client,
        &prepared.release,
        prepared.objects,
        options,
        &mut report_line,
    );
    // Ctrl-C stops between API calls; the pending revision and the inventory
    // superset are already recorded, so re-running converges.
    let result = tokio::select! {
        result = apply => result,
        _ = tokio::signal::ctrl_c() => {
            progress.finish();
            return Err(interrupted(&release));
        }
    };
    progress.finish();
    Ok(report_outcome(&prepared.release, &result?))
}

fn interrupted(release: &apply::Release) -> anyhow::Error {
    anyhow::anyhow!(
        "interrupted; the release may be partly applied\n\
         hint: run the same `berth deploy` again to resume, or `berth rollback -n {ns} --release {name}` to return to the previous revision",
        ns = release.namespace,
        name = release.name
    )
}

fn report_outcome(release: &apply::Release, report: &DeployReport) -> Outcome {
    match report.revision {
        Some(number) => ui::status(&format!(
            "revision {number}: {} created, {} configured, {} recreated, {} unchanged, {} pruned",
            report.created.len(),
            report.updated.len(),
            report.recreated.len(),
            report.unchanged,
            report.pruned.len()
        )),
        None => ui::status(&format!(
            "no changes: {} objects unchanged",
            report.unchanged
        )),
    }
    for kept in &report.kept {
        ui::status(&format!("kept {kept}"));
    }
    match &report.readiness {
        Readiness::Ready => {
            ui::status(&format!("release {} is ready", release.name));
            Outcome::Success
        }
        Readiness::Failed {
            object,
            reason,
            hint,
        } => {
            ui::status(&format!("error: {object} is not ready: {reason}"));
            if let Some(hint) = hint {
                ui::status(&format!("hint: {hint}"));
            }
            Outcome::Failed
        }
        Readiness::TimedOut { waiting } => {
            ui::status("error: timed out waiting for readiness:");
            for line in waiting {
                ui::status(&format!("  {line}"));
            }
            ui::status(
                "hint: berth status shows the current state; raise --timeout if the images are slow to pull",
            );
            Outcome::Failed
        }
    }
}

/// Deploy progress: on a terminal a live line per workload (indicatif),
/// otherwise one plain line per state change.
struct Progress {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
}

impl Progress {
    fn new() -> Self {
        let live =
            std::io::stderr().is_terminal() && std::env::var_os("BERTH_NO_PROGRESS").is_none();
        Progress {
            bars: live.then(|| (MultiProgress::new(), BTreeMap::new())),
        }
    }

    /// `Object: state` lines update the object's bar; others print above the bars.
    fn line(&mut self, line: &str) {
        let Some((multi, bars)) = &mut self.bars else {
            ui::status(&format!("  {line}"));
            return;
        };
        match line.split_once(": ") {
            Some((object, state)) => {
                let bar = bars.entry(object.to_string()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {prefix} {msg}")
                            .expect("valid template"),
                    );
                    bar.set_prefix(object.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(state.to_string());
            }
            None => {
                let _ = multi.println(format!("  {line}"));
            }
        }
    }

    /// Leaves each workload's last state on screen.
    fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}
