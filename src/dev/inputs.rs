//! What each watched component's image is built from, and which of those paths count: the
//! spec's `run` inputs and `copy` paths under its context, the spec file itself, and the stack
//! file (values). A path counts unless `.gitignore` (nested files included), the context's
//! `.dockerignore` or the spec's `ignore` (for `copy` paths, as the build applies them) exclude
//! it, or it lies in a directory no build reads: VCS metadata, dependency trees, virtualenvs,
//! caches and build outputs (`node_modules`, `.venv`, `.git`, `__pycache__`, `.next`, …).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::live::LiveFile;
use crate::images::ignore::IgnoreRules;
use crate::images::spec::{ImageSpec, LayerSource, SpecKind};

/// Directories never watched, whatever the ignore files say: tools' metadata, installed
/// dependencies and caches. A directory holding `pyvenv.cfg` (a virtualenv) is skipped too.
pub const NEVER_WATCHED: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".turbo",
    ".parcel-cache",
];

/// One component's build inputs.
#[derive(Debug)]
pub struct ComponentInputs {
    /// The spec's name (the stem of the component's `image.build`).
    pub spec: String,
    pub spec_file: PathBuf,
    pub context: PathBuf,
    pub roots: Vec<Root>,
}

/// A file or directory the build reads.
#[derive(Debug, Clone)]
pub struct Root {
    pub path: PathBuf,
    /// `.dockerignore` + the spec's `ignore`, for `copy` paths (relative to the context).
    pub copy_rules: Option<Arc<IgnoreRules>>,
    /// For `copy` paths, the layer's `dest`: a file at `context/REL` is at `dest/REL` in the
    /// image.
    pub dest: Option<String>,
}

/// What a set of changed paths touches.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    /// Specs whose image must be rebuilt.
    pub specs: BTreeSet<String>,
    /// The stack file changed: values are read again.
    pub values: bool,
    /// The ignore files changed: the watch set is computed again.
    pub rules: bool,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty() && !self.values && !self.rules
    }

    pub fn add(&mut self, other: Touched) {
        self.specs.extend(other.specs);
        self.values |= other.values;
        self.rules |= other.rules;
    }
}

/// Every watched component's inputs, the stack file, and the `.gitignore` files that apply.
#[derive(Debug)]
pub struct Inputs {
    pub components: Vec<ComponentInputs>,
    pub stack_file: Option<PathBuf>,
    gitignores: BTreeMap<PathBuf, Gitignore>,
}

impl Inputs {
    /// The inputs of `specs` (build specs; mirrors have none), with the stack file.
    pub fn new(
        specs: &[ImageSpec],
        spec_files: &BTreeMap<String, PathBuf>,
        stack: Option<&Path>,
    ) -> Self {
        let mut components = Vec::new();
        for spec in specs {
            let SpecKind::Build(build) = &spec.kind else {
                continue;
            };
            let dockerignore =
                std::fs::read_to_string(build.context.join(".dockerignore")).unwrap_or_default();
            let mut roots = Vec::new();
            for layer in &build.layers {
                match &layer.source {
                    LayerSource::Run { inputs, .. } => {
                        roots.extend(inputs.iter().map(|input| Root {
                            path: normal(&build.context.join(input)),
                            copy_rules: None,
                            dest: None,
                        }))
                    }
                    LayerSource::Copy { paths, ignore } => {
                        // A spec with bad patterns fails its build, which says why.
                        let rules = IgnoreRules::new(&dockerignore, ignore).ok().map(Arc::new);
                        roots.extend(paths.iter().map(|p| Root {
                            path: normal(&build.context.join(p)),
                            copy_rules: rules.clone(),
                            dest: Some(layer.dest.clone()),
                        }))
                    }
                }
            }
            components.push(ComponentInputs {
                spec: spec.name.clone(),
                spec_file: spec_files.get(&spec.name).cloned().unwrap_or_default(),
                context: build.context.clone(),
                roots,
            });
        }
        let mut inputs = Inputs {
            components,
            stack_file: stack.map(normal),
            gitignores: BTreeMap::new(),
        };
        inputs.load_gitignores();
        inputs
    }

