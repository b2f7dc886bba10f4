//! The release lock: one deploy, rollback or uninstall of a release at a time.
//!
//! A `coordination.k8s.io` Lease `<release>-lock` in the release namespace.
//! The API server decides who gets it: creating it fails with 409 for every
//! process but one. A Lease rather than a bare create-if-absent object because
//! it carries the holder and a renewal time in standard fields (`kubectl get
//! lease` shows them) and is renewed while the operation runs, so it can expire
//! quickly — a holder that crashed on another machine frees the release within
//! [`DURATION`], however long its readiness wait was going to be. On the same
//! machine a holder whose process is gone is detected at once.
//!
//! Taking over an expired or dead holder's lease is an update conditioned on
//! the resourceVersion just read, so two processes cannot both take it over.
//! A holder that could not renew (an API server outage longer than the lease)
//! and finds the lease taken over stops before its next write.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::error::status_code;
use super::{ApplyError, INSTANCE_LABEL, Release};

/// How long a lease stays valid without renewal.
pub const DURATION: Duration = Duration::from_secs(60);
/// How often the holder renews it.
const RENEW_EVERY: Duration = Duration::from_secs(15);

const COMMAND: &str = "berth.dev/command";
const PROCESS_START: &str = "berth.dev/process-start";
const BOOT_ID: &str = "berth.dev/boot-id";

/// Name of the release's lock Lease.
pub fn lease_name(release: &Release) -> String {
    format!("{}-lock", release.name)
}

/// Who holds a release, as read from its Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `host/pid/nonce`: unique per process run.
    pub identity: String,
    pub host: String,
    pub pid: String,
    /// The berth command it runs (`berth deploy`).
    pub command: String,
    pub since: Option<Timestamp>,
    pub renewed: Option<Timestamp>,
    pub duration: Duration,
    boot_id: String,
    process_start: String,
}

impl Holder {
    fn of(lease: &Lease) -> Holder {
        let spec = lease.spec.clone().unwrap_or_default();
        let identity = spec.holder_identity.unwrap_or_default();
        let mut parts = identity.splitn(3, '/');
        let host = parts.next().unwrap_or_default().to_string();
        let pid = parts.next().unwrap_or_default().to_string();
        let annotations = lease.metadata.annotations.clone().unwrap_or_default();
        let get = |key: &str| annotations.get(key).cloned().unwrap_or_default();
        Holder {
            identity,
            host,
            pid,
            command: get(COMMAND),
            since: spec.acquire_time.map(|t| t.0),
            renewed: spec.renew_time.map(|t| t.0),
            duration: Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64),
            boot_id: get(BOOT_ID),
            process_start: get(PROCESS_START),
        }
    }

    /// When the lease lapses without renewal.
    pub fn expires(&self) -> Option<Timestamp> {
        let renewed = self.renewed.or(self.since)?;
        renewed
            .checked_add(SignedDuration::from_secs(self.duration.as_secs() as i64))
            .ok()
    }

    /// Whether the lease may be taken over: nobody holds it, it lapsed, or its
    /// holder ran on this machine and its process is gone.
    fn is_free(&self, now: Timestamp) -> bool {
        self.identity.is_empty()
            || self.expires().is_none_or(|t| t <= now)
            || self.process_is_gone()
    }

    /// Only provable on the holder's own machine (same hostname and boot):
    /// its pid no longer exists, or now belongs to another process.
    fn process_is_gone(&self) -> bool {
        let me = Process::current();
        if self.host != me.host || self.boot_id != me.boot_id || self.pid.is_empty() {
            return false;
        }
        match process_start(&self.pid) {
            None => true,
            Some(start) => !self.process_start.is_empty() && start != self.process_start,
        }
    }
}

/// This process, as a lock holder describes it.
struct Process {
    host: String,
    pid: String,
    boot_id: String,
    start: String,
    command: String,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id().to_string();
        Process {
            host: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into()),
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
            start: process_start(&pid).unwrap_or_default(),
            command: command(),
            pid,
        }
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The start time of a process (clock ticks since boot, field 22 of
/// `/proc/PID/stat`), which tells a reused pid from the original process.
fn process_start(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it do not.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19).map(String::from)
}

/// `berth deploy`: the program and its subcommand, to tell the user what holds the lock.
fn command() -> String {
    let mut args = std::env::args();
    let program = args
        .next()
        .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    match args.find(|a| !a.starts_with('-')) {
        Some(sub) => format!("{program} {sub}"),
        None => program,
    }
}

/// A held release lock. Renewed in the background until [`ReleaseLock::release`];
/// dropping it without releasing leaves the lease to expire (or, on this
/// machine, to be found dead once the process exits).
pub struct ReleaseLock {
    api: Api<Lease>,
    release: Release,
    identity: String,
    state: Arc<Mutex<State>>,
    renewer: tokio::task::JoinHandle<()>,
}

