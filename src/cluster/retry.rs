//! Retries of transient API server failures, as a layer of the client's HTTP
//! stack so every request of every command gets the same rules.
//!
//! Retried, with bounded exponential backoff and a line of progress each time
//! ("API server unavailable, retrying (n/N)"):
//! - any request the server never saw: the connection could not be made,
//!   or the server answered 429 (throttled; its Retry-After is honoured);
//! - idempotent requests (GET, PUT, DELETE, and PATCH except JSON patch —
//!   server-side apply is idempotent) that met a reset or dropped connection,
//!   no answer in time (a paused server), or 500/503/504
//!   (a restarting server, an etcd leader change).
//!
//! Never retried: other answers (validation errors, conflicts, forbidden, not
//! found) and creates that may have reached the server. Connection failures
//! are retried only once the server has answered this process at least once,
//! so a cluster that is simply not running is reported at once.

use super::requests::{CountLayer, RequestCounts};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use kube::client::Body;
use kube::client::ClientBuilder;
use kube::{Client, Config};
use tower::buffer::BufferLayer;
use tower::{BoxError, Layer, Service, ServiceExt};

/// Retries per request before giving up.
pub const RETRIES: u32 = 8;

/// How many times and how patiently a request is retried.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub retries: u32,
    /// The first delay; it doubles up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// How long one attempt may wait for the response to begin: a paused or
    /// overloaded server accepts connections and then says nothing.
    pub attempt_timeout: Duration,
}

impl Default for Budget {
    /// [`RETRIES`] retries over about 40 s, 20 s per attempt.
    fn default() -> Self {
        Budget {
            retries: RETRIES,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            attempt_timeout: Duration::from_secs(20),
        }
    }
}

/// The longest Retry-After honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A client for `config` whose requests are retried as this module says,
/// reporting to `reporter`, and counted into `counts` (once each, however
/// often retried). kube's own retry (silent, up to 15 times) is turned off
/// in favour of this one.
pub fn client(
    mut config: Config,
    reporter: Reporter,
    counts: RequestCounts,
) -> Result<Client, kube::Error> {
    config.default_retry = false;
    Ok(ClientBuilder::try_from(config)?
        // Retrying sends a request again through the same stack: the
        // buffer makes the stack below it shareable.
        .with_layer(&BufferLayer::new(1024))
        .with_layer(&RetryLayer::new(reporter, Budget::default()))
        .with_layer(&CountLayer(counts))
        .build())
}

/// Where retry lines go (stderr for the CLI) and what they have seen.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Shared>,
}

struct Shared {
    sink: Box<dyn Fn(&str) + Send + Sync>,
    /// The server answered this process at least once.
    reached: AtomicBool,
    /// The highest attempt reported in the current outage: concurrent
    /// requests failing together print one line per attempt number.
    reported: Mutex<u32>,
    retries: AtomicU32,
}

impl Reporter {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Reporter {
            inner: Arc::new(Shared {
                sink: Box::new(sink),
                reached: AtomicBool::new(false),
                reported: Mutex::new(0),
                retries: AtomicU32::new(0),
            }),
        }
    }

    /// Retries made so far by every request through this reporter.
    pub fn retries(&self) -> u32 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    fn answered(&self) {
        self.inner.reached.store(true, Ordering::Relaxed);
        *self.inner.reported.lock().expect("reporter state") = 0;
    }

    fn reached(&self) -> bool {
        self.inner.reached.load(Ordering::Relaxed)
    }

    fn retrying(&self, attempt: u32, of: u32, why: &str) {
        self.inner.retries.fetch_add(1, Ordering::Relaxed);
        let mut reported = self.inner.reported.lock().expect("reporter state");
        if attempt > *reported {
            *reported = attempt;
            (self.inner.sink)(&format!(
                "API server unavailable, retrying ({attempt}/{of}): {why}"
            ));
        }
    }
}

/// The layer: wraps a cloneable HTTP service of the kube client's stack.
#[derive(Clone)]
pub struct RetryLayer {
    reporter: Reporter,
    budget: Budget,
}

impl RetryLayer {
    pub fn new(reporter: Reporter, budget: Budget) -> Self {
        RetryLayer { reporter, budget }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            reporter: self.reporter.clone(),
            budget: self.budget,
        }
    }
}

#[derive(Clone)]
pub struct Retry<S> {
    inner: S,
    reporter: Reporter,
    budget: Budget,
}

/// The request was refused before any work, or it may have been done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// Any request may be sent again.
    Unsent,
    /// Only an idempotent request may.
    Ambiguous,
}

/// Why an attempt is worth repeating, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transient {
    why: String,
    safety: Safety,
    retry_after: Option<Duration>,
}