    /// `.gitignore` files in each root's directory and above it up to the repository's top (the
    /// directory holding `.git`), and below each directory root.
    fn load_gitignores(&mut self) {
        let mut dirs = BTreeSet::new();
        for component in &self.components {
            for root in &component.roots {
                for dir in root.path.ancestors().skip(1) {
                    dirs.insert(dir.to_path_buf());
                    if dir.join(".git").exists() {
                        break;
                    }
                }
            }
        }
        for dir in dirs {
            self.add_gitignore(&dir);
        }
        let roots: Vec<PathBuf> = self.directories();
        for dir in roots {
            self.add_gitignore(&dir);
        }
    }

    /// Reads `dir/.gitignore` when there is one.
    fn add_gitignore(&mut self, dir: &Path) {
        let file = dir.join(".gitignore");
        if self.gitignores.contains_key(dir) || !file.is_file() {
            return;
        }
        let mut builder = GitignoreBuilder::new(dir);
        // A malformed line is skipped, as git does.
        let _ = builder.add(&file);
        if let Ok(matcher) = builder.build() {
            self.gitignores.insert(dir.to_path_buf(), matcher);
        }
    }

    /// Whether `.gitignore` files exclude `path`: the nearest file that has a say wins.
    fn git_ignored(&self, path: &Path, is_dir: bool) -> bool {
        for dir in path.ancestors().skip(1) {
            if let Some(matcher) = self.gitignores.get(dir) {
                match matcher.matched_path_or_any_parents(path, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        false
    }

    /// Whether a path under `root` counts as a build input.
    fn counts(&self, component: &ComponentInputs, root: &Root, path: &Path, is_dir: bool) -> bool {
        let Ok(below) = path.strip_prefix(&root.path) else {
            return false;
        };
        if below
            .components()
            .any(|c| NEVER_WATCHED.contains(&&*c.as_os_str().to_string_lossy()))
        {
            return false;
        }
        if self.git_ignored(path, is_dir) {
            return false;
        }
        match (&root.copy_rules, path.strip_prefix(&component.context)) {
            (Some(rules), Ok(rel)) => !rules.is_excluded(&rel.to_string_lossy()),
            _ => true,
        }
    }

    /// Where the changed `paths` that count for `spec` are in its image, when each is a file
    /// only `copy` layers hold (`None`: one is a `run` input, the spec itself, an ignore file,
    /// or no longer a file, so the image must be built and rolled out).
    pub fn live_files(&self, spec: &str, paths: &[PathBuf]) -> Option<Vec<LiveFile>> {
        let component = self.components.iter().find(|c| c.spec == spec)?;
        let mut files = Vec::new();
        for path in paths {
            let path = normal(path);
            if !self.touched(&path).specs.contains(spec) {
                continue;
            }
            if !path.is_file() {
                // An atomic save's temporary file, renamed over the file it wrote; any other
                // path that is gone was deleted, which only a new image shows.
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if !path.exists() && save_scratch(&name) {
                    continue;
                }
                return None;
            }
            let mut holders = component
                .roots
                .iter()
                .filter(|root| self.counts(component, root, &path, false));
            let mut dest = None;
            for root in holders.by_ref() {
                match &root.dest {
                    Some(d) => dest = Some(d.clone()),
                    None => return None,
                }
            }
            let rel = path.strip_prefix(&component.context).ok()?;
            let rel = rel.to_string_lossy().replace('\\', "/");
            files.push(LiveFile {
                container: format!("{}/{rel}", dest?.trim_end_matches('/')),
                host: path,
            });
        }
        (!files.is_empty()).then_some(files)
    }

    /// What a change of `path` touches.
    pub fn touched(&self, path: &Path) -> Touched {
        let path = normal(path);
        let mut touched = Touched::default();
        if self.stack_file.as_deref() == Some(path.as_path()) {
            touched.values = true;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let rules_file = matches!(name.as_deref(), Some(".gitignore" | ".dockerignore"));
        let is_dir = path.is_dir();
        for component in &self.components {
            if component.spec_file == path {
                // Its inputs may have changed too: the watch set is computed again.
                touched.rules = true;
                touched.specs.insert(component.spec.clone());
                continue;
            }
            if editor_scratch(name.as_deref().unwrap_or_default()) {
                continue;
            }
            let under_context = path.starts_with(&component.context);
            if rules_file && under_context {
                touched.rules = true;
                touched.specs.insert(component.spec.clone());
                continue;
            }
            if component
                .roots
                .iter()
                .any(|root| self.counts(component, root, &path, is_dir))
            {
                touched.specs.insert(component.spec.clone());
            }
        }
        touched
    }

    /// The directories to watch, each without recursion: every directory under a directory root
    /// that counts, the parent of each file root (a file replaced by an editor's rename is a new
    /// inode: watching the file itself would lose it), the nearest existing parent of a root
    /// that does not exist yet, the specs' directories and the stack file's.
    pub fn directories(&self) -> Vec<PathBuf> {
        let mut dirs = BTreeSet::new();
        for component in &self.components {
            if let Some(parent) = component.spec_file.parent() {
                dirs.insert(parent.to_path_buf());
            }
            for root in &component.roots {
                if root.path.is_dir() {
                    self.walk(component, root, &root.path, &mut dirs);
                } else if let Some(parent) = root.path.ancestors().skip(1).find(|d| d.is_dir()) {
                    dirs.insert(parent.to_path_buf());
                }
            }
        }
        if let Some(parent) = self.stack_file.as_deref().and_then(Path::parent) {
            dirs.insert(parent.to_path_buf());
        }
        dirs.into_iter()
            .filter(|d| !d.as_os_str().is_empty())
            .collect()
    }

    /// The directories under `dir` (itself included) that count for `root`.
    pub fn walk(
        &self,
        component: &ComponentInputs,
        root: &Root,
        dir: &Path,
        out: &mut BTreeSet<PathBuf>,
    ) {
        if dir.join("pyvenv.cfg").exists()
            || !self.counts(component, root, dir, true) && dir != root.path
        {
            return;
        }
        out.insert(dir.to_path_buf());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            // Symbolic links are not followed: a link to a dependency tree would be walked whole.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.walk(component, root, &entry.path(), out);
            }
        }
    }

    /// The directories under a new directory `dir` to watch too.
    pub fn directories_under(&self, dir: &Path) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for component in &self.components {
            for root in &component.roots {
                if dir.starts_with(&root.path) {
                    self.walk(component, root, dir, &mut out);
                }
            }
        }
        out
    }
}

/// Editors' scratch files: swap and backup files, lock links and vim's write test. An atomic
/// save's temporary file is not among them: its rename onto the real name is the change.
pub fn editor_scratch(name: &str) -> bool {
    name.ends_with('~')
        || name == "4913"
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || (name.starts_with('.') && [".swp", ".swo", ".swx"].iter().any(|s| name.ends_with(s)))
}

/// The temporary file of an atomic save (written, then renamed over the file): hidden, or named
/// as editors name them.
fn save_scratch(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with(".tmp")
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || editor_scratch(name)
}

/// `path` without `.` components, absolute (relative paths are taken from the current
/// directory), so event paths and spec paths compare.
pub fn normal(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::spec;
    use std::fs;

    /// A repository with a Python and a Node component, dependency trees and ignore files.
    fn repository() -> (tempfile::TempDir, Inputs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            ".git",
            "api/app/routes",
            "api/app/__pycache__",
            "api/.venv/lib",
            "api/env/lib",
            "api/tests",
            "web/src/components",
            "web/node_modules/react",
            "web/dist",
            "images",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("api/env/pyvenv.cfg"), "home = /usr\n").unwrap();
        fs::write(root.join(".gitignore"), "dist/\n*.log\n").unwrap();
        fs::write(root.join("web/.gitignore"), "!keep.log\n").unwrap();
        fs::write(root.join("api/.dockerignore"), "tests/\n").unwrap();
        fs::write(root.join("api/requirements.txt"), "fastapi\n").unwrap();
        fs::write(
            root.join("images/api.toml"),
            r#"kind = "build"
repository = "localhost/t/api"
base = "docker.io/library/python:3.12-slim-bookworm"
context = "api"
user = "10001:10001"
[[layers]]
name = "deps"
inputs = ["requirements.txt"]
run = ["true"]
dest = "/app/deps"
[[layers]]
name = "code"
copy = ["."]
ignore = ["*.md"]
dest = "/app"
"#,
        )
        .unwrap();
        fs::write(
            root.join("images/web.toml"),
            r#"kind = "build"
repository = "localhost/t/web"
base = "docker.io/library/node:22-bookworm-slim"
context = "web"
user = "10001:10001"
[[layers]]
name = "app"
inputs = ["package.json", "src", "public"]
run = ["true"]
dest = "/app"
"#,
        )
        .unwrap();
        fs::write(root.join("berth.yaml"), "appName: t\n").unwrap();
        let specs = spec::load_dir(&root.join("images"), root).unwrap();
        let files = specs
            .iter()
            .map(|s| (s.name.clone(), root.join(format!("images/{}.toml", s.name))))
            .collect();
        let inputs = Inputs::new(&specs, &files, Some(&root.join("berth.yaml")));
        (dir, inputs)
    }

