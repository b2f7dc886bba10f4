//! Saving the answers for scripted re-use: a values file that never holds a
//! secret, and — only when asked — a `.env` file with mode 0600.

use std::io::Write;
use std::path::Path;

use super::answers::Answers;
use crate::manifests::output::to_yaml;

/// Writes the values layer, with a header saying how to re-run it.
pub fn write_values_file(
    answers: &Answers,
    layer: &serde_json::Value,
    path: &Path,
    env_file: Option<&Path>,
) -> std::io::Result<()> {
    let command = answers.scripted_command(
        &path.display().to_string(),
        env_file.map(|p| p.display().to_string()).as_deref(),
    );
    let text = format!(
        "# Saved by the berth deploy wizard. Secrets are not stored here.\n# Re-run without questions: {command}\n{}",
        to_yaml(layer)
    );
    std::fs::write(path, text)
}

/// Writes `KEY=value` lines readable by `--env-file`, creating the file 0600.
pub fn write_env_file(answers: &Answers, path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // An existing file keeps its mode on open; make sure it is private.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let mut env: Vec<_> = answers.secret_env().into_iter().collect();
    env.sort();
    writeln!(
        file,
        "# Secrets for berth deploy --env-file. Keep this file out of git."
    )?;
    for (key, value) in env {
        writeln!(file, "{key}={}", quote(&value)?)?;
    }
    Ok(())
}

/// Single-quoted for dotenv, so `$`, `#` and spaces stay literal; dotenv has no
/// escape inside single quotes, so a value holding one cannot be written.
fn quote(value: &str) -> std::io::Result<String> {
    if value.contains('\'') || value.contains('\n') {
        return Err(std::io::Error::other(
            "a secret holds a quote or newline; pass it with --set-file instead",
        ));
    }
    Ok(format!("'{value}'"))
}
