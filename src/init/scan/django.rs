//! Django projects: `manage.py` (the one that calls `execute_from_command_line`), the settings
//! module it names in `DJANGO_SETTINGS_MODULE`, the `application` of the settings package's
//! `wsgi.py`/`asgi.py`, and the settings the project reads through django-environ (`env("X")`,
//! `env.str("X")`, `env.db()`), python-decouple (`config("X")`) or dj-database-url
//! (`dj_database_url.config()`), beside the `os.environ` reads every Python file gets.

use super::Detected;
use super::text::{leading_quoted, line_of};
use crate::init::findings::{EnvUse, Found, Runtime, Source};

/// The variable dj-database-url's `config()` and django-environ's `env.db()` read when given no
/// name: those libraries' convention (that the reference app uses the same name is a coincidence).
const LIBRARY_DATABASE_VAR: &str = "DATABASE_URL";

/// One Python file of the service: its path in the service, in the repository, and its text.
pub struct File<'a> {
    pub module_path: &'a str,
    pub file_rel: &'a str,
    pub text: &'a str,
}

/// A Django project among a service's files (path in the service, in the repository, text),
/// into `found`: its runtime, probe path and migrations (run where manage.py is, the image's
/// work directory). `service_rel` is the service directory relative to the repository.
pub fn find(found: &mut Detected, texts: &[(String, String, String)], service_rel: &str) {
    let files: Vec<File> = texts
        .iter()
        .map(|(module_path, file_rel, text)| File {
            module_path,
            file_rel,
            text,
        })
        .collect();
    found.runtime = detect(&files);
    let Some(Runtime::Django {
        project, settings, ..
    }) = found.runtime.as_ref().map(|r| &r.value)
    else {
        return;
    };
    if let Some(file) = module_file(&files, project, settings)
        && let Some((false, line)) = allowed_hosts(file.text)
    {
        found.notes.push(Found::new(
            "ALLOWED_HOSTS is fixed in the settings: Django answers 400 to the Host of berth's HTTP probes (the pod's IP), of other components (the Service's name) and of the browser (the entry's address); read it from the environment (berth then sets it to `*`)".to_string(),
            Source::new(file.file_rel, Some(line), "ALLOWED_HOSTS"),
        ));
    }
    found.health = health(&files, project, settings);
    found.routes = routes(&files, project, settings);
    let manage = [service_rel, project, "manage.py"]
        .iter()
        .filter(|p| !p.is_empty() && **p != ".")
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    found.migration = Some(Found::new(
        ["python", "manage.py", "migrate", "--noinput"]
            .map(String::from)
            .to_vec(),
        Source::new(manage, None, "Django migrations"),
    ));
}

/// The Django project among `files`, if there is one.
pub fn detect(files: &[File]) -> Option<Found<Runtime>> {
    let manage = files.iter().find(|f| {
        (f.module_path == "manage.py" || f.module_path.ends_with("/manage.py"))
            && f.text.contains("execute_from_command_line")
    })?;
    let project = match manage.module_path.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    };
    let settings = settings_module(manage.text).or_else(|| {
        // manage.py without a default: the wsgi.py beside a settings.py says it.
        files
            .iter()
            .filter(|f| f.module_path.ends_with("/wsgi.py"))
            .find_map(|f| settings_module(f.text))
    })?;
    let in_project = |module: &str| module_file(files, &project, module);
    let settings_text = in_project(&settings).map_or("", |f| f.text);
    // The settings' own `WSGI_APPLICATION = "core.wsgi.application"`, else `core/wsgi.py` in
    // the settings' package or one above it (`config/settings/production.py`).
    let callable = |kind: &str| {
        let named = assigned_string(
            settings_text,
            &format!("{}_APPLICATION", kind.to_uppercase()),
        )
        .and_then(|dotted| {
            let (module, var) = dotted.rsplit_once('.')?;
            in_project(module).map(|_| format!("{module}:{var}"))
        });
        named.or_else(|| {
            let mut package = settings.rsplit_once('.').map(|(p, _)| p.to_string());
            while let Some(p) = package {
                let module = format!("{p}.{kind}");
                if in_project(&module).is_some_and(|f| f.text.contains("application")) {
                    return Some(format!("{module}:application"));
                }
                package = p.rsplit_once('.').map(|(up, _)| up.to_string());
            }
            None
        })
    };
    let (wsgi, asgi) = (callable("wsgi"), callable("asgi"));
    Some(Found::new(
        Runtime::Django {
            project,
            wsgi,
            asgi,
            settings,
        },
        Source::new(
            manage.file_rel,
            line_of(manage.text, "execute_from_command_line"),
            "Django manage.py",
        ),
    ))
}