    fn specs(t: &Touched) -> Vec<&str> {
        t.specs.iter().map(String::as_str).collect()
    }

    #[test]
    fn only_files_that_copy_layers_hold_are_taken_live_at_their_path_in_the_image() {
        let (dir, inputs) = repository();
        let root = dir.path();
        let route = root.join("api/app/routes/tasks.py");
        fs::write(&route, "x = 1\n").unwrap();
        let readme = root.join("api/README.md");
        fs::write(&readme, "ignored by the spec\n").unwrap();
        let live = inputs
            .live_files("api", &[route.clone(), readme, root.join("web/src/a.js")])
            .unwrap();
        assert_eq!(
            live,
            [LiveFile {
                host: route.clone(),
                container: "/app/app/routes/tasks.py".into(),
            }]
        );
        // An atomic save's temporary file, gone by now, is not a change of the image.
        assert_eq!(
            inputs
                .live_files("api", &[root.join("api/app/.edit-1.tmp"), route.clone()])
                .unwrap()
                .len(),
            1
        );
        // A run layer's input, the spec, a deleted file: a build and a rollout.
        for other in [
            root.join("api/requirements.txt"),
            root.join("images/api.toml"),
            root.join("api/app/gone.py"),
        ] {
            assert_eq!(
                inputs.live_files("api", &[route.clone(), other.clone()]),
                None,
                "{other:?}"
            );
        }
        // web's files are all inputs of its run layer.
        fs::write(root.join("web/src/a.js"), "1").unwrap();
        assert_eq!(inputs.live_files("web", &[root.join("web/src/a.js")]), None);
    }

