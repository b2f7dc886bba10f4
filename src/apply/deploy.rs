//! The deploy sequence, holding the release lock: dry-run everything, then
//! stage by stage write only what drifted; record the inventory superset and
//! a pending revision before the first write, prune, shrink the inventory,
//! wait, and close the revision.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PostParams};

use super::applied::{self, Record};
use super::error::status_code;
use super::listed::{Listed, list_members};
use super::lock::{self, ReleaseLock};
use super::ownership::{Ownership, apply_params};
use super::parallel::in_parallel;
use super::plan::as_applied;
use super::plan::plan_objects;
use super::prune::{Pruned, prune, prune_candidates};
use super::revision::{self, RevisionContent};
use super::volumes;
use super::watch;
use super::{
    Action, ApplyError, Change, Desired, Event, FIELD_MANAGER, Inventory, ObjectKey, Phase,
    Planned, Readiness, Release, Verb, wait_ready,
};

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Take fields owned by other managers (`--force-conflicts`).
    pub force_conflicts: bool,
    /// Delete and re-create objects whose immutable fields change (`--recreate`).
    pub recreate: bool,
    /// Let prune delete PersistentVolumeClaims.
    pub delete_data: bool,
    /// How long to wait for readiness; `None` skips the wait (`--no-wait`).
    pub wait: Option<Duration>,
    /// What the revision records.
    pub revision: RevisionContent,
    /// Objects the release keeps owning without applying them (rollback keeps
    /// live Secrets, whose values revisions do not store).
    pub also_owned: Vec<ObjectKey>,
    /// Revisions to keep after this one is recorded (`--history-max`; 0 keeps all).
    pub history_max: usize,
}

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct DeployReport {
    /// Every object written or pruned, in the order it was, with what was done
    /// (`Expand`: a StatefulSet whose claims grew and which was re-created).
    pub changes: Vec<Change>,
    pub unchanged: usize,
    /// Prune candidates left in place, with why.
    pub kept: Vec<String>,
    /// The revision recorded; `None` when nothing changed.
    pub revision: Option<u32>,
    pub readiness: Readiness,
}

impl DeployReport {
    pub fn wrote_anything(&self) -> bool {
        self.revision.is_some()
    }

    /// The objects `verb` was done to, as `Kind namespace/name`: the one
    /// grouping of the changes every output shows.
    pub fn objects(&self, verb: Verb) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.verb == verb)
            .map(|c| c.object.to_string())
            .collect()
    }

    pub fn count(&self, verb: Verb) -> usize {
        self.changes.iter().filter(|c| c.verb == verb).count()
    }
}

