//! A Kubernetes API server in memory, for driving the engine through its real
//! code without a cluster: kube's `Client` over a `tower` service that keeps
//! objects by URL, answers GET/LIST/WATCH, POST, PUT, server-side apply
//! (dry-run or not), merge patches and DELETE with preconditions the way the
//! API server does in what the engine relies on, and answers a request with a
//! scripted error when a [`Fault`] matches it. It stands in for the API
//! server only where the engine's own decisions are under test; what only a
//! real API server proves (SSA field ownership, defaulting, controllers) stays
//! in the cluster tests.
//!
//! Field managers are modelled coarsely ([`managed_fields`]): apply merges
//! the patch into the object (no conflicts, nothing removed).
//! Not modelled: pagination, resource versions per collection (one counter
//! for all).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::Layer;

use super::managed_fields;
use crate::cluster::requests::{CountLayer, RequestCounts};

/// A scripted answer: requests of `method` whose path ends with `path`
/// (and, when set, that are or are not dry-runs) get `code` and `message`,
/// `times` times (then the fake answers normally).
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    pub path: String,
    pub dry_run: Option<bool>,
    pub code: u16,
    pub message: String,
    pub times: usize,
}

impl Fault {
    /// `code` for every `method` request on an object path ending in `path`.
    pub fn on(method: Method, path: &str, code: u16, message: &str) -> Self {
        Fault {
            method,
            path: path.to_string(),
            dry_run: None,
            code,
            message: message.to_string(),
            times: usize::MAX,
        }
    }

    pub fn dry_run_only(mut self, dry_run: bool) -> Self {
        self.dry_run = Some(dry_run);
        self
    }

    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
}

#[derive(Default)]
struct State {
    /// Collection path → name → object.
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    /// Every write, for watches: (resourceVersion, collection, type, object).
    log: Vec<(u64, String, &'static str, Value)>,
    version: u64,
    uids: u64,
    faults: Vec<Fault>,
    /// Object paths whose deletion only marks them (a finalizer that holds).
    lingering: Vec<String>,
    /// `METHOD path?query` of every request, in order.
    requests: Vec<String>,
}

/// The fake API server; clones share it.
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    versions: Arc<watch::Sender<u64>>,
}

/// Where a request points: a collection, and an object in it when named.
struct Target {
    collection: String,
    name: Option<String>,
    /// The namespace of a namespaced collection.
    namespace: Option<String>,
    /// `log`, `status`, … after the object's name.
    subresource: Option<String>,
}

impl FakeApi {
    pub fn new() -> Self {
        FakeApi {
            state: Arc::default(),
            versions: Arc::new(watch::channel(0).0),
        }
    }

    /// A kube client whose every request this fake answers.
    pub fn client(&self) -> Client {
        self.client_counting(&RequestCounts::default())
    }

