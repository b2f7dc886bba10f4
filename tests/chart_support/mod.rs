//! Shared by the chart tests: the real `helm` binary, exporting the chart with
//! the real `berth` binary, rendering one value set with both, and comparing.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The pinned helm from `scripts/tools.sh` (or `BERTH_HELM`). Missing helm is a
/// failure, never a skip: these tests are the proof the chart is equivalent.
pub fn helm() -> PathBuf {
    let path = std::env::var_os("BERTH_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path(".tools/bin/helm"));
    assert!(
        path.is_file(),
        "helm not found at {}: run scripts/tools.sh (installs the pinned helm into .tools/bin) or set BERTH_HELM",
        path.display()
    );
    path
}

/// The real `berth` binary with a clean environment: no secret, release or
/// namespace from the developer's shell may leak into a render.
pub fn berth() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    command.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(value) = std::env::var_os(keep) {
            command.env(keep, value);
        }
    }
    command
}

/// A scratch directory under the target dir, unique to this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chart-tests-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

pub fn run_ok(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// `berth chart export --out OUT`, run in `dir` (so a `berth.yaml` there is the
/// stack exported); returns the chart directory.
pub fn export_chart(dir: Option<&Path>, out: &Path) -> PathBuf {
    let mut command = berth();
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let stdout = run_ok(command.args(["chart", "export", "--out"]).arg(out));
    let chart = PathBuf::from(stdout.lines().next().expect("chart path on stdout"));
    assert!(chart.join("Chart.yaml").is_file(), "{}", chart.display());
    chart
}

/// The chart of berth's embedded example, exported once per test process.
pub fn exported_chart() -> &'static Path {
    static CHART: OnceLock<PathBuf> = OnceLock::new();
    CHART.get_or_init(|| export_chart(None, &scratch("export")))
}

/// One value set, given to both tools the way each takes it.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub release: String,
    pub namespace: String,
    /// A team's stack (`berth.yaml`): berth renders in its directory, and the
    /// chart is exported from there. None: berth's embedded example.
    pub stack: Option<PathBuf>,
    /// Values files, given to both (`-f`).
    pub files: Vec<PathBuf>,
    /// `--set` expressions, given to both.
    pub set: Vec<String>,
    /// Secret values by secret name: `--set-file secrets.NAME=PATH` for berth,
    /// `--set-file secrets.NAME.value=PATH` for helm.
    pub secrets: BTreeMap<String, String>,
    /// Extra helm-only arguments.
    pub helm_args: Vec<String>,
}

impl Case {
    /// The example's release and namespace, and fixed values for its generated
    /// secrets (both tools would otherwise make random ones).
    pub fn new(name: &str) -> Case {
        Case {
            name: name.to_string(),
            release: "todo-chatbot".into(),
            namespace: "todo".into(),
            stack: None,
            files: Vec::new(),
            set: Vec::new(),
            secrets: BTreeMap::from([
                ("authSecret".to_string(), "test-auth-secret".to_string()),
                ("postgresPassword".to_string(), "test-password".to_string()),
            ]),
            helm_args: Vec::new(),
        }
    }

    /// A team's stack file, with no secret values yet.
    pub fn stack(name: &str, stack: PathBuf) -> Case {
        Case {
            stack: Some(stack),
            secrets: BTreeMap::new(),
            ..Case::new(name)
        }
    }

    pub fn file(mut self, relative: &str) -> Case {
        self.files.push(repo_path(relative));
        self
    }

    pub fn set(mut self, expr: &str) -> Case {
        self.set.push(expr.to_string());
        self
    }

    pub fn secret(mut self, key: &str, value: &str) -> Case {
        self.secrets.insert(key.to_string(), value.to_string());
        self
    }

    /// `--set-file secrets.NAME=PATH` (berth) or `--set-file
    /// secrets.NAME.value=PATH` (the chart) for each secret value, written
    /// under `work`.
    pub fn secret_args(&self, work: &Path, helm: bool) -> Vec<String> {
        let dir = work.join(format!("{}-secrets", sanitize(&self.name)));
        std::fs::create_dir_all(&dir).expect("secrets dir");
        let mut args = Vec::new();
        for (name, value) in &self.secrets {
            let path = dir.join(name);
            // With the newline `echo` adds: both tools drop it.
            std::fs::write(&path, format!("{value}\n")).expect("write secret file");
            args.push("--set-file".to_string());
            let key = if helm {
                format!("{name}.value")
            } else {
                name.clone()
            };
            args.push(format!("secrets.{key}={}", path.display()));
        }
        args
    }

    /// The chart this case is rendered with: the example's, or its stack's.
    pub fn chart(&self, work: &Path) -> PathBuf {
        match &self.stack {
            None => exported_chart().to_path_buf(),
            Some(stack) => {
                let out = work.join(format!("{}-chart", sanitize(&self.name)));
                export_chart(stack.parent(), &out)
            }
        }
    }
}

