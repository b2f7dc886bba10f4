//! Which runtimes to load into: `--target` resolved to one target per node, from Minikube's
//! profile list, kind's node containers or a containerd socket.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::LoadSettings;
use super::TargetKind;
use super::target::{LoadTarget, Runtime, Transport, command_err, failure};
use crate::images::error::ErrorKind;

const DEFAULT_CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";

/// Turn the settings into concrete targets (one per node).
pub fn resolve_targets(settings: &LoadSettings) -> Result<Vec<LoadTarget>, ErrorKind> {
    let containerd = |socket: Option<PathBuf>| LoadTarget {
        transport: Transport::Local,
        runtime: Runtime::Containerd {
            socket,
            namespace: settings.containerd_namespace.clone(),
            snapshotter: settings.snapshotter.clone(),
        },
    };
    match settings.target {
        TargetKind::Containerd => Ok(vec![containerd(Some(
            settings
                .containerd_socket
                .clone()
                .unwrap_or_else(|| DEFAULT_CONTAINERD_SOCKET.into()),
        ))]),
        TargetKind::Docker => Ok(vec![LoadTarget {
            transport: Transport::Local,
            runtime: Runtime::Docker,
        }]),
        TargetKind::Minikube => minikube_targets(settings.minikube_profile.as_deref()),
        TargetKind::Kind => {
            kind_targets(settings.kind_cluster.as_deref().unwrap_or("kind"), settings)
        }
        TargetKind::Auto => {
            if let Some(socket) = &settings.containerd_socket {
                return Ok(vec![containerd(Some(socket.clone()))]);
            }
            if let Ok(targets) = minikube_targets(settings.minikube_profile.as_deref()) {
                return Ok(targets);
            }
            if let Ok(targets) =
                kind_targets(settings.kind_cluster.as_deref().unwrap_or("kind"), settings)
            {
                return Ok(targets);
            }
            if std::path::Path::new(DEFAULT_CONTAINERD_SOCKET).exists() {
                return Ok(vec![containerd(Some(DEFAULT_CONTAINERD_SOCKET.into()))]);
            }
            Err(ErrorKind::Missing(
                "no cluster runtime found (no running Minikube profile, kind cluster or containerd socket)\n\
                 hint: pass --target minikube|kind|containerd|docker, or --containerd-socket PATH"
                    .into(),
            ))
        }
    }
}

