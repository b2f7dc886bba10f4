//! Side-loading archives into a cluster node's container runtime without a registry.
//!
//! A [`LoadTarget`] is a runtime (containerd, Docker, Podman/CRI-O) reached through a transport
//! (this host, `minikube ssh`, or `docker exec -i` into a node container). The archive is streamed
//! into the runtime's import command on stdin; before that the runtime is asked whether it already
//! has the image by digest (then the import is skipped), and afterwards it must report the image,
//! or loading fails.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Progress;
use super::build::BuiltImage;
use super::error::{Error, ErrorKind};

/// Which kind of cluster to load into (`--target`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TargetKind {
    /// Detect: an explicit containerd socket, else a running Minikube profile, else a kind
    /// cluster, else a containerd socket at the default path.
    #[default]
    Auto,
    /// A Minikube profile (any driver; runtime from the profile).
    Minikube,
    /// containerd on this host (kubelet runs here).
    Containerd,
    /// A kind cluster's node containers.
    Kind,
    /// The local Docker daemon.
    Docker,
}

/// Settings for `berth images load`.
#[derive(Clone, Debug)]
pub struct LoadSettings {
    /// Target kind.
    pub target: TargetKind,
    /// containerd socket for the `containerd` target (default `/run/containerd/containerd.sock`).
    pub containerd_socket: Option<PathBuf>,
    /// containerd namespace; the kubelet's is `k8s.io`.
    pub containerd_namespace: String,
    /// containerd snapshotter to unpack with (`None`: containerd's default).
    pub snapshotter: Option<String>,
    /// Minikube profile (`None`: the active one).
    pub minikube_profile: Option<String>,
    /// kind cluster name (`None`: `kind`).
    pub kind_cluster: Option<String>,
}

impl Default for LoadSettings {
    fn default() -> Self {
        Self {
            target: TargetKind::Auto,
            containerd_socket: None,
            containerd_namespace: "k8s.io".into(),
            snapshotter: None,
            minikube_profile: None,
            kind_cluster: None,
        }
    }
}

/// The container runtime on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// containerd via `ctr`.
    Containerd {
        /// `-a` socket address, when not the default.
        socket: Option<PathBuf>,
        /// Namespace (`k8s.io`).
        namespace: String,
        /// `--snapshotter` for import.
        snapshotter: Option<String>,
    },
    /// Docker via `docker load`.
    Docker,
    /// CRI-O's storage via `podman load`.
    Podman,
}

/// How commands reach the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Run here.
    Local,
    /// `minikube -p PROFILE ssh -n NODE -- sudo …` (VM drivers).
    MinikubeSsh {
        /// Profile name.
        profile: String,
        /// Node name (`minikube`, `minikube-m02`).
        node: String,
    },
    /// `docker exec -i CONTAINER …` (kind nodes, Minikube's docker driver).
    DockerExec {
        /// Node container name.
        container: String,
    },
}

/// A resolved place to load images into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadTarget {
    /// How to reach it.
    pub transport: Transport,
    /// Which runtime runs there.
    pub runtime: Runtime,
}

/// What happened to one image on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Imported and verified.
    Loaded {
        /// Time spent importing.
        elapsed: Duration,
    },
    /// The runtime already had this digest; nothing was sent.
    AlreadyPresent,
}

/// Report for one image on one target.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Component name.
    pub image: String,
    /// Full reference.
    pub reference: String,
    /// Target description.
    pub target: String,
    /// Outcome.
    pub outcome: LoadOutcome,
}

impl fmt::Display for LoadTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runtime = match &self.runtime {
            Runtime::Containerd {
                socket: Some(s), ..
            } => format!("containerd at {}", s.display()),
            Runtime::Containerd { .. } => "containerd".into(),
            Runtime::Docker => "docker".into(),
            Runtime::Podman => "podman".into(),
        };
        match &self.transport {
            Transport::Local => write!(f, "{runtime}"),
            Transport::MinikubeSsh { profile, node } => {
                write!(f, "{runtime} on minikube {profile}/{node}")
            }
            Transport::DockerExec { container } => write!(f, "{runtime} in container {container}"),
        }
    }
}

impl Runtime {
    fn ctr_base(socket: &Option<PathBuf>, namespace: &str) -> Vec<String> {
        let mut argv = vec!["ctr".to_owned()];
        if let Some(s) = socket {
            argv.extend(["-a".to_owned(), s.to_string_lossy().into_owned()]);
        }
        argv.extend(["-n".to_owned(), namespace.to_owned()]);
        argv
    }

    /// The command that reads an archive on stdin.
    pub fn import_argv(&self) -> Vec<String> {
        match self {
            Runtime::Containerd {
                socket,
                namespace,
                snapshotter,
            } => {
                let mut argv = Self::ctr_base(socket, namespace);
                argv.extend(["images".into(), "import".into()]);
                if let Some(s) = snapshotter {
                    argv.push(format!("--snapshotter={s}"));
                }
                argv.push("-".into());
                argv
            }
            Runtime::Docker => vec!["docker".into(), "load".into()],
            Runtime::Podman => vec!["podman".into(), "load".into()],
        }
    }