/// What the renewer last learnt.
struct State {
    /// When the lease was last confirmed ours.
    confirmed: Instant,
    /// Set when another process took the lease over.
    lost_to: Option<Holder>,
}

/// Acquires the release's lock for this process, or says who holds it.
/// `None` when the release namespace does not exist (nothing to lock yet).
pub async fn acquire(
    client: &Client,
    release: &Release,
) -> Result<Option<ReleaseLock>, ApplyError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &release.namespace);
    let me = Process::current();
    let identity = format!("{}/{}/{}", me.host, me.pid, nonce());
    let name = lease_name(release);
    let display = format!("Lease {}/{name}", release.namespace);
    // Each pass either decides or saw the lease change under it; a few passes
    // settle any race between creators, takers and releasers.
    for _ in 0..5 {
        let lease = lease_for(release, &identity, &me, None);
        match api.create(&PostParams::default(), &lease).await {
            Ok(_) => return Ok(Some(held(api, release, identity))),
            Err(e) if status_code(&e) == 404 => return Ok(None),
            Err(e) if status_code(&e) == 409 => {}
            Err(e) => return Err(ApplyError::api("create", display, e)),
        }
        let Some(existing) = api
            .get_opt(&name)
            .await
            .map_err(|e| ApplyError::api("get", display.clone(), e))?
        else {
            continue; // released between our create and get
        };
        let holder = Holder::of(&existing);
        // Our own create, answered after a lost response and retried.
        if holder.identity == identity {
            return Ok(Some(held(api, release, identity)));
        }
        if !holder.is_free(Timestamp::now()) {
            return Err(locked(release, &holder));
        }
        let transitions = existing
            .spec
            .as_ref()
            .and_then(|s| s.lease_transitions)
            .unwrap_or(0);
        let mut takeover = lease_for(release, &identity, &me, Some(transitions + 1));
        takeover.metadata.resource_version = existing.metadata.resource_version.clone();
        match api.replace(&name, &PostParams::default(), &takeover).await {
            Ok(_) => return Ok(Some(held(api, release, identity))),
            // Another process took it over first, or its holder released it.
            Err(e) if matches!(status_code(&e), 404 | 409) => {}
            Err(e) => return Err(ApplyError::api("update", display, e)),
        }
    }
    Err(ApplyError::LockContended { lease: display })
}

fn locked(release: &Release, holder: &Holder) -> ApplyError {
    let when = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
    let command = if holder.command.is_empty() {
        "berth"
    } else {
        holder.command.as_str()
    };
    ApplyError::Locked {
        release: release.name.clone(),
        holder: format!(
            "`{command}` on host {} (pid {}) since {}",
            holder.host,
            holder.pid,
            when(holder.since)
        ),
        host: holder.host.clone(),
        expires: when(holder.expires()),
        lease: format!("-n {} {}", release.namespace, lease_name(release)),
    }
}

fn lease_for(release: &Release, identity: &str, me: &Process, transitions: Option<i32>) -> Lease {
    let now = MicroTime(Timestamp::now());
    Lease {
        metadata: ObjectMeta {
            name: Some(lease_name(release)),
            namespace: Some(release.namespace.clone()),
            labels: Some([(INSTANCE_LABEL.to_string(), release.name.clone())].into()),
            annotations: Some(
                [
                    (COMMAND.to_string(), me.command.clone()),
                    (PROCESS_START.to_string(), me.start.clone()),
                    (BOOT_ID.to_string(), me.boot_id.clone()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(identity.to_string()),
            lease_duration_seconds: Some(DURATION.as_secs() as i32),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: transitions,
            ..Default::default()
        }),
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 6];
    // A clock-derived fallback is unique enough for one machine's processes.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = Timestamp::now().as_nanosecond() as u64;
        bytes.copy_from_slice(&nanos.to_le_bytes()[..6]);
    }
    hex::encode(bytes)
}

fn held(api: Api<Lease>, release: &Release, identity: String) -> ReleaseLock {
    let state = Arc::new(Mutex::new(State {
        confirmed: Instant::now(),
        lost_to: None,
    }));
    let renewer = tokio::spawn(renew_loop(
        api.clone(),
        lease_name(release),
        identity.clone(),
        state.clone(),
    ));
    ReleaseLock {
        api,
        release: release.clone(),
        identity,
        state,
        renewer,
    }
}

async fn renew_loop(api: Api<Lease>, name: String, identity: String, state: Arc<Mutex<State>>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match renew(&api, &name, &identity).await {
            Ok(()) => state.lock().expect("lock state").confirmed = Instant::now(),
            Err(Some(holder)) => {
                state.lock().expect("lock state").lost_to = Some(holder);
                return;
            }
            // Unreachable or a concurrent write: try again next period.
            Err(None) => {}
        }
    }
}

