//! `berth init --yes` on the origin fixtures (issue 23): a browser-side API base URL becomes a
//! build value (`image.buildEnv`) with the routes that send its paths to the API, env that names
//! the browser's origin gets `{externalUrl}`, and the auth server's URL a backend calls gets
//! `{urlOf}`. Checked three ways: the exact berth.yaml (snapshot), explicit expectations (so a
//! wrong detection fails even if a snapshot were accepted blindly), and what the values resolve
//! to for one origin — the build values and the env through the same function.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth::manifests::{RenderContext, build_env::build_envs, config::component_env};
use berth::values::{self, EnvValue, ValueSources, Values};

/// What init must write for one fixture.
struct Expect {
    fixture: &'static str,
    routes: &'static [(&'static str, &'static str)],
    /// (component, variable, YAML form) in `image.buildEnv`.
    build_env: &'static [(&'static str, &'static str, &'static str)],
    /// (component, variable, YAML form) in `env`.
    env: &'static [(&'static str, &'static str, &'static str)],
    /// Words stderr must mention.
    stderr: &'static [&'static str],
}

const FIXTURES: [Expect; 3] = [
    Expect {
        fixture: "next-api-cors",
        routes: &[("/", "frontend"), ("/api", "backend")],
        build_env: &[("frontend", "NEXT_PUBLIC_API_URL", "{externalUrl: /}")],
        env: &[("backend", "FRONTEND_URL", "{externalUrl: /}")],
        stderr: &[],
    },
    Expect {
        fixture: "vite-api-root",
        // The API serves at `/`: the browser reaches it under /backend, a route that strips
        // the prefix (the edge proxy does it in nodePort mode).
        routes: &[("/", "frontend"), ("/backend", "backend")],
        build_env: &[("frontend", "VITE_API_URL", "{externalUrl: /backend}")],
        env: &[("backend", "ALLOWED_ORIGINS", "{externalUrl: /}")],
        stderr: &[],
    },
    Expect {
        fixture: "better-auth-jwks",
        routes: &[("/", "web"), ("/api/health", "api"), ("/api/tasks", "api")],
        build_env: &[("web", "NEXT_PUBLIC_API_URL", "{externalUrl: /}")],
        env: &[
            ("web", "BETTER_AUTH_URL", "{externalUrl: /}"),
            ("web", "BETTER_AUTH_SECRET", "{secret: betterAuthSecret}"),
            ("web", "DATABASE_URL", "{database: url}"),
            ("api", "BETTER_AUTH_URL", "{urlOf: web}"),
            ("api", "CORS_ORIGINS", "{externalUrl: /}"),
        ],
        stderr: &[],
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

/// `berth init --yes` in a copy of the fixture; the directory and stderr.
fn init(name: &str) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy_dir(
        &common::repo_path(&format!("tests/fixtures/repos/{name}")),
        &dir,
    );
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["init", "--yes", "."])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("berth runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{name}: {stderr}");
    (tmp, dir, stderr)
}

