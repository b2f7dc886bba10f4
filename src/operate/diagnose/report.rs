//! What `diagnose` reports: the release's state and its ranked root causes.

use super::*;

/// Everything `diagnose` found, most important cause first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub release: String,
    pub namespace: String,
    /// The component asked about; none for the whole release.
    pub component: Option<String>,
    /// Every workload rolled out and no root cause found.
    pub healthy: bool,
    pub workloads: Vec<WorkloadState>,
    pub pods: Vec<PodState>,
    /// Claims that are not Bound.
    pub unbound_claims: Vec<ClaimState>,
    /// Every Service that selects pods, with its endpoint counts.
    pub services: Vec<ServiceState>,
    /// Recent Events about the release's objects, deduplicated, oldest first.
    pub events: Vec<EventSummary>,
    /// Ranked root causes (rank 1 first).
    pub causes: Vec<RootCause>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadState {
    pub component: String,
    pub kind: String,
    pub name: String,
    pub rolled_out: bool,
    /// `1/2 ready, 1 updated`.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodState {
    pub name: String,
    pub component: String,
    pub phase: String,
    pub node: Option<String>,
    /// Conditions that are not True (a healthy pod has none here).
    pub conditions: Vec<PodCondition>,
    /// Tasks (init containers) first, then the containers.
    pub containers: Vec<ContainerState>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub name: String,
    /// An init container: a task that runs before the others start.
    pub task: bool,
    pub ready: bool,
    pub restarts: i32,
    /// `running`, `waiting`, `terminated` or `unknown`.
    pub state: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_termination: Option<Termination>,
    /// The last lines of the previous (crashed) instance, when the node serves them.
    pub previous_logs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    pub exit_code: i32,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimState {
    pub name: String,
    pub phase: String,
    pub storage_class: Option<String>,
    /// Its class binds only once a pod using it is scheduled.
    pub waits_for_consumer: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    pub name: String,
    pub ready_endpoints: usize,
    pub not_ready_endpoints: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    /// `Pod/web-1`.
    pub object: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// How often it happened (summed over duplicates).
    pub count: i32,
    pub last_seen: Option<String>,
}

/// One thing that keeps the release from being healthy.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(
    tag = "finding",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Finding {
    /// The readiness analysis' cause for a workload (what a deploy's wait reports).
    NotReady { object: String, cause: Cause },
    /// A claim is not bound and its pod needs it.
    UnboundClaim { claim: String, phase: String },
    /// The kubelet reports probe failures for a pod that is not ready.
    ProbeFailing {
        pod: String,
        message: String,
        count: i32,
    },
    /// A task (init container) has not finished, so its pod's containers wait.
    TaskPending {
        pod: String,
        task: String,
        state: String,
    },
    /// A Service selects no ready pod: requests to it fail.
    NoEndpoints { service: String },
}

impl Finding {
    /// Lower is more fundamental: what blocks pods from existing, then from
    /// starting, then from serving, then what merely follows from those.
    pub(super) fn weight(&self) -> u8 {
        match self {
            Finding::NotReady { cause, .. } => match cause {
                Cause::CannotCreate { .. } => 0,
                Cause::Unschedulable { .. } => 1,
                Cause::ClaimPending { .. } => 2,
                Cause::ImagePull { .. } => 3,
                Cause::ContainerConfig { .. } => 4,
                Cause::OutOfMemory { .. } => 5,
                Cause::CrashLoop { .. } => 6,
                Cause::NeverReady { .. } => 7,
            },
            Finding::UnboundClaim { .. } => 2,
            Finding::ProbeFailing { .. } => 8,
            Finding::TaskPending { .. } => 9,
            Finding::NoEndpoints { .. } => 10,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::NotReady { object, cause } => write!(f, "{object} is not ready: {cause}"),
            Finding::UnboundClaim { claim, phase } => {
                write!(f, "PersistentVolumeClaim {claim} is {phase}, not Bound")
            }
            Finding::ProbeFailing {
                pod,
                message,
                count,
            } => write!(f, "pod {pod}: probe failing ({count}×): {message}"),
            Finding::TaskPending { pod, task, state } => {
                write!(f, "pod {pod}: task {task} has not finished ({state})")
            }
            Finding::NoEndpoints { service } => {
                write!(f, "Service {service} has no ready endpoints")
            }
        }
    }
}

/// A ranked finding; `hint` is filled by the caller that words advice (the CLI).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RootCause {
    pub rank: usize,
    pub message: String,
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}
