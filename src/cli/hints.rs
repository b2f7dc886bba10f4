//! Hints for what is not an error: workloads that cannot become ready and
//! `diagnose`'s findings, worded with the context (Minikube-aware where the
//! context is Minikube). Errors carry their own ([`crate::hint::Hint`]).

use crate::apply::Cause;
use crate::apply::readiness::{ClaimClass, CreateBlocker};
use crate::operate::diagnose::{Diagnosis, Finding};

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
        Cause::ClaimPending { claim, class, .. } => unbound_claim(claim, class, namespace, minikube),
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

/// What makes a volume bind: a class whose provisioner runs, or a default class.
fn unbound_claim(claim: &str, class: &ClaimClass, namespace: &str, minikube: bool) -> String {
    let describe = format!("kubectl describe pvc -n {namespace} {claim} says more");
    let choose = "set database.internal.storageClass to a class whose provisioner runs (kubectl get storageclass), or leave it empty for the cluster's default";
    let minikube_storage = "enable Minikube's storage (minikube addons enable storage-provisioner default-storageclass; its class is `standard`)";
    match class {
        ClaimClass::Unset if minikube => format!("{minikube_storage}; {describe}"),
        ClaimClass::Unset => format!(
            "mark a StorageClass whose provisioner runs as the default (storageclass.kubernetes.io/is-default-class: \"true\"), or set database.internal.storageClass to one; {describe}"
        ),
        ClaimClass::Missing { name } => {
            format!("create the StorageClass `{name}`, or {choose}; {describe}")
        }
        ClaimClass::Unserved { provisioner, .. } if minikube => format!(
            "nothing serves provisioner `{provisioner}`: {minikube_storage}, or {choose}; {describe}"
        ),
        ClaimClass::Unserved { provisioner, .. } => format!(
            "nothing serves provisioner `{provisioner}`: install it, or {choose}; {describe}"
        ),
        ClaimClass::Unknown { .. } => format!("{choose}; {describe}"),
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
}