/// A route of the project's URLconf a probe can call: a concrete path (no `<param>`) named like
/// a health check ([`super::pyroutes::health_rank`]), served by a view that asks for no login
/// or permission (a DRF view under a default `IsAuthenticated` answers 401/403), when the probe's
/// Host (the pod's IP) is accepted: `ALLOWED_HOSTS` read from the environment (berth sets it)
/// or `*`. Else `None`, and the probe is a TCP check.
pub fn health(files: &[File], project: &str, settings: &str) -> Option<Found<String>> {
    let settings_file = module_file(files, project, settings)?;
    if !allowed_hosts(settings_file.text)?.0 {
        return None;
    }
    let default_protected = settings_file.text.contains("DEFAULT_PERMISSION_CLASSES")
        && settings_file.text.contains("IsAuthenticated");
    let root = assigned_string(settings_file.text, "ROOT_URLCONF")?;
    let mut best: Option<(usize, Found<String>)> = None;
    for route in urlconf(files, project, root) {
        let last = route
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let (Some(rank), false) = (super::pyroutes::health_rank(last), route.path.contains('<'))
        else {
            continue;
        };
        if best.as_ref().is_some_and(|(r, _)| *r <= rank)
            || !open_view(files, &route.view, default_protected)
        {
            continue;
        }
        let source = Source::new(route.file, Some(route.line), "GET route (Django URLconf)");
        best = Some((rank, Found::new(route.path, source)));
    }
    best.map(|(_, found)| found)
}

