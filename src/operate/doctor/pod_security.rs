//! The pod-security check: berth's pods against the namespace's enforced Pod Security level.

use super::*;

/// Pod Security Standards levels, strictest last.
pub(super) fn level_violations(spec: &PodSpec, level: &str) -> Vec<String> {
    let mut out = Vec::new();
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    if spec.host_network == Some(true) || spec.host_pid == Some(true) || spec.host_ipc == Some(true)
    {
        out.push("host namespaces".to_string());
    }
    if spec.volumes.iter().flatten().any(|v| v.host_path.is_some()) {
        out.push("hostPath volumes".into());
    }
    let pod_sc = spec.security_context.as_ref();
    for c in containers {
        let sc = c.security_context.as_ref();
        if sc.and_then(|s| s.privileged) == Some(true) {
            out.push(format!("container {} is privileged", c.name));
        }
        if level != "restricted" {
            continue;
        }
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            out.push(format!("container {} allows privilege escalation", c.name));
        }
        let drops_all = sc
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|c| c.drop.as_ref())
            .is_some_and(|d| d.iter().any(|d| d == "ALL"));
        if !drops_all {
            out.push(format!(
                "container {} does not drop ALL capabilities",
                c.name
            ));
        }
        let non_root = sc
            .and_then(|s| s.run_as_non_root)
            .or(pod_sc.and_then(|s| s.run_as_non_root));
        if non_root != Some(true) {
            out.push(format!("container {} may run as root", c.name));
        }
        let seccomp = sc
            .and_then(|s| s.seccomp_profile.as_ref())
            .or(pod_sc.and_then(|s| s.seccomp_profile.as_ref()))
            .map(|p| p.type_.as_str());
        if !matches!(seccomp, Some("RuntimeDefault") | Some("Localhost")) {
            out.push(format!("container {} has no seccomp profile", c.name));
        }
    }
    out
}

pub(super) async fn pod_security(
    client: &Client,
    release: &Release,
    objects: &[Manifest],
) -> Check {
    const ID: &str = "pod-security";
    let level = match Api::<Namespace>::all(client.clone())
        .get_opt(&release.namespace)
        .await
    {
        Ok(Some(ns)) => ns
            .labels()
            .get("pod-security.kubernetes.io/enforce")
            .cloned()
            .unwrap_or_else(|| "privileged".into()),
        Ok(None) => {
            return Check::pass(
                ID,
                format!(
                    "namespace {} does not exist yet (berth creates it without a Pod Security label)",
                    release.namespace
                ),
            );
        }
        Err(e) => {
            return Check::warn(
                ID,
                format!("cannot read namespace {}: {e}", release.namespace),
                "kubectl get namespace --show-labels shows its Pod Security level",
            );
        }
    };
    let violations: Vec<String> = pods_to_run(objects)
        .iter()
        .flat_map(|(name, spec, _)| {
            level_violations(spec, &level)
                .into_iter()
                .map(move |v| format!("{name}: {v}"))
        })
        .collect();
    if level == "privileged" || violations.is_empty() {
        Check::pass(
            ID,
            format!(
                "namespace {} enforces `{level}`; berth's pods meet it",
                release.namespace
            ),
        )
    } else {
        Check::fail(
            ID,
            format!(
                "namespace {} enforces `{level}`, which refuses: {}",
                release.namespace,
                violations.join("; ")
            ),
            format!(
                "deploy into another namespace, or relabel it (kubectl label namespace {} pod-security.kubernetes.io/enforce=baseline --overwrite)",
                release.namespace
            ),
        )
    }
}
