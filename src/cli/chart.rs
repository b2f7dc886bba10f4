//! `berth chart export`: write a Helm chart equivalent to berth's render.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::Outcome;
use crate::chart::{self, ChartSettings};
use crate::ui::Printer;

#[derive(Debug, Args)]
pub struct ChartArgs {
    #[command(subcommand)]
    pub command: ChartCommand,
}

#[derive(Debug, Subcommand)]
pub enum ChartCommand {
    /// Write a Helm chart that renders the same objects as berth (and optionally a .tgz).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to write into: the chart goes to DIR/<name>/ (replacing an earlier
    /// export), the package to DIR/<name>-<version>.tgz.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Chart version (SemVer); default: berth's version.
    #[arg(long, value_name = "X")]
    pub chart_version: Option<String>,
    /// Also write a deterministic package (same input, same bytes) that `helm install` accepts.
    #[arg(long)]
    pub package: bool,
}

/// Export settings resolved from flags and the environment.
struct ExportSettings {
    chart: ChartSettings,
    out: PathBuf,
    /// Modification time of the package's entries: `SOURCE_DATE_EPOCH`, or 0.
    package_mtime: Option<u64>,
}

impl ExportSettings {
    fn resolve(args: ExportArgs) -> anyhow::Result<Self> {
        let mut chart = ChartSettings {
            // In a team's repository the chart describes its stack.
            stack: crate::values::load::stack_file_here(),
            ..ChartSettings::default()
        };
        if let Some(version) = args.chart_version {
            chart.version = version;
        }
        let package_mtime = if args.package {
            Some(match std::env::var("SOURCE_DATE_EPOCH") {
                Ok(text) if !text.is_empty() => text.trim().parse().with_context(|| {
                    format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds")
                })?,
                _ => 0,
            })
        } else {
            None
        };
        Ok(ExportSettings {
            chart,
            out: args.out,
            package_mtime,
        })
    }
}

pub fn run(args: ChartArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    match args.command {
        ChartCommand::Export(args) => export(ExportSettings::resolve(args)?, printer),
    }
}

fn export(settings: ExportSettings, printer: &Printer) -> anyhow::Result<Outcome> {
    let (identity, files) = chart::chart_files(&settings.chart)?;
    let dir = chart::write_chart(&identity, &files, &settings.out)?;
    printer.status(&format!(
        "wrote chart {} {} ({} files) to {}",
        identity.name,
        identity.version,
        files.len(),
        dir.display()
    ));
    let mut written = vec![dir];
    if let Some(mtime) = settings.package_mtime {
        let package = chart::write_package(&identity, &files, &settings.out, mtime)?;
        printer.status(&format!("packaged {}", package.display()));
        written.push(package);
    }
    let paths: String = written
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    printer.data(&paths)?;
    Ok(Outcome::Success)
}