/// The paths the project's URLconf serves (`<int:pk>` as `{pk}`, as other frameworks' routes
/// are kept), for the routes a browser-side URL needs.
pub fn routes(files: &[File], project: &str, settings: &str) -> Vec<String> {
    let settings_text = module_file(files, project, settings).map_or("", |f| f.text);
    let Some(root) = assigned_string(settings_text, "ROOT_URLCONF") else {
        return Vec::new();
    };
    urlconf(files, project, root)
        .into_iter()
        .map(|r| {
            r.path
                .split('/')
                .map(|segment| match segment.strip_prefix('<') {
                    Some(param) => {
                        let name = param.trim_end_matches('>');
                        format!("{{{}}}", name.rsplit(':').next().unwrap_or(name))
                    }
                    None => segment.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

/// The file of `module` in a project whose import root is `project`.
fn module_file<'f, 'a>(files: &'f [File<'a>], project: &str, module: &str) -> Option<&'f File<'a>> {
    let file = format!("{}.py", module.replace('.', "/"));
    let path = if project == "." {
        file
    } else {
        format!("{project}/{file}")
    };
    files.iter().find(|f| f.module_path == path)
}

/// One `path(...)` of a URLconf: its full path (with the prefixes of the `include`s that lead
/// to it), the view's name, and where (file in the repository, line).
struct Route {
    path: String,
    view: String,
    file: String,
    line: usize,
}

/// The `path(...)` entries reachable from the URLconf module `root` (`include("app.urls")` is
/// followed three levels deep; `re_path` regexes and included objects such as a DRF router's
/// `router.urls` are not).
fn urlconf(files: &[File], project: &str, root: String) -> Vec<Route> {
    let mut out = Vec::new();
    let mut pending = vec![(root, String::from("/"), 0)];
    while let Some((module, prefix, depth)) = pending.pop() {
        let Some(file) = module_file(files, project, &module) else {
            continue;
        };
        for (n, line) in file.text.lines().enumerate() {
            let Some(at) = line.find("path(").filter(|i| !line[..*i].ends_with("re_")) else {
                continue;
            };
            let args = &line[at + "path(".len()..];
            let Some(route) = leading_quoted(args) else {
                continue;
            };
            let rest = args.trim_start()[route.len() + 2..]
                .trim_start()
                .trim_start_matches(',')
                .trim_start();
            let full = format!("{prefix}{route}");
            if let Some(included) = rest.strip_prefix("include(") {
                if let (Some(m), true) = (leading_quoted(included), depth < 3) {
                    pending.push((m, full, depth + 1));
                }
                continue;
            }
            let view: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            let view = view.rsplit('.').find(|w| *w != "as_view").unwrap_or("");
            out.push(Route {
                path: full,
                view: view.to_string(),
                file: file.file_rel.to_string(),
                line: n + 1,
            });
        }
    }
    out
}

/// Whether the settings' `ALLOWED_HOSTS` accepts any Host once berth sets the environment (read
/// from it, or `*`), with its 1-based line; `None` without one.
fn allowed_hosts(settings: &str) -> Option<(bool, usize)> {
    let lines: Vec<&str> = settings.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("ALLOWED_HOSTS"))?;
    // The statement: a list may span lines up to its `]`.
    let mut statement = String::new();
    for line in &lines[at..] {
        statement.push_str(line);
        if !statement.contains('[') || statement.contains(']') {
            break;
        }
    }
    let any = ["env", "config(", "'*'", "\"*\""]
        .iter()
        .any(|w| statement.contains(w));
    Some((any, at + 1))
}

/// Whether the view `name` (a function or a class) is defined among `files` and asks for no
/// login or permission.
fn open_view(files: &[File], name: &str, default_protected: bool) -> bool {
    if name.is_empty() {
        return false;
    }
    for file in files {
        let lines: Vec<&str> = file.text.lines().collect();
        let Some(at) = lines.iter().position(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("def {name}(")) || l.starts_with(&format!("class {name}("))
        }) else {
            continue;
        };
        // Its decorators, and a class's body up to the next top-level statement.
        let decorators = lines[..at]
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with('@'));
        let body = lines[at + 1..]
            .iter()
            .take_while(|l| l.is_empty() || l.starts_with([' ', '\t']));
        let text: Vec<&str> = decorators.chain(body).copied().chain([lines[at]]).collect();
        let text = text.join("\n");
        if [
            "login_required",
            "permission_required",
            "LoginRequired",
            "IsAuthenticated",
        ]
        .iter()
        .any(|w| text.contains(w))
        {
            return false;
        }
        let drf = ["api_view", "APIView", "ViewSet", "GenericAPIView"]
            .iter()
            .any(|w| text.contains(w));
        return !drf || !default_protected || text.contains("AllowAny");
    }
    false
}

/// `NAME = "value"` at the start of a line.
fn assigned_string(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (lhs, rhs) = l.split_once('=')?;
        (lhs.trim() == name).then(|| leading_quoted(rhs))?
    })
}

/// `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")` → `core.settings`.
fn settings_module(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let at = l.find("DJANGO_SETTINGS_MODULE")?;
        // `setdefault("DJANGO_SETTINGS_MODULE", "x")` or `os.environ["DJANGO_SETTINGS_MODULE"] = "x"`.
        let rest = l[at + "DJANGO_SETTINGS_MODULE".len()..].trim_start_matches(['"', '\'', ']']);
        let rest = rest.trim_start();
        let rest = rest.strip_prefix(',').or_else(|| rest.strip_prefix('='))?;
        leading_quoted(rest).filter(|m| {
            !m.is_empty()
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
    })
}

