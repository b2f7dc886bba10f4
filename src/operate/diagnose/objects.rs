//! What a look around the release shows beyond the workloads' causes:
//! unbound claims, Services and their endpoints, recent Events.

use super::*;

pub(super) fn unbound_claims(snapshot: &Snapshot) -> Vec<ClaimState> {
    snapshot
        .claims
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| {
            let phase = c
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".into());
            (phase != "Bound").then(|| {
                let class = c.spec.as_ref().and_then(|s| s.storage_class_name.clone());
                ClaimState {
                    name: c.name_any(),
                    waits_for_consumer: class
                        .as_ref()
                        .and_then(|n| snapshot.wait_for_consumer.get(n))
                        .copied()
                        .unwrap_or(false),
                    storage_class: class,
                    phase,
                }
            })
        })
        .collect()
}

/// The pods that mount `claim`.
pub(super) fn claim_users<'a>(
    snapshot: &'a Snapshot,
    claim: &'a str,
) -> impl Iterator<Item = &'a Pod> {
    snapshot.pods.iter().filter(move |p| {
        p.spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
    })
}

/// Services with a selector (others have no endpoints by design).
pub(super) fn service_states(snapshot: &Snapshot) -> Vec<ServiceState> {
    snapshot
        .services
        .iter()
        .filter(|s| {
            s.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|m| !m.is_empty())
        })
        .map(|s| {
            let name = s.name_any();
            let endpoints = snapshot
                .slices
                .iter()
                .filter(|slice| slice.labels().get("kubernetes.io/service-name") == Some(&name))
                .flat_map(|slice| slice.endpoints.iter());
            let (ready, not_ready) = endpoints.fold((0, 0), |(r, n), e| {
                match e.conditions.as_ref().and_then(|c| c.ready) {
                    Some(false) => (r, n + 1),
                    // No condition means ready (the API's rule).
                    _ => (r + 1, n),
                }
            });
            ServiceState {
                name,
                ready_endpoints: ready,
                not_ready_endpoints: not_ready,
            }
        })
        .collect()
}

/// Events about the release's objects (and their ReplicaSets), one per
/// object, reason and message, the newest [`EVENT_LIMIT`], oldest first.
pub(super) fn recent_events(snapshot: &Snapshot) -> Vec<EventSummary> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.extend(snapshot.pods.iter().map(|p| p.name_any()));
    names.extend(snapshot.deployments.iter().map(|d| d.name_any()));
    names.extend(snapshot.stateful_sets.iter().map(|s| s.name_any()));
    names.extend(snapshot.claims.iter().map(|c| c.name_any()));
    names.extend(snapshot.services.iter().map(|s| s.name_any()));
    let deployments: Vec<String> = snapshot
        .deployments
        .iter()
        .map(|d| format!("{}-", d.name_any()))
        .collect();
    let ours = |e: &KubeEvent| {
        let name = e.involved_object.name.as_deref().unwrap_or_default();
        names.contains(name)
            || (e.involved_object.kind.as_deref() == Some("ReplicaSet")
                && deployments.iter().any(|d| name.starts_with(d.as_str())))
    };
    let mut merged: BTreeMap<(String, String, String), (EventSummary, Option<i64>)> =
        BTreeMap::new();
    for e in snapshot.events.iter().filter(|e| ours(e)) {
        let object = format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or_default(),
            e.involved_object.name.as_deref().unwrap_or_default()
        );
        let reason = e.reason.clone().unwrap_or_default();
        let message = e.message.clone().unwrap_or_default();
        let seen = event_second(e);
        let key = (object.clone(), reason.clone(), message.clone());
        let entry = merged.entry(key).or_insert_with(|| {
            (
                EventSummary {
                    object,
                    type_: e.type_.clone().unwrap_or_default(),
                    reason,
                    message,
                    count: 0,
                    last_seen: None,
                },
                None,
            )
        });
        entry.0.count += e.count.unwrap_or(1);
        if seen >= entry.1 {
            entry.1 = seen;
            entry.0.last_seen = seen
                .and_then(|s| Timestamp::from_second(s).ok())
                .map(|t| t.to_string());
        }
    }
    let mut events: Vec<(EventSummary, Option<i64>)> = merged.into_values().collect();
    events.sort_by_key(|(_, seen)| *seen);
    let skip = events.len().saturating_sub(EVENT_LIMIT);
    events.into_iter().skip(skip).map(|(e, _)| e).collect()
}
