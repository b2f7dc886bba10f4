//! Errors from loading and validating values. All of them are the user's to fix
//! (exit code 2), and each names where the problem is.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the values, at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path as the user writes it, e.g. `frontend.replicas`.
    pub path: String,
    pub message: String,
    /// How to fix it, when there is something specific to say.
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

/// A list of problems, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    // The io error is part of the message, not a separate cause, so it prints once.
    #[error("cannot read values file {path}: {error}")]
    UnreadableFile {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid YAML in {origin}{}: {message}", line.map(|(l, c)| format!(" at line {l}, column {c}")).unwrap_or_default())]
    InvalidYaml {
        origin: String,
        /// Line and column, when the parser knows them.
        line: Option<(u64, u64)>,
        message: String,
    },
    #[error("{origin} must be a mapping of keys to values at the top level")]
    NotAMapping { origin: String },
    #[error("malformed {flag} `{expr}`: {reason}")]
    MalformedSet {
        flag: &'static str,
        expr: String,
        reason: String,
    },
    #[error("cannot read {flag} file {path} for `{key}`: {error}")]
    UnreadableSetFile {
        flag: &'static str,
        key: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read env file {path}: {message}")]
    UnreadableEnvFile { path: PathBuf, message: String },
    #[error("invalid values:\n{0}")]
    Invalid(Problems),
    #[error("missing required input:\n{0}")]
    Missing(Problems),
}

impl ValuesError {
    pub fn invalid(problems: Vec<Problem>) -> Self {
        ValuesError::Invalid(Problems(problems))
    }
}
