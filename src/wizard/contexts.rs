//! Kube contexts to offer: the current one first, Minikube and kind recognised.
//! Reads the kubeconfig only; never talks to a cluster.

use std::path::Path;

use kube::config::{Kubeconfig, NamedContext};

/// One context as the wizard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextChoice {
    pub name: String,
    pub current: bool,
    /// A Minikube profile or a kind cluster: images are side-loaded, not pulled.
    pub local: Option<&'static str>,
}

impl ContextChoice {
    pub fn label(&self) -> String {
        let mut label = self.name.clone();
        if let Some(kind) = self.local {
            label.push_str(&format!(" ({kind})"));
        }
        if self.current {
            label.push_str(" [current]");
        }
        label
    }
}

/// Contexts from `--kubeconfig` or the usual places (`KUBECONFIG`, `~/.kube/config`).
pub fn list_contexts(kubeconfig: Option<&Path>) -> Vec<ContextChoice> {
    let config = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    let Some(config) = config else {
        return Vec::new();
    };
    let current = config.current_context.clone();
    let mut choices: Vec<ContextChoice> = config
        .contexts
        .iter()
        .map(|c| ContextChoice {
            name: c.name.clone(),
            current: current.as_deref() == Some(c.name.as_str()),
            local: local_kind(c),
        })
        .collect();
    // Current first; the rest keep the kubeconfig's order.
    choices.sort_by_key(|c| !c.current);
    choices
}

/// Minikube writes a `context_info` extension with its provider; kind names contexts `kind-*`.
fn local_kind(context: &NamedContext) -> Option<&'static str> {
    let minikube_extension = context
        .context
        .as_ref()
        .and_then(|c| c.extensions.as_ref())
        .is_some_and(|exts| {
            exts.iter().any(|e| {
                e.extension.get("provider").and_then(|p| p.as_str()) == Some("minikube.sigs.k8s.io")
            })
        });
    if minikube_extension || context.name == "minikube" {
        Some("minikube")
    } else if context.name.starts_with("kind-") {
        Some("kind")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_first_and_local_clusters_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            r#"apiVersion: v1
kind: Config
current-context: dev-profile
clusters: []
users: []
contexts:
- name: prod
  context: {cluster: prod, user: prod}
- name: kind-test
  context: {cluster: kind-test, user: kind-test}
- name: dev-profile
  context:
    cluster: dev-profile
    user: dev-profile
    extensions:
    - name: context_info
      extension: {provider: minikube.sigs.k8s.io, version: v1.37.0}
"#,
        )
        .unwrap();
        let contexts = list_contexts(Some(&path));
        let labels: Vec<String> = contexts.iter().map(ContextChoice::label).collect();
        assert_eq!(
            labels,
            [
                "dev-profile (minikube) [current]",
                "prod",
                "kind-test (kind)"
            ]
        );
    }
}
