//! `berth init --yes` on teams' repositories (tests/fixtures/repos/): the exact berth.yaml
//! (snapshot), what was detected (explicit expectations, so a wrong detection fails even if a
//! snapshot were accepted blindly), that the written values load, validate and render, that
//! no value of a `.env` file is copied, and how bad input is refused.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth::manifests::{self, Kind, Manifest, RenderContext};
use berth::values::{self, DatabaseMode, EnvValue, ValueSources, Values};

/// What init must find in a fixture.
struct Expect {
    fixture: &'static str,
    /// Component → port.
    components: &'static [(&'static str, u16)],
    database: DatabaseMode,
    routes: &'static [(&'static str, &'static str)],
    /// Secret name → env variable it comes from.
    secrets: &'static [(&'static str, &'static str)],
    /// Env entries whose form matters: (component, variable, what it must be as YAML); a build
    /// value (`image.buildEnv`) counts too.
    env: &'static [(&'static str, &'static str, &'static str)],
    /// Words stderr must mention (assumptions, things left to the user).
    stderr: &'static [&'static str],
}

const FIXTURES: [Expect; 22] = [
    Expect {
        fixture: "monorepo-next-fastapi",
        components: &[("backend", 8000), ("frontend", 3000)],
        database: DatabaseMode::Internal,
        // The page serves /api/health itself: only the backend's own /api/todos goes there.
        routes: &[("/", "frontend"), ("/api/todos", "backend")],
        secrets: &[
            ("dbPassword", "MONOREPO_NEXT_FASTAPI_DB_PASSWORD"),
            ("jwtSecret", "JWT_SECRET"),
            ("openaiApiKey", "OPENAI_API_KEY"),
        ],
        env: &[
            (
                "backend",
                "DATABASE_URL",
                "{database: url, driver: asyncpg}",
            ),
            ("backend", "OPENAI_API_KEY", "{secret: openaiApiKey}"),
            ("frontend", "NEXT_PUBLIC_API_URL", "{externalUrl: /api}"),
        ],
        stderr: &["next/font/google"],
    },
    Expect {
        fixture: "compose-only",
        components: &[("api", 8000), ("web", 3000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "web")],
        secrets: &[
            ("anthropicApiKey", "ANTHROPIC_API_KEY"),
            ("dbPassword", "COMPOSE_ONLY_DB_PASSWORD"),
            ("secretKey", "SECRET_KEY"),
        ],
        env: &[
            ("web", "API_URL", "{urlOf: api}"),
            ("api", "DATABASE_URL", "{database: url, driver: psycopg2}"),
            ("api", "LOG_LEVEL", "info"),
        ],
        stderr: &["pgdata"],
    },
    Expect {
        fixture: "dockerfiles-only",
        components: &[("api", 8080), ("web", 4000)],
        database: DatabaseMode::None,
        routes: &[("/", "web")],
        secrets: &[("groqApiKey", "GROQ_API_KEY")],
        env: &[
            ("web", "BACKEND_URL", "{urlOf: api}"),
            ("api", "MODEL", "llama-3.3-70b"),
        ],
        stderr: &["apt-get"],
    },
    Expect {
        fixture: "uv-py313",
        components: &[("app", 8000)],
        database: DatabaseMode::External,
        routes: &[("/", "app")],
        secrets: &[
            ("databaseUrl", "DATABASE_URL"),
            ("geminiApiKey", "GEMINI_API_KEY"),
            ("sessionSecret", "SESSION_SECRET"),
        ],
        env: &[("app", "DATABASE_URL", "{database: url, driver: psycopg}")],
        stderr: &[],
    },
    Expect {
        fixture: "mcp-inprocess-poetry",
        components: &[("backend", 8000), ("frontend", 8080)],
        database: DatabaseMode::None,
        routes: &[("/", "frontend"), ("/api", "backend")],
        // One of the two keys is needed: the first the code names is required (the snapshot).
        secrets: &[
            ("groqApiKey", "GROQ_API_KEY"),
            ("openaiApiKey", "OPENAI_API_KEY"),
        ],
        env: &[("frontend", "VITE_API_BASE", "{externalUrl: /api}")],
        stderr: &[
            "stdio",
            "OPENAI_API_KEY is required; to use GROQ_API_KEY instead",
        ],
    },
    Expect {
        fixture: "mcp-service",
        components: &[("agent-api", 8000), ("mcp-server", 8765), ("web", 3000)],
        database: DatabaseMode::None,
        routes: &[("/", "web")],
        secrets: &[("openaiApiKey", "OPENAI_API_KEY")],
        env: &[
            (
                "agent-api",
                "MCP_SERVER_URL",
                "{urlOf: mcp-server, path: /mcp}",
            ),
            ("web", "AGENT_API_URL", "{urlOf: agent-api}"),
            ("mcp-server", "TASKS_DB_PATH", "/tmp/tasks.json"),
        ],
        stderr: &[],
    },
    Expect {
        fixture: "better-auth-neon",
        components: &[("api", 8000), ("web", 3000)],
        database: DatabaseMode::External,
        routes: &[("/", "web"), ("/notes", "api")],
        secrets: &[
            ("betterAuthSecret", "BETTER_AUTH_SECRET"),
            ("databaseUrl", "DATABASE_URL"),
        ],
        env: &[
            ("web", "DATABASE_URL", "{database: url}"),
            ("api", "DATABASE_URL", "{database: url, driver: asyncpg}"),
            ("web", "BETTER_AUTH_URL", "{externalUrl: /}"),
            ("web", "BETTER_AUTH_SECRET", "{secret: betterAuthSecret}"),
            ("api", "BETTER_AUTH_SECRET", "{secret: betterAuthSecret}"),
        ],
        // `npx @better-auth/cli` would download the CLI at run time in a standalone image.
        stderr: &["migration task not written", "standalone"],
    },
    Expect {
        fixture: "broken-helm-chart",
        components: &[("backend", 8000), ("frontend", 8080)],
        database: DatabaseMode::None,
        routes: &[("/", "frontend")],
        secrets: &[],
        env: &[("backend", "REDIS_URL", "redis://cache:6379/0")],
        stderr: &["helm/board/values.yaml do not parse"],
    },
    Expect {
        fixture: "cra-settings-k8s",
        // The static site keeps berth's server port, not the nginx port of k8s/frontend.yaml.
        components: &[("backend", 8000), ("frontend", 8080)],
        database: DatabaseMode::Internal,
        routes: &[("/", "frontend"), ("/api", "backend")],
        secrets: &[
            ("dbPassword", "CRA_SETTINGS_K8S_DB_PASSWORD"),
            ("jwtSecret", "JWT_SECRET"),
            ("openaiApiKey", "OPENAI_API_KEY"),
        ],
        env: &[
            // pydantic-settings: env_prefix, an alias without it, defaults as values.
            (
                "backend",
                "TODO_DATABASE_URL",
                "{database: url, driver: asyncpg}",
            ),
            ("backend", "OPENAI_API_KEY", "{secret: openaiApiKey}"),
            ("backend", "TODO_OPENAI_MODEL", "gpt-4o-mini"),
            ("backend", "TODO_MAX_TASKS_PER_USER", "200"),
            ("backend", "TODO_CORS_ORIGINS", "{externalUrl: /}"),
            // k8s/: a Secret behind envFrom by name, a ConfigMap's value.
            ("backend", "JWT_SECRET", "{secret: jwtSecret}"),
            ("backend", "TZ", "Europe/Berlin"),
            ("frontend", "REACT_APP_API_URL", "{externalUrl: /api}"),
        ],
        stderr: &["k8s/ingress.yaml does not parse"],
    },
    Expect {
        // Issue 23 (d): the page calls /api on its own origin; Vite's dev proxy says who serves it.
        fixture: "same-origin-vite",
        components: &[("api", 8000), ("web", 8080)],
        database: DatabaseMode::None,
        routes: &[("/", "web"), ("/api", "api")],
        secrets: &[],
        env: &[],
        stderr: &[],
    },
    Expect {
        // A uv backend whose Dockerfile repeats berth's defaults and sets PATH=…:$PATH, alembic
        // with pip --target, the same app also reachable from a root requirements.txt, an
        // example app under examples/ (not deployed), OAuth and token settings, and a browser
        // key with an example value.
        fixture: "uv-alembic-oauth",
        components: &[("backend", 8000), ("frontend", 8080)],
        database: DatabaseMode::Internal,
        routes: &[("/", "frontend"), ("/api", "backend")],
        secrets: &[
            ("dbPassword", "UV_ALEMBIC_OAUTH_DB_PASSWORD"),
            ("googleClientSecret", "GOOGLE_CLIENT_SECRET"),
            ("jwtSecret", "JWT_SECRET"),
        ],
        env: &[
            (
                "backend",
                "DATABASE_URL",
                "{database: url, driver: psycopg}",
            ),
            (
                "backend",
                "GOOGLE_CLIENT_SECRET",
                "{secret: googleClientSecret}",
            ),
            (
                "backend",
                "GOOGLE_CLIENT_ID",
                "your-client-id.apps.googleusercontent.com",
            ),
            ("backend", "ACCESS_TOKEN_EXPIRE_DAYS", "7"),
            ("backend", "CORS_CREDENTIALS", "true"),
            ("frontend", "VITE_MAPS_API_KEY", "pk_test_tasks_example"),
            ("frontend", "VITE_API_URL", "{externalUrl: /api}"),
        ],
        stderr: &["one component, backend", "XDG_CACHE_HOME"],
    },
    Expect {
        // The web app talks to Neon through its serverless driver while compose runs a
        // PostgreSQL for the API; the API shares its directory with an MCP server that compose
        // runs as a service of its own (listed first), and serves at / (no route prefix to
        // give it).
        fixture: "neon-next-mcp-compose",
        components: &[("api", 8000), ("mcp-server", 8001), ("web", 3000)],
        database: DatabaseMode::External,
        routes: &[("/", "web")],
        secrets: &[
            ("neonDatabaseUrl", "NEON_DATABASE_URL"),
            ("openaiApiKey", "OPENAI_API_KEY"),
        ],
        env: &[
            ("web", "NEON_DATABASE_URL", "{database: url}"),
            ("api", "DATABASE_URL", "{database: url}"),
            ("api", "OPENAI_API_KEY", "{secret: openaiApiKey}"),
            ("api", "MCP_SERVER_URL", "{urlOf: mcp-server, path: /mcp}"),
            ("web", "NEXT_PUBLIC_API_URL", ""),
        ],
        stderr: &["@neondatabase/serverless", "serves no common path prefix"],
    },
    Expect {
        // The app imports its own directory as a package (`backend.main:app`, `from
        // backend.db.models import …`, in the migrations too): the code goes to /app/backend.
        fixture: "package-imports",
        components: &[("backend", 8000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "backend")],
        secrets: &[("dbPassword", "PACKAGE_IMPORTS_DB_PASSWORD")],
        env: &[(
            "backend",
            "DATABASE_URL",
            "{database: url, driver: psycopg}",
        )],
        stderr: &[],
    },
    Expect {
        // No package-lock.json: the build resolves with npm install, and says so; compose's
        // MySQL is named as not deployed (berth runs PostgreSQL only).
        fixture: "express-no-lock",
        components: &[("app", 3000)],
        database: DatabaseMode::None,
        routes: &[("/", "app")],
        secrets: &[("sessionSecret", "SESSION_SECRET")],
        env: &[("app", "SESSION_SECRET", "{secret: sessionSecret}")],
        stderr: &["no package-lock.json", "runs MySQL (mysql:8.0)"],
    },
    Expect {
        // An `overrides` entry the lock's nested packages do not follow (npm ci refuses it,
        // although the lock's root entry matches package.json); manifests asking 2 × 1.5 CPU.
        fixture: "node-overrides-k8s",
        components: &[("server", 3000)],
        database: DatabaseMode::None,
        routes: &[("/", "server")],
        secrets: &[],
        env: &[],
        stderr: &[
            "ms@2.0.0 in the lock does not satisfy 2.1.3",
            "requests.cpu 1500m scaled to",
        ],
    },
    Expect {
        // web/ imports ../shared (a relative import and a tsconfig path); its database module
        // throws without DATABASE_URL when `next build` loads it.
        fixture: "next-shared-db-check",
        components: &[("web", 3000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "web")],
        secrets: &[("dbPassword", "NEXT_SHARED_DB_CHECK_DB_PASSWORD")],
        env: &[("web", "DATABASE_URL", "{database: url}")],
        stderr: &[
            "build context widened to .",
            "throw without DATABASE_URL (web/src/lib/db.ts:3",
        ],
    },
    Expect {
        // Next.js 16 under `next start` with a TypeScript config and typescript a development
        // dependency: the image keeps typescript, which `next start` loads the config with.
        fixture: "next-ts-config",
        components: &[("web", 3000)],
        database: DatabaseMode::None,
        routes: &[("/", "web")],
        secrets: &[],
        env: &[],
        stderr: &["web/next.config.ts is TypeScript"],
    },
    Expect {
        // A TypeScript Express API whose start runs `dist/`, which only `npm run build` (tsc,
        // a development dependency) writes: the image build runs it.
        fixture: "express-tsc-dist",
        components: &[("api", 3000)],
        database: DatabaseMode::None,
        routes: &[("/", "api")],
        secrets: &[],
        env: &[],
        stderr: &["its start runs dist/index.js, which `npm run build` writes"],
    },
    Expect {
        // requirements.txt is what the image installs; pyproject.toml's alembic is not in it.
        // The notes live in a SQLite file beside the code; a health route on an included router.
        fixture: "fastapi-sqlite-routers",
        components: &[("app", 8000)],
        database: DatabaseMode::None,
        routes: &[("/", "app")],
        secrets: &[],
        env: &[],
        stderr: &[
            "alembic is not in ./requirements.txt",
            "SQLite database notes.db",
        ],
    },
    Expect {
        // Written for Neon: the engine asks for TLS (connect_args sslmode=require); the URL has
        // no example, so the database is berth's, which must then serve TLS.
        fixture: "fastapi-neon-sslmode",
        components: &[("app", 8000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "app")],
        secrets: &[("dbPassword", "FASTAPI_NEON_SSLMODE_DB_PASSWORD")],
        env: &[("app", "DATABASE_URL", "{database: url, driver: psycopg2}")],
        stderr: &["DATABASE_URL has no example value"],
    },
    Expect {
        // The app makes its tables with create_all at start; its alembic migration adds a table
        // with a foreign key to one of them (no migration creates it): no task before the rollout.
        fixture: "alembic-app-tables",
        components: &[("app", 8000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "app")],
        secrets: &[("dbPassword", "CREW_BOARD_DB_PASSWORD")],
        env: &[("app", "DATABASE_URL", "{database: url, driver: psycopg}")],
        stderr: &[
            "foreign key to table `members`",
            "created at start by create_all",
        ],
    },
    Expect {
        fixture: "django-environ-gunicorn",
        components: &[("backend", 8000)],
        database: DatabaseMode::Internal,
        routes: &[("/", "backend")],
        secrets: &[
            ("dbPassword", "DJANGO_ENVIRON_GUNICORN_DB_PASSWORD"),
            ("djangoSecretKey", "DJANGO_SECRET_KEY"),
            ("notesApiToken", "NOTES_API_TOKEN"),
        ],
        env: &[
            ("backend", "DATABASE_URL", "{database: url}"),
            ("backend", "DJANGO_ALLOWED_HOSTS", "*"),
            ("backend", "DJANGO_DEBUG", "False"),
            ("backend", "NOTES_PAGE_SIZE", "20"),
        ],
        stderr: &["supply NOTES_API_TOKEN"],
    },
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the fixture in a temporary directory, named like the fixture.
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(
        &common::repo_path(&format!("tests/fixtures/repos/{name}")),
        &dir,
    );
    (tmp, dir)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn berth(args: &[&str], dir: &Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("berth runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The written values, with every secret's variable set (a URL for the database's).
fn load(dir: &Path) -> Values {
    let sources = ValueSources {
        stack: Some(dir.join("berth.yaml")),
        ..Default::default()
    };
    let unchecked = values::load_unchecked_secrets(&sources, &HashMap::<String, String>::new())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let env: HashMap<String, String> = unchecked
        .secrets
        .values()
        .filter_map(|s| s.from_env.clone())
        .map(|var| {
            let value = if var.contains("DATABASE_URL") {
                "postgresql://app:pw@ep-test.eu-central-1.aws.neon.tech/app?sslmode=require"
                    .to_string()
            } else {
                format!("test-value-for-{var}")
            };
            (var, value)
        })
        .collect();
    let mut values =
        values::load(&sources, &env).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    values.fill_generated();
    values
}

fn env_yaml(value: &EnvValue) -> String {
    match value {
        EnvValue::Plain(text) => text.clone(),
        EnvValue::Ref(r) => {
            let json = serde_json::to_value(r).unwrap();
            let fields: Vec<String> = json
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().map_or(v.to_string(), String::from)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

#[test]
fn init_writes_the_stack_each_fixture_needs() {
    let mut failures = Vec::new();
    for expect in &FIXTURES {
        let (_tmp, dir) = fixture_copy(expect.fixture);
        let run = berth(
            &["init", "--yes", dir.to_str().unwrap()],
            dir.parent().unwrap(),
        );
        assert_eq!(run.code, 0, "{}: {}", expect.fixture, run.stderr);
        assert_eq!(
            run.stdout, "",
            "{}: data only with --dry-run",
            expect.fixture
        );
        let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
        insta::assert_snapshot!(format!("init_{}", expect.fixture), yaml);

        let values = load(&dir);
        let mut check = |what: &str, ok: bool, detail: String| {
            if !ok {
                failures.push(format!("{}: {what}: {detail}", expect.fixture));
            }
        };
        let ports: BTreeMap<&str, Option<u16>> = values
            .components
            .iter()
            .map(|(n, c)| (n.as_str(), c.port))
            .collect();
        let want: BTreeMap<&str, Option<u16>> = expect
            .components
            .iter()
            .map(|(n, p)| (*n, Some(*p)))
            .collect();
        check(
            "components and ports",
            ports == want,
            format!("{ports:?} != {want:?}"),
        );
        check(
            "database",
            values.database.mode == expect.database,
            format!("{:?}", values.database.mode),
        );
        let routes: BTreeSet<(&str, &str)> = values
            .expose
            .routes
            .iter()
            .map(|(p, c)| (p.as_str(), c.component()))
            .collect();
        let want: BTreeSet<(&str, &str)> = expect.routes.iter().copied().collect();
        check("routes", routes == want, format!("{routes:?}"));
        let secrets: BTreeSet<(&str, &str)> = values
            .secrets
            .iter()
            .map(|(n, s)| (n.as_str(), s.from_env.as_deref().unwrap_or("")))
            .collect();
        let want: BTreeSet<(&str, &str)> = expect.secrets.iter().copied().collect();
        check("secrets", secrets == want, format!("{secrets:?}"));
        for (component, var, form) in expect.env {
            // A browser-visible variable of a page is read by its build (image.buildEnv).
            let got = values
                .components
                .get(*component)
                .and_then(|c| c.env.get(*var).or_else(|| c.image.build_env.get(*var)))
                .map(env_yaml);
            check(
                &format!("{component}.env.{var}"),
                got.as_deref() == Some(*form),
                format!("{got:?}, want {form}"),
            );
        }
        for word in expect.stderr {
            check(
                "stderr",
                run.stderr.contains(word),
                format!("no {word:?} in {}", run.stderr),
            );
        }
        // Every component has a build spec that parses as one.
        for name in values.components.keys() {
            let spec = dir.join(format!("images/{name}.toml"));
            check(
                "image spec",
                berth::images::spec::load_file(&spec, &dir).is_ok(),
                format!(
                    "{}: {:?}",
                    spec.display(),
                    berth::images::spec::load_file(&spec, &dir).err()
                ),
            );
        }
        let ctx = RenderContext::new(&values, "rel", None);
        let objects = manifests::render(&values, &ctx);
        let deployments = objects
            .iter()
            .filter(|o| o.kind() == Kind::Deployment)
            .count();
        // Routes to several components add the edge proxy's.
        let edge = usize::from(berth::values::routes::uses_edge(&values));
        check(
            "deployments",
            deployments == expect.components.len() + edge,
            format!("{deployments}"),
        );
        let config_maps: String = objects
            .iter()
            .filter(|o| o.kind() == Kind::ConfigMap)
            .map(|o: &Manifest| o.to_json().to_string())
            .collect();
        check(
            "no secret in a ConfigMap",
            !config_maps.contains("test-value-for-"),
            config_maps.clone(),
        );
    }
    assert!(
        failures.is_empty(),
        "wrong detections:\n{}",
        failures.join("\n")
    );
}

/// A probe path the app serves (an included router's, under its prefix; never a templated
/// one), a writable place for the SQLite file beside the code, and no task the image cannot run.
#[test]
fn code_that_requires_tls_gets_a_database_that_serves_it() {
    let (_tmp, dir) = fixture_copy("fastapi-neon-sslmode");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(load(&dir).database.internal.tls);
    let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
    assert!(
        yaml.contains("app asks for it at app/db.py:10 sslmode=require"),
        "{yaml}"
    );
    // Without the requirement in the code, no TLS.
    let (_tmp, plain) = fixture_copy("compose-only");
    let run = berth(&["init", "--yes", "."], &plain);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!load(&plain).database.internal.tls);
}

#[test]
fn a_sqlite_file_beside_the_code_and_a_router_health_route() {
    let (_tmp, dir) = fixture_copy("fastapi-sqlite-routers");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let values = load(&dir);
    let app = &values.components["app"];
    assert_eq!(app.probes.http.as_deref(), Some("/health"));
    assert_eq!(app.writable_paths, ["/tmp", "/data"]);
    assert!(app.tasks.is_empty(), "{:?}", app.tasks);
    let spec = std::fs::read_to_string(dir.join("images/app.toml")).unwrap();
    assert!(
        spec.contains("name = \"sqlite\"")
            && spec.contains("\"{out}/notes.db\", \"/data/notes.db\""),
        "{spec}"
    );
    assert!(
        !spec.contains("alembic"),
        "requirements.txt has no alembic:\n{spec}"
    );
}

/// Migrations that are not self-contained: the task is not written (it would fail on an empty
/// database and hold the rollout), and the user is told the table, the migration, where the
/// table comes from and what to run once the app is up.
#[test]
fn a_migration_to_a_table_the_app_creates_is_not_a_task() {
    let (_tmp, dir) = fixture_copy("alembic-app-tables");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let values = load(&dir);
    let app = &values.components["app"];
    assert!(app.tasks.is_empty(), "{:?}", app.tasks);
    assert!(
        run.stderr.contains(
            "app: migration task not written (alembic.ini alembic): alembic/versions/3f2a_labels.py:19 makes a foreign key to table `members`, which no migration creates (declared by the app's model, app/models.py:8, and created at start by create_all, app/db.py:18)"
        ) && run.stderr.contains(
            "once it is up, run `kubectl -n crew-board exec deploy/crew-board-app -- python -m alembic upgrade head`"
        ),
        "{}",
        run.stderr
    );
}

/// What only manifests and the static build decide, beyond [`FIXTURES`]: replicas, resources
/// and the NodePort from `k8s/`, the Create React App output directory, and that the values of
/// a committed Secret manifest appear nowhere.
#[test]
fn existing_manifests_and_a_cra_build_feed_the_stack() {
    let (_tmp, dir) = fixture_copy("cra-settings-k8s");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let values = load(&dir);
    let backend = &values.components["backend"];
    assert_eq!(backend.replicas, Some(2));
    let resources = backend.resources.as_ref().expect("resources from k8s/");
    assert_eq!(
        (
            resources.requests.cpu.as_str(),
            resources.requests.memory.as_str(),
            resources.limits.cpu.as_str(),
            resources.limits.memory.as_str()
        ),
        ("100m", "128Mi", "500m", "512Mi")
    );
    assert_eq!(values.components["frontend"].replicas, Some(2));
    assert_eq!(values.expose.node_port, 30080);
    let spec = std::fs::read_to_string(dir.join("images/frontend.toml")).unwrap();
    assert!(
        spec.contains("cp -a build/. ") && !spec.contains("dist/."),
        "react-scripts builds into build/:\n{spec}"
    );
    let secret_value = "CHANGE_ME_JWT";
    assert!(
        std::fs::read_to_string(dir.join("k8s/config.yaml"))
            .unwrap()
            .contains(secret_value),
        "the fixture's Secret manifest holds the value this test looks for"
    );
    let mut written = format!("{}{}", run.stdout, run.stderr);
    for file in ["berth.yaml", "berth.env.example", "images/backend.toml"] {
        written.push_str(&std::fs::read_to_string(dir.join(file)).unwrap());
    }
    assert!(
        !written.contains(secret_value),
        "a Secret's value was copied"
    );
}

#[test]
fn stale_locks_outside_imports_load_checks_and_production_requests_are_handled() {
    // An override the lock's nested entries do not follow: npm ci would refuse the lock.
    let (_tmp, dir) = fixture_copy("node-overrides-k8s");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spec = std::fs::read_to_string(dir.join("images/server.toml")).unwrap();
    assert!(
        spec.contains("npm install --no-package-lock") && !spec.contains("npm ci"),
        "{spec}"
    );
    // 2 replicas × 1.5 CPU requested: scaled to fit a 2-CPU Minikube, the limit kept.
    let values = load(&dir);
    let server = &values.components["server"];
    assert_eq!(server.replicas, Some(2));
    let resources = server.resources.as_ref().expect("resources from k8s/");
    let millis = |q: &str| {
        q.strip_suffix('m')
            .map_or_else(|| q.parse::<u32>().unwrap() * 1000, |m| m.parse().unwrap())
    };
    let request = millis(&resources.requests.cpu);
    assert!(
        request * 3 <= 1000 && request >= 10,
        "{}",
        resources.requests.cpu
    );
    assert_eq!(resources.limits.cpu, "2");
    let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
    assert!(yaml.contains("requests.cpu 1500m scaled to"), "{yaml}");

    // Imports from ../shared widen the context; the app still builds in web/.
    let (_tmp, dir) = fixture_copy("next-shared-db-check");
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spec = std::fs::read_to_string(dir.join("images/web.toml")).unwrap();
    assert!(spec.contains("context = \".\"\n"), "{spec}");
    assert!(
        spec.contains("-cf - 'web' 'shared/contracts' 'shared/types' |")
            && spec.contains("cd \"$w\"/'web';"),
        "{spec}"
    );
    assert!(
        spec.contains("\"web/package-lock.json\"")
            && spec.contains("\"shared/contracts\", \"shared/types\"]"),
        "{spec}"
    );
    // The database module's load check gets a placeholder at build time only.
    let placeholder = "postgresql://build:placeholder@127.0.0.1:9/build";
    assert!(
        spec.contains(&format!("env = {{ DATABASE_URL = \"{placeholder}\" }}")),
        "{spec}"
    );
    let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
    assert!(!yaml.contains(placeholder), "{yaml}");
    assert_eq!(
        env_yaml(&load(&dir).components["web"].env["DATABASE_URL"]),
        "{database: url}"
    );
}

#[test]
fn values_of_env_files_are_never_copied() {
    let (_tmp, dir) = fixture_copy("compose-only");
    // Values made up now, so no secret-looking value is committed: the names
    // are the fixture's, every value unique to this run.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let real: String = std::fs::read_to_string(dir.join(".env"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            format!(
                "{}=dotenv-{nonce}-{}\n",
                l.split_once('=').unwrap().0,
                l.len()
            )
        })
        .collect();
    std::fs::write(dir.join(".env"), &real).unwrap();
    let run = berth(&["init", "--yes", "--dry-run", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in real.lines() {
        let value = line.split_once('=').unwrap().1;
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "{value} was copied"
        );
    }
    assert!(
        run.stdout.contains("SECRET_KEY="),
        "the name is listed for the user:\n{}",
        run.stdout
    );
    assert!(!dir.join("berth.yaml").exists(), "--dry-run writes nothing");
}

#[test]
fn existing_files_are_kept_without_force_and_bad_input_is_refused() {
    let (_tmp, dir) = fixture_copy("uv-py313");
    std::fs::write(dir.join("berth.yaml"), "# mine\n").unwrap();
    let run = berth(&["init", "--yes", "."], &dir);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("berth.yaml") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("berth.yaml")).unwrap(),
        "# mine\n"
    );
    assert!(!dir.join("images").exists(), "nothing written");

    let run = berth(&["init", "--yes", "--force", "."], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read_to_string(dir.join("berth.yaml"))
            .unwrap()
            .contains("components:")
    );

    let run = berth(&["init", "--yes", "no/such/dir"], &dir);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{}", run.stderr);
    assert!(
        run.stderr.contains("no/such/dir") && run.stderr.contains("not a directory"),
        "{}",
        run.stderr
    );

    let empty = tempfile::tempdir().unwrap();
    let run = berth(&["init", "--yes", "."], empty.path());
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{}", run.stderr);
    assert!(
        run.stderr.contains("found nothing to deploy"),
        "{}",
        run.stderr
    );
}

/// On a terminal, init asks only what it could not decide (here: where the database is, since
/// the code reads a database URL that no file gives a value for) and writes the answer.
#[test]
fn on_a_terminal_it_asks_only_what_it_could_not_decide() {
    use expectrl::{Eof, Session};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("undecided");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        "fastapi==0.115.12\nuvicorn==0.34.2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.py"),
        "import os\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\nDB = os.environ[\"DATABASE_URL\"]\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command
        .arg("init")
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb");
    let mut session = Session::spawn(command).expect("berth starts on a pty");
    session.set_expect_timeout(Some(std::time::Duration::from_secs(60)));
    session
        .expect("nothing says where the database is")
        .expect("the one undecided question is asked");
    std::thread::sleep(std::time::Duration::from_millis(150));
    session.send("\x1b[B").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(60));
    session.send("\r").unwrap();
    let _ = session.expect(Eof);
    let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
    assert!(
        yaml.contains("mode: external") && yaml.contains("urlSecret: databaseUrl"),
        "{yaml}"
    );
}
