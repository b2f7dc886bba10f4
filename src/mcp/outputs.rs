//! The structured results of the tools. Library results are returned as the
//! library serializes them; these wrap them in objects (MCP's structured
//! content is an object) and word causes with the CLI's hints.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::apply::{DeployReport, ReleaseStatus, Revision, Verb, wait::Readiness};

/// A reason a workload cannot become ready, and what to do about it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct RootCause {
    /// The workload, e.g. `Deployment todo/todo-chatbot-mcp`.
    pub object: String,
    /// What berth saw, e.g. `pod …: image … cannot be pulled (ImagePullBackOff)`.
    pub cause: String,
    /// The fix, as `berth deploy` words it.
    pub hint: String,
}

/// `render`: the objects a deploy would apply, in apply order, Secrets redacted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RenderOutput {
    pub release: String,
    pub namespace: String,
    /// Kubernetes objects as JSON; Secret values are placeholders.
    pub objects: Vec<Value>,
}

/// One object a deploy would change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Change {
    /// `Kind namespace/name`.
    pub object: String,
    /// `create`, `update`, `recreate`, `expand` or `conflict`.
    pub action: String,
    /// Unified diff of live → rendered, Secret values masked.
    pub diff: String,
}

/// `diff`: what a deploy would change, from a server-side dry-run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DiffOutput {
    pub changes: Vec<Change>,
    /// Objects the deploy would delete (no longer rendered).
    pub prune: Vec<String>,
    pub unchanged: usize,
    /// True when a deploy would write nothing.
    pub no_changes: bool,
}

/// `status`: the release's workloads, revision and URLs, plus the root cause
/// of every workload that cannot become ready.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusOutput {
    #[serde(flatten)]
    pub status: ReleaseStatus,
    /// Ranked, with a fix each: the causes `diagnose` finds.
    pub root_causes: Vec<crate::operate::diagnose::RootCause>,
}

/// `history`: the release's revisions, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryOutput {
    pub release: String,
    pub namespace: String,
    pub revisions: Vec<Revision>,
}

/// `deploy`, `rollback`, `scale`: what was written and whether it became ready.
#[derive(Debug, Serialize, JsonSchema, Default)]
pub struct DeployOutput {
    /// The revision recorded; none when nothing changed.
    pub revision: Option<u32>,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub recreated: Vec<String>,
    pub pruned: Vec<String>,
    pub unchanged: usize,
    /// Every workload rolled out (or the wait was skipped).
    pub ready: bool,
    /// Why it is not ready, when a workload showed a cause.
    pub root_cause: Option<RootCause>,
    /// Workloads still not ready when the wait timed out.
    pub waiting: Vec<String>,
}

impl DeployOutput {
    /// The engine's report; `hint` words the cause like `berth deploy` does.
    pub fn from_report(
        report: DeployReport,
        hint: impl Fn(&crate::apply::Cause) -> String,
    ) -> Self {
        let mut out = DeployOutput {
            revision: report.revision,
            created: report.objects(Verb::Create),
            updated: report.objects(Verb::Update),
            recreated: report.objects(Verb::Recreate),
            pruned: report.objects(Verb::Prune),
            unchanged: report.unchanged,
            ..Default::default()
        };
        match report.readiness {
            Readiness::Ready => out.ready = true,
            Readiness::Failed { object, cause } => {
                out.root_cause = Some(RootCause {
                    object,
                    cause: cause.to_string(),
                    hint: hint(&cause),
                })
            }
            Readiness::TimedOut { waiting } => out.waiting = waiting,
        }
        out
    }
}
