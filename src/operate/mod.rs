//! Operating a deployed release: checks before a deploy ([`doctor`]), an
//! explanation of a release that is not healthy ([`diagnose`]) and its pods'
//! logs ([`logs`]). Unlike the apply engine this knows berth's conventions
//! (components by label, init containers as pre-rollout tasks, Minikube);
//! it reads the cluster and never writes. Every report is `Serialize` so the
//! CLI's `-o json` and the MCP server share one shape.

pub mod access;
pub mod diagnose;
pub mod doctor;
pub mod forward;
pub mod logs;
pub mod open;

use crate::apply::Release;
use crate::manifests::labels::COMPONENT;

/// Errors of the read-only operations.
#[derive(Debug, thiserror::Error)]
pub enum OperateError {
    #[error("cannot {verb} {what}: {source}")]
    Api {
        verb: &'static str,
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "release {release} in namespace {namespace} has no component `{component}`{}",
        known_suffix(.known)
    )]
    UnknownComponent {
        release: String,
        namespace: String,
        component: String,
        known: Vec<String>,
    },
    #[error("cannot read release {release} in namespace {namespace}: {message}")]
    Release {
        release: String,
        namespace: String,
        message: String,
    },
}

fn known_suffix(known: &[String]) -> String {
    if known.is_empty() {
        " (no workloads found: is it deployed there?)".into()
    } else {
        format!("; its components: {}", known.join(", "))
    }
}

impl OperateError {
    fn api(verb: &'static str, what: impl Into<String>, source: kube::Error) -> Self {
        OperateError::Api {
            verb,
            what: what.into(),
            source,
        }
    }
}

/// The label selector of a release's objects, or of one component's.
pub fn selector(release: &Release, component: Option<&str>) -> String {
    match component {
        Some(c) => format!("{},{COMPONENT}={c}", release.selector()),
        None => release.selector(),
    }
}

/// The component an object belongs to (its `app.kubernetes.io/component` label).
pub fn component_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(COMPONENT))
        .cloned()
        .unwrap_or_default()
}

/// Lists objects of one kind in `namespace`, naming them in the error.
pub(crate) async fn list<K>(
    client: &kube::Client,
    namespace: &str,
    lp: &kube::api::ListParams,
) -> Result<Vec<K>, OperateError>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    kube::Api::<K>::namespaced(client.clone(), namespace)
        .list(lp)
        .await
        .map(|l| l.items)
        .map_err(|e| {
            OperateError::api(
                "list",
                format!("{}s in namespace {namespace}", K::kind(&())),
                e,
            )
        })
}

/// The release's component names (for the error about an unknown one).
pub(crate) async fn components(
    client: &kube::Client,
    release: &Release,
) -> Result<Vec<String>, OperateError> {
    let ns = &release.namespace;
    let lp = kube::api::ListParams::default().labels(&release.selector());
    let (deployments, stateful_sets) = futures::try_join!(
        list::<k8s_openapi::api::apps::v1::Deployment>(client, ns, &lp),
        list::<k8s_openapi::api::apps::v1::StatefulSet>(client, ns, &lp),
    )?;
    let mut names = std::collections::BTreeSet::new();
    names.extend(deployments.iter().map(|d| component_of(&d.metadata)));
    names.extend(stateful_sets.iter().map(|s| component_of(&s.metadata)));
    Ok(names.into_iter().filter(|n| !n.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    const GUIDE: &str = include_str!("../../docs/TROUBLESHOOTING.md");

    /// The variant names of `pub enum NAME` in a source file, read from the
    /// source so a new variant cannot be missed.
    fn variants(source: &str, name: &str) -> Vec<String> {
        let start = source
            .find(&format!("pub enum {name} {{"))
            .unwrap_or_else(|| panic!("enum {name} not found"));
        let body = &source[start..];
        let body = &body[..body.find("\n}").unwrap()];
        body.lines()
            .skip(1)
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
            .map(str::trim)
            .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|l| {
                l.split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn every_cause_and_doctor_check_is_in_the_troubleshooting_guide() {
        let readiness = include_str!("../apply/readiness/cause.rs");
        let diagnose = include_str!("diagnose/report.rs");
        let doctor = concat!(
            include_str!("doctor/mod.rs"),
            include_str!("doctor/capacity.rs"),
            include_str!("doctor/exposure.rs"),
            include_str!("doctor/pod_security.rs"),
            include_str!("doctor/origin.rs"),
        );
        let mut headings: Vec<String> = Vec::new();
        for (source, name, level) in [
            (readiness, "Cause", "### "),
            (readiness, "CreateBlocker", "#### "),
            (diagnose, "Finding", "### "),
        ] {
            let found = variants(source, name);
            assert!(found.len() >= 3, "{name}: {found:?}");
            // NotReady is the readiness causes themselves, documented above.
            headings.extend(
                found
                    .into_iter()
                    .filter(|v| v != "NotReady")
                    .map(|v| format!("{level}{v}\n")),
            );
        }
        let ids: Vec<&str> = doctor
            .match_indices("const ID: &str = \"")
            .map(|(i, m)| {
                let rest = &doctor[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .chain(["secrets", "kubeconfig", "api-server"])
            .collect();
        assert!(ids.len() >= 10, "{ids:?}");
        headings.extend(ids.iter().map(|id| format!("### `{id}`\n")));
        let missing: Vec<&String> = headings
            .iter()
            .filter(|h| !GUIDE.contains(h.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/TROUBLESHOOTING.md lacks a section for: {missing:?}"
        );
    }
}
