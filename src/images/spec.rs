//! Image specs: one TOML file per image in `images/`, named after the component (`backend.toml`).
//!
//! # Format
//!
//! A **build** spec assembles an image from a base image plus layers produced on the host:
//!
//! ```toml
//! kind = "build"
//! repository = "localhost/todo-chatbot/backend"   # fully qualified; the tag is derived from content
//! base = "docker.io/library/python:3.12-slim-bookworm"
//! context = "app/backend"                         # relative to the repository root
//! user = "10001:10001"                            # numeric uid:gid, must not be 0
//! workdir = "/app"
//! entrypoint = ["python", "-m", "uvicorn"]        # setting entrypoint drops the base's cmd
//! cmd = ["app.main:app", "--host", "0.0.0.0", "--port", "8000"]
//! ports = [8000]
//! tools = ["pip", "python3"]                      # host tools the steps run: checked (and the
//!                                                 # pinned uv/poetry installed) before building
//! source = "https://example.org/todo"             # optional: org.opencontainers.image.source
//! [env]                                          # `$VAR`/`${VAR}` is the base's value, `$$` a `$`
//! PYTHONPATH = "/app/deps"
//! PATH = "/app/deps/bin:$PATH"
//! [labels]                                        # optional extra labels
//! "org.opencontainers.image.title" = "backend"
//!
//! [[layers]]                 # a host-side build step producing a directory → its own layer
//! name = "deps"
//! inputs = ["requirements.txt"]          # files/dirs (under context) whose content keys the cache
//! run = ["pip", "install", "--target", "{out}", "--only-binary=:all:", "--python-version", "3.12",
//!        "-r", "{context}/requirements.txt"]
//! env = { PIP_PLATFORM = "{pip_platforms}" }   # optional; {NAME} = a platform name or build value
//! dest = "/app/deps"
//! owner = "0:0"                          # optional, default 0:0 (root-owned, read-only to the app)
//!
//! [[layers]]
//! name = "code"
//! copy = ["."]                           # paths under context, kept relative to it: "." puts the
//!                                        # context's content in dest, "app" lands at dest/app;
//!                                        # .dockerignore in context applies; a virtualenv
//!                                        # (a directory with pyvenv.cfg) or node_modules
//!                                        # is never copied (the host's, not the image's)
//! ignore = ["tests/"]                    # optional extra ignore patterns (same syntax)
//! dest = "/app"
//!
//! [dev]                                  # optional: `berth dev` only, never in the image
//! command = ["python", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000",
//!            "--reload", "--reload-dir", "/app/app"]   # a server that reloads changed code itself
//! ready = "Application startup complete"   # the log line that says the reloaded code serves
//! ```
//!
//! With `[dev]`, `berth dev` runs the component with `command` (as root, its root filesystem
//! writable: the image's files are root's) and, when an edit changes only files of `copy`
//! layers, copies them into the running containers instead of building and rolling out a new
//! image; the change serves when each container logs `ready` again.
//!
//! In `run` and `env`, `{out}` is the step's output directory, `{context}` the absolute context
//! directory; `{os}`, `{arch}`, `{variant}`, `{uname_arch}`, `{npm_os}`, `{npm_cpu}` and
//! `{pip_platforms}` name the image's target platform (steps run on the host, which may be another
//! platform: a Mac building for an arm64 node, a laptop for an amd64 cluster); any other `{name}`
//! is a build value supplied by the deploy (e.g. the external URL a Next.js build bakes in). An
//! unknown placeholder is a spec error; `{{` writes a literal `{` (a shell's `${{VAR}`; `{{out}` is
//! the text `{out}`, never the output directory). The step runs with the context as working directory and
//! `SOURCE_DATE_EPOCH` set; its output is cached under a key made of the command, its
//! environment, the platform and the content of `inputs`.
//!
//! A step that installs Python packages for the image's platform (`PIP_PLATFORM` in its `env`)
//! and fails with pip's "No matching distribution found" for a requirement published only as
//! source runs again with a wheel of it built here: a pure-Python (`py3-none-any`) one is used,
//! a platform wheel is refused naming the package (see `wheels`).
//!
//! Every layer is checked before it is written: an ELF file built for another machine than the
//! target's fails the build (naming the file and the placeholders to use) instead of producing
//! an image that mixes architectures.
//!
//! A **mirror** spec side-loads a third-party image unchanged (its digest is preserved):
//!
//! ```toml
//! kind = "mirror"
//! source = "docker.io/library/postgres:17.6"
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{Error, ErrorKind};

