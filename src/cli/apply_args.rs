//! Flags that shape how the engine applies, shared by `deploy` and `rollback`.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Do not wait for the workloads to become ready.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for readiness (90s, 5m, 1h).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Take over fields another field manager owns.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Delete and re-create objects whose immutable fields change.
    #[arg(long)]
    pub recreate: bool,
    /// Revisions to keep; older ones are deleted (0 keeps all).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history_max: usize,
}

impl ApplyArgs {
    /// How long to wait for readiness; `None` with `--no-wait`.
    pub fn wait(&self) -> Option<Duration> {
        (!self.no_wait).then_some(self.timeout)
    }
}

/// Parses `90s`, `5m`, `1h` or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{text}` is not a duration like 90s, 5m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5 minutes").is_err());
    }
}
