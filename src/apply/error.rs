//! The one error type of the apply engine; every variant names the object and
//! what berth was doing to it. Advice (which flag to use) is the caller's.

use super::volumes::ExpansionRefused;

/// What went wrong while applying, pruning, waiting or reading the release.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The API server refused or failed a request.
    #[error("{verb} {object}: {message}")]
    Api {
        verb: &'static str,
        object: String,
        code: u16,
        message: String,
    },
    /// Another field manager owns fields berth sets.
    #[error("{object}: {message}")]
    Conflict { object: String, message: String },
    /// An immutable field would change; the object must be deleted and re-created.
    #[error("{object}: would recreate: {message}{}", expansion_line(.expansion))]
    Immutable {
        object: String,
        message: String,
        /// Re-creating it may lose the data in its volumes.
        holds_volumes: bool,
        /// Why its volumes cannot grow in place, when that is the change.
        expansion: Option<Box<ExpansionRefused>>,
    },
    #[error("refusing to apply an empty render: it would prune every object of the release")]
    EmptyRender,
    /// Another berth process holds the release's lock.
    #[error(
        "release {release} is locked by {holder}; the lock expires at {expires} if that process is gone"
    )]
    Locked {
        release: String,
        /// `` `berth deploy` on host H (pid P) since T ``
        holder: String,
        host: String,
        expires: String,
        /// `-n <namespace> <name>` of the Lease.
        lease: String,
    },
    /// The lock expired while this process could not renew it (an API server
    /// outage) and another process took it: stop writing.
    #[error("release {release}: lost the release lock to {holder}; stopped before writing more")]
    LockLost { release: String, holder: String },
    /// Stored release data (inventory, revision) cannot be read.
    #[error("{object}: {message}")]
    Corrupt { object: String, message: String },
    #[error("{object}: timed out after {seconds}s waiting to {what}")]
    Timeout {
        object: String,
        what: &'static str,
        seconds: u64,
    },
}

fn expansion_line(expansion: &Option<Box<ExpansionRefused>>) -> String {
    expansion
        .as_ref()
        .map(|refused| format!("\n{refused}"))
        .unwrap_or_default()
}

impl ApplyError {
    /// Wraps a client error with the verb and the object it concerned.
    pub fn api(verb: &'static str, object: impl Into<String>, err: kube::Error) -> Self {
        let (code, message) = match &err {
            kube::Error::Api(status) => (status.code, status.message.clone()),
            other => (0, other.to_string()),
        };
        let message = match code {
            401 => format!("unauthorized: {message}"),
            403 => format!("forbidden: {message}"),
            _ => message,
        };
        ApplyError::Api {
            verb,
            object: object.into(),
            code,
            message,
        }
    }
}

/// The status code of a client error, 0 when it is not an API answer.
pub(crate) fn status_code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        _ => 0,
    }
}
