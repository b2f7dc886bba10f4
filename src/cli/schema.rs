//! `berth schema`: the generated JSON Schema of the values.

use crate::cli::Outcome;
use crate::ui;
use crate::values::schema::values_schema_pretty;

pub fn run() -> anyhow::Result<Outcome> {
    ui::write_stdout(&values_schema_pretty())?;
    Ok(Outcome::Success)
}
