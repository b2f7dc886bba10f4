//! `berth doctor`: checks what commonly stops a deploy, before one.
//! Exit 0 when nothing failed (warnings allowed), 1 when a check failed.

use clap::{Args, ValueEnum};

use super::cluster_args::{ClusterArgs, retry_reporter};
use super::{Outcome, ReleaseArgs, ValuesArgs, settings};
use crate::operate::access::access;
use crate::operate::doctor::{self, DoctorInput, DoctorReport, Status};
use crate::ui::Printer;
use crate::values::{self, ProcessEnv};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format: text for people, json for scripts and agents.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: DoctorArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    // Missing secrets are one of the checks, not an error here.
    let mut values = values::load_unchecked_secrets(&args.values.sources(), &ProcessEnv)?;
    values.fill_generated();
    let ctx = settings::render_context(&values, &args.release)?;
    let cluster = access(
        &args.cluster.target(),
        args.cluster.chosen_context(),
        retry_reporter(printer),
    )
    .await;
    let build_tools = doctor::build_tools::uses_here(&values);
    let input = DoctorInput {
        values,
        ctx,
        cluster,
        host_os: std::env::consts::OS.to_string(),
        build_tools,
    };
    let report = doctor::run(&input).await;
    match args.format {
        Format::Json => printer.data(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Text => printer.data(&text(&report))?,
    }
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The report in words: one line per check, its hint below.
pub fn text(report: &DoctorReport) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let mark = match check.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("{mark} {:<15} {}\n", check.id, check.message));
        if let Some(hint) = &check.hint
            && check.status != Status::Pass
        {
            out.push_str(&format!("     {:<15} hint: {hint}\n", ""));
        }
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "\n{} passed, {} warnings, {} failed",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    ));
    out.push_str(if report.ok {
        ": ready to deploy\n"
    } else {
        ": fix the failures above before deploying\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operate::doctor::Check;

    #[test]
    fn doctor_text() {
        let report = DoctorReport {
            release: "todo-chatbot".into(),
            namespace: "todo".into(),
            context: Some("minikube".into()),
            ok: false,
            checks: vec![
                Check {
                    id: "kubeconfig",
                    status: Status::Pass,
                    message: "context `minikube`, server https://192.168.49.2:8443".into(),
                    hint: None,
                },
                Check {
                    id: "metrics-server",
                    status: Status::Fail,
                    message:
                        "autoscaling is on (3 HPAs) but no metrics-server serves metrics.k8s.io"
                            .into(),
                    hint: Some("minikube addons enable metrics-server".into()),
                },
                Check {
                    id: "images",
                    status: Status::Warn,
                    message: "1 of 4 images are not on the minikube node yet: web:1".into(),
                    hint: Some("berth deploy --images load".into()),
                },
            ],
        };
        insta::assert_snapshot!("doctor_text", text(&report));
    }
}
