//! `berth render`: print the objects a deploy would apply.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{Outcome, ReleaseArgs, ValuesArgs, settings};
use crate::manifests::{self, output};
use crate::ui::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Write numbered files per kind (00-namespace.yaml, …) into DIR instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Show Secret values instead of a placeholder.
    #[arg(long)]
    pub include_secrets: bool,
}

pub fn run(args: RenderArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (mut values, ctx) = settings::load_values(&args.values.sources(), &args.release)?;
    // Generated secrets are random per run; shown only on request anyway.
    values.fill_generated();
    let mut objects = manifests::render(&values, &ctx);
    if !args.include_secrets {
        manifests::redact_secrets(&mut objects);
    }
    match (&args.output_dir, args.format) {
        (Some(dir), _) => {
            let files = output::write_output_dir(&objects, dir)
                .with_context(|| format!("cannot write manifests to {}", dir.display()))?;
            printer.status(&format!("wrote {} files to {}", files.len(), dir.display()));
        }
        (None, Format::Yaml) => printer.data(&output::to_yaml_stream(&objects))?,
        (None, Format::Json) => printer.data(&output::to_json_list(&objects))?,
    }
    Ok(Outcome::Success)
}
