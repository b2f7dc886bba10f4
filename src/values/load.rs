//! Layering: embedded defaults ← `-f` files ← `--set` ← `--set-string` ←
//! `--set-file` ← secrets from the environment / `--env-file`; then unknown keys,
//! types, rules and required secrets are checked, in that order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::{Problem, ValuesError};
use super::model::Values;
use super::secrets::missing_secrets;
use super::set_args::{Assignment, PathSegment, ValueKind, parse_set, path_to_string};
use super::{keys, schema, validate};

/// The embedded default values (the Todo chatbot stack).
pub const DEFAULT_VALUES_YAML: &str = include_str!("../../values/values.yaml");
/// The bundled profiles, embedded so the wizard works without the repository.
pub const DEV_VALUES_YAML: &str = include_str!("../../values/dev.yaml");
pub const PROD_VALUES_YAML: &str = include_str!("../../values/prod.yaml");

/// The file that describes a team's stack, read from the current directory.
pub const STACK_FILE: &str = "berth.yaml";

/// `berth.yaml` when the current directory has one.
pub fn stack_file_here() -> Option<PathBuf> {
    Path::new(STACK_FILE)
        .is_file()
        .then(|| PathBuf::from(STACK_FILE))
}

/// Where values come from, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
    /// A team's stack (`berth.yaml`): replaces the embedded example's
    /// components, secrets and routes, keeping berth's release-wide defaults.
    pub stack: Option<PathBuf>,
    /// `-f/--values`, applied left to right.
    pub files: Vec<PathBuf>,
    /// Layers produced in-process (the wizard's answers), applied after the files.
    pub layers: Vec<(String, Value)>,
    /// `--set`, typed scalars.
    pub set: Vec<String>,
    /// `--set-string`, always strings.
    pub set_string: Vec<String>,
    /// `--set-file KEY=PATH`, the file's content as a string.
    pub set_file: Vec<String>,
    /// `--env-file`, read for secret variables only.
    pub env_file: Option<PathBuf>,
}

/// Reads environment variables; injected so tests need not touch the process environment.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Variables from `overlay` first (e.g. keys typed into the wizard), then `fallback`.
pub struct OverlayEnv<'a> {
    pub overlay: HashMap<String, String>,
    pub fallback: &'a dyn Environment,
}

impl Environment for OverlayEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.overlay
            .get(name)
            .cloned()
            .or_else(|| self.fallback.var(name))
    }
}

/// Loads, layers and validates values. Missing required secrets are an error too.
pub fn load(sources: &ValueSources, env: &dyn Environment) -> Result<Values, ValuesError> {
    let values = load_unchecked_secrets(sources, env)?;
    let missing = missing_secrets(&values);
    if !missing.is_empty() {
        return Err(ValuesError::Missing(super::error::Problems(missing)));
    }
    Ok(values)
}

/// Like [`load`] but leaves the required-secrets check to the caller (the wizard
/// asks for them; scripted runs list them all).
pub fn load_unchecked_secrets(
    sources: &ValueSources,
    env: &dyn Environment,
) -> Result<Values, ValuesError> {
    let mut tree = parse_yaml(DEFAULT_VALUES_YAML, "embedded defaults")?;
    let mut problems = Vec::new();
    if let Some(path) = &sources.stack {
        without_example_stack(&mut tree);
        let layer = read_values_file(path)?;
        problems.extend(secret_literals(&layer, &tree, &path.display().to_string()));
        merge(&mut tree, layer);
    }
    for path in &sources.files {
        let layer = read_values_file(path)?;
        problems.extend(secret_literals(&layer, &tree, &path.display().to_string()));
        merge(&mut tree, layer);
    }
    for (origin, layer) in &sources.layers {
        problems.extend(secret_literals(layer, &tree, origin));
        merge(&mut tree, layer.clone());
    }
    for (flag, exprs, kind) in [
        ("--set", &sources.set, ValueKind::Typed),
        ("--set-string", &sources.set_string, ValueKind::String),
    ] {
        for expr in exprs {
            for assignment in parse_flag(flag, expr, kind)? {
                problems.extend(secret_literal_assignment(&assignment, &tree, flag));
                apply(&mut tree, &assignment, flag, expr)?;
            }
        }
    }
    // `--set-file secrets.NAME=PATH` supplies a secret's value, never a tree key.
    let mut secret_files = Vec::new();
    for expr in &sources.set_file {
        let assignment = read_set_file(expr)?;
        match secret_name_of(&assignment.path) {
            Some(name) => secret_files.push((name.to_string(), assignment.value)),
            None => apply(&mut tree, &assignment, "--set-file", expr)?,
        }
    }
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    let mut values = from_tree(tree)?;
    resolve_secret_values(&mut values, secret_files, sources.env_file.as_deref(), env)?;
    let problems = validate::validate_secret_values(&values);
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    Ok(values)
}