/// The written values over `layer`, every secret supplied.
fn load(dir: &Path, layer: serde_json::Value) -> Values {
    let sources = ValueSources {
        stack: Some(dir.join("berth.yaml")),
        layers: vec![("test".into(), layer)],
        ..Default::default()
    };
    let none = HashMap::<String, String>::new();
    let unchecked = values::load_unchecked_secrets(&sources, &none)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let env: HashMap<String, String> = unchecked
        .secrets
        .values()
        .filter_map(|s| s.from_env.clone())
        .map(|var| (var.clone(), format!("test-value-for-{var}")))
        .collect();
    values::load(&sources, &env).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn yaml_form(value: &EnvValue) -> String {
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
fn browser_urls_become_build_values_and_routes_origins_follow() {
    let mut failures = Vec::new();
    for expect in &FIXTURES {
        let (_tmp, dir, stderr) = init(expect.fixture);
        let yaml = std::fs::read_to_string(dir.join("berth.yaml")).unwrap();
        insta::assert_snapshot!(format!("init_{}", expect.fixture), yaml);
        let values = load(&dir, serde_json::json!({}));
        let mut check = |what: String, ok: bool, detail: String| {
            if !ok {
                failures.push(format!("{}: {what}: {detail}", expect.fixture));
            }
        };
        let routes: BTreeMap<&str, &str> = values
            .expose
            .routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.component()))
            .collect();
        let want: BTreeMap<&str, &str> = expect.routes.iter().copied().collect();
        check("routes".into(), routes == want, format!("{routes:?}"));
        for (component, var, form) in expect.build_env {
            let c = &values.components[*component];
            let got = c.image.build_env.get(*var).map(yaml_form);
            check(
                format!("{component}.image.buildEnv.{var}"),
                got.as_deref() == Some(*form),
                format!("{got:?}, want {form}"),
            );
            check(
                format!("{component}.env.{var}"),
                !c.env.contains_key(*var),
                "a build value is not also runtime env".into(),
            );
        }
        for (component, var, form) in expect.env {
            let got = values.components[*component].env.get(*var).map(yaml_form);
            check(
                format!("{component}.env.{var}"),
                got.as_deref() == Some(*form),
                format!("{got:?}, want {form}"),
            );
        }
        for word in expect.stderr {
            check(
                "stderr".into(),
                stderr.contains(word),
                format!("no {word:?} in {stderr}"),
            );
        }
        // Every written value keeps where it came from.
        for line in yaml.lines() {
            let t = line.trim_start();
            let is_value = [
                "NEXT_PUBLIC_",
                "VITE_",
                "FRONTEND_URL",
                "ALLOWED_ORIGINS",
                "CORS_ORIGINS",
                "BETTER_AUTH_URL",
            ]
            .iter()
            .any(|p| t.starts_with(p));
            check(
                "source comment".into(),
                !is_value || line.contains(" # "),
                line.to_string(),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "wrong origins:\n{}",
        failures.join("\n")
    );
}

/// For one origin, the build value the page is built with and the origin the backend allows
/// (or the auth server trusts) are the same URL; the backend reaches the auth server inside
/// the cluster.
#[test]
fn build_values_and_env_resolve_to_the_same_origin() {
    let origin = "http://tasks.example.test";
    let ingress = serde_json::json!({"expose": {"mode": "ingress", "ingress": {"host": "tasks.example.test"}}});

    let (_tmp, dir, _) = init("next-api-cors");
    let values = load(&dir, ingress.clone());
    let ctx = RenderContext::new(&values, "rel", None);
    let build = build_envs(&values);
    assert_eq!(build["frontend"]["NEXT_PUBLIC_API_URL"], origin);
    let backend = component_env(&values, &ctx, &values.components["backend"]);
    assert_eq!(backend.config["FRONTEND_URL"], origin);

    // A stripped prefix needs the edge (nodePort) or a Gateway; an Ingress refuses it.
    let (_tmp, dir, _) = init("vite-api-root");
    let values = load(&dir, serde_json::json!({"expose": {"url": origin}}));
    assert_eq!(
        build_envs(&values)["frontend"]["VITE_API_URL"],
        format!("{origin}/backend")
    );
    assert!(values.expose.routes["/backend"].strips_prefix());
    let ctx = RenderContext::new(&values, "rel", None);
    let backend = component_env(&values, &ctx, &values.components["backend"]);
    assert_eq!(backend.config["ALLOWED_ORIGINS"], origin);

    let (_tmp, dir, _) = init("better-auth-jwks");
    let values = load(&dir, ingress);
    let ctx = RenderContext::new(&values, "rel", None);
    assert_eq!(build_envs(&values)["web"]["NEXT_PUBLIC_API_URL"], origin);
    let web = component_env(&values, &ctx, &values.components["web"]);
    assert_eq!(web.config["BETTER_AUTH_URL"], origin);
    let api = component_env(&values, &ctx, &values.components["api"]);
    assert_eq!(api.config["CORS_ORIGINS"], origin);
    assert_eq!(api.config["BETTER_AUTH_URL"], "http://rel-web:3000");
}
