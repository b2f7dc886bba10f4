//! Side-loading archives into a cluster node's container runtime without a registry.
//!
//! A [`LoadTarget`] is a runtime (containerd, Docker, Podman/CRI-O) reached through a transport
//! (this host, `minikube ssh`, or `docker exec -i` into a node container). The archive is streamed
//! into the runtime's import command on stdin; before that the runtime is asked whether it already
//! has the image by digest (then the import is skipped), and afterwards it must report the image,
//! or loading fails. containerd is asked which blobs it holds and Docker which layer chains, and
//! only the others are sent ([`partial`]); should that import fail, the whole archive is sent.
//! Podman/CRI-O (Minikube's cri-o runtime) cannot be asked and gets the whole archive.
//!
//! [`target`] says how to reach a runtime and what to run there; [`detect`] turns `--target` into
//! the nodes' targets (Minikube profiles, kind nodes, a containerd socket).

pub mod detect;
pub mod partial;
pub mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Progress;
use super::build::BuiltImage;
use super::error::{Error, ErrorKind};

pub use detect::{MinikubeProfile, kind_targets_for, resolve_targets, select_minikube_profile};
pub use target::{LoadTarget, Runtime, Transport};

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

/// What happened to one image on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Imported and verified.
    Loaded {
        /// Time spent importing.
        elapsed: Duration,
        /// Blobs and bytes sent, when only the missing ones were (containerd, Docker); `None`
        /// when the whole archive was.
        sent: Option<partial::Sent>,
    },
    /// The runtime already had this digest; nothing was sent.
    AlreadyPresent,
}

impl std::fmt::Display for LoadOutcome {
    /// `loaded in 0.42s (3 of 5 blobs sent, 12 kB)`, `loaded in 2.90s`, `already present`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadOutcome::Loaded { elapsed, sent } => {
                write!(f, "loaded in {:.2}s", elapsed.as_secs_f64())?;
                if let Some(sent) = sent {
                    write!(
                        f,
                        " ({} of {} blobs sent, {})",
                        sent.blobs,
                        sent.total_blobs,
                        human_bytes(sent.bytes)
                    )?;
                }
                Ok(())
            }
            LoadOutcome::AlreadyPresent => f.write_str("already present"),
        }
    }
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
    let sent = import(target, image, progress).map_err(at)?;
    let elapsed = started.elapsed();
    if !target.has_image(image).map_err(at)? {
        return Err(at(ErrorKind::NotPresentAfterLoad {
            reference: image.reference.clone(),
            digest: image.manifest_digest.clone(),
        }));
    }
    let what = match sent {
        Some(s) => format!(
            "{} of {} blobs ({}) loaded into {target}",
            s.blobs,
            s.total_blobs,
            human_bytes(s.bytes)
        ),
        None => format!("loaded into {target}"),
    };
    progress.step(
        &image.name,
        &format!("{what} in {:.2}s, verified", elapsed.as_secs_f64()),
    );
    Ok(report(LoadOutcome::Loaded { elapsed, sent }))
}

/// Only what the runtime lacks when it can say; the whole archive otherwise, or when that import
/// fails (a blob collected between the listing and the import, Docker's containerd store).
/// An image index has no Docker `manifest.json` to leave layers out of.
fn import(
    target: &LoadTarget,
    image: &BuiltImage,
    progress: &Progress,
) -> Result<Option<partial::Sent>, ErrorKind> {
    let docker_index = target.runtime == Runtime::Docker && !image.platforms.is_empty();
    let held = target.held().ok().flatten().filter(|_| !docker_index);
    if let Some(held) = held.filter(|h| !h.is_empty()) {
        match target.import(image, Some(&held), progress) {
            Ok(sent) => return Ok(sent),
            Err(e) => progress.step(
                &image.name,
                &format!("loading only the missing blobs failed ({e}); sending the whole archive"),
            ),
        }
    }
    target.import(image, None, progress)
}

/// `1.2 MB`, `340 kB`, `12 B`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{} kB", b / 1_000),
        b => format!("{b} B"),
    }
}