    /// The command that describes `reference` in the runtime.
    pub fn inspect_argv(&self, reference: &str) -> Vec<String> {
        match self {
            Runtime::Containerd {
                socket, namespace, ..
            } => {
                let mut argv = Self::ctr_base(socket, namespace);
                argv.extend(["images".into(), "ls".into(), format!("name=={reference}")]);
                argv
            }
            Runtime::Docker | Runtime::Podman => {
                let program = if *self == Runtime::Docker {
                    "docker"
                } else {
                    "podman"
                };
                [
                    program, "image", "inspect", "--format", "{{.Id}}", reference,
                ]
                .map(str::to_owned)
                .to_vec()
            }
        }
    }

    /// Whether the inspect output shows the image with the expected digest.
    pub fn shows_image(&self, inspect_stdout: &str, image: &BuiltImage) -> bool {
        match self {
            Runtime::Containerd { .. } => inspect_stdout.lines().skip(1).any(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                cols.first() == Some(&image.reference.as_str())
                    && cols.get(2) == Some(&image.manifest_digest.as_str())
            }),
            // Docker's classic store and Podman report the config digest as the id; Docker's
            // containerd store reports the manifest digest.
            Runtime::Docker | Runtime::Podman => inspect_stdout.lines().any(|line| {
                let id = line.trim();
                let id = id.strip_prefix("sha256:").unwrap_or(id);
                !id.is_empty()
                    && (image.config_digest.ends_with(id) || image.manifest_digest.ends_with(id))
            }),
        }
    }
}

impl Transport {
    /// Wrap a runtime command so it runs on the node.
    pub fn wrap(&self, argv: Vec<String>) -> Vec<String> {
        match self {
            Transport::Local => argv,
            Transport::MinikubeSsh { profile, node } => {
                // The system ssh client forwards stdin reliably for large archives.
                let mut out: Vec<String> = [
                    "minikube",
                    "-p",
                    profile,
                    "ssh",
                    "--native-ssh=false",
                    "-n",
                    node,
                    "--",
                    "sudo",
                ]
                .map(str::to_owned)
                .to_vec();
                out.extend(argv);
                out
            }
            Transport::DockerExec { container } => {
                let mut out: Vec<String> = ["docker", "exec", "-i", container]
                    .map(str::to_owned)
                    .to_vec();
                out.extend(argv);
                out
            }
        }
    }
}

impl LoadTarget {
    /// The full import command.
    pub fn import_command(&self) -> Vec<String> {
        self.transport.wrap(self.runtime.import_argv())
    }

    /// The full inspect command.
    pub fn inspect_command(&self, reference: &str) -> Vec<String> {
        self.transport.wrap(self.runtime.inspect_argv(reference))
    }

    /// Whether the runtime has `image` (by digest).
    pub fn has_image(&self, image: &BuiltImage) -> Result<bool, ErrorKind> {
        let argv = self.inspect_command(&image.reference);
        let output = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| command_err(&argv, format!("could not start: {e}")))?;
        match self.runtime {
            // `docker image inspect` exits 1 for an unknown image: that is an answer, not a failure.
            Runtime::Docker | Runtime::Podman if !output.status.success() => Ok(false),
            _ if !output.status.success() => {
                Err(command_err(&argv, failure(&output.status, &output.stderr)))
            }
            _ => Ok(self
                .runtime
                .shows_image(&String::from_utf8_lossy(&output.stdout), image)),
        }
    }

    /// Stream `image`'s archive into the runtime.
    pub fn import(&self, image: &BuiltImage, progress: &Progress) -> Result<(), ErrorKind> {
        let argv = self.import_command();
        let file =
            File::open(&image.archive).map_err(|e| ErrorKind::io("open", &image.archive, e))?;
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| command_err(&argv, format!("could not start: {e}")))?;
        let mut stderr = child.stderr.take().expect("piped");
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let bar = progress.bar(image.archive_size, &format!("{} → {self}", image.name));
        let mut stdin = child.stdin.take().expect("piped");
        let copied = io::copy(&mut bar.wrap_read(file), &mut stdin);
        drop(stdin);
        bar.finish_and_clear();
        let status = child
            .wait()
            .map_err(|e| command_err(&argv, e.to_string()))?;
        let stderr_text = stderr_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(command_err(&argv, failure(&status, stderr_text.as_bytes())));
        }
        copied.map_err(|e| command_err(&argv, format!("streaming the archive: {e}")))?;
        Ok(())
    }
}

fn failure(status: &std::process::ExitStatus, stderr: &[u8]) -> String {
    format!("{status}: {}", String::from_utf8_lossy(stderr).trim())
}

fn command_err(argv: &[String], message: String) -> ErrorKind {
    ErrorKind::Command {
        command: argv.join(" "),
        message,
    }
}

