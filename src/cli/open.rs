//! `berth open`: the release on localhost, through the API server, until
//! Ctrl-C. The forwards are `operate::forward`'s; this binds them, prints the
//! URLs (stdout) and the connections' trouble (stderr).

use std::sync::Arc;

use clap::Args;

use super::cluster_args::TargetArgs;
use super::{Outcome, settings};

use crate::apply::Release;
use crate::operate::forward::{self, ForwardEvent};
use crate::operate::open::{self, nothing_routed, parse_port};
use crate::ui::Printer;
use crate::values::{Values, ValuesError};

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Serve COMPONENT at local PORT instead of its default (repeatable); the
    /// component routed at `/` (or `edge`) sets the app's origin.
    #[arg(long = "port", value_name = "COMPONENT=PORT", value_parser = parse_port)]
    pub ports: Vec<(String, u16)>,
}

pub async fn run(args: OpenArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let ports = &args.ports;
    args.target
        .cluster
        .run(printer, |connection| async move {
            let client = connection.client;
            let Some(values) = open::deployed_values(&client, release).await? else {
                anyhow::bail!(
                    "release {} has no revision in namespace {}: nothing to open\nhint: deploy it first (berth deploy --open deploys it for http://localhost and opens it), or check -n/--release",
                    release.name,
                    release.namespace
                );
            };
            serve(printer, client, release, values, ports).await
        })
        .await
}

/// Serves `values` deployed as `release` on localhost until Ctrl-C (also
/// the last step of `berth deploy --open`).
pub async fn serve(
    printer: &Printer,
    client: kube::Client,
    release: &Release,
    mut values: Values,
    ports: &[(String, u16)],
) -> anyhow::Result<Outcome> {
    open::override_ports(&mut values, ports)?;
    if let Some(problem) = nothing_routed(&values) {
        return Err(ValuesError::invalid(vec![problem]).into());
    }
    let edge_deployed = open::edge_deployed(&client, release).await?;
    let plan = open::plan(&values, &release.name, edge_deployed);
    let bound = forward::bind(&plan.forwards).await?;
    for forward in &plan.forwards {
        let role = if format!("http://localhost:{}", forward.port) == plan.origin {
            " (the app)"
        } else {
            ""
        };
        printer.data(&format!(
            "http://localhost:{}  {}{role}\n",
            forward.port, forward.name
        ))?;
    }
    if let Some(other) = &plan.configured_for {
        printer.status(&format!(
            "note: the release was deployed for {other}; CORS lists and auth origins derived from it may refuse {}",
            plan.origin
        ));
        printer.hint("deploy it for the local origin: berth deploy --open (expose.origin: local)");
    }
    printer.status(&format!(
        "serving release {} (namespace {}) at {} through the API server; Ctrl-C stops",
        release.name, release.namespace, plan.origin
    ));
    let shown = printer.clone();
    let events: forward::Events = Arc::new(move |event| match event {
        ForwardEvent::Connected { name, pod } => {
            shown.detail(&format!("{name}: connection → {pod}"))
        }
        ForwardEvent::Retried { name, pod, error } => shown.detail(&format!(
            "{name}: {pod} refused ({error}); trying another pod"
        )),
        ForwardEvent::Failed { name, error } => shown.status(&format!(
            "{name}: a connection was closed unanswered: {error}"
        )),
    });
    tokio::select! {
        served = forward::serve(client, &release.namespace, bound, events) => served?,
        _ = tokio::signal::ctrl_c() => printer.status("stopped"),
    }
    Ok(Outcome::Success)
}
