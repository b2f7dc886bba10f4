//! Hints: what the user can do, worded by the CLI from the engine's typed
//! errors and causes (Minikube-aware where the context is Minikube).

use crate::apply::readiness::CreateBlocker;
use crate::apply::rollback::RollbackError;
use crate::apply::{ApplyError, Cause};
use crate::operate::diagnose::{Diagnosis, Finding};
use crate::pipeline::DeployError;
use crate::pipeline::images::ImagesError;
use crate::pipeline::prepare::PrepareError;

/// The engine error in `cause`, also when a pipeline step wraps it.
pub fn as_apply_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a ApplyError> {
    if let Some(err) = cause.downcast_ref::<ApplyError>() {
        return Some(err);
    }
    match cause.downcast_ref::<DeployError>() {
        Some(DeployError::Apply(err)) => return Some(err),
        Some(DeployError::Prepare(PrepareError::Apply(err))) => return Some(err),
        Some(_) => return None,
        None => {}
    }
    match cause.downcast_ref::<RollbackError>()? {
        RollbackError::Apply(err) => Some(err),
        _ => None,
    }
}

/// `berth deploy` where there is no stack to deploy: no `berth.yaml` here, and the embedded
/// example's image specs are missing (they live in berth's own repository).
#[derive(Debug, thiserror::Error)]
#[error(
    "no berth.yaml in {dir}: without one berth deploys its embedded example, whose image specs ({missing}) are not here"
)]
pub struct NoStackHere {
    pub(super) dir: String,
    pub(super) missing: String,
}

impl NoStackHere {
    pub const HINT: &str = "run `berth init` here to write berth.yaml and images/ from your repository, or run berth in the directory holding your berth.yaml (or pass the values that replace the example's images with -f/--values)";
}

/// The hint for an error anywhere in `err`'s chain, if berth knows one.
pub fn for_error(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if cause.is::<NoStackHere>() {
            return Some(NoStackHere::HINT.into());
        }
        if let Some(err) = as_apply_error(cause) {
            return for_apply_error(err);
        }
        let images = match cause.downcast_ref::<DeployError>() {
            Some(DeployError::Interrupted { release }) => {
                return Some(format!(
                    "run the same `berth deploy` again to resume, or `berth rollback -n {} --release {}` to return to the previous revision",
                    release.namespace, release.name
                ));
            }
            Some(DeployError::Images(err)) => err,
            _ => cause.downcast_ref::<ImagesError>()?,
        };
        match images {
            ImagesError::Build(_) => Some("see `berth images build --help`".into()),
            ImagesError::Load(_) => Some(
                "try --images skip and load them yourself (`berth images load --help`)".into(),
            ),
            ImagesError::Push { .. } => Some(
                "berth pushes with the credentials `docker login` or `podman login` stored; see `berth images push --help`".into(),
            ),
            ImagesError::Values(_) => None,
        }
    })
}

fn for_apply_error(err: &ApplyError) -> Option<String> {
    match err {
        ApplyError::Conflict { .. } => Some(
            "another tool changed these fields; rerun with --force-conflicts to take them back"
                .into(),
        ),
        ApplyError::Immutable {
            expansion: Some(refused),
            ..
        } => Some(format!(
            "to grow the volume in place, the StorageClass `{}` must allow it (allowVolumeExpansion: true, supported by its provisioner), or use a class that does; otherwise keep the old size. --recreate re-creates the StatefulSet without growing its existing claims",
            refused.class
        )),
        ApplyError::Immutable { holds_volumes, .. } => Some(format!(
            "rerun with --recreate to delete and re-create it{}",
            if *holds_volumes {
                " (warning: its volumes' data may be lost)"
            } else {
                ""
            }
        )),
        ApplyError::Locked { host, lease, .. } => Some(format!(
            "wait for it to finish, then run again; if that process is gone, the lock expires (at once when run again on host {host}); `kubectl delete lease {lease}` frees it by hand"
        )),
        ApplyError::LockLost { .. } => {
            Some("run `berth status` and deploy again once that process is done".into())
        }
        _ => None,
    }
}

