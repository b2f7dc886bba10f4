//! `berth schema`: the generated JSON Schema of the values.

use crate::cli::Outcome;
use crate::ui::Printer;
use crate::values::schema::values_schema_pretty;

pub fn run(printer: &Printer) -> anyhow::Result<Outcome> {
    printer.data(&values_schema_pretty())?;
    Ok(Outcome::Success)
}
