//! Output: data to stdout, messages and progress to stderr. No colour when
//! `NO_COLOR` is set or stderr is not a terminal; no live progress when
//! stderr is not a terminal, with `--no-progress` or `--quiet`. A closed
//! stdout (`berth render | head`) is not an error.

mod progress;

use std::io::{IsTerminal, Write};

pub use progress::LiveLines;

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only (`--quiet`).
    Quiet,
    Normal,
    /// Also details (`-v`).
    Verbose,
}

/// Where every message and every byte of data goes.
#[derive(Debug, Clone)]
pub struct Printer {
    verbosity: Verbosity,
    colour: bool,
    live: bool,
}

impl Printer {
    /// A printer for this process's terminal (or pipe).
    pub fn new(verbosity: Verbosity, no_progress: bool) -> Self {
        Printer {
            verbosity,
            colour: colour_enabled(),
            live: verbosity != Verbosity::Quiet
                && !no_progress
                && std::io::stderr().is_terminal()
                && !dumb_terminal(),
        }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether bars and spinners may be drawn.
    pub fn live(&self) -> bool {
        self.live
    }

    /// A message on stderr, unless quiet.
    pub fn status(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            write_stderr(message);
        }
    }

    /// A detail on stderr, with `-v` only.
    pub fn detail(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            write_stderr(message);
        }
    }

    /// `hint: …`, what the user can do; unless quiet.
    pub fn hint(&self, hint: &str) {
        self.status(&format!("hint: {hint}"));
    }

    /// A failure that is an outcome, not a crash (`error: … is not ready`); always shown.
    pub fn failure(&self, message: &str) {
        write_stderr(&format!("{}: {message}", self.label()));
    }

    /// Data on stdout.
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// An error with its causes, one line each, then its hint; always shown.
    pub fn error(&self, err: &anyhow::Error, hint: Option<&str>) {
        let messages = error_messages(err);
        write_stderr(&format!("{}: {}", self.label(), messages[0]));
        for cause in &messages[1..] {
            write_stderr(&format!("  caused by: {cause}"));
        }
        if let Some(hint) = hint {
            write_stderr(&format!("hint: {hint}"));
        }
    }

    /// How the image pipeline reports: step lines unless `--quiet`, byte bars when live.
    pub fn images_progress(&self) -> crate::images::Progress {
        crate::images::Progress::new(progress::image_reporter(
            self.live,
            self.verbosity == Verbosity::Quiet,
        ))
    }

    /// One live line per key (spinners) when live, else plain lines.
    pub fn live_lines(&self) -> LiveLines {
        LiveLines::new(self.live, self.verbosity == Verbosity::Quiet)
    }

    fn label(&self) -> &'static str {
        if self.colour {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        }
    }
}

/// An error's messages, outermost first, down to a client error its wrapper
/// already words: berth says what the API server answered and to which
/// request, so kube's own rendering of it (a debug dump) adds nothing.
pub fn error_messages(err: &anyhow::Error) -> Vec<String> {
    let mut messages: Vec<String> = Vec::new();
    for cause in err.chain() {
        if let Some(wrapper) = messages.last()
            && already_worded(wrapper, cause)
        {
            break;
        }
        messages.push(cause.to_string());
    }
    messages
}

fn already_worded(wrapper: &str, cause: &(dyn std::error::Error + 'static)) -> bool {
    match cause.downcast_ref::<kube::Error>() {
        Some(kube::Error::Api(status)) => wrapper.contains(&status.message),
        Some(other) => wrapper.contains(&other.to_string()),
        None => false,
    }
}

/// A message on stderr (for callers without a printer, such as the wizard).
pub fn status(message: &str) {
    write_stderr(message);
}

/// Writes a line to stderr; a closed stderr is not worth a panic.
fn write_stderr(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

fn dumb_terminal() -> bool {
    std::env::var("TERM").is_ok_and(|t| t == "dumb")
}

/// Whether stderr may carry colour.
pub fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
        && !dumb_terminal()
}

/// True when the error is stdout being closed by its reader.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::ApplyError;

    #[test]
    fn an_error_shows_its_causes_but_not_a_client_error_its_wrapper_words() {
        let status = kube::core::Status::failure("configmaps \"b\" is forbidden", "Forbidden")
            .with_code(403)
            .boxed();
        let engine = ApplyError::api("apply", "ConfigMap web/b", kube::Error::Api(status));
        let err = anyhow::Error::new(engine).context("deploying release shop");
        assert_eq!(
            error_messages(&err),
            [
                "deploying release shop",
                "apply ConfigMap web/b: forbidden: configmaps \"b\" is forbidden"
            ]
        );
        // A cause that adds something is still shown.
        let io = std::io::Error::other("disk full");
        let err = anyhow::Error::new(io).context("writing the archive");
        assert_eq!(error_messages(&err), ["writing the archive", "disk full"]);
    }
}
