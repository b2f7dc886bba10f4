//! Helm chart export: a standard chart whose `helm template` output equals
//! berth's typed render (tests prove it with the real `helm`), and a
//! deterministic `.tgz` package of it.
//!
//! The templates are text files under `src/chart/templates/`, embedded at build
//! time; `Chart.yaml`, `values.yaml` and the README are generated from the same
//! defaults and schema berth validates with, so the chart cannot drift from them.

mod package;
mod readme;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use package::package;
pub use readme::schema_leaves;

use crate::values::{self, DEFAULT_VALUES_YAML, ValuesError, schema::values_schema_json};

/// Problems exporting a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(
        "`{0}` is not a semantic version (e.g. 0.1.0 or 1.2.3-rc.1), as Helm requires of chart versions"
    )]
    InvalidVersion(String),
    #[error("{0} exists and is not a chart (no Chart.yaml); refusing to replace it")]
    NotAChart(PathBuf),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the embedded default values are invalid: {0}")]
    Defaults(String),
    /// The team's stack file does not load; the values error says why.
    #[error(transparent)]
    Stack(#[from] ValuesError),
}

/// One file of the chart, relative to the chart directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub path: String,
    pub contents: String,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSettings {
    /// Chart version (SemVer 2); the app version comes from the values.
    pub version: String,
    /// A team's stack (`berth.yaml`): its values become the chart's defaults.
    /// Without one the chart describes berth's embedded example.
    pub stack: Option<PathBuf>,
}

impl Default for ChartSettings {
    fn default() -> Self {
        ChartSettings {
            version: env!("CARGO_PKG_VERSION").to_string(),
            stack: None,
        }
    }
}

/// The chart's name and app version, from the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartIdentity {
    pub name: String,
    pub version: String,
    pub app_version: String,
}

macro_rules! template {
    ($name:literal) => {
        ($name, include_str!(concat!("templates/", $name)))
    };
}

/// The templates, as shipped under `templates/`. They range over the values'
/// components, secrets and routes: no file is about one component.
pub const TEMPLATES: &[(&str, &str)] = &[
    template!("NOTES.txt"),
    template!("_edge.tpl"),
    template!("_env.tpl"),
    template!("_helpers.tpl"),
    template!("_networkpolicy.tpl"),
    template!("_routes.tpl"),
    template!("_secrets.tpl"),
    template!("_validate.tpl"),
    template!("_validate_rules.tpl"),
    template!("_workload.tpl"),
    template!("components.yaml"),
    template!("database.yaml"),
    template!("edge.yaml"),
    template!("networkpolicy.yaml"),
    template!("routes.yaml"),
    template!("validate.yaml"),
];

const DEV_VALUES: &str = include_str!("../../values/dev.yaml");
const STAGING_VALUES: &str = include_str!("../../values/staging.yaml");
const PROD_VALUES: &str = include_str!("../../values/prod.yaml");

/// No environment: a chart never holds secret values.
struct NoSecrets;

impl values::load::Environment for NoSecrets {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// Every file of the chart, sorted by path.
pub fn chart_files(
    settings: &ChartSettings,
) -> Result<(ChartIdentity, Vec<ChartFile>), ChartError> {
    if !is_semver(&settings.version) {
        return Err(ChartError::InvalidVersion(settings.version.clone()));
    }
    // The values the chart defaults to, as text and as a tree: the embedded
    // example with its comments, or a team's stack over berth's defaults.
    let (values_yaml, profiles) = match &settings.stack {
        None => (
            chart_values_yaml(DEFAULT_VALUES_YAML)?,
            vec![
                file("values-dev.yaml", DEV_VALUES.to_string()),
                file("values-staging.yaml", STAGING_VALUES.to_string()),
                file("values-prod.yaml", PROD_VALUES.to_string()),
            ],
        ),
        Some(path) => (stack_values_yaml(path)?, Vec::new()),
    };
    let defaults = values::load::parse_yaml(&values_yaml, "chart values")
        .map_err(|e| ChartError::Defaults(e.to_string()))?;
    let text = |key: &str| {
        defaults
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ChartError::Defaults(format!("{key} is not a string")))
    };
    let identity = ChartIdentity {
        name: text("appName")?,
        version: settings.version.clone(),
        app_version: text("appVersion")?,
    };
    // The defaults as typed values, for what only they can say (the origin images were
    // built for); they loaded above, so this holds unless the defaults are not a full stack.
    let built_values = values::load::from_tree(defaults.clone()).ok();
    let schema = chart_schema();
    let mut schema_text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    schema_text.push('\n');
    let mut files = vec![
        file("Chart.yaml", chart_yaml(&identity, &defaults)),
        file("values.yaml", values_yaml),
        file("values.schema.json", schema_text),
        file(
            "README.md",
            readme::readme(&identity, &schema, &defaults, built_values.as_ref()),
        ),
        file(".helmignore", HELMIGNORE.to_string()),
    ];
    files.extend(profiles);
    files.extend(
        TEMPLATES
            .iter()
            .map(|(name, text)| file(&format!("templates/{name}"), text.to_string())),
    );
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((identity, files))
}

