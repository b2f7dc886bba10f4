//! What keeps a workload from becoming ready, as typed causes (worded by callers).

use super::*;

/// Why a workload cannot become ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
pub enum Cause {
    /// A container's image cannot be pulled (ImagePullBackOff, ErrImagePull, …).
    ImagePull {
        pod: String,
        container: String,
        image: String,
        reason: String,
        message: String,
    },
    /// A container was killed for lack of memory.
    OutOfMemory { pod: String, container: String },
    /// A container keeps crashing; `exit` is its last exit, `logs` its last lines.
    CrashLoop {
        pod: String,
        container: String,
        exit: Option<String>,
        logs: Vec<String>,
    },
    /// The kubelet cannot create a container (a missing Secret or ConfigMap key).
    ContainerConfig {
        pod: String,
        container: String,
        reason: String,
        message: String,
    },
    /// A container runs but its readiness probe never passed within its budget.
    NeverReady {
        pod: String,
        container: String,
        budget_seconds: i64,
    },
    /// No node has room for the pod (the scheduler's message).
    Unschedulable { pod: String, message: String },
    /// The pod waits unscheduled for a claim no volume binds.
    ClaimPending {
        pod: String,
        claim: String,
        pending_seconds: i64,
        class: ClaimClass,
    },
    /// The controller cannot create pods at all (quota, admission).
    CannotCreate {
        message: String,
        blocker: CreateBlocker,
    },
}

/// What refuses pod creation, as far as the message tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum CreateBlocker {
    ResourceQuota,
    PodSecurity,
    Other,
}

impl CreateBlocker {
    pub(super) fn of(message: &str) -> Self {
        if message.contains("quota") {
            CreateBlocker::ResourceQuota
        } else if message.contains("PodSecurity") {
            CreateBlocker::PodSecurity
        } else {
            CreateBlocker::Other
        }
    }
}

impl std::fmt::Display for Cause {
    /// The facts, without advice: `pod web-1: container web keeps crashing (…)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::ImagePull {
                pod,
                image,
                reason,
                message,
                ..
            } => {
                let text =
                    format!("pod {pod}: image {image} cannot be pulled ({reason}) {message}");
                f.write_str(text.trim_end())
            }
            Cause::OutOfMemory { pod, container } => write!(
                f,
                "pod {pod}: container {container} was killed for lack of memory (OOMKilled)"
            ),
            Cause::CrashLoop {
                pod,
                container,
                exit,
                logs,
            } => {
                let exit = exit
                    .as_ref()
                    .map(|e| format!(", last exit code {e}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "pod {pod}: container {container} keeps crashing (CrashLoopBackOff{exit})"
                )?;
                if !logs.is_empty() {
                    f.write_str("; last log lines:")?;
                    for line in logs {
                        write!(f, "\n    | {line}")?;
                    }
                }
                Ok(())
            }
            Cause::ContainerConfig {
                pod,
                container,
                reason,
                message,
            } => write!(
                f,
                "pod {pod}: container {container} cannot be created ({reason}): {message}"
            ),
            Cause::NeverReady {
                pod,
                container,
                budget_seconds,
            } => write!(
                f,
                "pod {pod}: container {container} is running but never became ready within {budget_seconds}s"
            ),
            Cause::Unschedulable { pod, message } => {
                write!(f, "pod {pod}: Unschedulable: {message}")
            }
            Cause::ClaimPending {
                pod,
                claim,
                pending_seconds,
                class,
            } => write!(
                f,
                "pod {pod}: PersistentVolumeClaim {claim} is still Pending after {pending_seconds}s: {class}"
            ),
            Cause::CannotCreate { message, .. } => {
                write!(f, "pods cannot be created: {message}")
            }
        }
    }
}