/// Deploys `objects` (any order; they are applied by stage) as `release`.
pub async fn deploy(
    client: &Client,
    release: &Release,
    mut objects: Vec<Desired>,
    options: &DeployOptions,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, ApplyError> {
    if objects.is_empty() {
        return Err(ApplyError::EmptyRender);
    }
    as_applied(release, &mut objects);
    let mut clock = Clock::default();
    let started = Instant::now();
    let lock = hold(client, release, &objects).await?;
    clock.add(Phase::Lock, started);
    let result = deploy_held(
        client, release, &objects, options, &lock, &mut clock, progress,
    )
    .await;
    let started = Instant::now();
    lock.release().await;
    clock.add(Phase::Lock, started);
    for (phase, elapsed) in clock.0 {
        progress(Event::Phase { phase, elapsed });
    }
    result
}

/// Time spent per phase.
#[derive(Default)]
struct Clock(BTreeMap<Phase, Duration>);

impl Clock {
    fn add(&mut self, phase: Phase, since: Instant) {
        *self.0.entry(phase).or_default() += since.elapsed();
    }
}

/// Deploys like [`deploy`] under a lock the caller holds for longer (`berth dev` holds it for
/// its whole session, so no other deploy slips in between its rollouts).
pub async fn deploy_holding(
    client: &Client,
    release: &Release,
    mut objects: Vec<Desired>,
    options: &DeployOptions,
    lock: &ReleaseLock,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, ApplyError> {
    if objects.is_empty() {
        return Err(ApplyError::EmptyRender);
    }
    as_applied(release, &mut objects);
    let mut clock = Clock::default();
    let result = deploy_held(
        client, release, &objects, options, lock, &mut clock, progress,
    )
    .await;
    for (phase, elapsed) in clock.0 {
        progress(Event::Phase { phase, elapsed });
    }
    result
}

/// Takes the release lock. It lives in the release namespace, so when that
/// does not exist yet (and the render creates it) an empty namespace is
/// created first: the one write a deploy refused by the lock can have made,
/// the same whichever process makes it. The winner then applies the render's.
pub async fn hold(
    client: &Client,
    release: &Release,
    objects: &[Desired],
) -> Result<ReleaseLock, ApplyError> {
    if let Some(lock) = lock::acquire(client, release).await? {
        return Ok(lock);
    }
    let missing = || ApplyError::NoNamespace {
        namespace: release.namespace.clone(),
    };
    let key = objects
        .iter()
        .map(|d| &d.key)
        .find(|k| k.kind == "Namespace" && k.name == release.namespace)
        .ok_or_else(missing)?;
    let empty = Namespace {
        metadata: ObjectMeta {
            name: Some(key.name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match Api::<Namespace>::all(client.clone())
        .create(&params, &empty)
        .await
    {
        Ok(_) => {}
        Err(e) if status_code(&e) == 409 => {}
        Err(e) => return Err(ApplyError::api("create", key.to_string(), e)),
    }
    watch::until_namespace_active(client, key, watch::NAMESPACE_ACTIVE).await?;
    lock::acquire(client, release).await?.ok_or_else(missing)
}

async fn deploy_held(
    client: &Client,
    release: &Release,
    objects: &[Desired],
    options: &DeployOptions,
    lock: &ReleaseLock,
    clock: &mut Clock,
    progress: &mut (dyn FnMut(Event) + Send),
) -> Result<DeployReport, ApplyError> {
    let started = Instant::now();
    let ownership = Ownership::of(release);
    let (inventory, revisions, listed) = futures::join!(
        Inventory::read(client, release),
        revision::list(client, release),
        list_members(client, objects, &ownership),
    );
    let inventory = inventory?.unwrap_or_default();
    clock.add(Phase::Compare, started);
    let mut run = Run {
        client,
        release,
        options,
        lock,
        clock,
        recorded: inventory.objects,
        owned: objects
            .iter()
            .map(|d| d.key.clone())
            .chain(options.also_owned.iter().cloned())
            .collect(),
        // A deploy killed after its last write leaves a pending revision; even a
        // run with nothing left to apply must then record the converged state.
        interrupted: revisions?.iter().any(|r| r.status == revision::PENDING),
        applied_before: inventory.applied,
        applied: Record::new(),
        revision: None,
        report: DeployReport {
            changes: vec![],
            unchanged: 0,
            kept: vec![],
            revision: None,
            readiness: Readiness::Ready,
        },
    };
    match run.execute(objects, listed, progress).await {
        Ok(()) => Ok(run.report),
        Err(err) => {
            // A process that lost the lock writes nothing more.
            if let (Some(number), false) =
                (run.revision, matches!(err, ApplyError::LockLost { .. }))
            {
                // Best effort: the error being reported matters more.
                let _ = revision::finish(client, release, number, revision::FAILED).await;
            }
            Err(err)
        }
    }
}

struct Run<'a> {
    client: &'a Client,
    release: &'a Release,
    options: &'a DeployOptions,
    lock: &'a ReleaseLock,
    clock: &'a mut Clock,
    /// The inventory as found.
    recorded: BTreeSet<ObjectKey>,
    /// What the inventory recorded berth left each object as.
    applied_before: Record,
    /// What this deploy leaves each object as (known for the objects it
    /// applied or proved unchanged).
    applied: Record,
    /// What the release owns after this deploy.
    owned: BTreeSet<ObjectKey>,
    /// An earlier deploy of this release stopped with its revision pending.
    interrupted: bool,
    revision: Option<u32>,
    report: DeployReport,
}

impl Run<'_> {
    async fn execute(
        &mut self,
        objects: &[Desired],
        listed: Listed,
        progress: &mut (dyn FnMut(Event) + Send),
    ) -> Result<(), ApplyError> {
        // Every stage is planned before anything is written, so a conflict or
        // an immutable change stops the deploy with the cluster untouched.
        // Objects whose namespace does not exist yet plan as creates.
        let started = Instant::now();
        let planned = plan_objects(
            self.client,
            objects,
            listed,
            &self.applied_before,
            self.options.force_conflicts,
        )
        .await?;
        self.clock.add(Phase::Compare, started);
        check_blockers(&planned, self.options.recreate)?;
        let mut stages: BTreeMap<u8, Vec<&Planned>> = BTreeMap::new();
        for p in &planned {
            stages.entry(p.desired.key.stage).or_default().push(p);
            if p.action == Action::Unchanged {
                let key = &p.desired.key;
                // Proved from the list: as recorded. Dry-run: as it returned.
                let entry = match &p.after {
                    None => self.applied_before.get(key).cloned(),
                    Some(after) => applied::entry(after),
                };
                if let Some(entry) = entry {
                    self.applied.insert(key.clone(), entry);
                }
            }
        }
        for items in stages.values() {
            let changes: Vec<&Planned> = items
                .iter()
                .copied()
                .filter(|p| p.action != Action::Unchanged)
                .collect();
            self.report.unchanged += items.len() - changes.len();
            if changes.is_empty() {
                continue;
            }
            self.lock.ensure_held().await?;
            // The namespace exists (the lock lives in it): the revision and
            // the inventory are recorded before the first write.
            self.begin().await?;
            let started = Instant::now();
            let results = in_parallel(
                changes
                    .iter()
                    .map(|p| apply_one(self.client, p, self.options.force_conflicts)),
            )
            .await;
            for (planned, result) in changes.iter().zip(results) {
                let written = result?;
                if let Some(entry) = applied::entry(&written) {
                    self.applied.insert(planned.desired.key.clone(), entry);
                }
                if let Action::Expand { claims } = &planned.action {
                    for c in claims {
                        progress(Event::Expanded {
                            claim: c.claim.clone(),
                            from: c.from.clone(),
                            to: c.to.clone(),
                        });
                    }
                }
                self.changed(&planned.desired.key, planned.action.verb(), progress);
            }
            for planned in changes.iter().filter(|p| p.desired.key.kind == "Namespace") {
                let key = &planned.desired.key;
                watch::until_namespace_active(self.client, key, watch::NAMESPACE_ACTIVE).await?;
            }
            self.clock.add(Phase::Apply, started);
        }
        drop(planned);
        let candidates: Vec<ObjectKey> = prune_candidates(&self.recorded, objects)
            .into_iter()
            .filter(|k| !self.owned.contains(k))
            .collect();
        if !candidates.is_empty() || self.recorded != self.owned || self.interrupted {
            self.lock.ensure_held().await?;
            self.begin().await?;
        }
        let started = Instant::now();
        for (key, outcome) in prune(
            self.client,
            self.release,
            &candidates,
            self.options.delete_data,
        )
        .await?
        {
            match outcome {
                Pruned::Deleted => self.changed(&key, Verb::Prune, progress),
                Pruned::Absent => {}
                Pruned::Kept(why) => self.report.kept.push(format!("{key}: {why}")),
            }
        }
        self.clock.add(Phase::Prune, started);
        // The shrunk inventory and what this deploy left each object as; only
        // with a revision: a no-op deploy writes nothing.
        if self.revision.is_some()
            && (self.recorded != self.owned || self.applied != self.applied_before)
        {
            let started = Instant::now();
            Inventory {
                objects: self.owned.clone(),
                applied: std::mem::take(&mut self.applied),
            }
            .write(self.client, self.release)
            .await?;
            self.clock.add(Phase::Record, started);
        }
        if let Some(timeout) = self.options.wait {
            let started = Instant::now();
            let keys: Vec<ObjectKey> = objects.iter().map(|d| d.key.clone()).collect();
            self.report.readiness =
                wait_ready(self.client, self.release, &keys, timeout, progress).await?;
            self.clock.add(Phase::Wait, started);
        }
        if let Some(number) = self.revision {
            let started = Instant::now();
            self.lock.ensure_held().await?;
            let status = match self.report.readiness {
                Readiness::Ready => revision::DEPLOYED,
                _ => revision::FAILED,
            };
            revision::finish(self.client, self.release, number, status).await?;
            // Old revisions are bookkeeping: failing to delete them must not
            // turn a finished deploy into a failed one.
            match revision::trim(self.client, self.release, self.options.history_max).await {
                Ok(trimmed) if !trimmed.is_empty() => progress(Event::HistoryTrimmed {
                    revisions: trimmed,
                    keep: self.options.history_max,
                }),
                Ok(_) => {}
                Err(e) => progress(Event::HistoryKept {
                    error: e.to_string(),
                }),
            }
            self.clock.add(Phase::Record, started);
        }
        Ok(())
    }

    fn changed(
        &mut self,
        object: &ObjectKey,
        verb: Verb,
        progress: &mut (dyn FnMut(Event) + Send),
    ) {
        progress(Event::Changed {
            object: object.to_string(),
            verb,
        });
        self.report.changes.push(Change {
            object: object.clone(),
            verb,
        });
    }

    /// Before the first write: a pending revision and the inventory superset,
    /// so a crash from here on orphans nothing.
    async fn begin(&mut self) -> Result<(), ApplyError> {
        if self.revision.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let ttl = self.options.wait.unwrap_or_default() + Duration::from_secs(120);
        let number =
            revision::begin(self.client, self.release, &self.options.revision, ttl).await?;
        self.revision = Some(number);
        self.report.revision = Some(number);
        let superset: BTreeSet<ObjectKey> = self.recorded.union(&self.owned).cloned().collect();
        if superset != self.recorded {
            // What the objects were left as so far still holds; an entry an
            // apply makes stale no longer matches the object's new stamp.
            Inventory {
                objects: superset,
                applied: self.applied_before.clone(),
            }
            .write(self.client, self.release)
            .await?;
        }
        self.clock.add(Phase::Record, started);
        Ok(())
    }
}

/// Conflicts always stop the deploy; immutable changes stop it unless `recreate`.
fn check_blockers(planned: &[Planned], recreate: bool) -> Result<(), ApplyError> {
    for p in planned {
        match &p.action {
            Action::Conflict { message } => {
                return Err(ApplyError::Conflict {
                    object: p.desired.key.to_string(),
                    message: message.clone(),
                });
            }
            Action::Recreate { reason, expansion } if !recreate => {
                return Err(ApplyError::Immutable {
                    object: p.desired.key.to_string(),
                    message: reason.clone(),
                    holds_volumes: holds_volumes(&p.desired.key, reason),
                    expansion: expansion.clone().map(Box::new),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether re-creating the object may lose volume data: StatefulSets own
/// their claims' templates, claims hold the data.
pub fn holds_volumes(key: &ObjectKey, reason: &str) -> bool {
    matches!(key.kind.as_str(), "StatefulSet" | "PersistentVolumeClaim")
        || reason.contains("volumeClaimTemplates")
}

/// Writes one object with server-side apply. Recreating deletes it first
/// (with its dependents); expanding raises its claims' requests and deletes
/// only the object, orphaning its pods for the new object to adopt. Returns
/// the object as written.
async fn apply_one(
    client: &Client,
    planned: &Planned,
    force: bool,
) -> Result<serde_json::Value, ApplyError> {
    let key = &planned.desired.key;
    let api = key.api(client);
    let delete = match &planned.action {
        Action::Recreate { .. } => Some(DeleteParams::foreground()),
        Action::Expand { claims } => {
            let namespace = key.namespace.as_deref().unwrap_or_default();
            for claim in claims {
                volumes::expand_claim(client, namespace, claim).await?;
            }
            Some(DeleteParams::orphan())
        }
        _ => None,
    };
    if let Some(params) = delete {
        match api.delete(&key.name, &params).await {
            Ok(_) => {}
            Err(e) if status_code(&e) == 404 => {}
            Err(e) => return Err(ApplyError::api("delete", key.to_string(), e)),
        }
        // The object planned on, not one re-created meanwhile under its name.
        let uid = planned
            .live
            .as_ref()
            .and_then(|l| l["metadata"]["uid"].as_str());
        watch::until_deleted(client, key, uid, watch::DELETION).await?;
    }
    let written = api
        .patch(
            &key.name,
            &apply_params(force),
            &Patch::Apply(&planned.desired.object),
        )
        .await
        .map_err(|e| ApplyError::api("apply", key.to_string(), e))?;
    Ok(serde_json::to_value(written).expect("objects serialize"))
}
