//! `berth init`: from a team's repository to a stack berth can deploy. [`scan`] reads the
//! repository into typed findings (each with its source), [`plan`] decides the stack (asking only
//! what it could not decide), and [`write`]/[`specs`] turn the plan into `berth.yaml`,
//! `images/<component>.toml` and `berth.env.example`. Nothing here talks to a cluster.

pub mod classify;
pub mod findings;
pub mod migrations;
pub mod plan;
pub mod scan;
pub mod specs;
pub mod tasks;
pub mod write;

use std::path::{Path, PathBuf};

pub use findings::Findings;
pub use plan::{Answers, Plan, Question};

/// Why init wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "found nothing to deploy in {0}: no package.json with a start, next or vite setup, and no Python project (requirements.txt, uv.lock or poetry.lock) with a FastAPI app or MCP server"
    )]
    NothingFound(PathBuf),
    #[error("{} already exist; nothing was written (use --force to overwrite)", .0.join(", "))]
    Exists(Vec<String>),
    #[error("the written berth.yaml does not load (a bug in berth init, please report it): {0}")]
    Invalid(String),
    #[error(
        "the written {file} does not check as an image spec (a bug in berth init, please report it): {error}"
    )]
    InvalidSpec { file: String, error: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files init writes, relative to the repository, with their text.
#[derive(Debug, Clone)]
pub struct Output {
    pub plan: Plan,
    pub files: Vec<(String, String)>,
}

/// Scan `dir` (no writes).
pub fn scan(dir: &Path) -> Result<Findings, InitError> {
    if !dir.is_dir() {
        return Err(InitError::NotADirectory(dir.to_path_buf()));
    }
    let findings = scan::scan(dir);
    if findings.services.is_empty() {
        return Err(InitError::NothingFound(dir.to_path_buf()));
    }
    Ok(findings)
}

/// The plan and the files for `findings` with `answers`, each checked the way berth reads it:
/// the values load, every spec parses and resolves (placeholders, inputs, copy paths, `$VAR`s)
/// and every task's command exists in the image that runs it.
pub fn generate(dir: &Path, findings: &Findings, answers: &Answers) -> Result<Output, InitError> {
    let mut plan = plan::plan(findings, answers);
    check_tasks(dir, &mut plan);
    let mut specs = Vec::new();
    for c in &plan.components {
        let spec = specs::spec(dir, &plan.app_name, &c.service);
        plan.left_to_user.extend(spec.notes);
        specs.push((format!("images/{}.toml", c.service.name), spec.text));
    }
    if let plan::DatabasePlan::Internal {
        image: Some((repository, tag)),
        ..
    } = &plan.database
    {
        specs.push((
            "images/postgres.toml".into(),
            specs::mirror(repository, tag),
        ));
    }
    let mut files = vec![("berth.yaml".to_string(), write::berth_yaml(&plan))];
    files.extend(specs);
    if !plan.secrets.is_empty() {
        files.push(("berth.env.example".into(), write::env_example(&plan)));
    }
    check_loads(&files[0].1)?;
    for (file, text) in files.iter().filter(|(f, _)| f.ends_with(".toml")) {
        check_spec(dir, file, text)?;
    }
    Ok(Output { plan, files })
}

/// Keep only tasks whose command the component's image has (rewritten into the form that runs
/// there) and that can succeed on an empty database (alembic migrations whose foreign keys point
/// at tables they create); tell the user about the others.
fn check_tasks(dir: &Path, plan: &mut Plan) {
    let services: Vec<findings::Service> =
        plan.components.iter().map(|c| c.service.clone()).collect();
    for c in &mut plan.components {
        let Some(task) = c.service.migration.take() else {
            continue;
        };
        let checked = tasks::resolve(dir, &c.service, &task.value).and_then(|command| {
            let alembic = command.iter().any(|w| w == "alembic");
            match alembic
                .then(|| migrations::not_self_contained(dir, &plan.app_name, &c.service, &services))
            {
                Some(Some(why)) => Err(why),
                _ => Ok(command),
            }
        });
        match checked {
            Ok(command) => c.service.migration = Some(findings::Found::new(command, task.source)),
            Err(why) => plan.left_to_user.push(format!(
                "{}: migration task not written ({}): {why}",
                c.service.name, task.source
            )),
        }
    }
}

/// Parse and resolve a written spec the way `berth images build --dry-run` does (tools are the
/// build's business: a missing one is reported then, and by `berth doctor`).
fn check_spec(dir: &Path, file: &str, text: &str) -> Result<(), InitError> {
    let name = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let invalid = |error: String| InitError::InvalidSpec {
        file: file.to_string(),
        error,
    };
    let spec = crate::images::spec::parse(&name, text, dir).map_err(|e| invalid(e.to_string()))?;
    let settings = crate::images::BuildSettings::new(dir);
    crate::images::check::check_spec(&spec, &settings, &crate::images::Platform::default())
        .map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

/// Load the written values the way `berth render` would (without secrets), so init never
/// leaves a file that berth itself refuses.
fn check_loads(yaml: &str) -> Result<(), InitError> {
    let invalid = |e: &dyn std::fmt::Display| InitError::Invalid(e.to_string());
    let tmp = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .map_err(|e| invalid(&e))?;
    std::fs::write(tmp.path(), yaml).map_err(|e| invalid(&e))?;
    let sources = crate::values::ValueSources {
        stack: Some(tmp.path().to_path_buf()),
        ..Default::default()
    };
    let env = std::collections::HashMap::<String, String>::new();
    crate::values::load_unchecked_secrets(&sources, &env).map_err(|e| invalid(&e))?;
    Ok(())
}

/// Write `output` under `dir`; refuses (writing nothing) when a file exists, unless `force`.
pub fn write_files(dir: &Path, output: &Output, force: bool) -> Result<(), InitError> {
    if !force {
        let existing: Vec<String> = output
            .files
            .iter()
            .filter(|(p, _)| dir.join(p).exists())
            .map(|(p, _)| p.clone())
            .collect();
        if !existing.is_empty() {
            return Err(InitError::Exists(existing));
        }
    }
    for (rel, text) in &output.files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InitError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| InitError::Write { path, source })?;
    }
    Ok(())
}
