//! One `berth dev` session: deploy once, then for each change rebuild only the touched images,
//! side-load only what the node lacks and roll out only what changed — each step a call into
//! the pipeline (`pipeline::images`, `pipeline::prepare`, `pipeline::apply_prepared_holding`),
//! holding the release lock throughout so no other deploy interleaves. The local origins of
//! `berth open` (`operate::forward`) serve from the first rollout until the session ends, and the
//! watched components' logs stream meanwhile (`operate::logs`). A failed build or rollout is
//! reported with its root cause and the previous version keeps serving (a rollout never takes
//! the old pods down before new ones are ready); the session ends by restoring the last good
//! version when the last change failed, or with `--down` by uninstalling (volumes kept).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::apply::lock::ReleaseLock;
use crate::apply::{self, Cause, DeployOptions, Event, Readiness, Release};
use crate::hint::Hint;
use crate::images::{BuiltImage, Progress};
use crate::manifests::{self, RenderContext};
use crate::operate::forward::{self, Bound, ForwardEvent};
use crate::operate::logs::{self, LogEvent, LogOptions};
use crate::pipeline::images::{ImageSources, build_images, load_images};
use crate::pipeline::{self, Prepared};
use crate::values::{Problem, Values, ValuesError};

use super::inputs::Inputs;
use super::live::{self, LiveError};
use super::timing::{Phases, Summary};
use super::watch::{Change, Watcher};
use crate::images::spec::DevSpec;

/// Everything a session needs besides the cluster and the values.
pub struct DevSettings {
    pub ctx: RenderContext,
    pub sources: ImageSources,
    /// Read again when the stack file changes; `None`: values do not reload.
    pub reload: Option<Box<dyn Fn() -> anyhow::Result<Values> + Send + Sync>>,
    /// The stack file (`berth.yaml`), watched for value changes.
    pub stack_file: Option<PathBuf>,
    /// Components to watch (their names); empty: every component built from a spec.
    pub watch: Vec<String>,
    pub options: DeployOptions,
    /// Stream the watched components' logs.
    pub logs: bool,
    /// Poll instead of waiting for events.
    pub poll: bool,
}

/// What a session reports as it goes; the command decides how to show it.
#[derive(Debug)]
pub enum DevEvent {
    /// The first deploy begins.
    Deploying,
    /// The first deploy is done (ready or not).
    Deployed {
        ready: bool,
        elapsed: Duration,
    },
    Watching {
        components: Vec<String>,
        watches: usize,
        /// Why it polls, when it does.
        polling: Option<String>,
    },
    /// The local origins serve.
    Serving,
    Change {
        paths: Vec<PathBuf>,
        specs: Vec<String>,
        values: bool,
    },
    /// The images came out as they were: nothing to roll out.
    Unchanged {
        specs: Vec<String>,
    },
    /// What side-loading did, per image: its reference and `loaded in 0.40s (3 of 5 blobs sent,
    /// 12 kB)` or `already present`.
    Loaded {
        images: Vec<(String, String)>,
    },
    /// An engine event of a rollout.
    Rollout(Event),
    /// A change is served.
    Served {
        revision: Option<u32>,
        phases: Phases,
    },
    /// A live change's files are in `pods` running pods of `component`.
    Copied {
        component: String,
        files: usize,
        pods: usize,
    },
    /// Ctrl-C after live changes: the tree as it is becomes a revision.
    Recording,
    /// A step failed; the previous version keeps serving.
    Failed {
        step: &'static str,
        error: String,
    },
    /// The rollout did not become ready, and why (the analysis deploy and diagnose share).
    NotReady {
        object: String,
        cause: Cause,
    },
    TimedOut {
        waiting: Vec<String>,
    },
    Log(LogEvent),
    Forward(ForwardEvent),
    /// The last change failed or was interrupted: the last good version is applied again.
    Restoring,
    /// After restoring: the pods of `component` that had code copied live were deleted, so
    /// their replacements run the image's files.
    Restarted {
        component: String,
        pods: usize,
    },
    Uninstalled,
}

/// Where events go; called from the session's tasks too.
pub type Sink = Arc<dyn Fn(DevEvent) + Send + Sync>;

