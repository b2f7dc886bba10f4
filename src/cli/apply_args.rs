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

/// Parses durations as kubectl and Helm write them (Go's `5m30s`, `1h2m`, `1.5h`, `300ms`),
/// jiff's friendly forms (`2h 30m`) or plain seconds (`90`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration like 90s, 5m30s or 1h2m");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| invalid());
    }
    let signed: jiff::SignedDuration = text.trim().parse().map_err(|_| invalid())?;
    Duration::try_from(signed).map_err(|_| format!("`{text}` must not be negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("5m30s"), Ok(Duration::from_secs(330)));
        assert_eq!(parse_duration("1h2m"), Ok(Duration::from_secs(3720)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5x", "m5", "-1m", "5 parsecs"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