    /// A client that also counts its requests with berth's counting layer.
    pub fn client_counting(&self, counts: &RequestCounts) -> Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.handle(request).await) }
        });
        Client::new(CountLayer(counts.clone()).layer(service), "default")
    }

    pub fn fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Deleting the object at `path` (from `/api…`) marks it deleted but keeps it.
    pub fn linger(&self, path: &str) {
        self.lock().lingering.push(path.to_string());
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// The object at `path` (`/api/v1/namespaces/ns/configmaps/x`), if stored.
    pub fn get(&self, path: &str) -> Option<Value> {
        let (collection, name) = path.rsplit_once('/').expect("an object path");
        self.lock().objects.get(collection)?.get(name).cloned()
    }

    /// Stores `object` at `path` as a write by someone else (a controller, a user).
    pub fn put(&self, path: &str, object: Value) {
        let (collection, name) = path.rsplit_once('/').expect("an object path");
        let mut state = self.lock();
        let exists = state
            .objects
            .get(collection)
            .is_some_and(|c| c.contains_key(name));
        let object = state.stamp(object, None);
        state.store(
            collection,
            name,
            object,
            if exists { "MODIFIED" } else { "ADDED" },
        );
        self.announce(&state);
    }

    /// Removes the object at `path` as someone else would (a finalizer done).
    pub fn remove(&self, path: &str) {
        let (collection, name) = path.rsplit_once('/').expect("an object path");
        let mut state = self.lock();
        state.remove(collection, name);
        self.announce(&state);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn announce(&self, state: &State) {
        self.versions.send_replace(state.version);
    }

    async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let query: BTreeMap<String, String> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let path = parts.uri.path().to_string();
        let body = body.collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let dry_run = query.get("dryRun").is_some_and(|d| d == "All");
        {
            let mut state = self.lock();
            state.requests.push(format!(
                "{} {path}{}",
                parts.method,
                parts
                    .uri
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default()
            ));
            if let Some(fault) = state.faults.iter_mut().find(|f| {
                f.times > 0
                    && f.method == parts.method
                    && path.ends_with(&f.path)
                    && f.dry_run.is_none_or(|d| d == dry_run)
            }) {
                fault.times -= 1;
                let (code, message) = (fault.code, fault.message.clone());
                return failure(code, &message);
            }
        }
        let target = parse(&path);
        if parts.method == Method::GET && query.get("watch").is_some_and(|w| w == "true") {
            return self.watch(&target, &query).await;
        }
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let manager = query.get("fieldManager").map_or("unknown", String::as_str);
        let mut state = self.lock();
        let answer = match (parts.method.as_str(), target.name.as_deref()) {
            ("GET", None) => Ok(state.list(&target.collection, &query)),
            ("GET", Some(name)) => state.read(&target, name),
            ("POST", None) => state.create(&target, body, dry_run),
            ("PUT", Some(name)) => state.replace(&target, name, body, manager),
            ("PATCH", Some(name)) if content_type.contains("apply-patch") => {
                state.apply(&target, name, body, dry_run, manager)
            }
            ("PATCH", Some(name)) => state.merge(&target, name, &body, manager),
            ("DELETE", Some(name)) => state.delete(&target, name, &body),
            _ => Err((405, format!("{} {path} is not served", parts.method))),
        };
        self.announce(&state);
        match answer {
            Ok(value) => respond(StatusCode::OK, &value),
            Err((code, message)) => failure(code, &message),
        }
    }

    /// Events of the collection after `resourceVersion`, once there are some.
    async fn watch(&self, target: &Target, query: &BTreeMap<String, String>) -> Response<Body> {
        let since: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut versions = self.versions.subscribe();
        loop {
            let events: Vec<String> = {
                let state = self.lock();
                state
                    .log
                    .iter()
                    .filter(|(version, collection, _, object)| {
                        *version > since
                            && *collection == target.collection
                            && selected(object, query)
                    })
                    .map(|(_, _, kind, object)| json!({"type": kind, "object": object}).to_string())
                    .collect()
            };
            if !events.is_empty() {
                let mut body = events.join("\n");
                body.push('\n');
                return Response::new(Body::from(body.into_bytes()));
            }
            if versions.changed().await.is_err() {
                return Response::new(Body::empty());
            }
        }
    }
}

impl State {
    fn namespace_exists(&self, target: &Target) -> bool {
        target.namespace.as_ref().is_none_or(|ns| {
            self.objects
                .get("/api/v1/namespaces")
                .is_some_and(|c| c.contains_key(ns))
        })
    }

    fn list(&self, collection: &str, query: &BTreeMap<String, String>) -> Value {
        let items: Vec<&Value> = self
            .objects
            .get(collection)
            .into_iter()
            .flat_map(|c| c.values())
            .filter(|o| selected(o, query))
            .collect();
        json!({
            "apiVersion": "v1", "kind": "List",
            "metadata": {"resourceVersion": self.version.to_string()},
            "items": items,
        })
    }

    fn read(&self, target: &Target, name: &str) -> Result<Value, (u16, String)> {
        if target.subresource.as_deref() == Some("log") {
            return Err((400, "no logs in the fake".into()));
        }
        self.objects
            .get(&target.collection)
            .and_then(|c| c.get(name))
            .cloned()
            .ok_or_else(|| not_found(target, name))
    }

