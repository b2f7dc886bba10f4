//! Layering: embedded defaults ← `-f` files ← `--set` ← `--set-string` ←
//! `--set-file` ← secrets from the environment / `--env-file`; then unknown keys,
//! types, rules and required secrets are checked, in that order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::{Problem, ValuesError};
use super::model::Values;
use super::secrets::{SECRET_KEYS, missing_secrets, secret_key};
use super::set_args::{Assignment, PathSegment, ValueKind, parse_set, path_to_string};
use super::{keys, schema, validate};

/// The embedded default values (the Todo chatbot stack).
pub const DEFAULT_VALUES_YAML: &str = include_str!("../../values/values.yaml");
/// The bundled profiles, embedded so the wizard works without the repository.
pub const DEV_VALUES_YAML: &str = include_str!("../../values/dev.yaml");
pub const PROD_VALUES_YAML: &str = include_str!("../../values/prod.yaml");

/// Where values come from, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ValueSources {
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
    for path in &sources.files {
        let layer = read_values_file(path)?;
        problems.extend(secret_literals(&layer, &path.display().to_string()));
        merge(&mut tree, layer);
    }
    for (origin, layer) in &sources.layers {
        problems.extend(secret_literals(layer, origin));
        merge(&mut tree, layer.clone());
    }
    for (flag, exprs, kind) in [
        ("--set", &sources.set, ValueKind::Typed),
        ("--set-string", &sources.set_string, ValueKind::String),
    ] {
        for expr in exprs {
            for assignment in parse_flag(flag, expr, kind)? {
                problems.extend(secret_literal_assignment(&assignment, flag));
                apply(&mut tree, &assignment, flag, expr)?;
            }
        }
    }
    for expr in &sources.set_file {
        let assignment = read_set_file(expr)?;
        apply(&mut tree, &assignment, "--set-file", expr)?;
    }
    if !problems.is_empty() {
        return Err(ValuesError::invalid(problems));
    }
    apply_secret_env(&mut tree, sources.env_file.as_deref(), env)?;
    from_tree(tree)
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
        ValuesError::invalid(vec![type_problem(&path, &message)])
    })?;
    let problems = validate::validate(&values);
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(ValuesError::invalid(problems))
    }
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

/// Non-empty secret values in a values file: refused, with where to put them instead.
fn secret_literals(layer: &Value, origin: &str) -> Vec<Problem> {
    let Some(secrets) = layer.get("secrets").and_then(Value::as_object) else {
        return Vec::new();
    };
    secrets
        .iter()
        .filter(|(key, value)| secret_key(key).is_some() && !is_empty_value(value))
        .map(|(key, _)| secret_refused(key, &format!("a values file ({origin})")))
        .collect()
}

fn secret_literal_assignment(assignment: &Assignment, flag: &str) -> Option<Problem> {
    match assignment.path.as_slice() {
        [PathSegment::Key(top), PathSegment::Key(key)]
            if top == "secrets"
                && secret_key(key).is_some()
                && !is_empty_value(&assignment.value) =>
        {
            Some(secret_refused(key, flag))
        }
        _ => None,
    }
    .map(|p| Problem {
        path: path_to_string(&assignment.path),
        ..p
    })
}

fn secret_refused(key: &str, place: &str) -> Problem {
    let env = secret_key(key).expect("known key").env;
    Problem::new(
        format!("secrets.{key}"),
        format!("secret values are not accepted from {place}"),
    )
    .with_hint(format!(
        "set {env} in the environment or an --env-file, or pass --set-file secrets.{key}=PATH"
    ))
}

fn is_empty_value(value: &Value) -> bool {
    matches!(value, Value::Null) || value.as_str().is_some_and(str::is_empty)
}

/// The top layer: each secret from the process environment, else from `--env-file`.
fn apply_secret_env(
    tree: &mut Value,
    env_file: Option<&Path>,
    env: &dyn Environment,
) -> Result<(), ValuesError> {
    let from_file = match env_file {
        Some(path) => read_env_file(path)?,
        None => HashMap::new(),
    };
    let secrets = tree
        .as_object_mut()
        .expect("values are a mapping")
        .entry("secrets")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(secrets) = secrets.as_object_mut() else {
        return Ok(()); // a type error reported by deserialization
    };
    for key in &SECRET_KEYS {
        if let Some(value) = env.var(key.env).or_else(|| from_file.get(key.env).cloned()) {
            secrets.insert(key.key.to_string(), Value::String(value));
        }
    }
    Ok(())
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
