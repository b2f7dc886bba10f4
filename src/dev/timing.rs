//! Per-phase timing of each change (`change → built 0.31 s → loaded 0.42 s → ready 1.9 s →
//! serving`, or for a live change `change → copied 0.12 s → reloaded 1.1 s → serving`) and the
//! session's summary.

use std::fmt;
use std::time::Duration;

/// How long one change took, phase by phase.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// From the first event to the build's start: the debounce (and a rebuild under way).
    pub waited: Duration,
    pub built: Duration,
    pub loaded: Duration,
    /// Applying and waiting until the rollout is ready.
    pub ready: Duration,
    /// A live change ([`super::live`]): `loaded` is the copy into the running containers,
    /// `ready` their reload, and nothing was built.
    pub live: bool,
}

impl Phases {
    /// From the edit to the new version serving.
    pub fn total(&self) -> Duration {
        self.waited + self.built + self.loaded + self.ready
    }
}

impl fmt::Display for Phases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.live {
            return write!(
                f,
                "change → copied {} → reloaded {} → serving ({} after the save)",
                seconds(self.loaded),
                seconds(self.ready),
                seconds(self.total())
            );
        }
        write!(
            f,
            "change → built {} → loaded {} → ready {} → serving ({} after the save)",
            seconds(self.built),
            seconds(self.loaded),
            seconds(self.ready),
            seconds(self.total())
        )
    }
}

/// `0.31 s`, `1.9 s`, `12 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{s:.2} s")
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// What a session did, for the summary on exit.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Changes rolled out and ready.
    pub served: Vec<Phases>,
    /// Changes whose build, load or rollout failed.
    pub failed: usize,
    /// Changes whose images came out the same (nothing rolled out).
    pub unchanged: usize,
}

impl Summary {
    /// The median of one phase over the served changes.
    pub fn median(&self, phase: impl Fn(&Phases) -> Duration) -> Option<Duration> {
        percentile(self.served.iter().map(phase).collect(), 50)
    }
}

/// The `p`th percentile (nearest rank) of `values`.
pub fn percentile(mut values: Vec<Duration>, p: usize) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let rank = (p * values.len()).div_ceil(100).max(1);
    values.get(rank - 1).copied()
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} change{} served, {} failed, {} without an image change",
            self.served.len(),
            if self.served.len() == 1 { "" } else { "s" },
            self.failed,
            self.unchanged
        )?;
        let of = |live: bool, phase: fn(&Phases) -> Duration| {
            let values = self.served.iter().filter(|p| p.live == live).map(phase);
            percentile(values.collect(), 50)
        };
        if let (Some(built), Some(loaded), Some(ready)) = (
            of(false, |p| p.built),
            of(false, |p| p.loaded),
            of(false, |p| p.ready),
        ) {
            write!(
                f,
                "; medians: built {}, loaded {}, ready {}",
                seconds(built),
                seconds(loaded),
                seconds(ready)
            )?;
        }
        if let (Some(copied), Some(reloaded)) = (of(true, |p| p.loaded), of(true, |p| p.ready)) {
            let live = self.served.iter().filter(|p| p.live).count();
            write!(
                f,
                "; {live} live, medians: copied {}, reloaded {}",
                seconds(copied),
                seconds(reloaded)
            )?;
        }
        if let Some(total) = self.median(Phases::total) {
            let p95 =
                percentile(self.served.iter().map(Phases::total).collect(), 95).unwrap_or(total);
            write!(
                f,
                "; save → serving {} (p95 {})",
                seconds(total),
                seconds(p95)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn phases_and_summary_read_as_the_issue_shows_them() {
        let p = Phases {
            waited: ms(100),
            built: ms(310),
            loaded: ms(420),
            ready: ms(1900),
            live: false,
        };
        assert_eq!(
            p.to_string(),
            "change → built 0.31 s → loaded 0.42 s → ready 1.9 s → serving (2.7 s after the save)"
        );
        let mut s = Summary::default();
        assert_eq!(
            s.to_string(),
            "0 changes served, 0 failed, 0 without an image change"
        );
        s.served = (1..=20)
            .map(|i| Phases {
                ready: ms(i * 100),
                ..p
            })
            .collect();
        s.failed = 1;
        assert_eq!(s.median(|p| p.ready), Some(ms(1000)));
        assert_eq!(
            s.to_string(),
            "20 changes served, 1 failed, 0 without an image change; medians: built 0.31 s, loaded 0.42 s, ready 1.0 s; save → serving 1.8 s (p95 2.7 s)"
        );
        assert_eq!(percentile(vec![ms(5)], 95), Some(ms(5)));

        let live = Phases {
            waited: ms(100),
            built: Duration::ZERO,
            loaded: ms(120),
            ready: ms(1100),
            live: true,
        };
        assert_eq!(
            live.to_string(),
            "change → copied 0.12 s → reloaded 1.1 s → serving (1.3 s after the save)"
        );
        s.served = vec![p, live, live];
        s.failed = 0;
        assert_eq!(
            s.to_string(),
            "3 changes served, 0 failed, 0 without an image change; medians: built 0.31 s, loaded 0.42 s, ready 1.9 s; 2 live, medians: copied 0.12 s, reloaded 1.1 s; save → serving 1.3 s (p95 2.7 s)"
        );
    }
}