    fn create(
        &mut self,
        target: &Target,
        body: Value,
        dry_run: bool,
    ) -> Result<Value, (u16, String)> {
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !self.namespace_exists(target) {
            return Err(namespace_missing(target));
        }
        if self
            .objects
            .get(&target.collection)
            .is_some_and(|c| c.contains_key(&name))
        {
            return Err((409, format!("{} \"{name}\" already exists", plural(target))));
        }
        let mut object = self.stamp(body, target.namespace.as_deref());
        if object["kind"] == "Namespace" {
            object["status"] = json!({"phase": "Active"});
        }
        if !dry_run {
            self.store(&target.collection, &name, object.clone(), "ADDED");
        }
        Ok(object)
    }

    fn replace(
        &mut self,
        target: &Target,
        name: &str,
        body: Value,
        manager: &str,
    ) -> Result<Value, (u16, String)> {
        let live = self.read(target, name)?;
        let expected = body["metadata"]["resourceVersion"].as_str();
        if expected.is_some_and(|v| Some(v) != live["metadata"]["resourceVersion"].as_str()) {
            return Err((409, "the object has been modified".into()));
        }
        let mut object = body;
        object["metadata"]["uid"] = live["metadata"]["uid"].clone();
        if !object["metadata"]["managedFields"].is_array() {
            object["metadata"]["managedFields"] = live["metadata"]["managedFields"].clone();
        }
        managed_fields::updated(&live, &mut object, manager);
        let object = self.stamp(object, target.namespace.as_deref());
        self.store(&target.collection, name, object.clone(), "MODIFIED");
        Ok(object)
    }

    /// Server-side apply, simplified: the patch merged into the live object.
    fn apply(
        &mut self,
        target: &Target,
        name: &str,
        patch: Value,
        dry_run: bool,
        manager: &str,
    ) -> Result<Value, (u16, String)> {
        if !self.namespace_exists(target) {
            return Err(namespace_missing(target));
        }
        let live = self
            .objects
            .get(&target.collection)
            .and_then(|c| c.get(name))
            .cloned();
        let exists = live.is_some();
        let mut object = live.unwrap_or_else(|| json!({}));
        merge(&mut object, &patch);
        managed_fields::applied(&mut object, manager, &patch);
        if !exists && object["kind"] == "Namespace" {
            object["status"] = json!({"phase": "Active"});
        }
        if dry_run {
            return Ok(self.stamped_copy(object, target.namespace.as_deref()));
        }
        let object = self.stamp(object, target.namespace.as_deref());
        self.store(
            &target.collection,
            name,
            object.clone(),
            if exists { "MODIFIED" } else { "ADDED" },
        );
        Ok(object)
    }

    /// A JSON merge patch (RFC 7386) of a live object.
    fn merge(
        &mut self,
        target: &Target,
        name: &str,
        patch: &Value,
        manager: &str,
    ) -> Result<Value, (u16, String)> {
        let live = self.read(target, name)?;
        let mut object = live.clone();
        merge(&mut object, patch);
        managed_fields::updated(&live, &mut object, manager);
        let object = self.stamp(object, target.namespace.as_deref());
        self.store(&target.collection, name, object.clone(), "MODIFIED");
        Ok(object)
    }

    fn delete(
        &mut self,
        target: &Target,
        name: &str,
        options: &Value,
    ) -> Result<Value, (u16, String)> {
        let live = self.read(target, name)?;
        let preconditions = &options["preconditions"];
        for field in ["uid", "resourceVersion"] {
            if let Some(expected) = preconditions[field].as_str()
                && live["metadata"][field].as_str() != Some(expected)
            {
                return Err((
                    409,
                    format!(
                        "Precondition failed: {field}: {expected}, object's: {}",
                        live["metadata"][field]
                    ),
                ));
            }
        }
        let path = format!("{}/{name}", target.collection);
        if self.lingering.contains(&path) {
            let mut object = live;
            object["metadata"]["deletionTimestamp"] = json!("2026-12-06T00:00:00Z");
            let object = self.stamp(object, None);
            self.store(&target.collection, name, object.clone(), "MODIFIED");
            return Ok(object);
        }
        self.remove(&target.collection, name);
        Ok(live)
    }