/// A parsed, validated image spec.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSpec {
    /// Component name: the spec's file stem (`backend`).
    pub name: String,
    /// What to do for this image.
    pub kind: SpecKind,
}

/// Build an image or mirror an existing one.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecKind {
    /// Assemble from a base and host-built layers.
    Build(Box<BuildSpec>),
    /// Side-load a third-party image as it is.
    Mirror(MirrorSpec),
}

/// A `kind = "build"` spec.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildSpec {
    /// Fully qualified repository without tag (`localhost/todo-chatbot/backend`).
    pub repository: String,
    /// Base image reference.
    pub base: String,
    /// Absolute build context directory.
    pub context: PathBuf,
    /// Numeric non-root user.
    pub user: Owner,
    /// Working directory in the image.
    pub workdir: Option<String>,
    /// Entrypoint (replaces the base's, and drops its cmd).
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    pub cmd: Option<Vec<String>>,
    /// Exposed TCP ports.
    pub ports: Vec<u16>,
    /// Environment added to (or overriding) the base's.
    pub env: BTreeMap<String, String>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// `org.opencontainers.image.source`, when known.
    pub source: Option<String>,
    /// Host tools the `run` layers call (`uv`, `npm`), checked before any step runs.
    pub tools: Vec<String>,
    /// App layers, in order.
    pub layers: Vec<LayerSpec>,
    /// The check a container engine runs (Docker's and Compose's `HEALTHCHECK`).
    pub healthcheck: Option<HealthcheckSpec>,
    /// How `berth dev` runs it live (`[dev]`); not part of the image.
    pub dev: Option<DevSpec>,
}

/// `[dev]`: a server that reloads its code when files change, and the line it logs when the
/// reloaded code serves.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSpec {
    pub command: Vec<String>,
    pub ready: String,
}

/// `healthcheck = { http = "/health" }` or `{ tcp = true }`: checked on the
/// spec's first port by the runtime the image has (python or node).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSpec {
    pub http: Option<String>,
    #[serde(default)]
    pub tcp: bool,
}

/// A `kind = "mirror"` spec.
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorSpec {
    /// The image to mirror, fully qualified.
    pub source: String,
}

/// Numeric `uid:gid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Owner {
    /// Root, the default owner of app files (so the non-root app user cannot modify its code).
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };

    /// Parse `"10001:10001"` (a bare `"10001"` means gid = uid).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (uid, gid) = s.split_once(':').unwrap_or((s, s));
        let num = |v: &str| {
            v.parse::<u32>().map_err(|_| {
                format!("{s:?} must be numeric uid:gid (names need /etc/passwd in the image)")
            })
        };
        Ok(Self {
            uid: num(uid)?,
            gid: num(gid)?,
        })
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// One app layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpec {
    /// Layer name, unique within the spec (`deps`, `code`).
    pub name: String,
    /// Absolute directory in the image the content lands in.
    pub dest: String,
    /// Owner of the layer's files and directories.
    pub owner: Owner,
    /// Where the content comes from.
    pub source: LayerSource,
    /// Compile the layer's Python sources to bytecode with the base's interpreter (`run`
    /// layers only), so pods do not compile them on every start.
    pub bytecode: bool,
}