/// What to do about a workload that cannot become ready.
pub fn for_cause(cause: &Cause, namespace: &str, minikube: bool) -> String {
    match cause {
        Cause::ImagePull { .. } if minikube => "build the image and load it into Minikube (berth deploy --images load), or correct the image reference in the values".into(),
        Cause::ImagePull { .. } => "build the image and load it into the cluster (berth images build, berth images load), push it to a registry the cluster pulls from (berth images push), or correct the image reference in the values".into(),
        Cause::OutOfMemory { .. } => {
            "raise the container's memory limit in the values (resources.limits.memory)".into()
        }
        Cause::CrashLoop { pod, container, .. } => format!(
            "read its logs (kubectl logs -n {namespace} {pod} -c {container} --previous) and fix its configuration"
        ),
        Cause::ContainerConfig { .. } => "check the Secrets and ConfigMaps it references".into(),
        Cause::NeverReady { .. } => "its readiness probe keeps failing: check the probe's path and port and the app's logs".into(),
        Cause::Unschedulable { .. } if minikube => "lower the resource requests in the values, or give Minikube more (minikube start --cpus 4 --memory 8g)".into(),
        Cause::Unschedulable { .. } => "free CPU/memory on the nodes or lower the resource requests in the values".into(),
        Cause::CannotCreate { blocker: CreateBlocker::ResourceQuota, .. } => format!(
            "the namespace's ResourceQuota leaves no room for these pods: raise it (kubectl describe resourcequota -n {namespace}) or lower replicas or resource requests in the values"
        ),
        Cause::CannotCreate { blocker: CreateBlocker::PodSecurity, .. } => format!(
            "the namespace's Pod Security admission refuses these pods (kubectl get namespace {namespace} --show-labels)"
        ),
        Cause::CannotCreate { .. } => {
            "the controller cannot create pods; kubectl describe on the workload shows its events".into()
        }
    }
}

/// What to do about one of `diagnose`'s findings.
pub fn for_finding(finding: &Finding, namespace: &str, minikube: bool) -> String {
    match finding {
        Finding::NotReady { cause, .. } => for_cause(cause, namespace, minikube),
        Finding::UnboundClaim { claim, .. } if minikube => format!(
            "no volume binds the claim: enable Minikube's storage (minikube addons enable storage-provisioner default-storageclass); kubectl describe pvc -n {namespace} {claim} says why"
        ),
        Finding::UnboundClaim { claim, .. } => format!(
            "no volume binds the claim: the cluster needs a default StorageClass with a working provisioner (or set database.internal.storageClass); kubectl describe pvc -n {namespace} {claim} says why"
        ),
        Finding::ProbeFailing { pod, .. } => format!(
            "the app does not answer its probe: check the probe's path and port in the values and the app's logs (berth logs, or kubectl logs -n {namespace} {pod})"
        ),
        Finding::TaskPending { pod, task, .. } => format!(
            "the pod's containers start after the task finishes; follow it with kubectl logs -n {namespace} {pod} -c {task} -f"
        ),
        Finding::NoEndpoints { .. } => {
            "requests to it fail until one of its pods is ready; fix the causes above first".into()
        }
    }
}

/// Fills in the hint of each of the diagnosis' root causes.
pub fn fill_diagnosis_hints(diagnosis: &mut Diagnosis, minikube: bool) {
    for cause in &mut diagnosis.causes {
        cause.hint = Some(for_finding(&cause.finding, &diagnosis.namespace, minikube));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unschedulable_advice_names_minikube_only_on_minikube() {
        let cause = Cause::Unschedulable {
            pod: "web-1".into(),
            message: "0/1 nodes are available: 1 Insufficient cpu.".into(),
        };
        assert!(for_cause(&cause, "todo", true).contains("minikube start --cpus"));
        let elsewhere = for_cause(&cause, "todo", false);
        assert!(
            !elsewhere.to_lowercase().contains("minikube"),
            "{elsewhere}"
        );
        assert!(elsewhere.contains("lower the resource requests"));
    }

    #[test]
    fn engine_errors_get_the_flag_that_fixes_them() {
        let conflict = anyhow::Error::new(ApplyError::Conflict {
            object: "Deployment todo/web".into(),
            message: "conflict with \"kubectl\"".into(),
        });
        assert!(for_error(&conflict).unwrap().contains("--force-conflicts"));
        let immutable = anyhow::Error::new(ApplyError::Immutable {
            object: "StatefulSet todo/db".into(),
            message: "forbidden".into(),
            holds_volumes: true,
            expansion: None,
        });
        let hint = for_error(&immutable).unwrap();
        assert!(hint.contains("--recreate") && hint.contains("data may be lost"));
    }
}