/// The error returned once the retries are spent on a failing connection.
#[derive(Debug, thiserror::Error)]
#[error(
    "API server unavailable after {retries} retries: {source}\nhint: check the cluster (kubectl get --raw /readyz); running the same command again resumes where this one stopped"
)]
pub struct Unavailable {
    retries: u32,
    #[source]
    source: BoxError,
}

/// An attempt that got no response in time.
#[derive(Debug, thiserror::Error)]
#[error("no response within {0:?}")]
struct NoResponse(Duration);

impl<S, B> Service<Request<Body>> for Retry<S>
where
    S: Service<Request<Body>, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The service polled ready is the one to call first (tower's pattern).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let reporter = self.reporter.clone();
        Box::pin(send(inner, request, reporter, self.budget))
    }
}

async fn send<S, B>(
    mut inner: S,
    request: Request<Body>,
    reporter: Reporter,
    budget: Budget,
) -> Result<Response<B>, BoxError>
where
    S: Service<Request<Body>, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let idempotent = is_idempotent(&request);
    // Streaming bodies cannot be sent twice; every body berth sends can.
    let template = copy(&request);
    let mut next = Some(request);
    let mut attempt = 0;
    loop {
        let Some(request) = next.take().or_else(|| template.as_ref().and_then(copy)) else {
            unreachable!("a request is only retried when it could be copied");
        };
        let call = inner.ready().await?.call(request);
        let result = match tokio::time::timeout(budget.attempt_timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(Box::new(NoResponse(budget.attempt_timeout)) as BoxError),
        };
        let transient = match &result {
            Ok(response) => {
                let transient = transient_status(response);
                if transient.is_none() {
                    reporter.answered();
                }
                transient
            }
            Err(error) => transient_error(error, reporter.reached()),
        };
        let retry = transient.filter(|t| {
            attempt < budget.retries
                && template.is_some()
                && (t.safety == Safety::Unsent || idempotent)
        });
        let Some(transient) = retry else {
            return match result {
                Err(source) if attempt > 0 => Err(Box::new(Unavailable {
                    retries: attempt,
                    source,
                })),
                other => other,
            };
        };
        attempt += 1;
        reporter.retrying(attempt, budget.retries, &transient.why);
        tokio::time::sleep(budget.delay(attempt, transient.retry_after)).await;
    }
}

/// Sending it twice has the effect of sending it once.
fn is_idempotent(request: &Request<Body>) -> bool {
    match *request.method() {
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS => true,
        // Apply, merge and strategic-merge patches set values; a JSON patch
        // may add to lists or test-and-set.
        Method::PATCH => request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|t| !t.starts_with("application/json-patch")),
        _ => false,
    }
}

fn copy(request: &Request<Body>) -> Option<Request<Body>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

fn transient_status<B>(response: &Response<B>) -> Option<Transient> {
    let status = response.status();
    let safety = match status {
        // Throttled: refused before any work.
        StatusCode::TOO_MANY_REQUESTS => Safety::Unsent,
        StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => Safety::Ambiguous,
        _ => return None,
    };
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
    Some(Transient {
        why: status.to_string(),
        safety,
        retry_after,
    })
}

fn transient_error(error: &BoxError, reached: bool) -> Option<Transient> {
    // A cluster that never answered is not "unavailable": it is not there.
    if !reached {
        return None;
    }
    if error.is::<NoResponse>() {
        return Some(Transient {
            why: error.to_string(),
            safety: Safety::Ambiguous,
            retry_after: None,
        });
    }
    let connect = chain(error.as_ref()).any(|e| {
        e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|e| e.is_connect())
    });
    let transport = chain(error.as_ref()).any(|e| {
        e.downcast_ref::<std::io::Error>().is_some()
            || e.downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some()
    });
    if !connect && !transport {
        return None;
    }
    Some(Transient {
        why: innermost(error.as_ref()),
        safety: if connect {
            Safety::Unsent
        } else {
            Safety::Ambiguous
        },
        retry_after: None,
    })
}

fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// The root cause's words ("Connection refused (os error 111)").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

impl Budget {
    /// Exponential from `first_delay`, capped, with up to a quarter of jitter
    /// so concurrent requests do not return in lockstep; never shorter than
    /// the server's Retry-After.
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(1 << (attempt.max(1) - 1).min(16))
            .min(self.max_delay);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = base / 4 * (nanos % 1000) / 1000;
        (base + jitter).max(retry_after.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    type Step = fn() -> Result<Response<()>, BoxError>;

    /// A stand-in for the HTTP stack below the layer: answers each attempt
    /// from its script.
    #[derive(Clone)]
    struct Scripted {
        script: Arc<Vec<Step>>,
        calls: Arc<AtomicUsize>,
    }

    impl Service<Request<Body>> for Scripted {
        type Response = Response<()>;
        type Error = BoxError;
        type Future = std::future::Ready<Result<Response<()>, BoxError>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<Body>) -> Self::Future {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let step = self.script[n.min(self.script.len() - 1)];
            std::future::ready(step())
        }
    }

