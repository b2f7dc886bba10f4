//! Output: data to stdout, messages to stderr; no colour when `NO_COLOR` is set
//! or stderr is not a terminal. A closed stdout (`berth render | head`) is not an error.

use std::io::{IsTerminal, Write};

/// Writes data to stdout.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A progress or status message, on stderr.
pub fn status(message: &str) {
    eprintln!("{message}");
}

/// Whether stderr may carry colour.
pub fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Prints an error and its causes, one line each.
pub fn print_error(err: &anyhow::Error) {
    let label = if colour_enabled() {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    eprintln!("{label}: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// True when the error is stdout being closed by its reader.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
