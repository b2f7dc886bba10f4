//! Live progress on stderr: on a terminal one spinner line per key (a
//! workload) updated in place with indicatif, otherwise one plain line per
//! change of state; the image pipeline's steps as lines and its transfers as
//! byte bars.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use crate::images::ImageEvent;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Keyed lines that update in place on a terminal.
pub struct LiveLines {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    quiet: bool,
}

impl LiveLines {
    pub(super) fn new(live: bool, quiet: bool) -> Self {
        LiveLines {
            bars: live.then(|| {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                (multi, BTreeMap::new())
            }),
            quiet,
        }
    }

    /// Sets `key`'s line to `state`.
    pub fn set(&mut self, key: &str, state: &str) {
        let Some((multi, bars)) = &mut self.bars else {
            self.line(&format!("{key}: {state}"));
            return;
        };
        let bar = bars.entry(key.to_string()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {prefix} {msg}").expect("valid template"),
            );
            bar.set_prefix(key.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(state.to_string());
    }

    /// A line printed above the live ones.
    pub fn line(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(format!("  {text}"));
            }
            None => super::status(&format!("  {text}")),
        }
    }

    /// Leaves each key's last state on screen.
    pub fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

impl Drop for LiveLines {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Shows the image pipeline's events: a line per step unless `quiet`, a byte
/// bar per transfer when `live`.
pub(super) fn image_reporter(live: bool, quiet: bool) -> impl Fn(ImageEvent) + Send + Sync {
    let bars: Mutex<HashMap<u64, ProgressBar>> = Mutex::default();
    move |event| {
        let mut bars = bars.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match event {
            ImageEvent::Step { image, message } if !quiet => {
                super::status(&format!("{image}: {message}"))
            }
            ImageEvent::Step { .. } => {}
            ImageEvent::TransferStarted { id, label, total } if live => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                ) {
                    bar.set_style(style);
                }
                bar.set_message(label);
                bars.insert(id, bar);
            }
            ImageEvent::TransferStarted { .. } => {}
            ImageEvent::TransferAdvanced { id, bytes } => {
                if let Some(bar) = bars.get(&id) {
                    bar.inc(bytes);
                }
            }
            ImageEvent::TransferEnded { id } => {
                if let Some(bar) = bars.remove(&id) {
                    bar.finish_and_clear();
                }
            }
        }
    }
}
