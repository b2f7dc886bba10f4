//! The one error type of the images module: every failure names the image and the step.

use std::path::PathBuf;

/// A failure while building, loading or pushing one image.
///
/// Displays as `image backend, step "layer deps": <what went wrong>`, so a user reading only the
/// first line knows which spec and which part of it to look at.
#[derive(Debug, thiserror::Error)]
#[error("{}step \"{step}\": {kind}", image_prefix(image))]
pub struct Error {
    /// Name of the image spec (the file stem in `images/`), or `-` before a spec is known.
    pub image: String,
    /// What was being done: `spec`, `pull base`, `layer code`, `archive`, `load`, `push`, …
    pub step: String,
    /// What went wrong (already part of the message, so not also reported as a `source`).
    pub kind: Box<ErrorKind>,
}

/// What went wrong, independent of which image or step it happened in.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The spec file is malformed or inconsistent.
    #[error("invalid spec: {0}")]
    Spec(String),
    /// A file or directory could not be read or written.
    #[error("{action} {}: {error}", path.display())]
    Io {
        /// What was attempted (`read`, `write`, `create directory`, …).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error (part of the message).
        error: std::io::Error,
    },
    /// A registry request failed (unreachable, unauthorised, missing manifest or blob).
    #[error("registry {registry}: {message}")]
    Registry {
        /// The registry host that was contacted.
        registry: String,
        /// The client's error message.
        message: String,
    },
    /// Registry credentials could not be read (never includes the credentials).
    #[error("credentials: {0}")]
    Credentials(String),
    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest that was announced.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The base image has no manifest for the requested platform.
    #[error("no manifest for platform {platform} in {reference} (available: {available})")]
    PlatformMissing {
        /// The requested platform.
        platform: String,
        /// The image reference.
        reference: String,
        /// Platforms the index does list.
        available: String,
    },
    /// A layer holds binaries for another machine than the target platform's.
    #[error(
        "{count} file(s) in this layer are {found} binaries, but the image is for {platform} (first: {first})\n\
         hint: host-side steps run on this machine ({host}); make them target the image's platform \
         with the placeholders {{os}}, {{arch}}, {{variant}}, {{uname_arch}}, {{npm_os}}, {{npm_cpu}} or \
         {{pip_platforms}} (e.g. env = {{ PIP_PLATFORM = \"{{pip_platforms}}\" }} with pip's --only-binary=:all:)"
    )]
    WrongArchitecture {
        /// The target platform.
        platform: String,
        /// The platform host-side steps run on.
        host: String,
        /// How many ELF files are for another machine.
        count: usize,
        /// The first of them, as an image path.
        first: String,
        /// The machine they are built for.
        found: String,
    },
    /// A host-side build step exited unsuccessfully; its output is included.
    #[error("command `{command}` failed ({status})\n--- output ---\n{output}")]
    StepFailed {
        /// The command line that ran.
        command: String,
        /// Exit status description.
        status: String,
        /// Combined stdout and stderr (tail).
        output: String,
    },
    /// A Python requirement has no wheel for the image's platform and berth cannot make one
    /// here (its source builds a platform wheel, or does not build).
    #[error("{requirement} has no wheel for {target} and {reason}")]
    NoWheel {
        /// The requirement (`neon 0.1.2`).
        requirement: String,
        /// The image's platform and Python (`linux x86_64 cp312`).
        target: String,
        /// Why none can be built here, with a hint.
        reason: String,
    },
    /// An external program (ctr, minikube, docker …) could not be run or failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line.
        command: String,
        /// What happened (exit status and stderr, or the spawn error).
        message: String,
    },
    /// After a load, the runtime does not report the image.
    #[error(
        "image {reference} is not present in the runtime after loading (expected digest {digest})"
    )]
    NotPresentAfterLoad {
        /// Full image reference.
        reference: String,
        /// Expected digest.
        digest: String,
    },
    /// Something needed earlier was not done (e.g. load before build).
    #[error("{0}")]
    Missing(String),
    /// Malformed JSON from a registry, runtime or cache record.
    #[error("malformed {what}: {message}")]
    Malformed {
        /// What was being parsed.
        what: String,
        /// Parser message.
        message: String,
    },
}

/// `image backend, ` — or nothing for failures before any image is involved (image `-`).
fn image_prefix(image: &str) -> String {
    if image == "-" {
        String::new()
    } else {
        format!("image {image}, ")
    }
}

impl Error {
    /// Build an error for `image` at `step`.
    pub fn new(image: impl Into<String>, step: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            image: image.into(),
            step: step.into(),
            kind: Box::new(kind),
        }
    }
}

impl ErrorKind {
    /// An I/O error with the path it concerned.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            error,
        }
    }

    /// Attach the image and step this happened in.
    pub fn at(self, image: &str, step: &str) -> Error {
        Error::new(image, step, self)
    }
}

/// Result alias for the images module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_image_and_step() {
        let err = ErrorKind::Spec("user must be numeric".into()).at("backend", "spec");
        assert_eq!(
            err.to_string(),
            "image backend, step \"spec\": invalid spec: user must be numeric"
        );
        let err =
            ErrorKind::Missing("no cluster runtime found".into()).at("-", "detect load target");
        assert_eq!(
            err.to_string(),
            "step \"detect load target\": no cluster runtime found"
        );
    }
}
