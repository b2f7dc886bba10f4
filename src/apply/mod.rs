//! The apply engine: makes a cluster match a list of objects with server-side
//! apply, staged, dry-run first, skipping what did not drift; records an
//! ApplySet-compatible inventory, prunes what is no longer rendered, keeps
//! revisions and waits for readiness with a root cause.
//!
//! It is kind-agnostic: objects arrive as JSON with a stage number; it knows
//! nothing of the application they make up.

pub mod action;
pub mod applied;
pub mod deploy;
pub mod diff;
#[cfg(test)]
mod engine_tests;
pub mod error;
pub mod inventory;
mod listed;
pub mod lock;
pub mod normalize;
pub mod object;
pub mod ownership;
mod parallel;
pub mod payload;
pub mod plan;
pub mod prune;
pub mod readiness;
pub mod revision;
pub mod rollback;
pub mod secrets;
pub mod status;
pub mod uninstall;
pub mod volumes;
pub mod wait;
pub mod watch;

pub use action::{Action, Change, Verb};
pub use deploy::{DeployOptions, DeployReport, deploy, deploy_holding, hold};
pub use error::ApplyError;
pub use inventory::Inventory;
pub use object::{Desired, ObjectKey, from_manifests};
pub use ownership::{FIELD_MANAGER, INSTANCE_LABEL, Ownership};
pub use plan::{Plan, Planned, plan};
pub use readiness::Cause;
pub use revision::{Revision, RevisionContent, list as history};
pub use rollback::{RollbackTarget, rollback_target};
pub use secrets::{existing_secrets, read_secret_keys};
pub use status::{ReleaseStatus, Workload, status};
pub use uninstall::{UninstallReport, uninstall};
pub use wait::{Readiness, wait_ready};

use std::time::Duration;

/// A release: a named set of objects in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Release {
            name: name.into(),
            namespace: namespace.into(),
        }
    }
}

/// What the engine reports while it works; the caller decides how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An object was written (created, updated, recreated, expanded) or pruned.
    Changed { object: String, verb: Verb },
    /// A volume claim's storage request was raised.
    Expanded {
        claim: String,
        from: String,
        to: String,
    },
    /// A workload's rollout changed state (`1/2 ready, 1 updated`).
    Rollout { object: String, summary: String },
    /// Revisions deleted to respect the history limit.
    HistoryTrimmed { revisions: Vec<u32>, keep: usize },
    /// Old revisions could not be deleted (bookkeeping; the deploy stands).
    HistoryKept { error: String },
    /// A watch broke (the API server restarted); the wait resumes from a fresh list.
    WatchInterrupted { why: String },
    /// Time a part of the deploy took (one event per phase, at the end).
    Phase { phase: Phase, elapsed: Duration },
}

/// The parts of a deploy [`Event::Phase`] times, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Values to objects (the caller's part, before the engine).
    Render,
    /// Taking and giving back the release lock.
    Lock,
    /// Reading the inventory, revisions and live objects, dry-runs.
    Compare,
    /// Writing the objects (and waiting for new namespaces to be active).
    Apply,
    /// Deleting what the release no longer renders.
    Prune,
    /// Waiting for readiness.
    Wait,
    /// The revision and the inventory: begun, recorded, trimmed.
    Record,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Render => "render",
            Phase::Lock => "lock",
            Phase::Compare => "compare",
            Phase::Apply => "apply",
            Phase::Prune => "prune",
            Phase::Wait => "wait",
            Phase::Record => "record",
        }
    }
}

/// `berth/<version>`, the ApplySet tooling annotation and revision stamp.
pub fn tooling() -> String {
    format!("berth/{}", env!("CARGO_PKG_VERSION"))
}