/// Settings read through django-environ, python-decouple and dj-database-url in `text`:
/// (variable, how it is used, line, what was read).
pub fn env_reads(text: &str) -> Vec<(String, EnvUse, usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        for call in ENV_CALLS {
            for (i, _) in line.match_indices(call) {
                // `env(` but not `getenv(` or `os.environ(`: the call stands on its own.
                let before = line[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let args = &line[i + call.len()..];
                let Some(name) = leading_quoted(args).filter(|n| is_env_name(n)) else {
                    continue;
                };
                let after = &args.trim_start()[name.len() + 2..];
                let default = default_argument(after);
                out.push((
                    name.clone(),
                    EnvUse {
                        required: default.is_none() && !after.contains("default="),
                        example: default,
                        build_time: false,
                    },
                    line_no,
                    format!("{call}\"{name}\")"),
                ));
            }
        }
        // Both read DATABASE_URL when given no name.
        for call in ["dj_database_url.config(", "env.db("] {
            if line.contains(call) && !line.contains(&format!("{call}\"")) {
                out.push((
                    LIBRARY_DATABASE_VAR.to_string(),
                    EnvUse {
                        example: None,
                        required: !line.contains("default="),
                        build_time: false,
                    },
                    line_no,
                    format!("{call}) reads {LIBRARY_DATABASE_VAR}"),
                ));
            }
        }
    }
    out
}

