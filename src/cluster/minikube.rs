//! What Minikube's own profile says about a context of the same name: its
//! driver and its node's address. Minikube keeps them in
//! `<MINIKUBE_HOME>/profiles/<profile>/config.json`; the cluster itself does
//! not know how the host reaches it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A Minikube profile, as far as reaching its node goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinikubeProfile {
    pub name: String,
    /// `docker`, `podman`, `kvm2`, `hyperkit`, `qemu2`, `hyperv`, `virtualbox`, `none`, …
    pub driver: String,
    /// The control-plane node's address (`minikube ip`), when recorded.
    pub ip: Option<String>,
}

impl MinikubeProfile {
    /// Whether the node's address is reachable from this host: container
    /// drivers put the node on a bridge only Linux hosts route to (Docker
    /// Desktop and Podman machines on macOS and Windows run it inside a VM).
    pub fn node_reachable_from(&self, host_os: &str) -> bool {
        host_os == "linux" || !matches!(self.driver.as_str(), "docker" | "podman")
    }
}

/// The part of config.json berth reads.
#[derive(Deserialize)]
struct Config {
    #[serde(rename = "Driver")]
    driver: String,
    #[serde(rename = "Nodes", default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "IP", default)]
    ip: String,
    #[serde(rename = "ControlPlane", default)]
    control_plane: bool,
}

/// Minikube's state directory as minikube finds it: `$MINIKUBE_HOME` when it
/// names a `.minikube` directory, else `$MINIKUBE_HOME/.minikube`, else
/// `~/.minikube`.
pub fn minikube_dir() -> Option<PathBuf> {
    match std::env::var_os("MINIKUBE_HOME").filter(|v| !v.is_empty()) {
        Some(home) => {
            let home = PathBuf::from(home);
            Some(if home.file_name().is_some_and(|n| n == ".minikube") {
                home
            } else {
                home.join(".minikube")
            })
        }
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".minikube")),
    }
}

/// The profile named `profile` (Minikube names its kubeconfig context after
/// it), when its config.json exists and parses.
pub fn read_profile(profile: &str) -> Option<MinikubeProfile> {
    read_profile_in(&minikube_dir()?, profile)
}

/// [`read_profile`] under an explicit state directory.
pub fn read_profile_in(dir: &Path, profile: &str) -> Option<MinikubeProfile> {
    let path = dir.join("profiles").join(profile).join("config.json");
    let config: Config = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let ip = config
        .nodes
        .iter()
        .find(|n| n.control_plane)
        .or(config.nodes.first())
        .map(|n| n.ip.clone())
        .filter(|ip| !ip.is_empty());
    Some(MinikubeProfile {
        name: profile.to_string(),
        driver: config.driver,
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_driver_and_the_control_planes_address() {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("profiles/dev");
        std::fs::create_dir_all(&profile).unwrap();
        // The shape minikube writes (most keys left out).
        std::fs::write(
            profile.join("config.json"),
            r#"{"Name": "dev", "Driver": "kvm2", "Memory": 8192,
                "Nodes": [{"Name": "m02", "IP": "192.168.39.3", "ControlPlane": false},
                          {"Name": "", "IP": "192.168.39.2", "Port": 8443, "ControlPlane": true}]}"#,
        )
        .unwrap();
        let read = read_profile_in(dir.path(), "dev").unwrap();
        assert_eq!(read.driver, "kvm2");
        assert_eq!(read.ip.as_deref(), Some("192.168.39.2"));
        assert!(read_profile_in(dir.path(), "other").is_none());
    }

    #[test]
    fn container_drivers_are_reachable_only_from_linux() {
        let profile = |driver: &str| MinikubeProfile {
            name: "minikube".into(),
            driver: driver.into(),
            ip: Some("192.168.49.2".into()),
        };
        assert!(profile("docker").node_reachable_from("linux"));
        assert!(!profile("docker").node_reachable_from("macos"));
        assert!(!profile("podman").node_reachable_from("windows"));
        assert!(profile("hyperv").node_reachable_from("windows"));
        assert!(profile("qemu2").node_reachable_from("macos"));
    }
}
