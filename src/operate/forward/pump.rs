//! Copies one local connection to and from a pod's portforward stream. Until
//! the pod sends its first byte, what the local side sent is kept (up to
//! [`REPLAY_LIMIT`]), so a pod that refuses (it began stopping after it was
//! chosen) can be replaced by another without the client noticing.

use std::time::Duration;

use kube::api::Portforwarder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

/// Bytes kept for a replay: a request's head and a small body.
const REPLAY_LIMIT: usize = 256 * 1024;

/// How long the pod's side may stay silent once the client has closed its
/// side: a real server closes too, but a stream through the API server does
/// not always carry its close, and the connection must not linger for ever.
const AFTER_CLIENT_CLOSED: Duration = Duration::from_secs(5);

/// How an attempt through one pod ended.
#[derive(Debug)]
pub enum Outcome {
    /// The exchange finished (either side closed after the pod answered).
    Done,
    /// The pod could not be reached or refused before answering.
    Refused(String),
    /// The pod went away after it began answering.
    Broken(String),
}

/// The local side of a connection, kept across attempts.
pub struct Client {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    /// What the client sent that no pod answered yet.
    sent: Vec<u8>,
    /// `sent` holds everything the client sent (it fit under the limit).
    complete: bool,
    /// The client closed its side.
    closed: bool,
}

impl Client {
    pub fn new(stream: TcpStream) -> Self {
        let (read, write) = stream.into_split();
        Client {
            read,
            write,
            sent: Vec::new(),
            complete: true,
            closed: false,
        }
    }

    /// Another pod may take over: nothing was answered and all that was
    /// sent is kept.
    pub fn replayable(&self) -> bool {
        self.complete
    }

    fn sent_nothing(&self) -> bool {
        self.complete && self.sent.is_empty()
    }
}

/// Copies between `client` and the pod's stream on `port` until one side is
/// done.
pub async fn run(client: &mut Client, mut forwarder: Portforwarder, port: u16) -> Outcome {
    let (Some(stream), Some(error)) = (forwarder.take_stream(port), forwarder.take_error(port))
    else {
        return Outcome::Refused("the portforward stream has no port".into());
    };
    let outcome = exchange(client, stream, error).await;
    forwarder.abort();
    outcome
}

async fn exchange(
    client: &mut Client,
    stream: tokio::io::DuplexStream,
    error: impl Future<Output = Option<String>>,
) -> Outcome {
    let (mut pod_read, mut pod_write) = tokio::io::split(stream);
    let mut error = std::pin::pin!(error);
    let mut error_done = false;
    let mut answered = false;
    if !client.sent.is_empty()
        && let Err(e) = pod_write.write_all(&client.sent).await
    {
        return Outcome::Refused(e.to_string());
    }
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_pod = vec![0u8; 16 * 1024];
    let mut quiet_until = Instant::now() + AFTER_CLIENT_CLOSED;
    loop {
        // A client that left before sending anything needs no answer.
        if client.closed && !answered && client.sent_nothing() {
            return Outcome::Done;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(quiet_until), if client.closed => return Outcome::Done,
            message = &mut error, if !error_done => {
                error_done = true;
                if let Some(message) = message {
                    return if answered { Outcome::Broken(message) } else { Outcome::Refused(message) };
                }
            }
            read = pod_read.read(&mut from_pod) => match read {
                Ok(0) => {
                    if !answered {
                        // The kubelet sends its reason just before closing.
                        if !error_done
                            && let Ok(Some(message)) =
                                tokio::time::timeout(std::time::Duration::from_millis(500), &mut error).await
                        {
                            return Outcome::Refused(message);
                        }
                        if !client.sent_nothing() {
                            return Outcome::Refused("closed before answering".into());
                        }
                    }
                    let _ = client.write.shutdown().await;
                    return Outcome::Done;
                }
                Ok(n) => {
                    answered = true;
                    quiet_until = Instant::now() + AFTER_CLIENT_CLOSED;
                    client.sent = Vec::new();
                    client.complete = false;
                    if client.write.write_all(&from_pod[..n]).await.is_err() {
                        return Outcome::Done;
                    }
                }
                Err(e) => {
                    return if answered { Outcome::Broken(e.to_string()) } else { Outcome::Refused(e.to_string()) };
                }
            },
            read = client.read.read(&mut from_client), if !client.closed => match read {
                // No half-close towards the pod: kube closes the whole
                // websocket on it, losing the answer. Wait for the pod instead.
                Ok(0) | Err(_) => {
                    client.closed = true;
                    quiet_until = Instant::now() + AFTER_CLIENT_CLOSED;
                }
                Ok(n) => {
                    if !answered {
                        if client.complete && client.sent.len() + n <= REPLAY_LIMIT {
                            client.sent.extend_from_slice(&from_client[..n]);
                        } else {
                            client.complete = false;
                            client.sent = Vec::new();
                        }
                    }
                    if let Err(e) = pod_write.write_all(&from_client[..n]).await {
                        return if answered { Outcome::Broken(e.to_string()) } else { Outcome::Refused(e.to_string()) };
                    }
                }
            },
        }
    }
}