/// berth's values schema plus two Helm-only keys: a secret's `value`, which is
/// how Helm users supply secrets (`--set-file secrets.NAME.value=PATH`; berth
/// reads them from the environment or `--set-file secrets.NAME=PATH`; berth
/// itself never reads secret values from values), and `imagePullSecrets`, the
/// pull Secrets Helm users create themselves (berth deploy --registry renders
/// its own from the registry login it pushed with).
pub fn chart_schema() -> Value {
    let mut schema = values_schema_json();
    if let Some(properties) =
        schema.pointer_mut("/properties/secrets/additionalProperties/properties")
        && let Some(properties) = properties.as_object_mut()
    {
        properties.insert(
            "value".into(),
            serde_json::json!({
                "type": "string",
                "description": "Helm only: the secret's value, given at install time (helm install --set-file secrets.NAME.value=PATH, or --set-string secrets.NAME.value=VALUE). Never in a values file.",
            }),
        );
    }
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            "imagePullSecrets".into(),
            serde_json::json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "minLength": 1}},
                    "required": ["name"],
                    "additionalProperties": false
                },
                "description": "Helm only: existing image pull Secrets every ServiceAccount references, e.g. --set imagePullSecrets[0].name=regcred (kubectl create secret docker-registry regcred …). berth deploy --registry makes its own from your registry login.",
            }),
        );
    }
    schema
}

fn file(path: &str, contents: String) -> ChartFile {
    ChartFile {
        path: path.to_string(),
        contents,
    }
}

const HELMIGNORE: &str =
    "# Patterns to ignore when packaging with `helm package`.\n.git/\n*.orig\n*.swp\n*~\n";

fn chart_yaml(identity: &ChartIdentity, values: &Value) -> String {
    // Strings are JSON-quoted, which YAML reads back unchanged.
    let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let components: Vec<&str> = values
        .get("components")
        .and_then(Value::as_object)
        .map(|c| c.keys().map(String::as_str).collect())
        .unwrap_or_default();
    format!(
        "apiVersion: v2\n\
         name: {name}\n\
         description: {description}\n\
         type: application\n\
         version: {version}\n\
         appVersion: {app_version}\n\
         # autoscaling/v2 HorizontalPodAutoscalers need Kubernetes 1.23 or later.\n\
         kubeVersion: \">=1.23.0-0\"\n\
         keywords: [berth]\n\
         annotations:\n  \
           generatedBy: {generated_by}\n",
        name = q(&identity.name),
        description = q(&format!(
            "{} (components: {}), exported by berth: equivalent to `berth deploy` for the same values.",
            identity.name,
            components.join(", ")
        )),
        version = q(&identity.version),
        app_version = q(&identity.app_version),
        generated_by = q(&format!("berth {}", env!("CARGO_PKG_VERSION"))),
    )
}

/// A team's stack, loaded and checked as berth loads it (secret values are
/// refused there), written back as the chart's defaults.
fn stack_values_yaml(path: &Path) -> Result<String, ChartError> {
    let sources = values::ValueSources {
        stack: Some(path.to_path_buf()),
        ..Default::default()
    };
    let loaded = values::load::load_unchecked_secrets(&sources, &NoSecrets)?;
    // Written as JSON, which YAML reads unchanged: Helm's YAML 1.1 parser would
    // read some plain YAML 1.2 scalars (`yes`, `on`, tabs in block text) otherwise.
    let mut body =
        serde_json::to_string_pretty(&loaded.without_secrets()).expect("values serialize");
    body.push('\n');
    Ok(format!(
        "{VALUES_HEADER}# The stack: {} (berth.yaml) over berth's defaults, as JSON.\n{SECRETS_COMMENT}{body}",
        path.display()
    ))
}