/// django-environ's and python-decouple's readers.
const ENV_CALLS: [&str; 9] = [
    "env(",
    "env.str(",
    "env.bool(",
    "env.int(",
    "env.list(",
    "env.url(",
    "env.db_url(",
    "config(",
    "env.db(",
];

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The default of `env("X", "d")`/`env("X", default="d")`/`config("X", default="d")`: a string,
/// or a number or boolean literal as the environment would spell it (`env.int("X", default=20)`
/// is "20": an empty value would not parse).
fn default_argument(after: &str) -> Option<String> {
    let after = after.trim_start().strip_prefix(',')?.trim_start();
    // `config("X", cast=int, default=5)`: the keyword wherever it is.
    let value = match after.find("default=") {
        Some(at) => &after[at + "default=".len()..],
        None => after,
    };
    if let Some(text) = leading_quoted(value) {
        return Some(text);
    }
    let literal: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    (matches!(literal.as_str(), "True" | "False") || literal.parse::<f64>().is_ok())
        .then_some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(module_path: &'a str, text: &'a str) -> File<'a> {
        File {
            module_path,
            file_rel: module_path,
            text,
        }
    }

    #[test]
    fn manage_py_names_the_settings_and_the_package_its_callables() {
        let manage = "import os\nimport sys\n\ndef main():\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'core.settings')\n    from django.core.management import execute_from_command_line\n    execute_from_command_line(sys.argv)\n";
        let wsgi = "import os\nfrom django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n";
        let files = [
            file("server/manage.py", manage),
            file("server/core/wsgi.py", wsgi),
            file("server/core/settings.py", "DEBUG = False\n"),
        ];
        let found = detect(&files).unwrap();
        assert_eq!(
            found.value,
            Runtime::Django {
                project: "server".into(),
                settings: "core.settings".into(),
                wsgi: Some("core.wsgi:application".into()),
                asgi: None,
            }
        );
        assert_eq!(found.source.line, Some(6));
        // Settings in a package of their own, naming their WSGI application; manage.py at
        // the service's root setting the variable outright.
        let manage = "import os, sys\nos.environ[\"DJANGO_SETTINGS_MODULE\"] = \"config.settings.production\"\nfrom django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n";
        let files = [
            file("manage.py", manage),
            file(
                "config/settings/production.py",
                "WSGI_APPLICATION = 'config.wsgi.application'\n",
            ),
            file("config/wsgi.py", wsgi),
            file("config/asgi.py", "application = get_asgi_application()\n"),
        ];
        assert_eq!(
            detect(&files).unwrap().value,
            Runtime::Django {
                project: ".".into(),
                settings: "config.settings.production".into(),
                wsgi: Some("config.wsgi:application".into()),
                asgi: Some("config.asgi:application".into()),
            }
        );
        // A manage.py that does not run Django's commands is not a Django project.
        assert!(detect(&[file("manage.py", "print('hi')\n")]).is_none());
    }

    #[test]
    fn a_probe_path_is_an_open_health_view_of_the_urlconf() {
        let settings = "ALLOWED_HOSTS = env.list(\"ALLOWED_HOSTS\")\nROOT_URLCONF = 'site.urls'\nREST_FRAMEWORK = {'DEFAULT_PERMISSION_CLASSES': ['rest_framework.permissions.IsAuthenticated']}\n";
        let urls = "urlpatterns = [\n    path('admin/', admin.site.urls),\n    path('api/', include('app.urls')),\n]\n";
        let app_urls = "urlpatterns = [\n    path('items/<int:pk>/status', views.item_status),\n    path('health/', views.HealthView.as_view()),\n    path('ping', views.ping),\n]\n";
        let views = "class HealthView(APIView):\n    def get(self, request):\n        return Response()\n\n@login_required\ndef ping(request):\n    return HttpResponse()\n";
        let mut files = vec![
            file("site/settings.py", settings),
            file("site/urls.py", urls),
            file("app/urls.py", app_urls),
            file("app/views.py", views),
        ];
        // DRF's default permission covers the class, and ping needs a login: no probe path.
        assert_eq!(health(&files, ".", "site.settings"), None);
        let open = "class HealthView(APIView):\n    permission_classes = [AllowAny]\n\n@login_required\ndef ping(request):\n    pass\n";
        files[3] = file("app/views.py", open);
        let found = health(&files, ".", "site.settings").unwrap();
        assert_eq!(found.value, "/api/health/");
        assert_eq!(
            (found.source.file.as_str(), found.source.line),
            ("app/urls.py", Some(3))
        );
        assert_eq!(
            routes(&files, ".", "site.settings"),
            [
                "/admin/",
                "/api/items/{pk}/status",
                "/api/health/",
                "/api/ping"
            ]
        );
        // A list over several lines that holds `*` accepts any Host.
        let multi = format!("ALLOWED_HOSTS = [\n    'localhost',\n    '*',\n]\n{settings}");
        files[0] = file("site/settings.py", &multi);
        assert!(health(&files, ".", "site.settings").is_some());
        // Hosts fixed in the settings (not `*`): the probe's Host would get a 400.
        files[0] = file(
            "site/settings.py",
            "ALLOWED_HOSTS = ['localhost']\nROOT_URLCONF = 'site.urls'\n",
        );
        assert_eq!(health(&files, ".", "site.settings"), None);
    }

    #[test]
    fn environ_decouple_and_dj_database_url_reads_are_settings() {
        let text = "env = environ.Env()\nSECRET_KEY = env(\"DJANGO_SECRET_KEY\")\nDEBUG = env.bool('DEBUG', default=False)\nHOSTS = env.list(\"ALLOWED_HOSTS\", default=\"localhost\")\nX = os.getenv(\"NOT_HERE\")\nY = config('API_BASE', default='http://api:8000')\nZ = config('WORKERS', cast=int, default=4)\nDATABASES = {'default': dj_database_url.config(conn_max_age=600)}\n";
        let reads = env_reads(text);
        let names: Vec<(&str, bool, Option<&str>)> = reads
            .iter()
            .map(|(n, u, _, _)| (n.as_str(), u.required, u.example.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("DJANGO_SECRET_KEY", true, None),
                ("DEBUG", false, Some("False")),
                ("ALLOWED_HOSTS", false, Some("localhost")),
                ("API_BASE", false, Some("http://api:8000")),
                ("WORKERS", false, Some("4")),
                ("DATABASE_URL", true, None),
            ]
        );
    }
}
