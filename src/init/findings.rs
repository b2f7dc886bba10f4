//! What a scan of a repository found, each fact with where it came from, before any
//! decision about the stack is made (that is [`super::plan`]'s job).

use std::collections::BTreeMap;
use std::fmt;

/// Where a fact was found: a file (relative to the scanned directory), maybe a line, and what
/// was read there (`EXPOSE 8000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: Option<usize>,
    pub what: String,
}

impl Source {
    pub fn new(file: impl Into<String>, line: Option<usize>, what: impl Into<String>) -> Self {
        Source {
            file: file.into(),
            line,
            what: what.into(),
        }
    }
}

impl Source {
    /// A value berth chose because nothing in the repository said.
    pub fn assumed(what: impl Into<String>) -> Self {
        Source::new("assumed", None, what)
    }

    pub fn is_assumed(&self) -> bool {
        self.file == "assumed"
    }

    /// `from backend/Dockerfile:12 EXPOSE 8000`, or `assumed: …`.
    pub fn describe(&self) -> String {
        if self.is_assumed() {
            format!("assumed: {}", self.what)
        } else {
            format!("from {self}")
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line} {}", self.file, self.what),
            None => write!(f, "{} {}", self.file, self.what),
        }
    }
}

/// A value and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Found<T> {
    pub fn new(value: T, source: Source) -> Self {
        Found { value, source }
    }
}

/// What runs in a service directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// Next.js; `standalone` when `output: "standalone"` is set.
    NextJs { standalone: bool },
    /// A static single-page build (Vite, Create React App): `dist` or `build`.
    StaticSite { out_dir: String },
    /// A Node server started by `npm start` (`script` is the start command).
    Node { script: String },
    /// A Python ASGI app (`module:app`), served by uvicorn.
    Asgi { app: String },
    /// An MCP server over HTTP (streamable HTTP or SSE) at `path`.
    McpHttp { script: String, path: String },
    /// A Django project: `manage.py` in `project` (relative to the service, `.` for itself), its
    /// settings module, and the `module:application` of its `wsgi.py`/`asgi.py` when present.
    Django {
        project: String,
        settings: String,
        wsgi: Option<String>,
        asgi: Option<String>,
    },
}

/// How a Python project pins its dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonTool {
    Requirements,
    Uv,
    Poetry,
}

impl PythonTool {
    /// The file whose dependencies the image's spec installs (a lock pins what
    /// pyproject.toml names).
    pub fn installed_file(self) -> &'static str {
        match self {
            PythonTool::Requirements => "requirements.txt",
            PythonTool::Uv | PythonTool::Poetry => "pyproject.toml",
        }
    }
}

/// A service: one directory with something that runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Component name (compose service name, else the directory's).
    pub name: String,
    /// Directory relative to the repository root (`.` for the root).
    pub dir: String,
    pub runtime: Found<Runtime>,
    pub port: Option<Found<u16>>,
    pub health: Option<Found<String>>,
    /// Route paths of the web framework (FastAPI decorators), for the route prefix.
    pub routes: Vec<String>,
    /// Environment variables the code, Dockerfile or compose reads, with where.
    pub env: BTreeMap<String, Found<EnvUse>>,
    pub python: Option<(PythonTool, Found<String>)>,
    /// Node packages it depends on (names only).
    pub packages: Vec<String>,
    pub migration: Option<Found<Vec<String>>>,
    /// User the Dockerfile runs as, when numeric.
    pub user: Option<Found<String>>,
    pub replicas: Option<Found<i32>>,
    /// Requests and limits from an existing Kubernetes manifest.
    pub resources: Option<Found<Resources>>,
    /// The NodePort an existing Kubernetes Service gives it.
    pub node_port: Option<Found<i32>>,
    /// Dockerfile steps berth cannot translate, for the user.
    pub untranslated: Vec<Found<String>>,
    /// Directories outside `dir` (relative to the repository root) its code imports: the
    /// build context must hold them.
    pub imports_outside: Vec<Found<String>>,
    /// Variables a module throws without when it is loaded (`if (!process.env.X) throw`).
    pub load_checks: Vec<Found<String>>,
    /// Build-time network fetches (`next/font/google`).
    pub build_fetches: Vec<Found<String>>,
    /// Names of the compose services it depends on.
    pub depends_on: Vec<String>,
    /// Prefixes its development server passes to another local port (a Vite `server.proxy`).
    pub dev_proxies: Vec<Found<crate::init::scan::DevProxy>>,
    /// The SQLite database file its code writes (relative to `dir`, or absolute).
    pub sqlite: Option<Found<String>>,
    /// What in its code asks PostgreSQL for TLS without verifying it (`sslmode=require`).
    pub database_tls: Option<Found<String>>,
    /// Its directory's name, when its code imports itself through it (`from api.src.db
    /// import …` in `api/`): the image keeps the name above the code.
    pub own_package: Option<Found<String>>,
}

impl Service {
    /// A service found in `dir` running `runtime`, with nothing else known yet.
    pub fn new(name: impl Into<String>, dir: impl Into<String>, runtime: Found<Runtime>) -> Self {
        Service {
            name: name.into(),
            dir: dir.into(),
            runtime,
            port: None,
            health: None,
            routes: vec![],
            env: BTreeMap::new(),
            python: None,
            packages: vec![],
            migration: None,
            user: None,
            replicas: None,
            resources: None,
            node_port: None,
            untranslated: vec![],
            imports_outside: vec![],
            load_checks: vec![],
            build_fetches: vec![],
            depends_on: vec![],
            dev_proxies: vec![],
            sqlite: None,
            database_tls: None,
            own_package: None,
        }
    }
}

/// CPU and memory requests and limits (Kubernetes quantities), each complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub requests: (String, String),
    pub limits: (String, String),
}

/// How a variable is used where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvUse {
    /// An example or default value that is safe to show (never from a `.env` file).
    pub example: Option<String>,
    /// Read so that a missing value fails (`os.environ["X"]`).
    pub required: bool,
    /// Baked in at build time (`NEXT_PUBLIC_*`, `VITE_*`, Dockerfile `ARG`).
    pub build_time: bool,
}

/// The database the repository uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseFinding {
    /// PostgreSQL as a compose service.
    Compose {
        image: String,
        name: Option<String>,
        user: Option<String>,
    },
    /// A hosted PostgreSQL URL (Neon or other) in an example env file, by variable.
    External { variable: String },
}

/// Everything a scan found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub app_name: Option<Found<String>>,
    pub version: Option<Found<String>>,
    pub services: Vec<Service>,
    pub database: Option<Found<DatabaseFinding>>,
    /// Variables declared in `.env.example`-style files (names; example values when safe),
    /// by the directory the file is in.
    pub env_files: Vec<(String, Found<EnvUse>, String)>,
    /// MCP servers that run in-process over stdio (no component of their own).
    pub stdio_mcp: Vec<Found<String>>,
    /// Facts noted for the user (a broken Helm chart, a SQLite fallback …).
    pub notes: Vec<Found<String>>,
}

impl Findings {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}
