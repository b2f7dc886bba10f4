//! `berth init [DIR]`: write `berth.yaml`, `images/<component>.toml` and `berth.env.example`
//! from what the repository holds. On a terminal it asks only what the scan could not decide;
//! with `--yes` or without a terminal it never asks and lists its assumptions on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use crate::init::{self, Answers, Question};
use crate::ui::{self, Printer};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to read (and write into).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Never ask: take the defaults and list the assumptions on stderr.
    #[arg(short, long)]
    pub yes: bool,
    /// Print the files on stdout instead of writing them.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: InitArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let findings = init::scan(&args.dir)?;
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut output = init::generate(&args.dir, &findings, &Answers::default())?;
    if interactive && !output.plan.questions.is_empty() {
        printer.status(&summary(&output.plan));
        let answers = ask(&output.plan.questions)?;
        output = init::generate(&args.dir, &findings, &answers)?;
    }
    let plan = &output.plan;
    if args.dry_run {
        let mut text = String::new();
        for (path, body) in &output.files {
            text.push_str(&format!("# ---- {path}\n{body}"));
        }
        printer.data(&text)?;
    } else {
        init::write_files(&args.dir, &output, args.force)?;
        for (path, body) in &output.files {
            printer.status(&format!(
                "wrote {} ({} lines)",
                args.dir.join(path).display(),
                body.lines().count()
            ));
        }
    }
    for assumption in &plan.assumptions {
        printer.status(&format!("assumed: {assumption}"));
    }
    for item in &plan.left_to_user {
        printer.status(&format!("to do: {item}"));
    }
    if !args.dry_run {
        printer.hint(
            "review berth.yaml, supply the secrets in berth.env.example, then `berth deploy`",
        );
    }
    Ok(Outcome::Success)
}

fn summary(plan: &init::Plan) -> String {
    let names: Vec<&str> = plan
        .components
        .iter()
        .map(|c| c.service.name.as_str())
        .collect();
    format!("found {} component(s): {}", names.len(), names.join(", "))
}

/// Ask each undecided question, with its default first.
fn ask(questions: &[Question]) -> anyhow::Result<Answers> {
    let theme: Box<dyn dialoguer::theme::Theme> = if ui::colour_enabled() {
        Box::new(dialoguer::theme::ColorfulTheme::default())
    } else {
        Box::new(dialoguer::theme::SimpleTheme)
    };
    let mut answers = Answers::default();
    for question in questions {
        match question {
            Question::DatabaseMode { variable } => {
                let choice = dialoguer::Select::with_theme(theme.as_ref())
                    .with_prompt(format!(
                        "{variable} is read but nothing says where the database is"
                    ))
                    .items([
                        "PostgreSQL in the cluster (berth runs it)",
                        "an external PostgreSQL (e.g. Neon): its URL is a secret",
                    ])
                    .default(0)
                    .interact_opt()?;
                let Some(choice) = choice else {
                    anyhow::bail!("interrupted; nothing was written");
                };
                answers.external_database = Some(choice == 1);
            }
        }
    }
    Ok(answers)
}
