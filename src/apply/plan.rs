//! What applying would do to each object, found by a server-side dry-run
//! compared with the live object, and what prune would delete.

use kube::Client;
use kube::api::{DynamicObject, Patch};
use serde_json::Value;

use super::applied::{self, Record};
use super::error::status_code;
use super::listed::{Listed, list_members};
use super::normalize::same_content;
use super::ownership::{Ownership, apply_params};
use super::parallel::in_parallel;
use super::prune::prune_candidates;
use super::volumes::{self, VolumeChange};
use super::{Action, ApplyError, Desired, Inventory, ObjectKey, Release};

/// One object's planned action with the live state and the dry-run result.
#[derive(Debug, Clone)]
pub struct Planned {
    pub desired: Desired,
    pub action: Action,
    pub live: Option<Value>,
    /// The object as the server would store it; `None` when no dry-run was
    /// possible (its namespace does not exist yet).
    pub after: Option<Value>,
}

/// Everything a deploy would do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub objects: Vec<Planned>,
    /// Recorded objects no longer rendered, in deletion order.
    pub prune: Vec<ObjectKey>,
}

impl Plan {
    /// Objects that would be written.
    pub fn changes(&self) -> impl Iterator<Item = &Planned> {
        self.objects
            .iter()
            .filter(|p| p.action != Action::Unchanged)
    }

    pub fn is_noop(&self) -> bool {
        self.changes().next().is_none() && self.prune.is_empty()
    }
}

/// Plans one object: dry-runs the apply and, unless a list already read it,
/// reads the live object at the same time.
pub async fn plan_object(
    client: &Client,
    desired: &Desired,
    listed: Option<Value>,
    force: bool,
) -> Result<Planned, ApplyError> {
    let api = desired.key.api(client);
    let name = &desired.key.name;
    let params = apply_params(force).dry_run();
    let patch = Patch::Apply(&desired.object);
    let read = async {
        match listed {
            Some(live) => Ok(Some(live)),
            None => api.get_opt(name).await.map(|o| o.map(to_json)),
        }
    };
    let (live, dry) = futures::join!(read, api.patch(name, &params, &patch));
    let live = live.map_err(|e| ApplyError::api("get", desired.key.to_string(), e))?;
    let planned = |action, after| Planned {
        desired: desired.clone(),
        action,
        live: live.clone(),
        after,
    };
    let dry = match dry {
        Ok(object) => to_json(object),
        Err(err) => {
            let message = match &err {
                kube::Error::Api(status) => status.message.clone(),
                other => other.to_string(),
            };
            return match status_code(&err) {
                // The namespace does not exist yet: nothing to compare with.
                404 if live.is_none() => Ok(planned(Action::Create, None)),
                409 => Ok(planned(Action::Conflict { message }, None)),
                422 if is_immutable_change(&message) => {
                    let change = match (&live, desired.key.kind.as_str()) {
                        (Some(live), "StatefulSet") => {
                            volumes::classify(client, desired, live, force).await?
                        }
                        _ => None,
                    };
                    Ok(match change {
                        Some(VolumeChange::Expand { claims, after }) => {
                            planned(Action::Expand { claims }, Some(after))
                        }
                        Some(VolumeChange::Refused(refused)) => planned(
                            Action::Recreate {
                                reason: message,
                                expansion: Some(refused),
                            },
                            None,
                        ),
                        None => planned(
                            Action::Recreate {
                                reason: message,
                                expansion: None,
                            },
                            None,
                        ),
                    })
                }
                _ => Err(ApplyError::api(
                    "dry-run apply",
                    desired.key.to_string(),
                    err,
                )),
            };
        }
    };
    let action = match &live {
        None => Action::Create,
        Some(live) if same_content(live, &dry) => Action::Unchanged,
        Some(_) => Action::Update,
    };
    Ok(planned(action, Some(dry)))
}

/// Plans a set of objects (already marked and stamped, see [`as_applied`]),
/// keeping their order: an object the list shows as berth left it with this
/// payload is unchanged without a request of its own ([`applied::unchanged`]);
/// the others are dry-run concurrently.
pub async fn plan_objects(
    client: &Client,
    objects: &[Desired],
    mut listed: Listed,
    record: &Record,
    force: bool,
) -> Result<Vec<Planned>, ApplyError> {
    let mut planned: Vec<Option<Planned>> = Vec::with_capacity(objects.len());
    let mut pending = Vec::new();
    for (i, desired) in objects.iter().enumerate() {
        let live = listed.take(&desired.key);
        match live {
            Some(live) if applied::unchanged(desired, &live, record.get(&desired.key)) => {
                planned.push(Some(Planned {
                    desired: desired.clone(),
                    action: Action::Unchanged,
                    live: Some(live),
                    after: None,
                }));
            }
            live => {
                planned.push(None);
                pending.push((i, desired, live));
            }
        }
    }
    let (places, futures): (Vec<usize>, Vec<_>) = pending
        .into_iter()
        .map(|(i, desired, live)| (i, plan_object(client, desired, live, force)))
        .unzip();
    for (i, result) in places.into_iter().zip(in_parallel(futures).await) {
        planned[i] = Some(result?);
    }
    Ok(planned
        .into_iter()
        .map(|p| p.expect("every object planned"))
        .collect())
}

/// The payloads as deploy applies them: marked as the release's members,
/// then stamped with their hash.
pub fn as_applied(release: &Release, objects: &mut [Desired]) {
    Ownership::of(release).mark(objects);
    applied::stamp(objects);
}

/// The whole plan: every object compared as deploy would apply it (with the
/// ApplySet member label and the payload's hash), and the prunes the inventory implies. Read-only:
/// the wizard and `berth diff` show it before anything is written.
///
/// ```no_run
/// # async fn example(client: kube::Client, objects: Vec<berth::apply::Desired>) -> Result<(), berth::apply::ApplyError> {
/// let release = berth::apply::Release::new("todo-chatbot", "todo");
/// let plan = berth::apply::plan(&client, &objects, &release, false).await?;
/// for change in plan.changes() {
///     println!("{} {}", change.action.verb(), change.desired.key);
/// }
/// # Ok(()) }
/// ```
pub async fn plan(
    client: &Client,
    objects: &[Desired],
    release: &Release,
    force: bool,
) -> Result<Plan, ApplyError> {
    let mut objects = objects.to_vec();
    as_applied(release, &mut objects);
    let objects = objects.as_slice();
    let ownership = Ownership::of(release);
    let (inventory, listed) = futures::join!(
        Inventory::read(client, release),
        list_members(client, objects, &ownership)
    );
    let inventory = inventory?.unwrap_or_default();
    Ok(Plan {
        objects: plan_objects(client, objects, listed, &inventory.applied, force).await?,
        prune: prune_candidates(&inventory.objects, objects),
    })
}

/// The API server's wording for changes only delete and re-create can make
/// (in a 422): "field is immutable" (selectors, clusterIP, a Secret's type),
/// "spec is immutable after creation" (a claim), CEL's "immutable field", or
/// a StatefulSet's "updates to statefulset spec for fields other than … are
/// forbidden". A value quoted in another refusal is not enough.
pub(super) fn is_immutable_change(message: &str) -> bool {
    message.contains("is immutable")
        || message.contains("immutable field")
        || (message.contains("updates to") && message.contains("are forbidden"))
}

fn to_json(object: DynamicObject) -> Value {
    serde_json::to_value(object).expect("objects serialize")
}
