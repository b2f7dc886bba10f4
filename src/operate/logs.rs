//! `logs`: the log lines of every pod of a release, or of one component,
//! each with its pod and container. [`fetch`] reads what is there now (for
//! agents); [`follow`] streams and picks up pods that appear during a
//! rollout. Tasks (init containers) are included.

use std::collections::HashSet;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde::{Deserialize, Serialize};

use super::{OperateError, components, list, selector};
use crate::apply::Release;

/// Which logs, and how many.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LogOptions {
    /// Only this component's pods; none for every pod of the release.
    pub component: Option<String>,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// The previous (crashed) instance of each container.
    pub previous: bool,
    /// The last N lines of each container.
    pub tail: Option<i64>,
}

impl LogOptions {
    fn params(&self, container: &str, follow: bool) -> LogParams {
        LogParams {
            container: Some(container.to_string()),
            follow,
            previous: self.previous,
            since_seconds: self.since_seconds,
            tail_lines: self.tail,
            timestamps: true,
            ..Default::default()
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub pod: String,
    pub container: String,
    /// When the runtime wrote it (RFC 3339), when it says.
    pub time: Option<String>,
    pub line: String,
}

impl std::fmt::Display for LogLine {
    /// `pod/container | line`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} | {}", self.pod, self.container, self.line)
    }
}

/// A container whose logs the node would not give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unavailable {
    pub pod: String,
    pub container: String,
    pub reason: String,
}

/// What [`fetch`] read.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logs {
    /// Every container's lines, merged in time order.
    pub lines: Vec<LogLine>,
    pub unavailable: Vec<Unavailable>,
    /// How many containers were asked (unavailable ones included).
    pub containers: usize,
}

/// What [`follow`] reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    Line(LogLine),
    /// A container's stream began (a new pod during a rollout, say).
    Following {
        pod: String,
        container: String,
    },
    Unavailable(Unavailable),
}

/// The containers (tasks first) of the pods of the release or component.
pub async fn targets(
    client: &Client,
    release: &Release,
    component: Option<&str>,
) -> Result<Vec<(String, String)>, OperateError> {
    let lp = ListParams::default().labels(&selector(release, component));
    let mut pods: Vec<Pod> = list(client, &release.namespace, &lp).await?;
    if let Some(component) = component
        && pods.is_empty()
    {
        return Err(OperateError::UnknownComponent {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            component: component.to_string(),
            known: components(client, release).await?,
        });
    }
    pods.sort_by_key(|p| p.name_any());
    Ok(pods.iter().flat_map(containers_of).collect())
}

fn containers_of(pod: &Pod) -> Vec<(String, String)> {
    let spec = pod.spec.as_ref();
    let tasks = spec
        .into_iter()
        .flat_map(|s| s.init_containers.iter().flatten());
    let containers = spec.into_iter().flat_map(|s| s.containers.iter());
    tasks
        .chain(containers)
        .map(|c| (pod.name_any(), c.name.clone()))
        .collect()
}

/// Reads the logs of every container of the release (or component), now.
pub async fn fetch(
    client: &Client,
    release: &Release,
    options: &LogOptions,
) -> Result<Logs, OperateError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &release.namespace);
    let targets = targets(client, release, options.component.as_deref()).await?;
    let reads = targets.iter().map(|(pod, container)| {
        let api = api.clone();
        async move {
            let read = api.logs(pod, &options.params(container, false)).await;
            (pod.clone(), container.clone(), read)
        }
    });
    let mut logs = Logs {
        containers: targets.len(),
        ..Logs::default()
    };
    for (pod, container, read) in futures::future::join_all(reads).await {
        match read {
            Ok(text) => logs
                .lines
                .extend(text.lines().map(|l| parse_line(&pod, &container, l))),
            Err(e) => logs.unavailable.push(Unavailable {
                pod,
                container,
                reason: unavailable_reason(&e),
            }),
        }
    }
    // Stable: equal times keep their pod/container order.
    logs.lines.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(logs)
}