/// Renews the lease if it is still ours; `Err(Some(holder))` when another
/// process holds it now, `Err(None)` when renewing failed for now.
async fn renew(api: &Api<Lease>, name: &str, identity: &str) -> Result<(), Option<Holder>> {
    let Some(mut lease) = api.get_opt(name).await.map_err(|_| None)? else {
        return Err(Some(Holder::of(&Lease::default())));
    };
    let holder = Holder::of(&lease);
    if holder.identity != identity {
        return Err(Some(holder));
    }
    if let Some(spec) = lease.spec.as_mut() {
        spec.renew_time = Some(MicroTime(Timestamp::now()));
    }
    api.replace(name, &PostParams::default(), &lease)
        .await
        .map(|_| ())
        .map_err(|_| None)
}

impl ReleaseLock {
    /// Fails when this process can no longer prove it holds the lock: another
    /// process took it over, or it went unconfirmed past its duration (an
    /// outage) and renewing it now fails. Called before each batch of writes.
    pub async fn ensure_held(&self) -> Result<(), ApplyError> {
        let (confirmed, lost_to) = {
            let state = self.state.lock().expect("lock state");
            (state.confirmed, state.lost_to.clone())
        };
        if let Some(holder) = lost_to {
            return Err(self.lost(&holder));
        }
        if confirmed.elapsed() < DURATION / 2 {
            return Ok(());
        }
        match renew(&self.api, &lease_name(&self.release), &self.identity).await {
            Ok(()) => {
                self.state.lock().expect("lock state").confirmed = Instant::now();
                Ok(())
            }
            Err(Some(holder)) => {
                self.state.lock().expect("lock state").lost_to = Some(holder.clone());
                Err(self.lost(&holder))
            }
            Err(None) => Err(ApplyError::LockUnconfirmed {
                lease: format!(
                    "Lease {}/{}",
                    self.release.namespace,
                    lease_name(&self.release)
                ),
            }),
        }
    }

    fn lost(&self, holder: &Holder) -> ApplyError {
        ApplyError::LockLost {
            release: self.release.name.clone(),
            holder: if holder.identity.is_empty() {
                "nobody (it was deleted)".into()
            } else {
                format!(
                    "`{}` on host {} (pid {})",
                    holder.command, holder.host, holder.pid
                )
            },
        }
    }

    /// Stops renewing and deletes the lease if it is still ours. Best effort:
    /// a lease left behind expires, and is found dead once this process exits.
    pub async fn release(self) {
        self.renewer.abort();
        let name = lease_name(&self.release);
        let Ok(Some(lease)) = self.api.get_opt(&name).await else {
            return;
        };
        if Holder::of(&lease).identity != self.identity {
            return;
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: lease.metadata.uid.clone(),
                resource_version: lease.metadata.resource_version.clone(),
            }),
            ..Default::default()
        };
        let _ = self.api.delete(&name, &params).await;
    }
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(identity: &str, renewed_ago: i64, duration: u64) -> Holder {
        let renewed = Timestamp::now() - SignedDuration::from_secs(renewed_ago);
        let mut parts = identity.splitn(3, '/');
        Holder {
            identity: identity.into(),
            host: parts.next().unwrap_or_default().into(),
            pid: parts.next().unwrap_or_default().into(),
            command: "berth deploy".into(),
            since: Some(renewed),
            renewed: Some(renewed),
            duration: Duration::from_secs(duration),
            boot_id: Process::current().boot_id,
            process_start: String::new(),
        }
    }

    #[test]
    fn a_renewed_lease_of_a_live_holder_is_not_free() {
        let me = Process::current();
        let live = holder(&format!("{}/{}/n", me.host, me.pid), 5, 60);
        assert!(!live.is_free(Timestamp::now()));
        let elsewhere = holder("another-host/1/n", 5, 60);
        assert!(!elsewhere.is_free(Timestamp::now()));
    }

    #[test]
    fn an_expired_lease_or_an_empty_holder_is_free() {
        assert!(holder("another-host/1/n", 61, 60).is_free(Timestamp::now()));
        assert!(holder("", 1, 60).is_free(Timestamp::now()));
    }

    #[test]
    fn a_holder_on_this_host_whose_process_is_gone_is_free() {
        let me = Process::current();
        // Pids are below 2^22 on Linux.
        let dead = holder(&format!("{}/{}/n", me.host, 1 << 23), 1, 60);
        assert!(dead.is_free(Timestamp::now()));
        // A reused pid: same number, another start time.
        let mut reused = holder(&format!("{}/{}/n", me.host, me.pid), 1, 60);
        reused.process_start = "1".into();
        assert!(reused.is_free(Timestamp::now()));
        reused.process_start = me.start;
        assert!(!reused.is_free(Timestamp::now()));
    }

    #[test]
    fn process_start_reads_past_a_command_name_with_spaces() {
        let me = Process::current();
        assert!(!me.start.is_empty());
        assert!(me.start.chars().all(|c| c.is_ascii_digit()), "{}", me.start);
    }
}
