//! The interactive `berth deploy` wizard. It only produces answers — a values
//! layer, secrets, and where to save them; the deploy command does the rest,
//! and writes nothing until the user confirms.

pub mod answers;
pub mod contexts;
pub mod prompts;
pub mod save;

pub use answers::{Answers, DatabaseChoice, ExposeChoice, ImagesChoice, Profile, SecretAnswer};
pub use contexts::{ContextChoice, list_contexts};
pub use prompts::{Prompter, SaveChoice, WizardError, WizardInput};

use std::io::IsTerminal;

/// The wizard runs only with a terminal on stdin and stderr and without `--yes`.
pub fn should_run(yes: bool) -> bool {
    !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
