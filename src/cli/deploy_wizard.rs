//! `berth deploy` on a terminal: the wizard asks, berth shows the plan and the
//! URL, offers to save the answers, and writes nothing — to the cluster or to
//! disk — until the user confirms.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use super::cluster_args::Explain;
use super::deploy::{DeployArgs, deploy_options};
use super::deploy_images::{self, Images};
use super::{Outcome, prepare};
use crate::apply::{self, Action};
use crate::manifests::RenderContext;
use crate::manifests::exposure::external_url;
use crate::ui;
use crate::values::{self, OverlayEnv, ProcessEnv, ValueSources};
use crate::wizard::{self, ImagesChoice, Prompter, WizardInput, save};

pub fn run(mut args: DeployArgs) -> anyhow::Result<Outcome> {
    let mut sources = args.values.sources();
    let offered = offered_env(&sources)?;
    let env = OverlayEnv {
        overlay: offered,
        fallback: &ProcessEnv,
    };
    let base = values::load_unchecked_secrets(&sources, &env)?;
    let mut contexts = wizard::list_contexts(args.cluster.kubeconfig.as_deref());
    if let Some(wanted) = &args.cluster.context {
        contexts.sort_by_key(|c| &c.name != wanted);
    }
    let prompter = Prompter::default();
    let answers = prompter.ask(&WizardInput {
        contexts,
        namespace: args
            .release
            .namespace
            .clone()
            .unwrap_or_else(|| base.namespace.name.clone()),
        release: args.release.release.clone(),
        base: &base,
        env: &env,
    })?;

    let layer = answers.values_layer()?;
    sources
        .layers
        .push(("the wizard's answers".into(), layer.clone()));
    let mut values = values::load_unchecked_secrets(&sources, &env)?;
    for secret in &answers.secrets {
        values.secret_values.set(&secret.name, secret.value.clone());
    }
    let missing = values::missing_secrets(&values);
    if !missing.is_empty() {
        return Err(values::ValuesError::Missing(values::Problems(missing)).into());
    }
    let ctx = RenderContext::new(&values, &answers.release, Some(&answers.namespace));
    args.cluster.context = answers.kube_context.clone();

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let connection = runtime.block_on(args.cluster.connect())?;
    let explain = Explain::of(&connection);
    let prepared = runtime
        .block_on(async {
            let prepared = prepare::prepare(&connection.client, values.clone(), &ctx).await?;
            show_plan(&connection.client, &prepared, &external_url(&values)).await?;
            anyhow::Ok(prepared)
        })
        .map_err(|err| explain.denied(err))?;

    let choice = prompter.save_choice()?;
    let confirmed = prompter.confirm_apply()?;
    if let Some(path) = &choice.values_file {
        save::write_values_file(&answers, &layer, path, choice.env_file.as_deref())
            .with_context(|| format!("cannot write {}", path.display()))?;
        ui::status(&format!(
            "saved the answers to {} (no secrets in it)",
            path.display()
        ));
    }
    if let Some(path) = &choice.env_file {
        save::write_env_file(&answers, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        ui::status(&format!(
            "saved the secrets to {} (mode 0600); keep it out of git",
            path.display()
        ));
    }
    if !confirmed {
        ui::status("not deployed; nothing was written to the cluster");
        return Ok(Outcome::Success);
    }
    let prepared = if answers.images == ImagesChoice::BuildAndLoad {
        deploy_images::run(Images::Load, &mut values)?;
        runtime
            .block_on(prepare::prepare(&connection.client, values, &ctx))
            .map_err(|err| explain.denied(err))?
    } else {
        prepared
    };
    let options = deploy_options(&args, prepared.revision.clone());
    runtime
        .block_on(super::deploy::deploy(
            &connection.client,
            prepared,
            &options,
        ))
        .map_err(|err| explain.denied(err))
}

/// Secrets to offer: the environment, else `--env-file`, else a `.env` here.
fn offered_env(sources: &ValueSources) -> anyhow::Result<HashMap<String, String>> {
    let path = match &sources.env_file {
        Some(path) => path.clone(),
        None if Path::new(".env").is_file() => ".env".into(),
        None => return Ok(HashMap::new()),
    };
    Ok(values::load::read_env_file(&path)?)
}

/// The objects to create, change and prune, and where the app will be.
async fn show_plan(
    client: &kube::Client,
    prepared: &prepare::Prepared,
    url: &str,
) -> anyhow::Result<()> {
    let plan = apply::plan(client, &prepared.objects, &prepared.release, false).await?;
    ui::status(&format!(
        "\nPlan for release {} in namespace {}:",
        prepared.release.name, prepared.release.namespace
    ));
    for planned in plan.changes() {
        let verb = match &planned.action {
            Action::Create => "create",
            Action::Update => "change",
            Action::Recreate { .. } => "recreate",
            Action::Conflict { .. } => "conflict",
            Action::Unchanged => continue,
        };
        ui::status(&format!("  {verb:<8} {}", planned.desired.key));
    }
    for key in &plan.prune {
        ui::status(&format!("  {:<8} {key}", "prune"));
    }
    if plan.is_noop() {
        ui::status("  no changes");
    }
    ui::status(&format!("The app will be at {url}\n"));
    Ok(())
}
