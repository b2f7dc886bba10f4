//! Counts of the requests a client sends, by what they do (`list secrets`,
//! `dry-run apply configmaps`), as the outermost layer of its HTTP stack: a
//! request the retry layer sends again counts once. `-v` prints them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request};
use tower::{Layer, Service};

/// Requests counted so far; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct RequestCounts(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounts {
    fn add(&self, what: String) {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(what).or_default() += 1;
    }

    /// How many requests did `what` (`list secrets`).
    pub fn of(&self, what: &str) -> u64 {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(what).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        counts.values().sum()
    }

    /// `12 API requests: 4 dry-run apply configmaps, 4 get configmaps, …`,
    /// the most frequent first.
    pub fn summary(&self) -> String {
        let counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let rows: Vec<String> = rows.iter().map(|(what, n)| format!("{n} {what}")).collect();
        format!(
            "{} API requests: {}",
            counts.values().sum::<u64>(),
            rows.join(", ")
        )
    }
}

/// What a request does, from its method, path and query: `get`, `list`,
/// `watch`, `create`, `replace`, `apply`, `patch` or `delete` (with
/// `dry-run ` before it), then the resource (`configmaps`, `pods/log`).
pub fn describe<B>(request: &Request<B>) -> String {
    let query = request.uri().query().unwrap_or_default();
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    let segments: Vec<&str> = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .collect();
    // /api/v1/… and /apis/GROUP/VERSION/…; anything else (/version) is its own resource.
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    };
    let (resource, named) = match rest.unwrap_or_default() {
        ["namespaces", _, resource, tail @ ..] => (resource_name(resource, tail), !tail.is_empty()),
        [resource, tail @ ..] if rest.is_some() => {
            (resource_name(resource, tail), !tail.is_empty())
        }
        _ => (
            request.uri().path().trim_start_matches('/').to_string(),
            true,
        ),
    };
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let verb = match *request.method() {
        Method::GET if has("watch=true") || has("watch=1") => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "replace",
        Method::PATCH if content_type.contains("apply-patch") => "apply",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => request.method().as_str(),
    };
    let dry_run = if has("dryRun=All") { "dry-run " } else { "" };
    format!("{dry_run}{verb} {resource}")
}

/// `pods` for `pods/NAME`, `pods/log` for `pods/NAME/log`.
fn resource_name(resource: &str, tail: &[&str]) -> String {
    match tail {
        [_, subresource, ..] => format!("{resource}/{subresource}"),
        _ => resource.to_string(),
    }
}

/// The layer that counts into `RequestCounts`.
#[derive(Debug, Clone)]
pub struct CountLayer(pub RequestCounts);

impl<S> Layer<S> for CountLayer {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            counts: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Counted<S> {
    inner: S,
    counts: RequestCounts,
}

impl<S, B> Service<Request<B>> for Counted<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        self.counts.add(describe(&request));
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, content_type: &str) -> Request<()> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
    }

    #[test]
    fn requests_are_named_by_verb_and_resource() {
        let json = "application/json";
        let rows = [
            (
                request(
                    Method::GET,
                    "/api/v1/namespaces/web/secrets/shop-inventory",
                    json,
                ),
                "get secrets",
            ),
            (
                request(
                    Method::GET,
                    "/api/v1/namespaces/web/secrets?labelSelector=a%3Db",
                    json,
                ),
                "list secrets",
            ),
            (
                request(
                    Method::GET,
                    "/apis/apps/v1/namespaces/web/deployments?watch=true&resourceVersion=5",
                    json,
                ),
                "watch deployments",
            ),
            (
                request(
                    Method::PATCH,
                    "/api/v1/namespaces/web/configmaps/a?dryRun=All&fieldManager=berth",
                    "application/apply-patch+yaml",
                ),
                "dry-run apply configmaps",
            ),
            (
                request(
                    Method::PATCH,
                    "/api/v1/namespaces/web/secrets/shop-rev-1",
                    "application/merge-patch+json",
                ),
                "patch secrets",
            ),
            (
                request(
                    Method::POST,
                    "/apis/coordination.k8s.io/v1/namespaces/web/leases",
                    json,
                ),
                "create leases",
            ),
            (
                request(Method::DELETE, "/api/v1/namespaces/web", json),
                "delete namespaces",
            ),
            (
                request(Method::GET, "/api/v1/namespaces", json),
                "list namespaces",
            ),
            (
                request(
                    Method::GET,
                    "/api/v1/namespaces/web/pods/api-1/log?previous=true",
                    json,
                ),
                "get pods/log",
            ),
            (request(Method::GET, "/version", json), "get version"),
        ];
        for (request, what) in rows {
            assert_eq!(describe(&request), what, "{}", request.uri());
        }
    }

    #[test]
    fn the_layer_counts_each_request_once() {
        let counts = RequestCounts::default();
        let mut service =
            CountLayer(counts.clone()).layer(tower::service_fn(|_: Request<()>| async {
                Ok::<_, ()>(())
            }));
        for _ in 0..2 {
            drop(service.call(request(Method::GET, "/api/v1/namespaces/web/pods", "")));
        }
        drop(service.call(request(Method::GET, "/version", "")));
        assert_eq!(counts.of("list pods"), 2);
        assert_eq!(counts.total(), 3);
        assert_eq!(
            counts.summary(),
            "3 API requests: 2 list pods, 1 get version"
        );
    }
}
