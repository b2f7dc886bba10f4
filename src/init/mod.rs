//! `berth init`: from a team's repository to a stack berth can deploy. [`scan`] reads the
//! repository into typed findings (each with its source), [`plan`] decides the stack (asking only
//! what it could not decide), and [`write`]/[`specs`] turn the plan into `berth.yaml`,
//! `images/<component>.toml` and `berth.env.example`. Nothing here talks to a cluster.

pub mod classify;
pub mod findings;
pub mod plan;
pub mod scan;
pub mod specs;
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

/// The plan and the files for `findings` with `answers`, checked to load as values.
pub fn generate(dir: &Path, findings: &Findings, answers: &Answers) -> Result<Output, InitError> {
    let plan = plan::plan(findings, answers);
    let mut files = vec![("berth.yaml".to_string(), write::berth_yaml(&plan))];
    for c in &plan.components {
        files.push((
            format!("images/{}.toml", c.service.name),
            specs::spec(dir, &plan.app_name, &c.service),
        ));
    }
    if let plan::DatabasePlan::Internal {
        image: Some((repository, tag)),
        ..
    } = &plan.database
    {
        files.push((
            "images/postgres.toml".into(),
            specs::mirror(repository, tag),
        ));
    }
    if !plan.secrets.is_empty() {
        files.push(("berth.env.example".into(), write::env_example(&plan)));
    }
    check_loads(&files[0].1)?;
    Ok(Output { plan, files })
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