/// `berth render --include-secrets -o json` of the case.
pub fn berth_render(case: &Case) -> Vec<Value> {
    let stdout = run_ok(&mut berth_render_command(case));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{}: berth JSON: {e}", case.name))
}

/// The same, as the raw output (for cases berth may refuse).
pub fn berth_render_output(case: &Case) -> Output {
    run(&mut berth_render_command(case))
}

fn berth_render_command(case: &Case) -> Command {
    let work = scratch("berth-secrets");
    let mut command = berth();
    if let Some(stack) = &case.stack {
        command.current_dir(stack.parent().expect("a stack file has a directory"));
    }
    command.args(["render", "--include-secrets", "-o", "json", "--release"]);
    command.arg(&case.release).arg("-n").arg(&case.namespace);
    for file in &case.files {
        command.arg("-f").arg(file);
    }
    for expr in &case.set {
        command.arg("--set").arg(expr);
    }
    command.args(case.secret_args(&work, false));
    command
}

/// `helm template RELEASE CHART -n NS` of the case, parsed.
pub fn helm_template(chart: &Path, case: &Case, work: &Path) -> Vec<Value> {
    let output = run(&mut helm_template_command(chart, case, work));
    assert!(
        output.status.success(),
        "{}: helm template failed:\n{}",
        case.name,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_yaml_stream(&String::from_utf8(output.stdout).expect("utf-8"))
}

pub fn helm_template_command(chart: &Path, case: &Case, work: &Path) -> Command {
    let mut command = Command::new(helm());
    command.arg("template").arg(&case.release).arg(chart);
    command.arg("-n").arg(&case.namespace);
    for file in &case.files {
        command.arg("-f").arg(file);
    }
    for expr in &case.set {
        command.arg("--set").arg(expr);
    }
    command.args(case.secret_args(work, true));
    command.args(&case.helm_args);
    command
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A multi-document YAML stream as JSON values, without empty documents.
pub fn parse_yaml_stream(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|e| panic!("helm output is not YAML: {e}\n{text}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Compares berth's objects with helm's, allowing only what a Helm install
/// implies: the `managed-by` label value and the Namespace object. Returns the
/// number of objects compared, or every difference by object and JSON path.
pub fn compare(berth: &[Value], helm: &[Value]) -> Result<usize, String> {
    let index = |objects: &[Value], tool: &str| -> Result<BTreeMap<String, Value>, String> {
        let mut map = BTreeMap::new();
        for object in objects {
            let id = object_id(object);
            if map.insert(id.clone(), object.clone()).is_some() {
                return Err(format!("{tool} renders {id} twice"));
            }
        }
        Ok(map)
    };
    let berth: Vec<Value> = berth
        .iter()
        .filter(|o| o["kind"] != "Namespace")
        .cloned()
        .collect();
    let helm: Vec<Value> = helm.iter().map(helm_managed_by_as_berth).collect();
    let berth = index(&berth, "berth")?;
    let helm = index(&helm, "helm")?;
    let mut differences = Vec::new();
    for id in berth.keys().filter(|id| !helm.contains_key(*id)) {
        differences.push(format!("{id}: rendered by berth only"));
    }
    for id in helm.keys().filter(|id| !berth.contains_key(*id)) {
        differences.push(format!("{id}: rendered by helm only"));
    }
    for (id, ours) in &berth {
        if let Some(theirs) = helm.get(id) {
            diff(ours, theirs, &mut id.clone(), &mut differences);
        }
    }
    if differences.is_empty() {
        Ok(berth.len())
    } else {
        Err(differences.join("\n"))
    }
}

fn object_id(object: &Value) -> String {
    format!(
        "{} {} {}/{}",
        object["apiVersion"].as_str().unwrap_or("?"),
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["namespace"].as_str().unwrap_or(""),
        object["metadata"]["name"].as_str().unwrap_or("?"),
    )
}

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Helm's `managed-by: Helm` read as berth's, wherever labels appear.
fn helm_managed_by_as_berth(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == MANAGED_BY && v == "Helm" {
                        Value::String("berth".into())
                    } else {
                        helm_managed_by_as_berth(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(helm_managed_by_as_berth).collect()),
        other => other.clone(),
    }
}

fn diff(ours: &Value, theirs: &Value, path: &mut String, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => diff(x, y, path, out),
                    (Some(x), None) => out.push(format!("{path}: berth has {x}, helm nothing")),
                    (None, Some(y)) => out.push(format!("{path}: helm has {y}, berth nothing")),
                    (None, None) => unreachable!(),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                diff(x, y, path, out);
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: berth {a}, helm {b}")),
    }
}

/// Renders the case with both tools and compares; panics with every difference.
pub fn assert_equivalent(case: &Case) -> usize {
    let work = scratch("cases");
    let ours = berth_render(case);
    let theirs = helm_template(&case.chart(&work), case, &work);
    compare(&ours, &theirs).unwrap_or_else(|differences| {
        panic!("{}: berth and helm differ:\n{differences}", case.name)
    })
}
