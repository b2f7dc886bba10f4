//! The watcher: one non-recursive watch per directory that holds build inputs ([`Inputs`]),
//! events folded into one [`Change`] after ~100 ms without another (a trailing debounce, so an
//! editor's atomic save — temporary file, write, rename — and a `git checkout` of many files are
//! one change, and edits made while a rebuild runs are one more), new directories watched as
//! they appear. Idle, it sleeps in the kernel (inotify, FSEvents, ReadDirectoryChangesW);
//! where events do not arrive ([`fs_kind`]) it polls twice a second.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{Event, RecursiveMode};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::Instant;

use super::fs_kind;
use super::inputs::{Inputs, Touched};

/// Quiet time after the last event before a change is acted on.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// A change is acted on after this long even if events keep coming (a tool writing non-stop).
const MAX_WAIT: Duration = Duration::from_secs(2);
/// The polling fallback's interval.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "the inotify watch limit is reached (fs.inotify.max_user_watches = {limit}) after {watched} directories"
    )]
    WatchLimit { limit: String, watched: usize },
    #[error(
        "no inotify instance left for this user (fs.inotify.max_user_instances = {limit}): other programs hold them all"
    )]
    InstanceLimit { limit: String },
    #[error("cannot watch {path}: {message}")]
    Watch { path: String, message: String },
    #[error("the file watcher stopped")]
    Stopped,
}

impl crate::hint::Hint for WatchError {
    fn hint(&self) -> Option<String> {
        let raise = |setting: &str, value: u32| {
            format!(
                "raise it: sudo sysctl fs.inotify.{setting}={value} (to keep it after a reboot: echo fs.inotify.{setting}={value} | sudo tee /etc/sysctl.d/60-inotify.conf); or berth dev --poll"
            )
        };
        match self {
            WatchError::WatchLimit { .. } => Some(raise("max_user_watches", 524_288)),
            WatchError::InstanceLimit { .. } => Some(raise("max_user_instances", 512)),
            WatchError::Watch { .. } => Some("berth dev --poll polls instead of watching".into()),
            WatchError::Stopped => None,
        }
    }
}

/// What changed since the last [`Change`].
#[derive(Debug, Clone)]
pub struct Change {
    pub touched: Touched,
    /// The paths that count, as the events named them.
    pub paths: BTreeSet<PathBuf>,
    /// When the first of its events arrived (the edit, give or take the kernel's delivery).
    pub first: Instant,
}

type Received = (Instant, notify::Result<Event>);

/// Watches the inputs of the components of a `berth dev` session.
pub struct Watcher {
    backend: Box<dyn notify::Watcher + Send>,
    events: UnboundedReceiver<Received>,
    inputs: Inputs,
    watched: BTreeSet<PathBuf>,
    /// Why it polls, when it does.
    pub polling: Option<String>,
}

impl Watcher {
    /// Starts watching every directory of `inputs`.
    pub fn start(inputs: Inputs, force_poll: bool) -> Result<Watcher, WatchError> {
        let (tx, events) = unbounded_channel::<Received>();
        let handler = move |event: notify::Result<Event>| {
            let _ = tx.send((Instant::now(), event));
        };
        let dirs = inputs.directories();
        let polling = dirs
            .iter()
            .find_map(|d| fs_kind::polling_reason(d))
            .or_else(|| force_poll.then(|| "polling was asked for (--poll)".to_string()));
        let backend: Box<dyn notify::Watcher + Send> = if polling.is_some() {
            // notify's poller compares modification times in whole seconds: two saves within
            // one second would look like one, so it compares contents too (only the watched
            // directories' files, never dependency trees).
            let config = notify::Config::default()
                .with_poll_interval(POLL_INTERVAL)
                .with_compare_contents(true);
            Box::new(notify::PollWatcher::new(handler, config).map_err(start_error)?)
        } else {
            Box::new(notify::recommended_watcher(handler).map_err(start_error)?)
        };
        let mut watcher = Watcher {
            backend,
            events,
            inputs,
            watched: BTreeSet::new(),
            polling,
        };
        for dir in dirs {
            watcher.add(&dir)?;
        }
        Ok(watcher)
    }

