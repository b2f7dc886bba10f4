//! The one error type of the apply engine; every variant names the object and
//! what berth was doing to it, keeps the client error it came from as its
//! source, and carries its hint (docs/TROUBLESHOOTING.md has a section for
//! each variant).

use super::action::ExpansionRefused;
use crate::hint::Hint;

/// What went wrong while applying, pruning, waiting or reading the release.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The API server refused or failed a request.
    #[error("{verb} {object}: {}", api_message(.source))]
    Api {
        verb: &'static str,
        object: String,
        #[source]
        source: kube::Error,
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
    /// The release namespace is missing and the render does not create it.
    #[error(
        "lock Namespace {namespace}: the release namespace does not exist and the render does not create it"
    )]
    NoNamespace { namespace: String },
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
    /// Processes kept taking the lock from each other while this one tried.
    #[error("acquire {lease}: the lock kept changing hands; run again")]
    LockContended { lease: String },
    /// The lock could not be renewed (the API server did not answer).
    #[error("renew {lease}: the release lock could not be confirmed (API server unavailable)")]
    LockUnconfirmed { lease: String },
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

/// The API server's own words (not kube's debug dump of its status), marked
/// when they are a permission refusal.
fn api_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => match status.code {
            401 => format!("unauthorized: {}", status.message),
            403 => format!("forbidden: {}", status.message),
            _ => status.message.clone(),
        },
        other => other.to_string(),
    }
}

impl ApplyError {
    /// Wraps a client error with the verb and the object it concerned.
    pub fn api(verb: &'static str, object: impl Into<String>, source: kube::Error) -> Self {
        ApplyError::Api {
            verb,
            object: object.into(),
            source,
        }
    }

    /// The HTTP status of the API server's answer; 0 when there was none
    /// (the request did not reach it) or the error is not a request's.
    pub fn code(&self) -> u16 {
        match self {
            ApplyError::Api { source, .. } => status_code(source),
            _ => 0,
        }
    }
}

impl Hint for ApplyError {
    /// Every variant has one (the engine's errors are the user's to act on).
    fn hint(&self) -> Option<String> {
        Some(match self {
            ApplyError::Api { source, .. } => match status_code(source) {
                401 | 403 => "ask the cluster's admin for this permission (`kubectl auth can-i --list` shows what you have), or pick another context with --kube-context".into(),
                0 => "the API server did not answer: `berth doctor` checks the connection".into(),
                404 => "the cluster does not serve this kind, or the object went away meanwhile: `berth doctor` checks the cluster; run again".into(),
                _ => "the API server refused the object as rendered: `berth diff` shows what would be applied".into(),
            },
            ApplyError::Conflict { .. } => {
                "another tool changed these fields; rerun with --force-conflicts to take them back"
                    .into()
            }
            ApplyError::Immutable {
                expansion: Some(refused),
                ..
            } => format!(
                "to grow the volume in place, the StorageClass `{}` must allow it (allowVolumeExpansion: true, supported by its provisioner), or use a class that does; otherwise keep the old size. --recreate re-creates the StatefulSet without growing its existing claims",
                refused.class
            ),
            ApplyError::Immutable { holds_volumes, .. } => format!(
                "rerun with --recreate to delete and re-create it{}",
                if *holds_volumes {
                    " (warning: its volumes' data may be lost)"
                } else {
                    ""
                }
            ),
            ApplyError::EmptyRender => {
                "`berth uninstall` removes a release; a deploy always renders something".into()
            }
            ApplyError::NoNamespace { namespace } => format!(
                "create it first (`kubectl create namespace {namespace}`), or let berth create it (--set namespace.create=true)"
            ),
            ApplyError::Locked { host, lease, .. } => format!(
                "wait for it to finish, then run again; if that process is gone, the lock expires (at once when run again on host {host}); `kubectl delete lease {lease}` frees it by hand"
            ),
            ApplyError::LockContended { .. } => {
                "several deploys of this release are starting at once: run one at a time".into()
            }
            ApplyError::LockUnconfirmed { .. } | ApplyError::LockLost { .. } => {
                "run `berth status` and deploy again once that process is done".into()
            }
            ApplyError::Corrupt { .. } => "this bookkeeping Secret was changed outside berth: delete it with kubectl (the release's history or inventory starts over) and deploy again".into(),
            ApplyError::Timeout { .. } => {
                "the cluster is slow to finish it: `berth status` shows the release; run again".into()
            }
        })
    }
}