/// Load `images` into every node of the resolved target, skipping those already present.
pub fn load(
    settings: &LoadSettings,
    images: &[BuiltImage],
    progress: &Progress,
) -> Result<Vec<LoadReport>, Error> {
    let targets = resolve_targets(settings).map_err(|k| k.at("-", "detect load target"))?;
    let mut reports = Vec::new();
    for image in images {
        for target in &targets {
            reports.push(load_one(target, image, progress)?);
        }
    }
    Ok(reports)
}

fn load_one(
    target: &LoadTarget,
    image: &BuiltImage,
    progress: &Progress,
) -> Result<LoadReport, Error> {
    let at = |k: ErrorKind| k.at(&image.name, "load");
    let report = |outcome| LoadReport {
        image: image.name.clone(),
        reference: image.reference.clone(),
        target: target.to_string(),
        outcome,
    };
    if target.has_image(image).map_err(at)? {
        progress.step(&image.name, &format!("already in {target}, skipped"));
        return Ok(report(LoadOutcome::AlreadyPresent));
    }
    let started = Instant::now();
    target.import(image, progress).map_err(at)?;
    let elapsed = started.elapsed();
    if !target.has_image(image).map_err(at)? {
        return Err(at(ErrorKind::NotPresentAfterLoad {
            reference: image.reference.clone(),
            digest: image.manifest_digest.clone(),
        }));
    }
    progress.step(
        &image.name,
        &format!(
            "loaded into {target} in {:.2}s, verified",
            elapsed.as_secs_f64()
        ),
    );
    Ok(report(LoadOutcome::Loaded { elapsed }))
}

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

    fn image() -> BuiltImage {
        BuiltImage {
            name: "backend".into(),
            reference: "localhost/todo-chatbot/backend:0123456789abcdef".into(),
            manifest_digest: format!("sha256:{}", "a".repeat(64)),
            manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            config_digest: format!("sha256:{}", "c".repeat(64)),
            layers: vec![],
            app_layers: vec![],
            archive: "/tmp/backend.tar".into(),
            archive_size: 1,
            platform: "linux/amd64".into(),
            platforms: vec![],
        }
    }

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
            targets[1].import_command(),
            [
                "docker",
                "exec",
                "-i",
                "minikube-m02",
                "ctr",
                "-n",
                "k8s.io",
                "images",
                "import",
                "-"
            ]
        );

        let vm = select_minikube_profile(PROFILES, Some("vm")).unwrap();
        assert_eq!((vm.driver.as_str(), vm.runtime.as_str()), ("kvm2", "crio"));
        let target = &vm.targets()[0];
        assert_eq!(
            target.import_command(),
            [
                "minikube",
                "-p",
                "vm",
                "ssh",
                "--native-ssh=false",
                "-n",
                "vm",
                "--",
                "sudo",
                "podman",
                "load"
            ]
        );
        assert_eq!(
            target.inspect_command("localhost/x:1"),
            [
                "minikube",
                "-p",
                "vm",
                "ssh",
                "--native-ssh=false",
                "-n",
                "vm",
                "--",
                "sudo",
                "podman",
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                "localhost/x:1"
            ]
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
            p.targets()[0].import_command(),
            [
                "minikube",
                "-p",
                "dev",
                "ssh",
                "--native-ssh=false",
                "-n",
                "dev",
                "--",
                "sudo",
                "docker",
                "load"
            ]
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
            targets[0].import_command(),
            [
                "docker",
                "exec",
                "-i",
                "kind-control-plane",
                "ctr",
                "-n",
                "k8s.io",
                "images",
                "import",
                "--snapshotter=overlayfs",
                "-"
            ]
        );
        assert!(
            kind_targets_for(
                "No kind nodes found for cluster \"kind\".\n",
                &LoadSettings::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn local_containerd_commands_and_presence() {
        let settings = LoadSettings {
            target: TargetKind::Containerd,
            containerd_socket: Some("/tmp/c/containerd.sock".into()),
            snapshotter: Some("native".into()),
            ..Default::default()
        };
        let target = &resolve_targets(&settings).unwrap()[0];
        assert_eq!(
            target.import_command(),
            [
                "ctr",
                "-a",
                "/tmp/c/containerd.sock",
                "-n",
                "k8s.io",
                "images",
                "import",
                "--snapshotter=native",
                "-"
            ]
        );
        let img = image();
        let listing = format!(
            "REF TYPE DIGEST SIZE PLATFORMS LABELS\n{} application/vnd.oci.image.manifest.v1+json {} 2.0 MiB linux/amd64 -\n",
            img.reference, img.manifest_digest
        );
        assert!(target.runtime.shows_image(&listing, &img));
        let other = listing.replace(&"a".repeat(64), &"b".repeat(64));
        assert!(
            !target.runtime.shows_image(&other, &img),
            "same name, other digest is not present"
        );
        assert!(
            !target
                .runtime
                .shows_image("REF TYPE DIGEST SIZE PLATFORMS LABELS\n", &img)
        );
        assert!(Runtime::Docker.shows_image(&format!("sha256:{}\n", "c".repeat(64)), &img));
        assert!(!Runtime::Docker.shows_image("sha256:dead\n", &img));
    }
}