    /// Metadata the server sets on a write: uid (kept), namespace, resourceVersion.
    fn stamp(&mut self, object: Value, namespace: Option<&str>) -> Value {
        self.version += 1;
        let version = self.version;
        let mut object = self.stamped_copy(object, namespace);
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        object
    }

    fn stamped_copy(&mut self, mut object: Value, namespace: Option<&str>) -> Value {
        if !object["metadata"]["uid"].is_string() {
            self.uids += 1;
            object["metadata"]["uid"] = json!(format!("uid-{}", self.uids));
        }
        if let Some(ns) = namespace {
            object["metadata"]["namespace"] = json!(ns);
        }
        object
    }

    fn store(&mut self, collection: &str, name: &str, object: Value, kind: &'static str) {
        let version = self.version;
        self.log
            .push((version, collection.to_string(), kind, object.clone()));
        self.objects
            .entry(collection.to_string())
            .or_default()
            .insert(name.to_string(), object);
    }

    fn remove(&mut self, collection: &str, name: &str) {
        if let Some(mut object) = self
            .objects
            .get_mut(collection)
            .and_then(|c| c.remove(name))
        {
            self.version += 1;
            object["metadata"]["resourceVersion"] = json!(self.version.to_string());
            self.log
                .push((self.version, collection.to_string(), "DELETED", object));
        }
    }
}

/// `/api/v1/namespaces/ns/pods/x/log` → collection `/api/v1/namespaces/ns/pods`, name `x`, subresource `log`.
fn parse(path: &str) -> Target {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prefix = if segments.first() == Some(&"api") {
        2
    } else {
        3
    };
    let (base, rest) = segments.split_at(prefix.min(segments.len()));
    let base = format!("/{}", base.join("/"));
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let scope = match &namespace {
        Some(ns) => format!("{base}/namespaces/{ns}"),
        None => base,
    };
    Target {
        collection: format!("{scope}/{}", rest.first().copied().unwrap_or_default()),
        name: rest.get(1).map(|n| n.to_string()),
        namespace,
        subresource: rest.get(2).map(|s| s.to_string()),
    }
}

/// Whether `object` matches the query's label and field selectors (`a=b,c=d`).
fn selected(object: &Value, query: &BTreeMap<String, String>) -> bool {
    let pairs = |key: &str| -> Vec<(String, String)> {
        query
            .get(key)
            .map(|s| {
                s.split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let labels = &object["metadata"]["labels"];
    pairs("labelSelector")
        .iter()
        .all(|(k, v)| labels[k].as_str() == Some(v.as_str()))
        && pairs("fieldSelector").iter().all(|(field, v)| {
            let found = field.split('.').fold(object, |o, part| &o[part]);
            found.as_str() == Some(v.as_str())
        })
}

/// Merges `patch` into `object`: objects recursively, `null` removes, the rest replaces.
fn merge(object: &mut Value, patch: &Value) {
    if let (Some(target), Some(patch)) = (object.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        return;
    }
    *object = patch.clone();
}

fn plural(target: &Target) -> &str {
    target.collection.rsplit('/').next().unwrap_or_default()
}

fn not_found(target: &Target, name: &str) -> (u16, String) {
    (404, format!("{} \"{name}\" not found", plural(target)))
}

fn namespace_missing(target: &Target) -> (u16, String) {
    let ns = target.namespace.as_deref().unwrap_or_default();
    (404, format!("namespaces \"{ns}\" not found"))
}

fn respond(code: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string().into_bytes()));
    *response.status_mut() = code;
    response
}

/// An error answer as the API server words it: a `Status` object.
fn failure(code: u16, message: &str) -> Response<Body> {
    let reason = match code {
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        _ => "InternalError",
    };
    let status = json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    respond(StatusCode::from_u16(code).expect("a status code"), &status)
}
