//! `berth deploy` on a terminal: the wizard asks, berth shows the plan and the
//! URL, offers to save the answers, and writes nothing — to the cluster or to
//! disk — until the user confirms; then the same deploy as the scripted path.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;

use super::deploy::{DeploySettings, execute, open_line, report_origin};
use super::{Outcome, settings};
use crate::apply::{self, Verb};
use crate::pipeline::{self, ImagesMode, Prepared};
use crate::ui::Printer;
use crate::values::{self, OverlayEnv, ProcessEnv, ValueSources};
use crate::wizard::{self, ImagesChoice, Prompter, WizardInput, save};

pub async fn run(mut settings: DeploySettings, printer: &Printer) -> anyhow::Result<Outcome> {
    let offered = offered_env(&settings.sources)?;
    let env = OverlayEnv {
        overlay: offered,
        fallback: &ProcessEnv,
    };
    let base = values::load_unchecked_secrets(&settings.sources, &env)?;
    let mut contexts = wizard::list_contexts(settings.cluster.kubeconfig.as_deref());
    if let Some(wanted) = &settings.cluster.context {
        contexts.sort_by_key(|c| &c.name != wanted);
    }
    let prompter = Prompter::default();
    let answers = tokio::task::block_in_place(|| {
        prompter.ask(&WizardInput {
            contexts,
            namespace: settings
                .release
                .namespace
                .clone()
                .unwrap_or_else(|| base.namespace.name.clone()),
            release: settings
                .release
                .release
                .clone()
                .unwrap_or_else(|| base.app_name.clone()),
            base: &base,
            env: &env,
        })
    })?;

    let layer = answers.values_layer()?;
    settings
        .sources
        .layers
        .push(("the wizard's answers".into(), layer.clone()));
    let mut values = values::load_unchecked_secrets(&settings.sources, &env)?;
    for secret in &answers.secrets {
        values.secret_values.set(&secret.name, secret.value.clone());
    }
    let missing = values::missing_secrets(&values);
    if !missing.is_empty() {
        return Err(values::ValuesError::Missing(values::Problems(missing)).into());
    }
    settings.release.release = Some(answers.release.clone());
    settings.release.namespace = Some(answers.namespace.clone());
    let ctx = settings::render_context(&values, &settings.release)?;
    settings.cluster.context = answers.kube_context.clone();
    settings.images = match answers.images {
        ImagesChoice::BuildAndLoad => ImagesMode::Load,
        ImagesChoice::Existing => ImagesMode::Skip,
    };

    let settings = &settings;
    settings
        .cluster
        .run(printer, |connection| async move {
            let client = &connection.client;
            let mut values = values;
            let place = settings.cluster.place(&connection);
            let origin = pipeline::origin::resolve_origin(client, &mut values, &place).await;
            let prepared = pipeline::prepare(client, values.clone(), &ctx).await?;
            let url = open_line(&origin, &values, settings.open).map(|_| origin.url().to_string());
            show_plan(printer, client, &prepared, url.as_deref()).await?;
            report_origin(printer, &origin);
            if !tokio::task::block_in_place(|| {
                confirm_and_save(printer, &prompter, &answers, &layer)
            })? {
                printer.status("not deployed; nothing was written to the cluster");
                return Ok(Outcome::Success);
            }
            execute(printer, client, values, &ctx, settings, &origin).await
        })
        .await
}

/// Asks whether to save the answers and to deploy; saves what was asked.
fn confirm_and_save(
    printer: &Printer,
    prompter: &Prompter,
    answers: &wizard::Answers,
    layer: &serde_json::Value,
) -> anyhow::Result<bool> {
    let choice = prompter.save_choice()?;
    let confirmed = prompter.confirm_apply()?;
    if let Some(path) = &choice.values_file {
        save::write_values_file(answers, layer, path, choice.env_file.as_deref())
            .with_context(|| format!("cannot write {}", path.display()))?;
        printer.status(&format!(
            "saved the answers to {} (no secrets in it)",
            path.display()
        ));
    }
    if let Some(path) = &choice.env_file {
        save::write_env_file(answers, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        printer.status(&format!(
            "saved the secrets to {} (mode 0600); keep it out of git",
            path.display()
        ));
    }
    Ok(confirmed)
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
    printer: &Printer,
    client: &kube::Client,
    prepared: &Prepared,
    url: Option<&str>,
) -> anyhow::Result<()> {
    let plan = apply::plan(client, &prepared.objects, &prepared.release, false).await?;
    printer.status(&format!(
        "\nPlan for release {} in namespace {}:",
        prepared.release.name, prepared.release.namespace
    ));
    for planned in plan.changes() {
        printer.status(&format!(
            "  {:<8} {}",
            planned.action.verb(),
            planned.desired.key
        ));
    }
    for key in &plan.prune {
        printer.status(&format!("  {:<8} {key}", Verb::Prune));
    }
    if plan.is_noop() {
        printer.status("  no changes");
    }
    match url {
        Some(url) => printer.status(&format!("The app will be at {url}\n")),
        None => printer.status(""),
    }
    Ok(())
}