/// Where a layer's content comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSource {
    /// Run a command on the host that fills `{out}`.
    Run {
        /// Command and arguments, with placeholders.
        run: Vec<String>,
        /// Files or directories under the context that key the cache.
        inputs: Vec<String>,
        /// Extra environment for the command, with placeholders.
        env: BTreeMap<String, String>,
    },
    /// Copy paths from the context.
    Copy {
        /// Paths relative to the context (`"."` for all of it).
        paths: Vec<String>,
        /// Ignore patterns added to the context's `.dockerignore`.
        ignore: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum RawSpec {
    Build(Box<RawBuild>),
    Mirror(RawMirror),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMirror {
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    repository: String,
    base: String,
    context: PathBuf,
    user: String,
    workdir: Option<String>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    source: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    layers: Vec<RawLayer>,
    healthcheck: Option<HealthcheckSpec>,
    dev: Option<DevSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    dest: String,
    owner: Option<String>,
    run: Option<Vec<String>>,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    copy: Option<Vec<String>>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    bytecode: bool,
}

/// Load every `*.toml` spec in `dir`, sorted by name; `root` resolves `context`.
pub fn load_dir(dir: &Path, root: &Path) -> Result<Vec<ImageSpec>, Error> {
    let entries = fs::read_dir(dir)
        .map_err(|e| ErrorKind::io("read spec directory", dir, e).at("-", "spec"))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p, root)).collect()
}

/// Load one spec file; its name is the file stem.
pub fn load_file(path: &Path, root: &Path) -> Result<ImageSpec, Error> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text =
        fs::read_to_string(path).map_err(|e| ErrorKind::io("read", path, e).at(&name, "spec"))?;
    parse(&name, &text, root).map_err(|k| k.at(&name, "spec"))
}

/// Parse spec text for the image `name`.
pub fn parse(name: &str, text: &str, root: &Path) -> Result<ImageSpec, ErrorKind> {
    let raw: RawSpec = toml::from_str(text).map_err(|e| ErrorKind::Spec(e.to_string()))?;
    let kind = match raw {
        RawSpec::Mirror(m) => {
            require_qualified(&m.source, "source")?;
            SpecKind::Mirror(MirrorSpec { source: m.source })
        }
        RawSpec::Build(b) => SpecKind::Build(Box::new(validate_build(*b, root)?)),
    };
    Ok(ImageSpec {
        name: name.to_owned(),
        kind,
    })
}

fn spec_err(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::Spec(msg.into())
}