/// The status code of a client error, 0 when it is not an API answer.
pub(crate) fn status_code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(status) => status.code,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::action::Growth;

    const GUIDE: &str = include_str!("../../docs/TROUBLESHOOTING.md");
    const SECTION: &str = "## Deploy errors";

    /// The variant names of `ApplyError`, read from this file's source so a
    /// new variant cannot be missed.
    fn variants() -> Vec<String> {
        let source = include_str!("error.rs");
        let body = &source[source.find("pub enum ApplyError {").unwrap()..];
        let body = &body[..body.find("\n}").unwrap()];
        body.lines()
            .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
            .map(str::trim)
            .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|l| {
                l.split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap()
            })
            .map(String::from)
            .collect()
    }

    fn status(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure(message, "")
                .with_code(code)
                .boxed(),
        )
    }

    /// One of each variant, named.
    fn examples() -> Vec<(&'static str, ApplyError)> {
        let text = |s: &str| s.to_string();
        vec![
            (
                "Api",
                ApplyError::api("apply", "Deployment todo/web", status(403, "no")),
            ),
            (
                "Conflict",
                ApplyError::Conflict {
                    object: text("Deployment todo/web"),
                    message: text("conflict with \"kubectl\""),
                },
            ),
            (
                "Immutable",
                ApplyError::Immutable {
                    object: text("StatefulSet todo/db"),
                    message: text("field is immutable"),
                    holds_volumes: true,
                    expansion: Some(Box::new(ExpansionRefused {
                        growth: Growth {
                            template: text("data"),
                            from: text("1Gi"),
                            to: text("2Gi"),
                        },
                        class: text("standard"),
                        why: text("does not allow volume expansion"),
                    })),
                },
            ),
            ("EmptyRender", ApplyError::EmptyRender),
            (
                "NoNamespace",
                ApplyError::NoNamespace {
                    namespace: text("todo"),
                },
            ),
            (
                "Locked",
                ApplyError::Locked {
                    release: text("todo"),
                    holder: text("`berth deploy` on host a (pid 1) since t"),
                    host: text("a"),
                    expires: text("t"),
                    lease: text("-n todo todo-lock"),
                },
            ),
            (
                "LockContended",
                ApplyError::LockContended {
                    lease: text("Lease todo/todo-lock"),
                },
            ),
            (
                "LockUnconfirmed",
                ApplyError::LockUnconfirmed {
                    lease: text("Lease todo/todo-lock"),
                },
            ),
            (
                "LockLost",
                ApplyError::LockLost {
                    release: text("todo"),
                    holder: text("b"),
                },
            ),
            (
                "Corrupt",
                ApplyError::Corrupt {
                    object: text("Secret todo/todo-inventory"),
                    message: text("unreadable inventory"),
                },
            ),
            (
                "Timeout",
                ApplyError::Timeout {
                    object: text("Namespace todo"),
                    what: "become active",
                    seconds: 60,
                },
            ),
        ]
    }

    #[test]
    fn every_engine_error_has_a_hint_and_a_troubleshooting_section() {
        let section = &GUIDE[GUIDE.find(SECTION).expect("the guide's section")..];
        let section = &section[..section[SECTION.len()..]
            .find("\n## ")
            .map_or(section.len(), |end| end + SECTION.len())];
        let examples = examples();
        let named: Vec<&str> = examples.iter().map(|(name, _)| *name).collect();
        assert_eq!(named, variants(), "one example per variant, in order");
        for (name, err) in &examples {
            let hint = err.hint().unwrap_or_default();
            assert!(!hint.trim().is_empty(), "{name} has no hint");
            assert!(
                section.contains(&format!("\n### {name}\n")),
                "docs/TROUBLESHOOTING.md ({SECTION}) lacks a section for {name}"
            );
        }
    }

    #[test]
    fn api_errors_keep_the_client_error_and_word_its_status() {
        let err = ApplyError::api("apply", "Deployment todo/web", status(403, "denied"));
        assert_eq!(
            err.to_string(),
            "apply Deployment todo/web: forbidden: denied"
        );
        assert_eq!(err.code(), 403);
        let source = std::error::Error::source(&err).expect("a source");
        assert!(
            matches!(source.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == 403)
        );
        let gone = ApplyError::api("get", "Secret todo/x", status(404, "not found"));
        assert_eq!(gone.to_string(), "get Secret todo/x: not found");
        assert!(gone.hint().unwrap().contains("berth doctor"));
    }
}