/// Streams the logs of every container of the release (or component) until
/// the pod watch ends, starting a stream for each container that appears
/// (a rollout's new pods) once it runs.
pub async fn follow(
    client: &Client,
    release: &Release,
    options: &LogOptions,
    mut sink: impl FnMut(LogEvent) + Send,
) -> Result<(), OperateError> {
    // Fails early, and clearly, on an unknown component.
    targets(client, release, options.component.as_deref()).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &release.namespace);
    let config =
        watcher::Config::default().labels(&selector(release, options.component.as_deref()));
    let mut pods = watcher(api.clone(), config)
        .default_backoff()
        .applied_objects()
        .boxed();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<LogEvent>(1024);
    let mut streaming: HashSet<(String, String, String)> = HashSet::new();
    loop {
        tokio::select! {
            pod = pods.next() => match pod {
                Some(Ok(pod)) => {
                    for container in started_containers(&pod) {
                        let key = (pod.uid().unwrap_or_default(), pod.name_any(), container.clone());
                        if streaming.insert(key) {
                            tokio::spawn(stream_container(
                                api.clone(), pod.name_any(), container, options.clone(), tx.clone(),
                            ));
                        }
                    }
                }
                // The watcher backs off and lists again.
                Some(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
                None => return Ok(()),
            },
            Some(event) = rx.recv() => sink(event),
        }
    }
}

/// Containers whose logs can be streamed: running, or finished (a task).
fn started_containers(pod: &Pod) -> Vec<String> {
    let status = pod.status.as_ref();
    status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .filter(|cs| {
            cs.state
                .as_ref()
                .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
        })
        .map(|cs| cs.name.clone())
        .collect()
}

async fn stream_container(
    api: Api<Pod>,
    pod: String,
    container: String,
    options: LogOptions,
    tx: tokio::sync::mpsc::Sender<LogEvent>,
) {
    let stream = match api
        .log_stream(&pod, &options.params(&container, true))
        .await
    {
        Ok(stream) => stream,
        Err(e) => {
            let _ = tx
                .send(LogEvent::Unavailable(Unavailable {
                    reason: unavailable_reason(&e),
                    pod,
                    container,
                }))
                .await;
            return;
        }
    };
    let _ = tx
        .send(LogEvent::Following {
            pod: pod.clone(),
            container: container.clone(),
        })
        .await;
    let mut lines = stream.lines();
    while let Ok(Some(line)) = lines.try_next().await {
        if tx
            .send(LogEvent::Line(parse_line(&pod, &container, &line)))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Splits the runtime's RFC 3339 timestamp (asked for with `timestamps`) off a line.
fn parse_line(pod: &str, container: &str, raw: &str) -> LogLine {
    let (time, line) = match raw.split_once(' ') {
        Some((t, rest)) if t.parse::<k8s_openapi::jiff::Timestamp>().is_ok() => {
            (Some(t.to_string()), rest)
        }
        _ => (None, raw),
    };
    LogLine {
        pod: pod.to_string(),
        container: container.to_string(),
        time,
        line: line.to_string(),
    }
}

/// The API server's reason, not kube's debug dump of its status.
fn unavailable_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_split_off_and_kept_for_ordering() {
        let line = parse_line("web-1", "web", "2026-12-02T10:00:01.5Z GET / 200");
        assert_eq!(line.time.as_deref(), Some("2026-12-02T10:00:01.5Z"));
        assert_eq!(line.to_string(), "web-1/web | GET / 200");
        let plain = parse_line("web-1", "web", "no timestamp here");
        assert_eq!(plain.time, None);
        assert_eq!(plain.line, "no timestamp here");
    }

    #[test]
    fn options_become_the_kubelet_parameters() {
        let options = LogOptions {
            component: Some("api".into()),
            since_seconds: Some(300),
            previous: true,
            tail: Some(20),
        };
        let params = options.params("migrate", true);
        assert_eq!(params.container.as_deref(), Some("migrate"));
        assert!(params.follow && params.previous && params.timestamps);
        assert_eq!(params.since_seconds, Some(300));
        assert_eq!(params.tail_lines, Some(20));
    }

    #[test]
    fn tasks_come_before_containers_and_only_started_ones_stream() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api-1"},
            "spec": {"initContainers": [{"name": "migrate"}], "containers": [{"name": "api"}]},
            "status": {
                "initContainerStatuses": [{"name": "migrate", "image": "a", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [{"name": "api", "image": "a", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"waiting": {"reason": "PodInitializing"}}}]
            }
        }))
        .unwrap();
        assert_eq!(
            containers_of(&pod),
            vec![
                ("api-1".to_string(), "migrate".to_string()),
                ("api-1".to_string(), "api".to_string())
            ]
        );
        assert_eq!(started_containers(&pod), vec!["migrate".to_string()]);
    }
}