fn run_capture(argv: &[&str]) -> Result<String, ErrorKind> {
    let owned: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| command_err(&owned, format!("could not start: {e}")))?;
    if !output.status.success() {
        return Err(command_err(&owned, failure(&output.status, &output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn minikube_targets(profile: Option<&str>) -> Result<Vec<LoadTarget>, ErrorKind> {
    let json = run_capture(&["minikube", "profile", "list", "-o", "json"])?;
    let profile = select_minikube_profile(&json, profile)?;
    Ok(profile.targets())
}

/// A Minikube profile as `minikube profile list -o json` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinikubeProfile {
    /// Profile name.
    pub name: String,
    /// `docker`, `podman`, `kvm2`, `qemu2`, `hyperkit`, …
    pub driver: String,
    /// `containerd`, `docker` or `crio`.
    pub runtime: String,
    /// Node names (`minikube`, `minikube-m02`, …).
    pub nodes: Vec<String>,
    /// `Running`, `Stopped`, …
    pub status: String,
}

impl MinikubeProfile {
    /// One load target per node, through `docker exec` for the docker driver and `minikube ssh`
    /// otherwise.
    pub fn targets(&self) -> Vec<LoadTarget> {
        let runtime = match self.runtime.as_str() {
            "docker" => Runtime::Docker,
            "crio" | "cri-o" => Runtime::Podman,
            _ => Runtime::Containerd {
                socket: None,
                namespace: "k8s.io".into(),
                snapshotter: None,
            },
        };
        self.nodes
            .iter()
            .map(|node| LoadTarget {
                transport: match self.driver.as_str() {
                    "docker" => Transport::DockerExec {
                        container: node.clone(),
                    },
                    _ => Transport::MinikubeSsh {
                        profile: self.name.clone(),
                        node: node.clone(),
                    },
                },
                runtime: runtime.clone(),
            })
            .collect()
    }
}

/// Pick a running profile from `minikube profile list -o json`: the named one, else the active
/// one, else the only running one.
pub fn select_minikube_profile(
    json: &str,
    wanted: Option<&str>,
) -> Result<MinikubeProfile, ErrorKind> {
    let value: Value = serde_json::from_str(json).map_err(|e| ErrorKind::Malformed {
        what: "`minikube profile list -o json` output".into(),
        message: e.to_string(),
    })?;
    let valid = value
        .get("valid")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let profiles: Vec<(MinikubeProfile, bool)> = valid
        .iter()
        .map(|p| (parse_profile(p), is_active(p)))
        .collect();
    let running = |p: &&(MinikubeProfile, bool)| p.0.status == "Running";
    let chosen = match wanted {
        Some(name) => profiles.iter().find(|p| p.0.name == name),
        None => profiles.iter().filter(running).find(|p| p.1).or_else(|| {
            let mut it = profiles.iter().filter(running);
            it.next().filter(|_| it.next().is_none())
        }),
    };
    let Some((profile, _)) = chosen else {
        let names: Vec<String> = profiles
            .iter()
            .map(|p| format!("{} ({})", p.0.name, p.0.status))
            .collect();
        return Err(ErrorKind::Missing(format!(
            "no usable Minikube profile{} among: {}\nhint: start one with `minikube start` or pass --minikube-profile",
            wanted.map(|w| format!(" named {w:?}")).unwrap_or_default(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )));
    };
    if profile.status != "Running" {
        return Err(ErrorKind::Missing(format!(
            "Minikube profile {} is {}\nhint: run `minikube start -p {}`",
            profile.name, profile.status, profile.name
        )));
    }
    Ok(profile.clone())
}

fn is_active(p: &Value) -> bool {
    p.get("Active").and_then(Value::as_bool).unwrap_or(false)
        || p.get("ActiveKubeContext")
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

fn parse_profile(p: &Value) -> MinikubeProfile {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let name = s(&p["Name"]);
    let config = &p["Config"];
    let nodes: Vec<String> = config["Nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| match n["Name"].as_str().unwrap_or("") {
            "" => name.clone(),
            node => format!("{name}-{node}"),
        })
        .collect();
    MinikubeProfile {
        driver: s(&config["Driver"]),
        runtime: s(&config["KubernetesConfig"]["ContainerRuntime"]),
        nodes: if nodes.is_empty() {
            vec![name.clone()]
        } else {
            nodes
        },
        status: s(&p["Status"]),
        name,
    }
}

fn kind_targets(cluster: &str, settings: &LoadSettings) -> Result<Vec<LoadTarget>, ErrorKind> {
    let nodes = run_capture(&["kind", "get", "nodes", "--name", cluster])?;
    let targets = kind_targets_for(&nodes, settings);
    if targets.is_empty() {
        return Err(ErrorKind::Missing(format!(
            "kind cluster {cluster:?} has no nodes"
        )));
    }
    Ok(targets)
}

/// Targets for the node containers `kind get nodes` printed (containerd in each, `k8s.io`).
pub fn kind_targets_for(nodes_output: &str, settings: &LoadSettings) -> Vec<LoadTarget> {
    nodes_output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(' '))
        .map(|node| LoadTarget {
            transport: Transport::DockerExec {
                container: node.to_owned(),
            },
            runtime: Runtime::Containerd {
                socket: None,
                namespace: settings.containerd_namespace.clone(),
                snapshotter: Some(
                    settings
                        .snapshotter
                        .clone()
                        .unwrap_or_else(|| "overlayfs".into()),
                ),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Output of `minikube profile list -o json` (v1.35) with a multi-node docker-driver profile,
    // a VM profile running CRI-O, and a stopped one.
    const PROFILES: &str = r#"{"invalid":[],"valid":[
      {"Name":"minikube","Status":"Running","Active":true,"Config":{"Name":"minikube","Driver":"docker",
        "KubernetesConfig":{"KubernetesVersion":"v1.34.0","ContainerRuntime":"containerd"},
        "Nodes":[{"Name":"","IP":"192.168.49.2","ControlPlane":true,"Worker":true},{"Name":"m02","IP":"192.168.49.3","ControlPlane":false,"Worker":true}]}},
      {"Name":"vm","Status":"Running","Active":false,"Config":{"Name":"vm","Driver":"kvm2",
        "KubernetesConfig":{"ContainerRuntime":"crio"},"Nodes":[{"Name":"","ControlPlane":true}]}},
      {"Name":"old","Status":"Stopped","Config":{"Driver":"docker","KubernetesConfig":{"ContainerRuntime":"docker"},"Nodes":[]}}
    ]}"#;

    #[test]
    fn minikube_profiles_are_parsed_and_chosen() {
        let active = select_minikube_profile(PROFILES, None).unwrap();
        assert_eq!(active.name, "minikube");
        assert_eq!(active.nodes, ["minikube", "minikube-m02"]);
        let targets = active.targets();
        assert_eq!(targets.len(), 2);
        assert_eq!(
            targets[1].import_command().join(" "),
            "docker exec -i minikube-m02 ctr -n k8s.io images import -"
        );

        let vm = select_minikube_profile(PROFILES, Some("vm")).unwrap();
        assert_eq!((vm.driver.as_str(), vm.runtime.as_str()), ("kvm2", "crio"));
        let target = &vm.targets()[0];
        assert_eq!(
            target.import_command().join(" "),
            "minikube -p vm ssh --native-ssh=false -n vm -- sudo podman load"
        );
        assert_eq!(
            target.inspect_command("localhost/x:1").join(" "),
            "minikube -p vm ssh --native-ssh=false -n vm -- sudo podman image inspect --format {{.Id}} localhost/x:1"
        );

        let stopped = select_minikube_profile(PROFILES, Some("old"))
            .unwrap_err()
            .to_string();
        assert!(
            stopped.contains("Stopped") && stopped.contains("minikube start -p old"),
            "{stopped}"
        );
        let missing = select_minikube_profile(PROFILES, Some("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("minikube (Running), vm (Running), old (Stopped)"),
            "{missing}"
        );
        assert!(select_minikube_profile(r#"{"invalid":[],"valid":[]}"#, None).is_err());
        assert!(select_minikube_profile("not json", None).is_err());
    }

    #[test]
    fn without_an_active_flag_a_single_running_profile_is_used() {
        let json = r#"{"valid":[{"Name":"dev","Status":"Running","Config":{"Driver":"qemu2","KubernetesConfig":{"ContainerRuntime":"docker"},"Nodes":[{"Name":""}]}}]}"#;
        let p = select_minikube_profile(json, None).unwrap();
        assert_eq!(p.targets()[0].runtime, Runtime::Docker);
        assert_eq!(
            p.targets()[0].import_command().join(" "),
            "minikube -p dev ssh --native-ssh=false -n dev -- sudo docker load"
        );
    }

    #[test]
    fn kind_nodes_become_docker_exec_targets() {
        let targets = kind_targets_for(
            "kind-control-plane\nkind-worker\n",
            &LoadSettings::default(),
        );
        assert_eq!(targets.len(), 2);
        assert_eq!(
            targets[0].import_command().join(" "),
            "docker exec -i kind-control-plane ctr -n k8s.io images import --snapshotter=overlayfs -"
        );
        assert!(
            kind_targets_for(
                "No kind nodes found for cluster \"kind\".\n",
                &LoadSettings::default()
            )
            .is_empty()
        );
    }
}