/// Why a session could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Watch(#[from] super::watch::WatchError),
    #[error(transparent)]
    Forward(#[from] forward::ForwardError),
    #[error("reading the image specs")]
    Specs(#[source] anyhow::Error),
}

impl Hint for DevError {
    fn hint(&self) -> Option<String> {
        match self {
            DevError::Apply(e) => e.hint(),
            DevError::Watch(e) => e.hint(),
            // Their messages say what to do.
            DevError::Values(_) | DevError::Forward(_) => None,
            DevError::Specs(_) => Some("see `berth images build --help`".into()),
        }
    }
}

/// How long a live change waits for each container's `ready` line (at most the deploy
/// timeout): a Python server re-imports in about a second; one that has not in this long is
/// stuck on an error its log shows.
const LIVE_PATIENCE: Duration = Duration::from_secs(30);

/// The `[dev]` of each of `specs`' build specs that has one.
fn live_specs(
    settings: &DevSettings,
    values: &Values,
    specs: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, DevSpec>, DevError> {
    let wanted: BTreeSet<&String> = specs.values().collect();
    let all = settings
        .sources
        .build_settings(values)
        .specs()
        .map_err(|e| DevError::Specs(e.into()))?;
    Ok(all
        .into_iter()
        .filter(|s| wanted.contains(&s.name))
        .filter_map(|s| match s.kind {
            crate::images::spec::SpecKind::Build(b) => Some((s.name, b.dev?)),
            crate::images::spec::SpecKind::Mirror(_) => None,
        })
        .collect())
}

/// Which spec each watched component is built from (`image.build`'s file stem).
pub fn watched_specs(
    values: &Values,
    names: &[String],
) -> Result<BTreeMap<String, String>, ValuesError> {
    let mut problems = Vec::new();
    let mut specs = BTreeMap::new();
    for name in names {
        if !values.components.contains_key(name) {
            let known: Vec<&str> = values
                .enabled_components()
                .map(|(n, _)| n.as_str())
                .collect();
            problems.push(
                Problem::new(
                    format!("components.{name}"),
                    "is not a component of the stack",
                )
                .with_hint(format!("berth dev watches: {}", known.join(", "))),
            );
        }
    }
    for (name, component) in values.enabled_components() {
        if !names.is_empty() && !names.contains(name) {
            continue;
        }
        match spec_name(component.image.build.as_deref()) {
            Some(spec) => {
                specs.insert(name.clone(), spec);
            }
            None if names.contains(name) => problems.push(
                Problem::new(
                    format!("components.{name}.image.build"),
                    "is not set: berth dev rebuilds images from their build specs",
                )
                .with_hint("set image.build to the component's spec (berth init writes them), or leave the component out"),
            ),
            None => {}
        }
    }
    if specs.is_empty() && problems.is_empty() {
        problems.push(
            Problem::new(
                "components",
                "no component is built from a spec (image.build): nothing to watch",
            )
            .with_hint("berth init writes images/<component>.toml and sets image.build"),
        );
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(ValuesError::invalid(problems))
    }
}

fn spec_name(build: Option<&str>) -> Option<String> {
    let stem = std::path::Path::new(build?).file_stem()?;
    Some(stem.to_string_lossy().into_owned())
}

/// Runs a session until `stop` completes (Ctrl-C), then leaves the last good version serving,
/// or uninstalls with `down`. `bound`: the local origins' ports, bound before anything else.
pub async fn run(
    client: kube::Client,
    settings: DevSettings,
    values: Values,
    bound: Vec<Bound>,
    down: bool,
    stop: impl Future<Output = ()>,
    sink: Sink,
) -> Result<Summary, DevError> {
    let release = Release::new(&settings.ctx.release, &settings.ctx.namespace);
    let specs = watched_specs(&values, &settings.watch)?;
    let live = live_specs(&settings, &values, &specs)?;
    let ctx = RenderContext {
        dev_profile: true,
        // Watched components whose spec has `[dev]` run its server (see `live`).
        live: specs
            .iter()
            .filter_map(|(component, spec)| {
                Some((component.clone(), live.get(spec)?.command.clone()))
            })
            .collect(),
        ..settings.ctx.clone()
    };
    // The lock is held for the whole session: a second `berth dev` or a `berth deploy` of the
    // release is refused until it ends.
    let objects = apply::from_manifests(&manifests::render(&values, &ctx));
    let lock = apply::hold(&client, &release, &objects).await?;
    let mut session = Session {
        client,
        settings,
        ctx,
        release,
        sink,
        values,
        specs,
        live,
        live_dirty: false,
        live_broken: false,
        lock,
        last_good: None,
        unsettled: false,
        summary: Summary::default(),
        bound: Some(bound),
        tasks: tokio::task::JoinSet::new(),
    };
    let result = session.serve(stop).await;
    // Ctrl-C ends serving (the forwards and log streams), then the session is wound up.
    session.tasks.shutdown().await;
    // Code copied live is in the running containers only: the tree as it is now becomes a
    // revision (dev), so what serves after the session is what its revision says.
    if session.live_dirty && !down && result.is_ok() {
        if session.live_broken {
            // The last edit copied live did not reload: it is not recorded, and the pods start
            // again from the last good revision's image (see `finish`).
            session.unsettled = true;
        } else {
            (session.sink)(DevEvent::Recording);
            session.rollout(Vec::new(), None, false).await;
        }
    }
    let ended = session.finish(down).await;
    result?;
    ended
}

/// How one rollout went.
enum Outcome {
    Served,
    Unchanged,
    Failed,
}

struct Session {
    client: kube::Client,
    settings: DevSettings,
    ctx: RenderContext,
    release: Release,
    sink: Sink,
    /// The values the cluster runs (or is rolling out to), pointing at the built images.
    values: Values,
    /// Watched component → its spec.
    specs: BTreeMap<String, String>,
    /// Spec → its `[dev]`, for the specs whose components run live.
    live: BTreeMap<String, DevSpec>,
    /// A change was copied live since the last rollout.
    live_dirty: bool,
    /// The last change copied live did not reload (its code is broken).
    live_broken: bool,
    lock: ReleaseLock,
    /// The last render that became ready, applied again on exit when the cluster may run
    /// another (a failed change, or Ctrl-C during a rollout).
    last_good: Option<Prepared>,
    /// A rollout began and did not become ready.
    unsettled: bool,
    summary: Summary,
    /// The local origins' ports, until they serve.
    bound: Option<Vec<Bound>>,
    /// The forwards and log streams.
    tasks: tokio::task::JoinSet<()>,
}

impl Session {
    async fn serve(&mut self, stop: impl Future<Output = ()>) -> Result<(), DevError> {
        tokio::pin!(stop);
        // Watching starts first: an edit made during the first deploy is one change after it.
        let mut watcher = Watcher::start(self.inputs()?, self.settings.poll)?;
        (self.sink)(DevEvent::Deploying);
        let started = Instant::now();
        // Every spec the stack builds from: the first deploy runs what is in the tree now.
        let outcome = tokio::select! {
            outcome = self.rollout(Vec::new(), None, false) => outcome,
            () = &mut stop => return Ok(()),
        };
        (self.sink)(DevEvent::Deployed {
            ready: matches!(outcome, Outcome::Served | Outcome::Unchanged),
            elapsed: started.elapsed(),
        });
        (self.sink)(DevEvent::Watching {
            components: self.specs.keys().cloned().collect(),
            watches: watcher.watch_count(),
            polling: watcher.polling.clone(),
        });
        loop {
            let change = tokio::select! {
                change = watcher.next_change() => change?,
                () = &mut stop => return Ok(()),
            };
            tokio::select! {
                result = self.change(&mut watcher, change) => result?,
                () = &mut stop => return Ok(()),
            }
        }
    }

    /// The build inputs of the watched components.
    fn inputs(&self) -> Result<Inputs, DevError> {
        let settings = self.settings.sources.build_settings(&self.values);
        let wanted: BTreeSet<&String> = self.specs.values().collect();
        let specs: Vec<_> = settings
            .specs()
            .map_err(|e| DevError::Specs(e.into()))?
            .into_iter()
            .filter(|s| wanted.contains(&s.name))
            .collect();
        let files = specs
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    settings.specs_dir.join(format!("{}.toml", s.name)),
                )
            })
            .collect();
        Ok(Inputs::new(
            &specs,
            &files,
            self.settings.stack_file.as_deref(),
        ))
    }

    async fn change(&mut self, watcher: &mut Watcher, change: Change) -> Result<(), DevError> {
        let Change {
            touched,
            paths,
            first,
        } = change;
        let changed: Vec<PathBuf> = paths.iter().cloned().collect();
        (self.sink)(DevEvent::Change {
            paths: paths.into_iter().collect(),
            specs: touched.specs.iter().cloned().collect(),
            values: touched.values,
        });
        if touched.rules {
            // A spec that no longer reads fails its build below, which says why; until it is
            // fixed the old watch set stands.
            if let Ok(inputs) = self.inputs() {
                watcher.reload(inputs)?;
            }
        }
        if touched.values && !self.reload_values() {
            self.summary.failed += 1;
            return Ok(());
        }
        let live = if self.last_good.is_some() && !touched.values && !touched.rules {
            self.live_change(watcher.inputs(), &touched.specs, &changed, first)
                .await
        } else {
            None
        };
        let outcome = match live {
            Some(outcome) => outcome,
            None => {
                // Until a version has served, every image is built again (cached ones in no
                // time): a first deploy that failed may not have built them all.
                let specs = match self.last_good {
                    Some(_) => touched.specs.into_iter().collect(),
                    None => Vec::new(),
                };
                self.rollout(specs, Some(first), touched.values).await
            }
        };
        match outcome {
            Outcome::Failed => self.summary.failed += 1,
            Outcome::Unchanged => self.summary.unchanged += 1,
            Outcome::Served => {}
        }
        Ok(())
    }

    /// Reads the values again (the stack file changed), keeping the images built so far.
    fn reload_values(&mut self) -> bool {
        let Some(reload) = &self.settings.reload else {
            return true;
        };
        match reload() {
            Ok(mut values) => {
                keep_images(&self.values, &mut values);
                self.values = values;
                true
            }
            Err(e) => {
                (self.sink)(DevEvent::Failed {
                    step: "values",
                    error: format!("{e:#}"),
                });
                false
            }
        }
    }

    /// Builds `specs` (all when empty), loads what changed, rolls it out and waits.
    async fn rollout(
        &mut self,
        specs: Vec<String>,
        first: Option<tokio::time::Instant>,
        values_changed: bool,
    ) -> Outcome {
        let waited = first.map(|f| f.elapsed()).unwrap_or_default();
        let progress = Progress::quiet();
        let sources = &self.settings.sources;
        let built = match build_images(sources, &self.values, &specs, &progress).await {
            Ok(built) => built,
            Err(e) => return self.failed("build", e.into()),
        };
        let changed: Vec<BuiltImage> = built
            .images
            .into_iter()
            .filter(|image| !serves(&self.values, image))
            .collect();
        if changed.is_empty() && !values_changed && self.last_good.is_some() {
            (self.sink)(DevEvent::Unchanged { specs });
            return Outcome::Unchanged;
        }
        let loading = Instant::now();
        let mut values = self.values.clone();
        let reports = match load_images(sources, &changed, &mut values, &progress) {
            Ok(reports) => reports,
            Err(e) => return self.failed("load", e.into()),
        };
        let loaded = loading.elapsed();
        (self.sink)(DevEvent::Loaded {
            images: reports
                .iter()
                .map(|r| (r.reference.clone(), r.outcome.to_string()))
                .collect(),
        });
        let rolling = Instant::now();
        let mut prepared = match pipeline::prepare(&self.client, values.clone(), &self.ctx).await {
            Ok(prepared) => prepared,
            Err(e) => return self.failed("render", e.into()),
        };
        prepared.revision.dev = true;
        // From the first write until it is ready (or interrupted by Ctrl-C), the cluster may run
        // something other than the last good version.
        self.unsettled = true;
        let sink = self.sink.clone();
        let report = pipeline::apply_prepared_holding(
            &self.client,
            prepared.clone(),
            &self.settings.options,
            &self.lock,
            &mut |event| sink(DevEvent::Rollout(event)),
        )
        .await;
        // Whatever the readiness, the cluster now runs (or rolls out) these values.
        let report = match report {
            Ok(report) => report,
            Err(e) => return self.failed("rollout", e.into()),
        };
        self.values = values;
        self.start_serving();
        match report.readiness {
            Readiness::Ready => {
                let phases = Phases {
                    waited,
                    built: built.elapsed,
                    loaded,
                    ready: rolling.elapsed(),
                    live: false,
                };
                self.last_good = Some(prepared);
                self.unsettled = false;
                // The first deploy is reported as `Deployed`.
                if first.is_some() {
                    self.summary.served.push(phases);
                    (self.sink)(DevEvent::Served {
                        revision: report.revision,
                        phases,
                    });
                }
                Outcome::Served
            }
            Readiness::Failed { object, cause } => {
                (self.sink)(DevEvent::NotReady { object, cause });
                Outcome::Failed
            }
            Readiness::TimedOut { waiting } => {
                (self.sink)(DevEvent::TimedOut { waiting });
                Outcome::Failed
            }
        }
    }

    /// A change every touched spec takes live (its `[dev]`, only copied files changed): the
    /// files copied into the running containers, served once each has reloaded. `None`: the
    /// change needs a build and a rollout. A copy that fails falls back to one; a reload that
    /// does not come is a failed change (the server waits for the next edit, as it would
    /// outside the cluster).
    async fn live_change(
        &mut self,
        inputs: &Inputs,
        specs: &BTreeSet<String>,
        paths: &[PathBuf],
        first: tokio::time::Instant,
    ) -> Option<Outcome> {
        let mut plans = Vec::new();
        for spec in specs {
            let ready = self.live.get(spec)?.ready.clone();
            let files = inputs.live_files(spec, paths)?;
            for (component, _) in self.specs.iter().filter(|(_, s)| *s == spec) {
                plans.push((component.clone(), ready.clone(), files.clone()));
            }
        }
        if plans.is_empty() {
            return None;
        }
        let waited = first.elapsed();
        let (mut copied, mut reloaded) = (Duration::ZERO, Duration::ZERO);
        for (component, ready, files) in plans {
            let selector = crate::operate::selector(&self.release, Some(&component));
            let synced = live::sync(
                &self.client,
                &self.release.namespace,
                &selector,
                &component,
                &files,
                &ready,
                self.settings
                    .options
                    .wait
                    .map_or(LIVE_PATIENCE, |w| w.min(LIVE_PATIENCE)),
            )
            .await;
            self.live_dirty = true;
            self.live_broken = matches!(synced, Err(LiveError::NotReloaded { .. }));
            match synced {
                Ok(s) => {
                    copied += s.copied;
                    reloaded += s.reloaded;
                    (self.sink)(DevEvent::Copied {
                        component,
                        files: files.len(),
                        pods: s.pods,
                    });
                }
                Err(e @ LiveError::NotReloaded { .. }) => {
                    return Some(self.failed("reload", e.into()));
                }
                Err(e) => {
                    (self.sink)(DevEvent::Failed {
                        step: "copy",
                        error: format!(
                            "{:#}; building and rolling out instead",
                            anyhow::Error::from(e)
                        ),
                    });
                    return None;
                }
            }
        }
        let phases = Phases {
            waited,
            built: Duration::ZERO,
            loaded: copied,
            ready: reloaded,
            live: true,
        };
        self.summary.served.push(phases);
        (self.sink)(DevEvent::Served {
            revision: None,
            phases,
        });
        Some(Outcome::Served)
    }

    fn failed(&mut self, step: &'static str, error: anyhow::Error) -> Outcome {
        (self.sink)(DevEvent::Failed {
            step,
            error: format!("{error:#}"),
        });
        Outcome::Failed
    }

    /// After the first rollout: the local origins and the watched components' logs.
    fn start_serving(&mut self) {
        let Some(bound) = self.bound.take() else {
            return;
        };
        let sink = self.sink.clone();
        let events: forward::Events = Arc::new(move |event| sink(DevEvent::Forward(event)));
        let (client, namespace) = (self.client.clone(), self.release.namespace.clone());
        let sink = self.sink.clone();
        self.tasks.spawn(async move {
            if let Err(e) = forward::serve(client, &namespace, bound, events).await {
                sink(DevEvent::Failed {
                    step: "serve",
                    error: e.to_string(),
                });
            }
        });
        (self.sink)(DevEvent::Serving);
        if !self.settings.logs {
            return;
        }
        for component in self.specs.keys() {
            let (client, release, sink) =
                (self.client.clone(), self.release.clone(), self.sink.clone());
            let options = LogOptions {
                component: Some(component.clone()),
                // New pods' lines are seconds old; older pods' history is not replayed.
                since_seconds: Some(10),
                ..Default::default()
            };
            self.tasks.spawn(async move {
                let _ = logs::follow(&client, &release, &options, |event| {
                    sink(DevEvent::Log(event))
                })
                .await;
            });
        }
    }

    /// Leaves the last good version serving (applied again when the last change failed), then
    /// releases the lock; with `down`, uninstalls, keeping volumes.
    async fn finish(self, down: bool) -> Result<Summary, DevError> {
        let Session {
            client,
            settings,
            ctx,
            release,
            sink,
            live_dirty,
            lock,
            last_good,
            unsettled,
            summary,
            ..
        } = self;
        if let (true, false, Some(good)) = (unsettled, down, last_good) {
            sink(DevEvent::Restoring);
            let restored = pipeline::apply_prepared_holding(
                &client,
                good,
                &settings.options,
                &lock,
                &mut |event| sink(DevEvent::Rollout(event)),
            )
            .await;
            match restored {
                // The running containers may still hold code copied live that did not become
                // a revision (a broken edit, then Ctrl-C): their pods start again from the image.
                Ok(_) if live_dirty => {
                    for component in ctx.live.keys() {
                        let selector = crate::operate::selector(&release, Some(component));
                        match live::restart(&client, &release.namespace, &selector).await {
                            Ok(pods) => sink(DevEvent::Restarted {
                                component: component.clone(),
                                pods,
                            }),
                            Err(e) => sink(DevEvent::Failed {
                                step: "restart",
                                error: format!("{:#}", anyhow::Error::from(e)),
                            }),
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => sink(DevEvent::Failed {
                    step: "restore",
                    error: format!("{:#}", anyhow::Error::from(e)),
                }),
            }
        }
        lock.release().await;
        if down {
            // Volumes are kept: never a PersistentVolumeClaim.
            apply::uninstall(&client, &release, false).await?;
            sink(DevEvent::Uninstalled);
        }
        Ok(summary)
    }
}

/// Whether `values` already point every component built from `image`'s spec at it.
fn serves(values: &Values, image: &BuiltImage) -> bool {
    let targets = values
        .components
        .values()
        .map(|c| &c.image)
        .chain([&values.database.internal.image]);
    targets
        .filter(|i| spec_name(i.build.as_deref()).as_deref() == Some(image.name.as_str()))
        .all(|i| i.reference() == image.reference)
}

/// Points the images of `fresh` (values read again) built from a spec at what `running` runs
/// from the same spec.
fn keep_images(running: &Values, fresh: &mut Values) {
    let built: BTreeMap<String, (String, String)> = running
        .components
        .values()
        .map(|c| &c.image)
        .chain([&running.database.internal.image])
        .filter_map(|i| {
            Some((
                spec_name(i.build.as_deref())?,
                (i.repository.clone(), i.tag.clone()),
            ))
        })
        .collect();
    let images = fresh
        .components
        .values_mut()
        .map(|c| &mut c.image)
        .chain([&mut fresh.database.internal.image]);
    for image in images {
        if let Some((repository, tag)) =
            spec_name(image.build.as_deref()).and_then(|s| built.get(&s))
        {
            image.repository = repository.clone();
            image.tag = tag.clone();
        }
    }
}