    /// How many directories are watched.
    pub fn watch_count(&self) -> usize {
        self.watched.len()
    }

    /// The inputs being watched.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Watches what `inputs` name instead (ignore files or specs changed).
    pub fn reload(&mut self, inputs: Inputs) -> Result<(), WatchError> {
        self.inputs = inputs;
        let wanted: BTreeSet<PathBuf> = self.inputs.directories().into_iter().collect();
        for gone in self
            .watched
            .difference(&wanted)
            .cloned()
            .collect::<Vec<_>>()
        {
            let _ = self.backend.unwatch(&gone);
            self.watched.remove(&gone);
        }
        for dir in wanted.difference(&self.watched.clone()) {
            self.add(dir)?;
        }
        Ok(())
    }

    fn add(&mut self, dir: &Path) -> Result<(), WatchError> {
        if self.watched.contains(dir) {
            return Ok(());
        }
        match self.backend.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                Ok(())
            }
            // Gone between the walk and the watch: nothing to watch.
            Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => Ok(()),
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                Err(WatchError::WatchLimit {
                    limit: inotify_setting("max_user_watches"),
                    watched: self.watched.len(),
                })
            }
            Err(e) if io_code(&e) == Some(libc::ENOSPC) => Err(WatchError::WatchLimit {
                limit: inotify_setting("max_user_watches"),
                watched: self.watched.len(),
            }),
            Err(e) if io_code(&e) == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(WatchError::Watch {
                path: dir.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// The next change that counts: waits for an event on a build input, then until the
    /// events have been quiet for [`DEBOUNCE`].
    pub async fn next_change(&mut self) -> Result<Change, WatchError> {
        let mut change = Change {
            touched: Touched::default(),
            paths: BTreeSet::new(),
            first: Instant::now(),
        };
        let mut last = loop {
            let (at, event) = self.events.recv().await.ok_or(WatchError::Stopped)?;
            if self.take(event, &mut change)? {
                change.first = at;
                break at;
            }
        };
        loop {
            let deadline = (last + DEBOUNCE).min(change.first + MAX_WAIT);
            tokio::select! {
                biased;
                received = self.events.recv() => {
                    let (at, event) = received.ok_or(WatchError::Stopped)?;
                    if self.take(event, &mut change)? {
                        last = last.max(at);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        Ok(change)
    }

    /// Adds what `event` touches to `change`; true when it counted.
    fn take(
        &mut self,
        event: notify::Result<Event>,
        change: &mut Change,
    ) -> Result<bool, WatchError> {
        let event = match event {
            Ok(event) => event,
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                return Err(WatchError::WatchLimit {
                    limit: inotify_setting("max_user_watches"),
                    watched: self.watched.len(),
                });
            }
            // A transient error names no change.
            Err(_) => return Ok(false),
        };
        if event.need_rescan() {
            // The kernel's queue overflowed: anything may have changed.
            for component in &self.inputs.components {
                change.touched.specs.insert(component.spec.clone());
            }
            return Ok(true);
        }
        match event.kind {
            // Reads (the build's own, too) change nothing; a closed write is the end of one.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
            EventKind::Access(_) => return Ok(false),
            _ => {}
        }
        let mut counted = false;
        for path in &event.paths {
            if matches!(event.kind, EventKind::Remove(_)) && self.watched.remove(path) {
                let _ = self.backend.unwatch(path);
            }
            if matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_)) && path.is_dir() {
                for dir in self.inputs.directories_under(path) {
                    self.add(&dir)?;
                }
            }
            let touched = self.inputs.touched(path);
            if !touched.is_empty() {
                change.touched.add(touched);
                change.paths.insert(path.clone());
                counted = true;
            }
        }
        Ok(counted)
    }
}

fn start_error(e: notify::Error) -> WatchError {
    if io_code(&e) == Some(libc::EMFILE) {
        return WatchError::InstanceLimit {
            limit: inotify_setting("max_user_instances"),
        };
    }
    WatchError::Watch {
        path: "-".into(),
        message: e.to_string(),
    }
}

fn io_code(e: &notify::Error) -> Option<i32> {
    match &e.kind {
        notify::ErrorKind::Io(io) => io.raw_os_error(),
        _ => None,
    }
}

/// `/proc/sys/fs/inotify/NAME`, or `?`.
fn inotify_setting(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/fs/inotify/{name}"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::spec;
    use std::collections::BTreeMap;
    use std::fs;

    fn watched_repository(poll: bool) -> (tempfile::TempDir, Watcher) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("api/app")).unwrap();
        fs::create_dir_all(root.join("api/node_modules/x")).unwrap();
        fs::create_dir_all(root.join("images")).unwrap();
        fs::write(root.join("api/app/main.py"), "v = 1\n").unwrap();
        fs::write(
            root.join("images/api.toml"),
            "kind = \"build\"\nrepository = \"localhost/t/api\"\nbase = \"docker.io/library/busybox:1.35.0\"\ncontext = \"api\"\nuser = \"1:1\"\n[[layers]]\nname = \"code\"\ncopy = [\"app\"]\ndest = \"/app\"\n",
        )
        .unwrap();
        let specs = spec::load_dir(&root.join("images"), root).unwrap();
        let files = BTreeMap::from([("api".to_string(), root.join("images/api.toml"))]);
        let inputs = Inputs::new(&specs, &files, None);
        (dir, Watcher::start(inputs, poll).unwrap())
    }

    async fn next(w: &mut Watcher) -> Change {
        tokio::time::timeout(Duration::from_secs(10), w.next_change())
            .await
            .expect("a change within 10 s")
            .unwrap()
    }

    #[tokio::test]
    async fn an_atomic_save_is_one_change_and_new_directories_are_watched() {
        let (dir, mut w) = watched_repository(false);
        assert_eq!(w.watch_count(), 2, "images/ and api/app/ (the copy root)");
        // An editor's atomic save: temporary file, write, rename over the original.
        let tmp = dir.path().join("api/app/.main.py.tmp1234");
        fs::write(&tmp, "v = 2\n").unwrap();
        fs::rename(&tmp, dir.path().join("api/app/main.py")).unwrap();
        let change = next(&mut w).await;
        assert_eq!(change.touched.specs.iter().collect::<Vec<_>>(), ["api"]);
        // Nothing else is pending: the save was one change.
        let again = tokio::time::timeout(Duration::from_millis(400), w.next_change()).await;
        assert!(
            again.is_err(),
            "a second change from one save: {:?}",
            again.unwrap()
        );

        // A new directory, then a file in it: watched, and the file counts.
        fs::create_dir(dir.path().join("api/app/routes")).unwrap();
        next(&mut w).await;
        assert_eq!(w.watch_count(), 3);
        fs::write(dir.path().join("api/app/routes/tasks.py"), "x = 1\n").unwrap();
        let change = next(&mut w).await;
        assert!(
            change.paths.iter().any(|p| p.ends_with("routes/tasks.py")),
            "{change:?}"
        );

        // Dependency trees raise nothing.
        fs::write(dir.path().join("api/node_modules/x/index.js"), "1").unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(400), w.next_change()).await;
        assert!(quiet.is_err());
    }

    #[tokio::test]
    async fn edits_during_a_rebuild_fold_into_one_more_change() {
        let (dir, mut w) = watched_repository(false);
        fs::write(dir.path().join("api/app/main.py"), "v = 2\n").unwrap();
        next(&mut w).await;
        // A "rebuild" during which three edits land.
        for v in 3..6 {
            fs::write(dir.path().join("api/app/main.py"), format!("v = {v}\n")).unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let change = next(&mut w).await;
        assert_eq!(change.paths.len(), 1);
        let more = tokio::time::timeout(Duration::from_millis(400), w.next_change()).await;
        assert!(more.is_err(), "the three edits were one change");
    }

    #[tokio::test]
    async fn polling_sees_changes_too() {
        let (dir, mut w) = watched_repository(true);
        assert!(w.polling.is_some());
        tokio::time::sleep(Duration::from_millis(100)).await;
        fs::write(dir.path().join("api/app/main.py"), "v = 20\n").unwrap();
        let change = next(&mut w).await;
        assert!(change.touched.specs.contains("api"));
    }
}