    #[test]
    fn paths_count_for_the_component_whose_build_reads_them() {
        let (dir, inputs) = repository();
        let at = |p: &str| inputs.touched(&dir.path().join(p));
        assert_eq!(specs(&at("api/app/routes/tasks.py")), ["api"]);
        assert_eq!(specs(&at("api/requirements.txt")), ["api"]);
        assert_eq!(specs(&at("web/src/components/List.tsx")), ["web"]);
        assert_eq!(specs(&at("web/package.json")), ["web"]);
        assert_eq!(specs(&at("images/web.toml")), ["web"]);
        assert!(at("berth.yaml").values);
        // Read by no build.
        assert!(at("web/README.md").is_empty(), "not among the run inputs");
        assert!(at("api/README.md").is_empty(), "the spec's ignore");
        assert!(at("api/tests/test_x.py").is_empty(), ".dockerignore");
        assert!(at("api/app/__pycache__/x.pyc").is_empty());
        assert!(at("web/node_modules/react/index.js").is_empty());
        assert!(
            at("api/app/server.log").is_empty(),
            ".gitignore above the context"
        );
        assert!(
            at("web/src/keep.log").specs.contains("web"),
            "a nested negation"
        );
        assert!(
            at("api/app/.tasks.py.swp").is_empty(),
            "an editor's swap file"
        );
        assert!(at("api/app/tasks.py~").is_empty());
        let rules = at("api/.dockerignore");
        assert!(rules.rules && specs(&rules) == ["api"]);
    }

    #[test]
    fn one_watch_per_directory_that_counts_and_none_in_dependency_trees() {
        let (dir, inputs) = repository();
        let rel: Vec<String> = inputs
            .directories()
            .iter()
            .map(|d| {
                d.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            rel,
            [
                "",
                "api",
                "api/app",
                "api/app/routes",
                "images",
                "web",
                "web/src",
                "web/src/components"
            ],
            "no .venv, virtualenv, __pycache__, tests (.dockerignore), node_modules or dist"
        );
        // A directory created later: walked with the same rules.
        fs::create_dir_all(dir.path().join("web/src/new/deeper")).unwrap();
        fs::create_dir_all(dir.path().join("web/src/new/node_modules/x")).unwrap();
        let under = inputs.directories_under(&dir.path().join("web/src/new"));
        assert_eq!(under.len(), 2, "{under:?}");
    }

    #[test]
    fn scratch_names() {
        for name in ["x.py~", ".x.py.swp", ".#x.py", "#x.py#", "4913"] {
            assert!(editor_scratch(name), "{name}");
        }
        for name in ["x.py", ".env", "x.swp.py", "tmp"] {
            assert!(!editor_scratch(name), "{name}");
        }
    }
}