fn validate_build(b: RawBuild, root: &Path) -> Result<BuildSpec, ErrorKind> {
    require_qualified(&b.base, "base")?;
    require_qualified(&b.repository, "repository")?;
    if b.repository.contains(['@'])
        || b.repository
            .rsplit('/')
            .next()
            .is_some_and(|l| l.contains(':'))
    {
        return Err(spec_err(format!(
            "repository {:?} must not carry a tag or digest: berth derives the tag from the content",
            b.repository
        )));
    }
    if let Some(check) = &b.healthcheck {
        if check.http.is_some() == check.tcp {
            return Err(spec_err(
                "healthcheck needs exactly one of http = \"/path\" or tcp = true",
            ));
        }
        if check
            .http
            .as_ref()
            .is_some_and(|p| !p.starts_with('/') || p.contains(char::is_whitespace))
        {
            return Err(spec_err(
                "healthcheck.http must be a path starting with `/`, no spaces",
            ));
        }
        if b.ports.is_empty() {
            return Err(spec_err("healthcheck needs a port: set ports = [PORT]"));
        }
        let runtime = crate::healthcheck::Runtime::detect(
            Some(&b.base),
            b.entrypoint.as_deref().unwrap_or_default(),
        );
        if runtime.is_none() {
            return Err(spec_err(format!(
                "healthcheck: neither the base {:?} nor the entrypoint is Python or Node.js, so the image has nothing to run an HTTP or TCP check with (slim images have no curl)",
                b.base
            )));
        }
    }
    let user = Owner::parse(&b.user).map_err(spec_err)?;
    if user.uid == 0 {
        return Err(spec_err("user must be a non-root numeric uid (got 0)"));
    }
    if b.context.is_absolute() {
        return Err(spec_err("context must be relative to the repository root"));
    }
    for (key, value) in &b.env {
        super::env_refs::names(value).map_err(|e| spec_err(format!("env {key}: {e}")))?;
    }
    if let Some(bad) = b
        .tools
        .iter()
        .find(|t| t.is_empty() || t.contains(['/', ' ']))
    {
        return Err(spec_err(format!(
            "tools: {bad:?} is not a command name (a name looked up on PATH, e.g. \"npm\")"
        )));
    }
    if let Some(dev) = &b.dev {
        if dev.command.is_empty() || dev.command[0].is_empty() {
            return Err(spec_err(
                "dev.command must name the server to run (e.g. [\"python\", \"-m\", \"uvicorn\", …, \"--reload\"])",
            ));
        }
        if dev.ready.trim().is_empty() {
            return Err(spec_err(
                "dev.ready must be the log line the server writes once reloaded code serves (e.g. \"Application startup complete\")",
            ));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    let layers = b
        .layers
        .into_iter()
        .map(|l| {
            if !names.insert(l.name.clone()) {
                return Err(spec_err(format!("layer name {:?} is used twice", l.name)));
            }
            validate_layer(l)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BuildSpec {
        repository: b.repository,
        base: b.base,
        context: root.join(b.context),
        user,
        workdir: b.workdir,
        entrypoint: b.entrypoint,
        cmd: b.cmd,
        ports: b.ports,
        env: b.env,
        labels: b.labels,
        source: b.source,
        tools: b.tools,
        layers,
        healthcheck: b.healthcheck,
        dev: b.dev,
    })
}

fn validate_layer(l: RawLayer) -> Result<LayerSpec, ErrorKind> {
    let what = |m: &str| spec_err(format!("layer {:?}: {m}", l.name));
    if !l.dest.starts_with('/') || l.dest.split('/').any(|c| c == "..") {
        return Err(what("dest must be an absolute path without `..`"));
    }
    let owner = match &l.owner {
        Some(o) => Owner::parse(o).map_err(|m| what(&m))?,
        None => Owner::ROOT,
    };
    let source = match (l.run, l.copy) {
        (Some(run), None) if !run.is_empty() => {
            if !l.ignore.is_empty() {
                return Err(what("`ignore` applies to `copy` layers only"));
            }
            LayerSource::Run {
                run,
                inputs: l.inputs,
                env: l.env,
            }
        }
        (None, Some(paths)) if !paths.is_empty() => {
            if !l.inputs.is_empty() || !l.env.is_empty() || l.bytecode {
                return Err(what(
                    "`inputs`, `env` and `bytecode` apply to `run` layers only",
                ));
            }
            if let Some(bad) = paths
                .iter()
                .find(|p| p.starts_with('/') || p.split('/').any(|c| c == ".."))
            {
                return Err(what(&format!(
                    "copy path {bad:?} must stay inside the context"
                )));
            }
            LayerSource::Copy {
                paths,
                ignore: l.ignore,
            }
        }
        _ => return Err(what("needs exactly one of a non-empty `run` or `copy`")),
    };
    Ok(LayerSpec {
        name: l.name,
        dest: l.dest,
        owner,
        source,
        bytecode: l.bytecode,
    })
}

/// References must name their registry: short names are ambiguous (CRI-O rejects them).
fn require_qualified(reference: &str, field: &str) -> Result<(), ErrorKind> {
    let first = reference.split('/').next().unwrap_or("");
    let qualified = reference.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if qualified {
        Ok(())
    } else {
        Err(spec_err(format!(
            "{field} {reference:?} must be fully qualified (e.g. docker.io/library/{reference})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKEND: &str = r#"
kind = "build"
repository = "localhost/todo-chatbot/backend"
base = "docker.io/library/python:3.12-slim-bookworm"
context = "app/backend"
user = "10001:10001"
workdir = "/app"
entrypoint = ["python", "-m", "uvicorn"]
cmd = ["app.main:app", "--host", "0.0.0.0", "--port", "8000"]
ports = [8000]
[env]
PYTHONPATH = "/app/deps"
[[layers]]
name = "deps"
inputs = ["requirements.txt"]
run = ["pip", "install", "--target", "{out}", "-r", "{context}/requirements.txt"]
dest = "/app/deps"
[[layers]]
name = "code"
copy = ["."]
dest = "/app"
"#;

    #[test]
    fn parses_the_backend_shape() {
        let spec = parse("backend", BACKEND, Path::new("/repo")).unwrap();
        let SpecKind::Build(b) = spec.kind else {
            panic!("not a build spec")
        };
        assert_eq!(b.context, Path::new("/repo/app/backend"));
        assert_eq!(
            b.user,
            Owner {
                uid: 10001,
                gid: 10001
            }
        );
        assert_eq!(b.layers.len(), 2);
        assert!(
            matches!(&b.layers[0].source, LayerSource::Run { inputs, .. } if inputs == &["requirements.txt"])
        );
        assert!(matches!(&b.layers[1].source, LayerSource::Copy { paths, .. } if paths == &["."]));
        assert_eq!(b.layers[1].owner, Owner::ROOT);
        assert_eq!(b.env["PYTHONPATH"], "/app/deps");
        assert_eq!(b.dev, None);
    }

    #[test]
    fn a_dev_table_names_the_reloading_server_and_its_ready_line() {
        let text = format!(
            "{BACKEND}[dev]\ncommand = [\"uvicorn\", \"--reload\"]\nready = \"startup complete\"\n"
        );
        let SpecKind::Build(b) = parse("backend", &text, Path::new("/")).unwrap().kind else {
            panic!("not a build spec")
        };
        assert_eq!(
            b.dev,
            Some(DevSpec {
                command: vec!["uvicorn".into(), "--reload".into()],
                ready: "startup complete".into()
            })
        );
        for (bad, why) in [
            ("command = []\nready = \"x\"", "dev.command"),
            ("command = [\"a\"]\nready = \" \"", "dev.ready"),
            ("command = [\"a\"]", "missing field `ready`"),
        ] {
            let e = parse(
                "backend",
                &format!("{BACKEND}[dev]\n{bad}\n"),
                Path::new("/"),
            )
            .unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn parses_a_mirror() {
        let spec = parse(
            "postgres",
            "kind = \"mirror\"\nsource = \"docker.io/library/postgres:17.6\"\n",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            spec.kind,
            SpecKind::Mirror(MirrorSpec {
                source: "docker.io/library/postgres:17.6".into()
            })
        );
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        let cases = [
            (BACKEND.replace("10001:10001", "0:0"), "non-root"),
            (BACKEND.replace("10001:10001", "app"), "numeric"),
            (
                BACKEND.replace("docker.io/library/python", "python"),
                "fully qualified",
            ),
            (
                BACKEND.replace(
                    "localhost/todo-chatbot/backend",
                    "localhost/todo-chatbot/backend:latest",
                ),
                "tag",
            ),
            (
                BACKEND.replace("dest = \"/app\"", "dest = \"app\""),
                "absolute",
            ),
            (
                BACKEND.replace("name = \"code\"", "name = \"deps\""),
                "twice",
            ),
            (BACKEND.replace("workdir", "workdri"), "unknown field"),
            (
                BACKEND.replace("copy = [\".\"]", "copy = [\"../secrets\"]"),
                "inside the context",
            ),
            (
                BACKEND.replace("kind = \"build\"", "kind = \"bulid\""),
                "unknown variant",
            ),
        ];
        for (text, needle) in cases {
            let err = parse("backend", &text, Path::new("/"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "expected {needle:?} in {err}");
        }
    }
}
