//! Flags shared by every command that renders: where values come from, and
//! which release and namespace they are for.

use std::path::PathBuf;

use clap::Args;

use crate::values::ValueSources;

#[derive(Debug, Clone, Args)]
pub struct ValuesArgs {
    /// Values file layered over the defaults (and ./berth.yaml, a team's stack, when
    /// present); repeatable, right-most wins.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value: KEY=VALUE[,KEY=VALUE]; repeatable, right-most wins.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Set a value that is always a string.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set a value from a file's content (the way to pass a secret on the command line).
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Read secrets (each secret's `fromEnv` variable) from a dotenv file.
    #[arg(long = "env-file", value_name = "PATH")]
    pub env_file: Option<PathBuf>,
}

impl ValuesArgs {
    pub fn sources(&self) -> ValueSources {
        ValueSources {
            stack: crate::values::load::stack_file_here(),
            files: self.files.clone(),
            layers: Vec::new(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_file: self.set_file.clone(),
            env_file: self.env_file.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReleaseArgs {
    /// Release name: prefix of every object name and the `instance` label [default: the
    /// stack's appName, todo-chatbot for the embedded example].
    #[arg(long, env = "BERTH_RELEASE")]
    pub release: Option<String>,
    /// Namespace (default: namespace.name from the values).
    #[arg(short = 'n', long, env = "BERTH_NAMESPACE")]
    pub namespace: Option<String>,
}