/// The embedded defaults with their comments rewritten for Helm: the header, and
/// how secrets are supplied. The keys and values are untouched.
fn chart_values_yaml(defaults: &str) -> Result<String, ChartError> {
    let lines: Vec<&str> = defaults.lines().collect();
    let body_start = lines
        .iter()
        .position(|l| !l.starts_with('#'))
        .unwrap_or(lines.len());
    let secrets_at = lines
        .iter()
        .position(|l| *l == "secrets:")
        .ok_or_else(|| ChartError::Defaults("no top-level `secrets:` key".into()))?;
    let mut comment_start = secrets_at;
    while comment_start > body_start && lines[comment_start - 1].starts_with('#') {
        comment_start -= 1;
    }
    let mut out = String::from(VALUES_HEADER);
    for line in &lines[body_start..comment_start] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(SECRETS_COMMENT);
    for line in &lines[secrets_at..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

const VALUES_HEADER: &str = "\
# Default values of the chart: the same layout and defaults as berth's values.
# values.schema.json (generated from berth's Rust types) checks them.
# Helm installs into -n/--namespace (namespace.name is not used) and creates the
# namespace with --create-namespace (namespace.create is not used).
";

const SECRETS_COMMENT: &str = "\
# Secret values never live in values files. Give each at install time as the
# secret's `value` (berth reads them from `fromEnv` instead):
#   helm install … --set-file secrets.NAME.value=PATH   (or --set-string secrets.NAME.value=…)
# Secrets with `generate` are generated when not given and kept on upgrade.
";

/// SemVer 2: MAJOR.MINOR.PATCH, optional `-pre.release` and `+build`.
fn is_semver(version: &str) -> bool {
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let identifiers = |s: &str| {
        s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// Writes the chart into `dir/<name>/`, replacing an earlier export there (so no
/// stale template survives), and returns that directory.
pub fn write_chart(
    identity: &ChartIdentity,
    files: &[ChartFile],
    dir: &Path,
) -> Result<PathBuf, ChartError> {
    let chart_dir = dir.join(&identity.name);
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ChartError::Write { path, source }
    };
    if chart_dir.exists() {
        if !chart_dir.join("Chart.yaml").is_file() {
            return Err(ChartError::NotAChart(chart_dir));
        }
        std::fs::remove_dir_all(&chart_dir).map_err(write_error(&chart_dir))?;
    }
    for f in files {
        let path = chart_dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        std::fs::write(&path, &f.contents).map_err(write_error(&path))?;
    }
    Ok(chart_dir)
}

/// Writes `dir/<name>-<version>.tgz` and returns its path.
pub fn write_package(
    identity: &ChartIdentity,
    files: &[ChartFile],
    dir: &Path,
    mtime: u64,
) -> Result<PathBuf, ChartError> {
    let path = dir.join(format!("{}-{}.tgz", identity.name, identity.version));
    let bytes = package(&identity.name, files, mtime).map_err(|source| ChartError::Write {
        path: path.clone(),
        source,
    })?;
    std::fs::create_dir_all(dir).map_err(|source| ChartError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    std::fs::write(&path, bytes).map_err(|source| ChartError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_versions() {
        for ok in ["0.1.0", "1.2.3-rc.1", "10.0.0+build.5", "1.0.0-alpha-1"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "",
            "1",
            "1.2",
            "01.2.3",
            "1.2.3-",
            "1.2.3-a..b",
            "v1.2.3",
            "1.2.x",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn values_yaml_keeps_the_defaults_and_explains_helm_secrets() {
        let text = chart_values_yaml(DEFAULT_VALUES_YAML).unwrap();
        let chart = values::load::parse_yaml(&text, "chart").unwrap();
        let berth = values::load::parse_yaml(DEFAULT_VALUES_YAML, "berth").unwrap();
        assert_eq!(chart, berth);
        assert!(text.contains("--set-file secrets.NAME.value=PATH"));
    }

    /// A stack whose page bakes the origin in: the chart keeps `buildEnv` in its values and its
    /// README says which origin the image was built for; without build values, no such section.
    #[test]
    fn the_readme_says_which_origin_images_were_built_for() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("berth.yaml");
        std::fs::write(
            &stack,
            r#"appName: shop
components:
  web:
    image:
      repository: localhost/shop/web
      tag: "1.0.0"
      build: images/web.toml
      buildEnv:
        NEXT_PUBLIC_API_URL: {externalUrl: /api}
        NEXT_PUBLIC_FLAVOUR: plain
    port: 3000
database: {mode: none}
expose:
  mode: ingress
  ingress: {host: shop.example.test}
  routes: {"/": web}
"#,
        )
        .unwrap();
        let settings = ChartSettings {
            stack: Some(stack),
            ..Default::default()
        };
        let (_, files) = chart_files(&settings).unwrap();
        let text = |name: &str| {
            files
                .iter()
                .find(|f| f.path == name)
                .map(|f| f.contents.clone())
                .unwrap()
        };
        let readme = text("README.md");
        assert!(
            readme.contains("## Images built for one origin")
                && readme.contains("origin `http://shop.example.test`")
                && readme.contains(
                    "`NEXT_PUBLIC_API_URL=http://shop.example.test/api` (from `{\"externalUrl\":\"/api\"}`)"
                )
                && readme.contains("`NEXT_PUBLIC_FLAVOUR=plain`"),
            "{readme}"
        );
        let values = values::load::parse_yaml(&text("values.yaml"), "chart").unwrap();
        assert_eq!(
            values["components"]["web"]["image"]["buildEnv"]["NEXT_PUBLIC_API_URL"],
            serde_json::json!({"externalUrl": "/api"})
        );
        let (_, example) = chart_files(&ChartSettings::default()).unwrap();
        let readme = &example
            .iter()
            .find(|f| f.path == "README.md")
            .unwrap()
            .contents;
        assert!(!readme.contains("built for one origin"), "{readme}");
    }

    #[test]
    fn every_template_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/chart/templates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = TEMPLATES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded);
    }
}
