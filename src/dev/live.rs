//! Live changes: a component whose image spec has `[dev]` runs, in the dev profile, a server
//! that reloads changed code itself. An edit of files only its `copy` layers hold is then copied
//! into each running container (through `pods/exec`, `sh` writing over the image's files)
//! instead of becoming a new image and a rollout: no new pod, no scheduling, no sandbox, no
//! probe. The change serves when each container has logged the spec's `ready` line again; until
//! then it is not reported served.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams, LogParams};
use kube::{Client, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A changed file and where the image holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFile {
    pub host: PathBuf,
    /// Absolute path in the container.
    pub container: String,
}

/// What one live change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub pods: usize,
    /// Until the files were in every container.
    pub copied: Duration,
    /// From then until every container logged its `ready` line.
    pub reloaded: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no running pod of {component} to copy the change into")]
    NoPods { component: String },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} pod {pod}")]
    Cluster {
        what: &'static str,
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error("copying into pod {pod} failed: {message}")]
    Copy { pod: String, message: String },
    #[error(
        "pod {pod} did not log {ready:?} in the {}s after the change{}",
        waited.as_secs(),
        last_lines(.last)
    )]
    NotReloaded {
        pod: String,
        ready: String,
        waited: Duration,
        last: Vec<String>,
    },
}

fn last_lines(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = lines.iter().map(|l| format!("\n  | {l}")).collect();
    format!("; its last lines:{}", shown.concat())
}

/// How much of a container's output a failed reload shows.
const LAST_LINES: usize = 12;

/// Deletes the pods `selector` matches in `namespace` that are not already stopping, so that
/// their controller starts them again from the image: code copied live is gone. How many.
pub async fn restart(client: &Client, namespace: &str, selector: &str) -> Result<usize, LiveError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let cluster = |what, pod: &str| {
        let pod = pod.to_string();
        move |source| LiveError::Cluster { what, pod, source }
    };
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(cluster("listing the pods of", selector))?;
    let mut deleted = 0;
    for pod in pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let name = pod.name_any();
        api.delete(&name, &Default::default())
            .await
            .map_err(cluster("deleting", &name))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Copies `files` into `container` of every running pod `selector` matches in `namespace`, then