/// The embedded defaults without what describes the example app: its
/// components, secrets and routes. What is left are berth's release-wide
/// defaults (database image, exposure settings, scaling, policies).
pub fn without_example_stack(tree: &mut Value) {
    for pointer in ["/components", "/secrets", "/expose/routes"] {
        if let Some(map) = tree.pointer_mut(pointer) {
            *map = Value::Object(Map::new());
        }
    }
}

/// `secrets.NAME` as a path: where a secret's value would go.
fn secret_name_of(path: &[PathSegment]) -> Option<&str> {
    match path {
        [PathSegment::Key(top), PathSegment::Key(name)] if top == "secrets" => Some(name),
        _ => None,
    }
}

/// Checks keys, types and rules of a fully layered tree.
pub fn from_tree(tree: Value) -> Result<Values, ValuesError> {
    let unknown = keys::unknown_keys(&tree, &schema::values_schema_json());
    if !unknown.is_empty() {
        return Err(ValuesError::invalid(unknown));
    }
    let values: Values = serde_path_to_error::deserialize(&tree).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let problem = misspelt_component(&tree, &path, &message)
            .unwrap_or_else(|| type_problem(&path, &message));
        ValuesError::invalid(vec![problem])
    })?;
    let problems = validate::validate(&values);
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(ValuesError::invalid(problems))
    }
}

/// A component without an image is most often a misspelt name (`--set
/// components.frontnd.replicas=3` creates one): say which one was meant.
fn misspelt_component(tree: &Value, path: &str, message: &str) -> Option<Problem> {
    let name = path.strip_prefix("components.")?;
    if name.contains('.') || !message.contains("missing field `image`") {
        return None;
    }
    let others: Vec<String> = tree
        .get("components")?
        .as_object()?
        .iter()
        .filter(|(other, c)| *other != name && c.get("image").is_some())
        .map(|(other, _)| other.clone())
        .collect();
    Some(
        Problem::new(path, "has no image: a new component, or a misspelt one")
            .with_hint(super::env_rules::suggest(name, others.iter(), "components")),
    )
}

/// serde's messages already say "invalid type: string \"x\", expected i32".
fn type_problem(path: &str, message: &str) -> Problem {
    let path = if path == "." { "(top level)" } else { path };
    let problem = Problem::new(path, message);
    if message.contains("unknown variant") {
        problem
    } else if message.contains("expected a string")
        || message.contains("expected a borrowed string")
    {
        problem.with_hint("quote the value in YAML, or use --set-string")
    } else {
        problem
    }
}

fn parse_flag(
    flag: &'static str,
    expr: &str,
    kind: ValueKind,
) -> Result<Vec<Assignment>, ValuesError> {
    parse_set(expr, kind).map_err(|e| ValuesError::MalformedSet {
        flag,
        expr: expr.to_string(),
        reason: e.reason,
    })
}

fn read_set_file(expr: &str) -> Result<Assignment, ValuesError> {
    let (key, path) = expr
        .split_once('=')
        .ok_or_else(|| ValuesError::MalformedSet {
            flag: "--set-file",
            expr: expr.to_string(),
            reason: "expected KEY=PATH".to_string(),
        })?;
    let mut assignment = parse_flag("--set-file", &format!("{key}=x"), ValueKind::String)?
        .pop()
        .expect("one assignment");
    let content =
        std::fs::read_to_string(path).map_err(|error| ValuesError::UnreadableSetFile {
            flag: "--set-file",
            key: key.to_string(),
            path: PathBuf::from(path),
            error,
        })?;
    // Files written by editors or `echo` end in a newline that is never part of a key.
    assignment.value = Value::String(content.trim_end_matches(['\n', '\r']).to_string());
    Ok(assignment)
}

fn read_values_file(path: &Path) -> Result<Value, ValuesError> {
    let text = std::fs::read_to_string(path).map_err(|error| ValuesError::UnreadableFile {
        path: path.to_path_buf(),
        error,
    })?;
    parse_yaml(&text, &path.display().to_string())
}

/// Parses one YAML document that must be a mapping (or empty).
pub fn parse_yaml(text: &str, origin: &str) -> Result<Value, ValuesError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|err| ValuesError::InvalidYaml {
        origin: origin.to_string(),
        line: err.location().map(|l| (l.line(), l.column())),
        message: yaml_message(&err.to_string()),
    })?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(ValuesError::NotAMapping {
            origin: origin.to_string(),
        }),
    }
}

