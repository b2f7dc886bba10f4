//! Host-side build steps (`run` layers): placeholders (build values and the target platform's
//! names, see [`Platform::placeholders`]), the build environment the stack gives the image
//! (`image.buildEnv`), a content-keyed cache of their output directories, and failures that show
//! the command's output.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::error::ErrorKind;
use super::excerpt;
use super::platform::Platform;
use super::store::{Digest, hash_file};
use super::wheels;

/// A `run` layer whose placeholders are checked; `{out}` is resolved by [`run_step`], once the
/// output directory exists.
#[derive(Debug)]
pub struct Step {
    /// Command and arguments as shown to the user (`{out}` standing for the output directory).
    pub argv: Vec<String>,
    /// Extra environment, as shown (`{out}` standing for the output directory).
    pub env: BTreeMap<String, String>,
    /// The stack's build environment for this image (`image.buildEnv`, resolved): set as
    /// written, never expanded, and over the spec's `env`.
    pub build_env: BTreeMap<String, String>,
    /// Working directory (the context).
    pub context: PathBuf,
    /// Cache key: command, environment, platform and the content of the inputs.
    pub key: Digest,
    /// Directories put first on the command's `PATH` (berth's installed tools); not part of
    /// the key, so where the cache lives does not matter.
    pub path_prefix: Vec<PathBuf>,
    /// The spec's `run` and `env` and the placeholder values, expanded again in [`run_step`]
    /// with the real output directory: expanding the already-expanded text would turn an
    /// escaped `{{out}` into the output directory.
    run: Vec<String>,
    env_templates: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
}

/// Replace `{out}` with `out`, `{context}` and `{name}` build values. `{{` is a literal `{`
/// (for a shell's `${VAR}`, a JSON argument or a literal `{out}`, written `{{out}`); a lone `}`
/// is always literal.
pub fn substitute(
    text: &str,
    context: &Path,
    out: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, ErrorKind> {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        result.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            result.push('{');
            rest = escaped;
            continue;
        }
        let Some(end) = after.find('}') else {
            return Err(ErrorKind::Spec(format!("unclosed placeholder in {text:?}")));
        };
        let name = &after[..end];
        match name {
            "out" => result.push_str(out),
            "context" => result.push_str(&context.to_string_lossy()),
            _ => match values.get(name) {
                Some(v) => result.push_str(v),
                None => {
                    let known: Vec<&str> = values.keys().map(String::as_str).collect();
                    return Err(ErrorKind::Spec(format!(
                        "unknown placeholder {{{name}}} in {text:?} (known: out, context{}{})",
                        if known.is_empty() { "" } else { ", " },
                        known.join(", ")
                    )));
                }
            },
        }
        rest = &after[end + 1..];
    }
    result.push_str(rest);
    Ok(result)
}

/// Resolve placeholders and compute the cache key of a `run` layer; `build_env` is the stack's
/// build environment for the image (see [`Step::build_env`]).
pub fn prepare(
    run: &[String],
    env: &BTreeMap<String, String>,
    inputs: &[String],
    context: &Path,
    values: &BTreeMap<String, String>,
    build_env: &BTreeMap<String, String>,
    platform: &Platform,
) -> Result<Step, ErrorKind> {
    // Build values, then the target platform's names (they win: a step must not be told a
    // platform other than the one the image is for).
    let mut all_values = values.clone();
    all_values.extend(platform.placeholders());
    let (argv, shown_env) = expand(run, env, context, "{out}", &all_values)?;
    let mut input_digests = Vec::new();
    for input in inputs {
        hash_input(&context.join(input), input, &mut input_digests)?;
    }
    // The context's absolute path is part of `argv`; key on the spec's text instead so a moved
    // checkout still hits the cache.
    let mut key_source = json!({
        "version": 1,
        "run": run,
        "env": shown_env,
        "values": values,
        "platform": platform.to_string(),
        "inputs": input_digests,
    });
    // A new origin is a new build; without build values the key is what it always was, so
    // caches filled before `buildEnv` existed still hit.
    if !build_env.is_empty() {
        key_source["buildEnv"] = json!(build_env);
    }
    let key = Digest::of(key_source.to_string().as_bytes());
    Ok(Step {
        argv,
        env: shown_env,
        build_env: build_env.clone(),
        context: context.to_owned(),
        key,
        path_prefix: Vec::new(),
        run: run.to_vec(),
        env_templates: env.clone(),
        values: all_values,
    })
}

type Expanded = (Vec<String>, BTreeMap<String, String>);

