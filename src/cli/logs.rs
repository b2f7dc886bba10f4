//! `berth logs [COMPONENT] [-f]`: every pod's lines, prefixed `pod/container | `.
//! Exit 1 when no container's logs could be read.

use std::time::Duration;

use clap::Args;

use super::apply_args::parse_duration;
use super::cluster_args::TargetArgs;
use super::{Outcome, settings};
use crate::operate::logs::{self, LogEvent, LogOptions, Unavailable};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only this component's pods (its name in the values); default: every pod of the release.
    pub component: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Keep streaming, and follow the new pods of a rollout (Ctrl-C stops).
    #[arg(short, long)]
    pub follow: bool,
    /// Only lines newer than this (30s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// The previous instance of each container (the one that crashed).
    #[arg(short, long)]
    pub previous: bool,
    /// The last N lines of each container.
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,
}

impl LogsArgs {
    /// The library's options from the flags.
    pub fn options(&self) -> LogOptions {
        LogOptions {
            component: self.component.clone(),
            // Rounded up: `--since 500ms` still asks for the last second.
            since_seconds: self
                .since
                .map(|d| d.as_secs() as i64 + i64::from(d.subsec_nanos() > 0)),
            previous: self.previous,
            tail: self.tail,
        }
    }
}

pub async fn run(args: LogsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let release = &settings::release_of(&args.target.release)?;
    let options = &args.options();
    if args.follow {
        return args
            .target
            .cluster
            .run(printer, |connection| async move {
                let show = |event: LogEvent| match event {
                    LogEvent::Line(line) => {
                        // A closed stdout ends the stream quietly (the reader left).
                        if printer.data(&format!("{line}\n")).is_err() {
                            std::process::exit(0);
                        }
                    }
                    LogEvent::Following { pod, container } => {
                        printer.detail(&format!("following {pod}/{container}"))
                    }
                    LogEvent::Unavailable(u) => printer.status(&unavailable(&u)),
                };
                tokio::select! {
                    done = logs::follow(&connection.client, release, options, show) => done?,
                    _ = tokio::signal::ctrl_c() => {}
                }
                Ok(Outcome::Success)
            })
            .await;
    }
    let fetched = args
        .target
        .cluster
        .run(printer, |connection| async move {
            Ok(logs::fetch(&connection.client, release, options).await?)
        })
        .await?;
    for line in &fetched.lines {
        printer.data(&format!("{line}\n"))?;
    }
    for u in &fetched.unavailable {
        printer.status(&unavailable(u));
    }
    if fetched.containers == 0 {
        printer.status("no pods found for it");
    }
    let read_any = fetched.unavailable.len() < fetched.containers || fetched.containers == 0;
    if !read_any {
        printer.failure("no container's logs could be read");
        printer.hint("the node serves logs of running pods; `berth diagnose` explains pods that never started");
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}

fn unavailable(u: &Unavailable) -> String {
    format!("{}/{}: no logs: {}", u.pod, u.container, u.reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        logs: LogsArgs,
    }

    #[test]
    fn flags_become_the_library_options() {
        let cli = Cli::parse_from([
            "logs",
            "backend",
            "--since",
            "1m30s",
            "--tail",
            "20",
            "--previous",
        ]);
        assert_eq!(
            cli.logs.options(),
            LogOptions {
                component: Some("backend".into()),
                since_seconds: Some(90),
                previous: true,
                tail: Some(20),
            }
        );
        let cli = Cli::parse_from(["logs", "--since", "500ms"]);
        assert_eq!(cli.logs.options().since_seconds, Some(1));
        assert_eq!(cli.logs.options().component, None);
        assert!(Cli::try_parse_from(["logs", "--since", "soon"]).is_err());
    }
}
