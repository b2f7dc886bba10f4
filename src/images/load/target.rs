//! A load target: a container runtime and the transport that reaches it, the commands that
//! import an archive and inspect an image there, and running them.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::images::Progress;
use crate::images::build::BuiltImage;
use crate::images::error::ErrorKind;

use super::partial::{self, Held, Sent};

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

    /// The command that lists the blobs of the runtime's content store (containerd), or the
    /// images whose layers it holds (Docker); Podman cannot say (see [`partial`]).
    pub fn held_list_argv(&self) -> Option<Vec<String>> {
        match self {
            Runtime::Containerd {
                socket, namespace, ..
            } => {
                let mut argv = Self::ctr_base(socket, namespace);
                argv.extend(["content", "ls", "-q"].map(str::to_owned));
                Some(argv)
            }
            Runtime::Docker => Some(
                ["docker", "image", "ls", "--all", "--quiet", "--no-trunc"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            Runtime::Podman => None,
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

    /// What the runtime holds, when it can tell: containerd's blobs, Docker's layer chains
    /// (the layers of each image it lists, asked in a second command).
    pub fn held(&self) -> Result<Option<Held>, ErrorKind> {
        let Some(argv) = self.runtime.held_list_argv() else {
            return Ok(None);
        };
        let listed = self.run(argv)?;
        match self.runtime {
            Runtime::Docker => {
                let ids: Vec<String> = listed
                    .lines()
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect();
                if ids.is_empty() {
                    return Ok(Some(Held::Chains(HashSet::new())));
                }
                let mut inspect: Vec<String> = [
                    "docker",
                    "image",
                    "inspect",
                    "--format",
                    "{{json .RootFS.Layers}}",
                ]
                .map(str::to_owned)
                .to_vec();
                inspect.extend(ids);
                let layers = self.run(inspect)?;
                Ok(Some(Held::Chains(partial::parse_docker_layers(&layers))))
            }
            _ => Ok(Some(Held::Blobs(partial::parse_content_list(&listed)))),
        }
    }

    /// Runs a runtime command on the node; its stdout.
    fn run(&self, argv: Vec<String>) -> Result<String, ErrorKind> {
        let argv = self.transport.wrap(argv);
        let output = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| command_err(&argv, format!("could not start: {e}")))?;
        if !output.status.success() {
            return Err(command_err(&argv, failure(&output.status, &output.stderr)));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Stream `image`'s archive into the runtime: the whole archive, or with `held` only what
    /// it lacks (see [`partial`]), which it returns counted.
    pub fn import(
        &self,
        image: &BuiltImage,
        held: Option<&Held>,
        progress: &Progress,
    ) -> Result<Option<Sent>, ErrorKind> {
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
        let mut stdin = child.stdin.take().expect("piped");
        let mut sent = None;
        let copied = match held {
            Some(held) => {
                drop(file);
                partial::write_missing(&image.archive, held, &image.layers, &mut stdin).map(|s| {
                    sent = Some(s);
                })
            }
            None => {
                let transfer =
                    progress.transfer(image.archive_size, &format!("{} → {self}", image.name));
                let copied = io::copy(&mut transfer.reading(file), &mut stdin);
                drop(transfer);
                copied
                    .map(|_| ())
                    .map_err(|e| command_err(&argv, format!("streaming the archive: {e}")))
            }
        };
        drop(stdin);
        let status = child
            .wait()
            .map_err(|e| command_err(&argv, e.to_string()))?;
        let stderr_text = stderr_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(command_err(&argv, failure(&status, stderr_text.as_bytes())));
        }
        copied?;
        Ok(sent)
    }
}

pub(super) fn failure(status: &std::process::ExitStatus, stderr: &[u8]) -> String {
    format!("{status}: {}", String::from_utf8_lossy(stderr).trim())
}

pub(super) fn command_err(argv: &[String], message: String) -> ErrorKind {
    ErrorKind::Command {
        command: argv.join(" "),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::load::{LoadSettings, TargetKind, resolve_targets};

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
            target.import_command().join(" "),
            "ctr -a /tmp/c/containerd.sock -n k8s.io images import --snapshotter=native -"
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
