//! Rollback: which recorded revision to return to, and what re-applying it
//! means. Revisions hold no secret values, so the release keeps its live
//! Secrets as they are: they stay owned without being applied.

use kube::Client;

use super::revision::{self, DEPLOYED, RevisionContent, SUPERSEDED};
use super::{ApplyError, Desired, ObjectKey, Release};
use crate::hint::Hint;

/// A revision to re-apply as a new revision.
#[derive(Debug, Clone)]
pub struct RollbackTarget {
    pub number: u32,
    /// The objects to apply (the revision's, without its redacted Secrets).
    pub objects: Vec<Desired>,
    /// The revision's Secrets: kept owned, not applied.
    pub also_owned: Vec<ObjectKey>,
    /// What the new revision records: the same as the old one.
    pub content: RevisionContent,
}

/// Why there is nothing to roll back to.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("revision {number} of release {release} not found")]
    NotFound { release: String, number: u32 },
    #[error("release {release} has no earlier deployed revision to roll back to")]
    NoEarlier { release: String },
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl Hint for RollbackError {
    fn hint(&self) -> Option<String> {
        match self {
            RollbackError::NotFound { .. } | RollbackError::NoEarlier { .. } => None,
            RollbackError::Apply(err) => err.hint(),
        }
    }
}

/// The revision `requested`, or the last deployed one before the newest.
pub async fn rollback_target(
    client: &Client,
    release: &Release,
    requested: Option<u32>,
) -> Result<RollbackTarget, RollbackError> {
    let number = match requested {
        Some(number) => number,
        None => previous(&revision::list(client, release).await?).ok_or_else(|| {
            RollbackError::NoEarlier {
                release: release.name.clone(),
            }
        })?,
    };
    let (_, content) = revision::load(client, release, number)
        .await?
        .ok_or_else(|| RollbackError::NotFound {
            release: release.name.clone(),
            number,
        })?;
    let (secrets, objects): (Vec<Desired>, Vec<Desired>) = content
        .objects()
        .into_iter()
        .partition(|d| d.key.kind == "Secret");
    Ok(RollbackTarget {
        number,
        objects,
        also_owned: secrets.into_iter().map(|d| d.key).collect(),
        content,
    })
}

/// The newest deployed or superseded revision older than the newest one.
fn previous(revisions: &[revision::Revision]) -> Option<u32> {
    let newest = revisions.last().map(|r| r.number).unwrap_or(0);
    revisions
        .iter()
        .rev()
        .find(|r| r.number < newest && matches!(r.status.as_str(), DEPLOYED | SUPERSEDED))
        .map(|r| r.number)
}