    fn status(code: u16) -> Result<Response<()>, BoxError> {
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(code).unwrap();
        Ok(response)
    }

    fn reset() -> Result<Response<()>, BoxError> {
        Err(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )))
    }

    fn request(method: Method, content_type: &str) -> Request<Body> {
        let mut request = Request::new(Body::from(b"{}".to_vec()));
        *request.method_mut() = method;
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        request
    }

    const FAST: Budget = Budget {
        retries: 4,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        attempt_timeout: Duration::from_secs(5),
    };

    struct Outcome {
        status: Result<u16, String>,
        calls: usize,
        lines: Vec<String>,
    }

    /// Sends one request through the layer over a scripted stack.
    async fn run(script: &[Step], request: Request<Body>) -> Outcome {
        let lines = Arc::new(Mutex::new(vec![]));
        let sink = lines.clone();
        let reporter = Reporter::new(move |l| sink.lock().unwrap().push(l.to_string()));
        reporter.answered();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut service = RetryLayer::new(reporter, FAST).layer(Scripted {
            script: Arc::new(script.to_vec()),
            calls: calls.clone(),
        });
        let result = service.ready().await.unwrap().call(request).await;
        Outcome {
            status: result
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string()),
            calls: calls.load(Ordering::SeqCst),
            lines: lines.lock().unwrap().clone(),
        }
    }

    fn apply() -> Request<Body> {
        request(Method::PATCH, "application/apply-patch+yaml")
    }

    #[tokio::test]
    async fn an_apply_is_retried_through_an_outage_with_progress() {
        let out = run(
            &[reset, || status(503), || status(429), || status(200)],
            apply(),
        )
        .await;
        assert_eq!((out.status, out.calls), (Ok(200), 4));
        assert_eq!(out.lines.len(), 3, "{:?}", out.lines);
        assert!(
            out.lines[0].starts_with("API server unavailable, retrying (1/4): connection reset"),
            "{:?}",
            out.lines
        );
        assert!(out.lines[2].contains("(3/4): 429"), "{:?}", out.lines);
    }

    #[tokio::test]
    async fn refusals_are_not_retried() {
        let refusals: [Step; 5] = [
            || status(400),
            || status(403),
            || status(404),
            || status(409),
            || status(422),
        ];
        for refusal in refusals {
            let out = run(&[refusal, || status(200)], apply()).await;
            assert_eq!(out.calls, 1, "{:?} was retried", out.status);
            assert!(out.lines.is_empty());
        }
    }

    #[tokio::test]
    async fn a_create_is_retried_only_when_the_server_never_saw_it() {
        let create = || request(Method::POST, "application/json");
        assert_eq!(
            run(&[|| status(503), || status(201)], create()).await.calls,
            1
        );
        assert_eq!(run(&[reset, || status(201)], create()).await.calls, 1);
        assert_eq!(
            run(&[|| status(429), || status(201)], create()).await.calls,
            2
        );
        let json_patch = request(Method::PATCH, "application/json-patch+json");
        assert_eq!(
            run(&[|| status(500), || status(200)], json_patch)
                .await
                .calls,
            1
        );
    }

    #[tokio::test]
    async fn the_budget_is_bounded_and_the_final_error_says_so() {
        let out = run(&[|| status(504)], apply()).await;
        assert_eq!((out.status, out.calls), (Ok(504), 5));
        assert_eq!(out.lines.len(), 4);
        let out = run(&[reset], apply()).await;
        assert_eq!(out.calls, 5);
        let error = out.status.unwrap_err();
        assert!(
            error.starts_with("API server unavailable after 4 retries: connection reset"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answered_is_not_retried() {
        let reporter = Reporter::new(|_| {});
        let calls = Arc::new(AtomicUsize::new(0));
        let mut service = RetryLayer::new(reporter.clone(), FAST).layer(Scripted {
            script: Arc::new(vec![reset as Step]),
            calls: calls.clone(),
        });
        let result = service.ready().await.unwrap().call(apply()).await;
        assert!(result.is_err());
        assert_eq!((calls.load(Ordering::SeqCst), reporter.retries()), (1, 0));
    }

    #[test]
    fn delays_grow_to_a_cap_and_honour_retry_after() {
        let budget = Budget::default();
        assert!(budget.delay(1, None) >= budget.first_delay);
        assert!(budget.delay(1, None) < budget.first_delay * 2);
        assert!(budget.delay(3, None) >= budget.first_delay * 4);
        assert!(budget.delay(30, None) <= budget.max_delay + budget.max_delay / 4);
        let seven = Some(Duration::from_secs(7));
        assert_eq!(budget.delay(1, seven), Duration::from_secs(7));
        let total: Duration = (1..=budget.retries).map(|a| budget.delay(a, None)).sum();
        assert!(total < Duration::from_secs(60), "{total:?}");
    }
}
