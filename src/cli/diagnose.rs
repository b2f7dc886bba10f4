//! `berth diagnose [COMPONENT]`: why the release is not healthy, ranked root
//! causes with hints. Exit 0 when healthy, 1 when not.

use clap::{Args, ValueEnum};

use super::cluster_args::TargetArgs;
use super::{Outcome, hints, settings};
use crate::operate::diagnose::{self, Diagnosis};
use crate::ui::{Printer, Verbosity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Only this component (its name in the values); default: the whole release.
    pub component: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format: text for people, json for scripts and agents.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: DiagnoseArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let component = args.component.as_deref();
    let mut diagnosis = args
        .target
        .cluster
        .run(printer, |connection| async move {
            Ok(diagnose::run(&connection.client, release, component).await?)
        })
        .await?;
    hints::fill_diagnosis_hints(&mut diagnosis, args.target.cluster.is_minikube());
    match args.format {
        Format::Json => {
            printer.data(&format!("{}\n", serde_json::to_string_pretty(&diagnosis)?))?
        }
        Format::Text => {
            printer.data(&text(&diagnosis, printer.verbosity() >= Verbosity::Verbose))?
        }
    }
    Ok(if diagnosis.healthy {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The diagnosis in words: state, then evidence, then ranked causes.
/// Normal (informational) Events only when `all_events`.
pub fn text(d: &Diagnosis, all_events: bool) -> String {
    let scope = match &d.component {
        Some(c) => format!("component {c} of release {}", d.release),
        None => format!("release {}", d.release),
    };
    let verdict = if d.healthy { "healthy" } else { "NOT healthy" };
    let mut out = format!("{scope} in namespace {}: {verdict}\n", d.namespace);
    out.push_str("\nworkloads:\n");
    if d.workloads.is_empty() {
        out.push_str("  none found\n");
    }
    for w in &d.workloads {
        let done = if w.rolled_out {
            "rolled out"
        } else {
            "rolling out"
        };
        out.push_str(&format!(
            "  {:<12} {:<34} {} ({done})\n",
            w.kind, w.name, w.summary
        ));
    }
    out.push_str("\npods:\n");
    if d.pods.is_empty() {
        out.push_str("  none\n");
    }
    for p in &d.pods {
        let node = p
            .node
            .as_ref()
            .map(|n| format!(" on {n}"))
            .unwrap_or_else(|| " (not scheduled)".into());
        out.push_str(&format!(
            "  {} [{}] {}{node}\n",
            p.name, p.component, p.phase
        ));
        for c in &p.conditions {
            let reason = c.reason.as_deref().unwrap_or_default();
            let message = c
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "    condition {}={} {reason}{message}\n",
                c.type_, c.status
            ));
        }
        for c in &p.containers {
            let what = if c.task { "task" } else { "container" };
            let ready = if c.ready { "ready" } else { "not ready" };
            let reason = c
                .reason
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default();
            let last = c
                .last_termination
                .as_ref()
                .map(|t| {
                    let reason = t
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    format!(", last exit {}{reason}", t.exit_code)
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "    {what} {}: {}{reason}, {ready}, {} restarts{last}\n",
                c.name, c.state, c.restarts
            ));
            if let Some(message) = c.message.as_deref().filter(|m| !m.is_empty()) {
                out.push_str(&format!("      {message}\n"));
            }
            if !c.previous_logs.is_empty() {
                out.push_str("      previous instance's last log lines:\n");
                for line in &c.previous_logs {
                    out.push_str(&format!("      | {line}\n"));
                }
            }
        }
    }
    let no_endpoints: Vec<&str> = d
        .services
        .iter()
        .filter(|s| s.ready_endpoints == 0)
        .map(|s| s.name.as_str())
        .collect();
    if !no_endpoints.is_empty() {
        out.push_str(&format!(
            "\nservices without ready endpoints: {}\n",
            no_endpoints.join(", ")
        ));
    }
    if !d.unbound_claims.is_empty() {
        out.push_str("\nunbound volume claims:\n");
        for c in &d.unbound_claims {
            let class = c.storage_class.as_deref().unwrap_or("(default class)");
            let waits = if c.waits_for_consumer {
                ", binds when its pod is scheduled"
            } else {
                ""
            };
            out.push_str(&format!("  {} {} class {class}{waits}\n", c.name, c.phase));
        }
    }
    let (shown, hidden): (Vec<_>, Vec<_>) = d
        .events
        .iter()
        .partition(|e| all_events || e.type_ != "Normal");
    if !shown.is_empty() {
        out.push_str("\nrecent events (deduplicated, oldest first):\n");
        for e in shown {
            let count = if e.count > 1 {
                format!(" ×{}", e.count)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {} {} {}{count}: {}\n",
                e.type_, e.object, e.reason, e.message
            ));
        }
    }
    if !hidden.is_empty() {
        out.push_str(&format!(
            "({} normal events not shown; -v shows them)\n",
            hidden.len()
        ));
    }
    if d.causes.is_empty() {
        if !d.healthy {
            out.push_str(
                "\nno root cause found yet: the rollout may still be in progress (berth status)\n",
            );
        }
        return out;
    }
    out.push_str("\nroot causes, most likely first:\n");
    for c in &d.causes {
        let message = c.message.replace('\n', "\n     ");
        out.push_str(&format!("  {}. {message}\n", c.rank));
        if let Some(hint) = &c.hint {
            out.push_str(&format!("     hint: {hint}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnose_text() {
        let mut d = diagnose::example();
        hints::fill_diagnosis_hints(&mut d, true);
        insta::assert_snapshot!("diagnose_text", text(&d, false));
    }
}
