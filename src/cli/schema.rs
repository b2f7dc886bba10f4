//! `berth schema`: the generated JSON Schema of the values, or with `--markdown` the values
//! reference written from it (docs/VALUES.md).

use clap::Args;

use crate::cli::Outcome;
use crate::ui::Printer;
use crate::values::reference::values_reference_markdown;
use crate::values::schema::values_schema_pretty;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the values reference as Markdown instead (docs/VALUES.md).
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: SchemaArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    if args.markdown {
        printer.data(&values_reference_markdown())?;
    } else {
        printer.data(&values_schema_pretty())?;
    }
    Ok(Outcome::Success)
}