/// `run` and `env` with every placeholder replaced, `{out}` by `out`.
fn expand(
    run: &[String],
    env: &BTreeMap<String, String>,
    context: &Path,
    out: &str,
    values: &BTreeMap<String, String>,
) -> Result<Expanded, ErrorKind> {
    let argv = run
        .iter()
        .map(|a| substitute(a, context, out, values))
        .collect::<Result<Vec<_>, _>>()?;
    let env = env
        .iter()
        .map(|(k, v)| Ok((k.clone(), substitute(v, context, out, values)?)))
        .collect::<Result<BTreeMap<_, _>, ErrorKind>>()?;
    Ok((argv, env))
}

fn hash_input(path: &Path, rel: &str, out: &mut Vec<(String, String)>) -> Result<(), ErrorKind> {
    let meta = fs::metadata(path).map_err(|e| ErrorKind::io("read step input", path, e))?;
    if meta.is_dir() {
        let mut children: Vec<_> = fs::read_dir(path)
            .map_err(|e| ErrorKind::io("read step input", path, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        children.sort();
        for child in children {
            hash_input(&path.join(&child), &format!("{rel}/{child}"), out)?;
        }
    } else {
        out.push((rel.to_owned(), hash_file(path)?.0.to_string()));
    }
    Ok(())
}

/// Run `step` unless its output is cached under `steps_dir`; returns the output directory.
///
/// The command writes into a fresh temporary directory that is renamed to `steps_dir/<key>` only
/// when it succeeds, so a failed or interrupted step is never reused. A step that installs Python
/// packages for the image's platform and fails for want of a wheel runs again with a pure-Python
/// wheel built here from the requirement's source (see [`super::wheels`]; kept in
/// `steps_dir/wheels`); `report` hears about each.
pub fn run_step(
    step: &Step,
    steps_dir: &Path,
    epoch: u64,
    report: &dyn Fn(&str),
) -> Result<PathBuf, ErrorKind> {
    let done = steps_dir.join(step.key.hex());
    if done.is_dir() {
        return Ok(done);
    }
    fs::create_dir_all(steps_dir).map_err(|e| ErrorKind::io("create directory", steps_dir, e))?;
    let mut find_links: Vec<PathBuf> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let tmp = loop {
        let tmp = tempfile::Builder::new()
            .prefix(".running-")
            .tempdir_in(steps_dir)
            .map_err(|e| ErrorKind::io("create directory in", steps_dir, e))?;
        let out = tmp.path().to_string_lossy().into_owned();
        let (argv, env) = expand(
            &step.run,
            &step.env_templates,
            &step.context,
            &out,
            &step.values,
        )?;
        let command_line = shell_words(&argv);
        let mut command = step.command(&argv[0], &env, epoch);
        if !find_links.is_empty() {
            command.env("PIP_FIND_LINKS", with_find_links(&env, step, &find_links));
        }
        let output = command
            .args(&argv[1..])
            .output()
            .map_err(|e| ErrorKind::StepFailed {
                command: command_line.clone(),
                status: format!("could not start: {e}"),
                output: String::new(),
            })?;
        if output.status.success() {
            break tmp;
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let mut pip_env = env.clone();
        pip_env.extend(step.build_env.clone());
        if wheels::targets_a_platform(&pip_env)
            && let Some(requirement) = wheels::missing_requirement(&text)
            && !tried.contains(&requirement)
            && tried.len() < MAX_SOURCE_WHEELS
        {
            let target = wheels::target_description(
                &argv,
                &pip_env,
                step.values.get("os").map_or("linux", String::as_str),
                step.values
                    .get("uname_arch")
                    .map_or(std::env::consts::ARCH, String::as_str),
            );
            let index = ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"]
                .into_iter()
                .filter_map(|name| {
                    let value = pip_env
                        .get(name)
                        .cloned()
                        .or_else(|| std::env::var(name).ok())?;
                    Some((name.to_owned(), value))
                })
                .collect();
            let dir = wheels::pure_wheel(
                &requirement,
                wheels::WheelBuild {
                    pip: step.command("pip", &env, epoch),
                    wheels_dir: &steps_dir.join("wheels"),
                    target: &target,
                    index,
                },
            )?;
            report(&format!(
                "{} has no wheel for {target}: using a pure-Python wheel built here from its source, running the step again",
                wheels::describe(&requirement)
            ));
            tried.push(requirement);
            find_links.push(dir);
            continue;
        }
        return Err(ErrorKind::StepFailed {
            command: command_line,
            status: output.status.to_string(),
            output: excerpt::excerpt(&text),
        });
    };
    let kept = tmp.keep();
    if let Err(e) = fs::rename(&kept, &done) {
        // Another build finished the same step first: its output is as good as ours.
        let _ = fs::remove_dir_all(&kept);
        if !done.is_dir() {
            return Err(ErrorKind::io("rename step output to", &done, e));
        }
    }
    Ok(done)
}

/// How many source-only requirements one step may have built (each costs a run of the step).
const MAX_SOURCE_WHEELS: usize = 32;

/// `PIP_FIND_LINKS` for a step's run: what the step or this machine already sets, then berth's
/// wheel directories (pip takes a space-separated list).
fn with_find_links(env: &BTreeMap<String, String>, step: &Step, dirs: &[PathBuf]) -> String {
    let existing = step
        .build_env
        .get("PIP_FIND_LINKS")
        .or_else(|| env.get("PIP_FIND_LINKS"))
        .cloned()
        .or_else(|| std::env::var("PIP_FIND_LINKS").ok());
    existing
        .into_iter()
        .filter(|v| !v.trim().is_empty())
        .chain(dirs.iter().map(|d| d.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Step {
    /// `program` as the step runs: berth's tools first on `PATH`, the context as working
    /// directory, the step's environment (expanded, `env`) under the stack's build environment,
    /// and `SOURCE_DATE_EPOCH`.
    fn command(&self, program: &str, env: &BTreeMap<String, String>, epoch: u64) -> Command {
        let mut command = Command::new(program);
        if !self.path_prefix.is_empty() && !env.contains_key("PATH") {
            let mut dirs = self.path_prefix.clone();
            dirs.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            if let Ok(path) = std::env::join_paths(dirs) {
                command.env("PATH", path);
            }
        }
        command
            .current_dir(&self.context)
            .envs(env)
            .envs(&self.build_env)
            .env("SOURCE_DATE_EPOCH", epoch.to_string());
        command
    }
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:{}@+,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, String> {
        [("external_url".to_owned(), "http://todo.local".to_owned())].into()
    }

    #[test]
    fn placeholders() {
        let ctx = Path::new("/src/app");
        let sub = |text: &str| substitute(text, ctx, "/steps/out", &values());
        assert_eq!(sub("{context}/req.txt").unwrap(), "/src/app/req.txt");
        assert_eq!(sub("--target={out}").unwrap(), "--target=/steps/out");
        assert_eq!(sub("{external_url}/api").unwrap(), "http://todo.local/api");
        let err = sub("{nope}").unwrap_err().to_string();
        assert!(
            err.contains("{nope}") && err.contains("external_url"),
            "{err}"
        );
        assert!(sub("{out").is_err());
        assert_eq!(
            sub("echo ${{HOME} '{{\"a\": 1}' {context}").unwrap(),
            "echo ${HOME} '{\"a\": 1}' /src/app",
            "`{{` is a literal brace"
        );
        assert_eq!(
            sub("{{out} {{{out}} }").unwrap(),
            "{out} {/steps/out} }",
            "{}",
            "`{{out}` is the literal text `{out}`, `{{{out}}` the output directory in braces"
        );
    }

    /// The escape survives the two expansions (checked at prepare, run with the real output
    /// directory): the command sees `{out}` as text and `{out}` in `env` is the directory.
    #[test]
    fn an_escaped_out_reaches_the_command_as_text() {
        let ctx = tempfile::tempdir().unwrap();
        let run = vec![
            "sh".into(),
            "-c".into(),
            "printf %s '{{out}' > {out}/literal; printf %s \"$DEST\" > {out}/env".into(),
        ];
        let env: BTreeMap<String, String> = [("DEST".to_owned(), "{out}/x".to_owned())].into();
        let step = prepare(
            &run,
            &env,
            &[],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &Platform::default(),
        )
        .unwrap();
        assert_eq!(
            step.argv[2],
            "printf %s '{out}' > {out}/literal; printf %s \"$DEST\" > {out}/env"
        );
        let steps = tempfile::tempdir().unwrap();
        let out = run_step(&step, steps.path(), 0, &|_| {}).unwrap();
        assert_eq!(fs::read_to_string(out.join("literal")).unwrap(), "{out}");
        let dest = fs::read_to_string(out.join("env")).unwrap();
        assert!(
            dest.ends_with("/x")
                && !dest.contains('{')
                && dest.starts_with(&*steps.path().to_string_lossy()),
            "{dest}"
        );
    }

    #[test]
    fn steps_see_the_target_platform() {
        let ctx = tempfile::tempdir().unwrap();
        let run = vec!["npm".into(), "ci".into(), "--cpu={npm_cpu}".into()];
        let env: BTreeMap<String, String> =
            [("PIP_PLATFORM".to_owned(), "{pip_platforms}".to_owned())].into();
        let arm: Platform = "linux/arm64".parse().unwrap();
        let step = prepare(
            &run,
            &env,
            &[],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &arm,
        )
        .unwrap();
        assert_eq!(step.argv[2], "--cpu=arm64");
        assert!(step.env["PIP_PLATFORM"].starts_with("manylinux_2_36_aarch64 "));
        let amd = prepare(
            &run,
            &env,
            &[],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &Platform::default(),
        )
        .unwrap();
        assert_eq!(amd.argv[2], "--cpu=x64");
        assert_ne!(step.key, amd.key, "each platform has its own cached output");
    }

    /// The stack's build environment reaches the command as written (braces are not
    /// placeholders there), wins over the spec's own `env`, and is part of the key: a new value
    /// runs the step again, the same value is served from the cache.
    #[test]
    fn build_env_reaches_the_command_and_keys_the_cache() {
        let ctx = tempfile::tempdir().unwrap();
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("ran.log");
        let script = format!(
            "printf %s \"$VITE_API_URL|$VITE_MODE\" > {{out}}/env && echo ran >> {}",
            log.display()
        );
        let run = vec!["sh".into(), "-c".into(), script];
        let spec_env: BTreeMap<String, String> =
            [("VITE_MODE".to_owned(), "from-spec".to_owned())].into();
        let prep = |url: &str| {
            let build_env: BTreeMap<String, String> = [
                ("VITE_API_URL".to_owned(), url.to_owned()),
                ("VITE_MODE".to_owned(), "{not-a-placeholder}".to_owned()),
            ]
            .into();
            prepare(
                &run,
                &spec_env,
                &[],
                ctx.path(),
                &values(),
                &build_env,
                &Platform::default(),
            )
            .unwrap()
        };
        let steps = tempfile::tempdir().unwrap();
        let ran = || fs::read_to_string(&log).unwrap().lines().count();
        let first = run_step(&prep("http://a.example/api"), steps.path(), 0, &|_| {}).unwrap();
        assert_eq!(
            fs::read_to_string(first.join("env")).unwrap(),
            "http://a.example/api|{not-a-placeholder}"
        );
        let again = run_step(&prep("http://a.example/api"), steps.path(), 0, &|_| {}).unwrap();
        assert_eq!((again, ran()), (first.clone(), 1), "same origin: cached");
        let other = run_step(&prep("http://b.example/api"), steps.path(), 0, &|_| {}).unwrap();
        assert_ne!(other, first);
        assert_eq!(ran(), 2, "new origin: the step runs again");
        assert_eq!(
            fs::read_to_string(other.join("env")).unwrap(),
            "http://b.example/api|{not-a-placeholder}"
        );
        let without = prepare(
            &run,
            &spec_env,
            &[],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &Platform::default(),
        )
        .unwrap();
        assert_ne!(without.key, prep("http://a.example/api").key);
    }

    #[test]
    fn key_follows_input_content_and_output_is_cached() {
        let ctx = tempfile::tempdir().unwrap();
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("ran.log");
        fs::write(ctx.path().join("req.txt"), "a==1\n").unwrap();
        let script = format!("cp req.txt {{out}}/copied && echo ran >> {}", log.display());
        let run = vec!["sh".into(), "-c".into(), script];
        let prep = || {
            prepare(
                &run,
                &BTreeMap::new(),
                &["req.txt".into()],
                ctx.path(),
                &values(),
                &BTreeMap::new(),
                &Platform::default(),
            )
            .unwrap()
        };
        let steps = tempfile::tempdir().unwrap();
        let first = prep();
        let out = run_step(&first, steps.path(), 0, &|_| {}).unwrap();
        assert_eq!(fs::read_to_string(out.join("copied")).unwrap(), "a==1\n");
        assert_eq!(prep().key, first.key);
        run_step(&prep(), steps.path(), 0, &|_| {}).unwrap();
        assert_eq!(
            fs::read_to_string(&log).unwrap().lines().count(),
            1,
            "second run must come from the cache"
        );
        fs::write(ctx.path().join("req.txt"), "a==2\n").unwrap();
        assert_ne!(prep().key, first.key);
    }

    #[test]
    fn failing_step_shows_output_and_leaves_nothing() {
        let ctx = tempfile::tempdir().unwrap();
        let steps = tempfile::tempdir().unwrap();
        let run = vec![
            "sh".into(),
            "-c".into(),
            "echo resolving deps; echo 'no matching distribution' >&2; exit 3".into(),
        ];
        let step = prepare(
            &run,
            &BTreeMap::new(),
            &[],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &Platform::default(),
        )
        .unwrap();
        let err = run_step(&step, steps.path(), 0, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no matching distribution") && err.contains("exit status: 3"),
            "{err}"
        );
        assert_eq!(
            fs::read_dir(steps.path()).unwrap().count(),
            0,
            "failed output must not be kept"
        );
        let missing = prepare(
            &run,
            &BTreeMap::new(),
            &["requirements.txt".into()],
            ctx.path(),
            &values(),
            &BTreeMap::new(),
            &Platform::default(),
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("requirements.txt")
        );
    }
}