/// The parser's first line, without the location prefix we print ourselves.
fn yaml_message(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.split_once(": ") {
        Some((location, rest)) if location.starts_with("line ") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// Deep-merges `layer` into `base`: mappings merge key by key, anything else replaces.
pub fn merge(base: &mut Value, layer: Value) {
    match (base, layer) {
        (Value::Object(base), Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

fn apply(
    tree: &mut Value,
    assignment: &Assignment,
    flag: &'static str,
    expr: &str,
) -> Result<(), ValuesError> {
    let mut node = tree;
    for segment in &assignment.path {
        node = match segment {
            PathSegment::Key(key) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                node.as_object_mut()
                    .expect("object")
                    .entry(key.clone())
                    .or_insert(Value::Null)
            }
            PathSegment::Index(index) => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let list = node.as_array_mut().expect("array");
                if *index > list.len() {
                    return Err(ValuesError::MalformedSet {
                        flag,
                        expr: expr.to_string(),
                        reason: format!(
                            "index {index} skips past the end of a list of {}",
                            list.len()
                        ),
                    });
                }
                if *index == list.len() {
                    list.push(Value::Null);
                }
                &mut list[*index]
            }
        };
    }
    *node = assignment.value.clone();
    Ok(())
}

/// Secret values written into a values file (`secrets.NAME: value`): refused,
/// with where to put them instead.
fn secret_literals(layer: &Value, tree: &Value, origin: &str) -> Vec<Problem> {
    let Some(secrets) = layer.get("secrets").and_then(Value::as_object) else {
        return Vec::new();
    };
    secrets
        .iter()
        .filter(|(_, value)| !value.is_object() && !is_empty_value(value))
        .map(|(name, _)| secret_refused(tree, name, &format!("a values file ({origin})")))
        .collect()
}

fn secret_literal_assignment(assignment: &Assignment, tree: &Value, flag: &str) -> Option<Problem> {
    let name = secret_name_of(&assignment.path)?;
    (!assignment.value.is_object() && !is_empty_value(&assignment.value)).then(|| Problem {
        path: path_to_string(&assignment.path),
        ..secret_refused(tree, name, flag)
    })
}

fn secret_refused(layer: &Value, name: &str, place: &str) -> Problem {
    let from_env = layer
        .pointer(&format!("/secrets/{name}/fromEnv"))
        .and_then(Value::as_str);
    let hint = match from_env {
        Some(env) => format!(
            "set {env} in the environment or an --env-file, or pass --set-file secrets.{name}=PATH"
        ),
        None => format!(
            "declare it as secrets.{name}: {{fromEnv: VAR}} and set VAR in the environment or an --env-file, or pass --set-file secrets.{name}=PATH"
        ),
    };
    Problem::new(
        format!("secrets.{name}"),
        format!("secret values are not accepted from {place}"),
    )
    .with_hint(hint)
}

fn is_empty_value(value: &Value) -> bool {
    matches!(value, Value::Null) || value.as_str().is_some_and(str::is_empty)
}

/// Secret values: `--set-file` first, then the environment / `--env-file` on top.
fn resolve_secret_values(
    values: &mut Values,
    files: Vec<(String, Value)>,
    env_file: Option<&Path>,
    env: &dyn Environment,
) -> Result<(), ValuesError> {
    let mut problems = Vec::new();
    for (name, value) in files {
        if values.secrets.contains_key(&name) {
            values
                .secret_values
                .set(&name, value.as_str().unwrap_or_default().to_string());
        } else {
            problems.push(unknown_secret(values, &name, "--set-file"));
        }
    }
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    let from_file = match env_file {
        Some(path) => read_env_file(path)?,
        None => HashMap::new(),
    };
    let sources: Vec<(String, String)> = values
        .secrets
        .iter()
        .filter_map(|(name, spec)| Some((name.clone(), spec.from_env.clone()?)))
        .collect();
    for (name, var) in sources {
        if let Some(value) = env.var(&var).or_else(|| from_file.get(&var).cloned()) {
            values.secret_values.set(&name, value);
        }
    }
    Ok(())
}

fn unknown_secret(values: &Values, name: &str, flag: &str) -> Problem {
    let declared: Vec<&str> = values.secrets.keys().map(String::as_str).collect();
    Problem::new(
        format!("secrets.{name}"),
        format!("{flag} names a secret that is not declared"),
    )
    .with_hint(format!(
        "declared secrets: {}; add it under `secrets:` first",
        if declared.is_empty() {
            "none".to_string()
        } else {
            declared.join(", ")
        }
    ))
}

/// Reads a `.env` file without touching the process environment.
pub fn read_env_file(path: &Path) -> Result<HashMap<String, String>, ValuesError> {
    let unreadable = |message: String| ValuesError::UnreadableEnvFile {
        path: path.to_path_buf(),
        message,
    };
    // A parse error's own message quotes the line, which may hold a secret.
    let describe = |e: dotenvy::Error| match e {
        dotenvy::Error::LineParse(_, index) => format!("syntax error at character {index}"),
        other => other.to_string(),
    };
    let iter = dotenvy::from_path_iter(path).map_err(|e| unreadable(describe(e)))?;
    iter.map(|item| item.map_err(|e| unreadable(describe(e))))
        .filter(|item| item.as_ref().map_or(true, |(_, v)| !v.is_empty()))
        .collect()
}