/// waits (at most `patience`) until each has logged a line containing `ready`.
pub async fn sync(
    client: &Client,
    namespace: &str,
    selector: &str,
    component: &str,
    files: &[LiveFile],
    ready: &str,
    patience: Duration,
) -> Result<Synced, LiveError> {
    let started = Instant::now();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pods: Vec<String> = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|source| LiveError::Cluster {
            what: "listing the pods of",
            pod: component.to_string(),
            source,
        })?
        .items
        .iter()
        .filter(|p| running(p, component))
        .map(ResourceExt::name_any)
        .collect();
    if pods.is_empty() {
        return Err(LiveError::NoPods {
            component: component.to_string(),
        });
    }
    let contents = files
        .iter()
        .map(|f| {
            std::fs::read(&f.host)
                .map(|data| (f.container.clone(), data))
                .map_err(|source| LiveError::Read {
                    path: f.host.clone(),
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Each container's output from now on, opened before the copy so no line is missed.
    let mut streams = Vec::new();
    for pod in &pods {
        let params = LogParams {
            container: Some(component.to_string()),
            follow: true,
            tail_lines: Some(0),
            // When the node wrote each line: lines reach a follower a second or two late.
            timestamps: true,
            ..Default::default()
        };
        let lines = api
            .log_stream(pod, &params)
            .await
            .map_err(|source| LiveError::Cluster {
                what: "following the logs of",
                pod: pod.clone(),
                source,
            })?
            .lines();
        streams.push((pod.clone(), lines));
    }
    let copies = pods.iter().map(|pod| copy(&api, pod, component, &contents));
    for result in futures::future::join_all(copies).await {
        result?;
    }
    let copied = started.elapsed();
    let copied_at = unix_millis();
    let waits = streams.into_iter().map(|(pod, mut lines)| async move {
        let mut last: Vec<String> = Vec::new();
        let waiting = Instant::now();
        let seen = tokio::time::timeout(patience, async {
            while let Some(Ok(raw)) = lines.next().await {
                let (written, line) = stamped(&raw);
                if line.contains(ready) {
                    return Some(written.unwrap_or_else(unix_millis));
                }
                if last.len() == LAST_LINES {
                    last.remove(0);
                }
                last.push(line.to_string());
            }
            // The stream ended: the container stopped.
            None
        })
        .await;
        match seen {
            Ok(Some(written)) => Ok(written),
            _ => Err(LiveError::NotReloaded {
                pod,
                ready: ready.to_string(),
                waited: waiting.elapsed(),
                last,
            }),
        }
    });
    let mut reloaded_at = copied_at;
    for result in futures::future::join_all(waits).await {
        reloaded_at = reloaded_at.max(result?);
    }
    Ok(Synced {
        pods: pods.len(),
        copied,
        // By the node's clock, which may differ from this machine's a little.
        reloaded: Duration::from_millis((reloaded_at - copied_at).max(0) as u64),
    })
}

/// Milliseconds since the epoch, now.
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A log line with `timestamps`: when the node wrote it (ms since the epoch) and its text.
fn stamped(raw: &str) -> (Option<i64>, &str) {
    match raw.split_once(' ') {
        Some((t, rest)) => match t.parse::<k8s_openapi::jiff::Timestamp>() {
            Ok(ts) => (Some(ts.as_millisecond()), rest),
            Err(_) => (None, raw),
        },
        None => (None, raw),
    }
}

/// A pod that serves: running, not stopping, its container ready.
fn running(pod: &Pod, container: &str) -> bool {
    let status = pod.status.as_ref();
    pod.metadata.deletion_timestamp.is_none()
        && status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.name == container && c.ready)
}

/// What writes one file in the container: the content from stdin into a scratch file first (it
/// arrives in pieces; a reloader polling the file would import half of it), then copied over
/// the file in one go. `sh`, `cat`, `cp` and `rm` are in every image that has a shell (busybox's
/// too); the file gets the time of the copy, which a reloader watching modification times sees.
const WRITE_FILE: &str = r#"t="${TMPDIR:-/tmp}/berth-dev.$$" && mkdir -p "${1%/*}" && cat > "$t" && cp "$t" "$1"; s=$?; rm -f "$t"; exit $s"#;

/// Writes each file into the pod's container.
async fn copy(
    api: &Api<Pod>,
    pod: &str,
    container: &str,
    files: &[(String, Vec<u8>)],
) -> Result<(), LiveError> {
    for (path, data) in files {
        write_file(api, pod, container, path, data).await?;
    }
    Ok(())
}

async fn write_file(
    api: &Api<Pod>,
    pod: &str,
    container: &str,
    path: &str,
    data: &[u8],
) -> Result<(), LiveError> {
    let cluster = |source| LiveError::Cluster {
        what: "copying into",
        pod: pod.to_string(),
        source,
    };
    let params = AttachParams::default()
        .container(container)
        .stdin(true)
        .stdout(false)
        .stderr(true);
    let mut process = api
        .exec(pod, ["sh", "-c", WRITE_FILE, "berth-dev", path], &params)
        .await
        .map_err(cluster)?;
    let failed = |message: String| LiveError::Copy {
        pod: pod.to_string(),
        message: format!("{path}: {message}"),
    };
    let mut stdin = process.stdin().ok_or_else(|| failed("no stdin".into()))?;
    stdin
        .write_all(data)
        .await
        .map_err(|e| failed(e.to_string()))?;
    stdin.shutdown().await.map_err(|e| failed(e.to_string()))?;
    drop(stdin);
    let mut stderr = String::new();
    if let Some(mut err) = process.stderr() {
        let _ = err.read_to_string(&mut stderr).await;
    }
    let status = match process.take_status() {
        Some(status) => status.await,
        None => None,
    };
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        Some(s) => Err(failed(
            [s.message.unwrap_or_default(), stderr.trim().to_string()]
                .join(" ")
                .trim()
                .to_string(),
        )),
        None => Err(failed(format!("no exit status {}", stderr.trim()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamped_line_gives_when_the_node_wrote_it() {
        assert_eq!(
            stamped("2026-12-07T13:58:01.250000000Z INFO:     Application startup complete."),
            (
                Some(1_796_651_881_250),
                "INFO:     Application startup complete."
            )
        );
        assert_eq!(stamped("no stamp here"), (None, "no stamp here"));
    }

    #[test]
    fn a_failed_reload_shows_the_container_s_last_lines() {
        let e = LiveError::NotReloaded {
            pod: "api-1".into(),
            ready: "Application startup complete".into(),
            waited: Duration::from_secs(30),
            last: vec!["SyntaxError: invalid syntax".into()],
        };
        let text = e.to_string();
        assert!(text.contains("in the 30s after"), "{text}");
        assert!(
            text.ends_with("\n  | SyntaxError: invalid syntax"),
            "{text}"
        );
    }
}
