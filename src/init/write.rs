//! Writing a [`Plan`] as text: `berth.yaml` (values in the model, a comment per detected value
//! saying where it came from) and `berth.env.example` (the secrets to supply, names only).

use std::fmt::Write as _;

use super::plan::{DatabasePlan, EnvEntry, EnvPlan, Plan};

/// A YAML scalar: plain when unambiguous, else double-quoted (JSON strings are YAML).
pub fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
        && !text.starts_with(['-', '.'])
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).expect("strings serialize")
    }
}

fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| scalar(i)).collect();
    format!("[{}]", inner.join(", "))
}

/// `  key: value  # why` with the comment aligned.
fn line(out: &mut String, indent: usize, body: &str, why: &str) {
    let text = format!("{}{body}", " ".repeat(indent));
    if why.is_empty() {
        let _ = writeln!(out, "{text}");
    } else {
        let _ = writeln!(out, "{text:<54} # {}", one_line(why));
    }
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

pub fn berth_yaml(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(
        "# Written by `berth init`. A comment says where each detected value came from;\n",
    );
    out.push_str("# review, then `berth deploy`. Secret values are never written here: see berth.env.example.\n");
    line(
        &mut out,
        0,
        &format!("appName: {}", scalar(&plan.app_name)),
        &plan.app_why,
    );
    line(
        &mut out,
        0,
        &format!("appVersion: {}", scalar(&plan.version)),
        "",
    );
    line(
        &mut out,
        0,
        &format!(
            "namespace: {{name: {}, create: true}}",
            scalar(&plan.app_name)
        ),
        "",
    );
    out.push_str("\ncomponents:\n");
    for c in &plan.components {
        let s = &c.service;
        let _ = writeln!(out, "  {}:", s.name);
        line(
            &mut out,
            4,
            &format!(
                "description: {}",
                scalar(&describe(&s.runtime.value, &s.dir))
            ),
            &s.runtime.source.describe(),
        );
        let repository = scalar(&format!("localhost/{}/{}", plan.app_name, s.name));
        let spec = scalar(&format!("images/{}.toml", s.name));
        let build_env: Vec<&EnvEntry> = c.env.iter().filter(|e| e.build).collect();
        if build_env.is_empty() {
            line(
                &mut out,
                4,
                &format!(
                    "image: {{repository: {repository}, tag: {}, build: {spec}}}",
                    scalar(&plan.version),
                ),
                "",
            );
        } else {
            out.push_str("    image:\n");
            line(&mut out, 6, &format!("repository: {repository}"), "");
            line(&mut out, 6, &format!("tag: {}", scalar(&plan.version)), "");
            line(&mut out, 6, &format!("build: {spec}"), "");
            line(
                &mut out,
                6,
                "buildEnv:",
                "read by the build: baked into the page, built for one origin",
            );
            for e in build_env {
                env_line(&mut out, 8, e);
            }
        }
        if let Some(port) = &s.port {
            line(
                &mut out,
                4,
                &format!("port: {}", port.value),
                &port.source.describe(),
            );
        }
        if let Some(replicas) = &s.replicas {
            line(
                &mut out,
                4,
                &format!("replicas: {}", replicas.value),
                &replicas.source.describe(),
            );
        }
        if let Some(r) = &s.resources {
            let amounts = |(cpu, memory): &(String, String)| {
                format!("{{cpu: {}, memory: {}}}", scalar(cpu), scalar(memory))
            };
            line(
                &mut out,
                4,
                &format!(
                    "resources: {{requests: {}, limits: {}}}",
                    amounts(&r.value.requests),
                    amounts(&r.value.limits)
                ),
                &r.source.describe(),
            );
        }
        if let Some(health) = &s.health {
            line(
                &mut out,
                4,
                &format!("probes: {{http: {}}}", scalar(&health.value)),
                &health.source.describe(),
            );
        }
        if let Some(user) = &s.user {
            let uid = user.value.split(':').next().unwrap_or("");
            line(
                &mut out,
                4,
                &format!("runAsUser: {uid}"),
                &user.source.describe(),
            );
        }
        let mut writable = vec!["/tmp".to_string()];
        if let super::findings::Runtime::NextJs { .. } = s.runtime.value {
            writable.push("/app/.next/cache".into());
        }
        let mut why = "read-only root filesystem; these stay writable".to_string();
        if let Some(dir) = super::specs::python::sqlite_writable(s) {
            if let Some(db) = &s.sqlite {
                why.push_str(&format!(
                    "; {dir}: SQLite's {} ({}; an emptyDir: per pod, lost when the pod is replaced)",
                    db.value, db.source
                ));
            }
            writable.push(dir);
        }
        line(
            &mut out,
            4,
            &format!("writablePaths: [{}]", writable.join(", ")),
            &why,
        );
        if c.env.iter().any(|e| !e.build) {
            out.push_str("    env:\n");
            for e in c.env.iter().filter(|e| !e.build) {
                env_line(&mut out, 6, e);
            }
        }
        if let Some(task) = &s.migration {
            out.push_str("    tasks:\n");
            line(
                &mut out,
                6,
                &format!("migrate: {{command: {}}}", list(&task.value)),
                &task.source.describe(),
            );
        }
        if !c.egress.is_empty() {
            line(
                &mut out,
                4,
                &format!("egress: {}", list(&c.egress)),
                "the API its key is for",
            );
        }
    }
    if !plan.secrets.is_empty() {
        out.push_str("\nsecrets:\n");
        for s in &plan.secrets {
            let mut fields = vec![format!("fromEnv: {}", s.env)];
            if s.generate {
                fields.push("generate: {length: 48}".into());
            }
            if s.required {
                fields.push("required: true".into());
            }
            line(
                &mut out,
                2,
                &format!("{}: {{{}}}", s.name, fields.join(", ")),
                &s.why,
            );
        }
    }
    out.push('\n');
    match &plan.database {
        DatabasePlan::None => line(&mut out, 0, "database: {mode: none}", "no database found"),
        DatabasePlan::Internal {
            name,
            user,
            image,
            why,
            tls,
        } => {
            out.push_str("database:\n");
            line(&mut out, 2, "mode: internal", &format!("from {why}"));
            line(&mut out, 2, &format!("name: {}", scalar(name)), "");
            line(&mut out, 2, &format!("user: {}", scalar(user)), "");
            line(&mut out, 2, "passwordSecret: dbPassword", "");
            let mut internal = Vec::new();
            if let Some((repository, tag)) = image {
                internal.push(format!(
                    "image: {{repository: {}, tag: {}, build: images/postgres.toml}}",
                    scalar(repository),
                    scalar(tag)
                ));
            }
            if tls.is_some() {
                internal.push("tls: true".to_string());
            }
            if !internal.is_empty() {
                let why = tls
                    .as_ref()
                    .map(|t| format!("TLS: {t} (self-signed: encrypted, not verified)"))
                    .unwrap_or_default();
                line(
                    &mut out,
                    2,
                    &format!("internal: {{{}}}", internal.join(", ")),
                    &why,
                );
            }
        }
        DatabasePlan::External { secret, why, .. } => {
            out.push_str("database:\n");
            line(&mut out, 2, "mode: external", &format!("from {why}"));
            line(
                &mut out,
                2,
                &format!("external: {{urlSecret: {secret}}}"),
                "",
            );
        }
    }
    out.push_str("\nexpose:\n  mode: nodePort\n");
    if let Some((port, why)) = &plan.node_port {
        line(&mut out, 2, &format!("nodePort: {port}"), why);
    }
    out.push_str("  routes:\n");
    for r in &plan.routes {
        let target = if r.strip_prefix {
            format!("{{component: {}, stripPrefix: true}}", r.component)
        } else {
            r.component.clone()
        };
        line(
            &mut out,
            4,
            &format!("{}: {target}", scalar(&r.prefix)),
            &r.why,
        );
    }
    out
}

/// `NAME: value  # why` for an env or build value.
fn env_line(out: &mut String, indent: usize, e: &EnvEntry) {
    let value = match &e.value {
        EnvPlan::Plain(v) => serde_json::to_string(v).expect("strings serialize"),
        EnvPlan::Secret(name) => format!("{{secret: {name}}}"),
        EnvPlan::UrlOf { component, path } if path.is_empty() => {
            format!("{{urlOf: {component}}}")
        }
        EnvPlan::UrlOf { component, path } => {
            format!("{{urlOf: {component}, path: {}}}", scalar(path))
        }
        EnvPlan::ExternalUrl(path) => format!("{{externalUrl: {}}}", scalar(path)),
        EnvPlan::Database {
            part,
            driver: Some(d),
        } => format!("{{database: {part}, driver: {d}}}"),
        EnvPlan::Database { part, driver: None } => format!("{{database: {part}}}"),
    };
    let why = match &e.value {
        EnvPlan::Plain(v) if v.is_empty() => format!("TODO: no value found ({})", e.why),
        _ => e.why.clone(),
    };
    line(out, indent, &format!("{}: {value}", e.name), &why);
}

fn describe(runtime: &super::findings::Runtime, dir: &str) -> String {
    use super::findings::Runtime::*;
    let what = match runtime {
        NextJs { standalone: true } => "Next.js (standalone output)".to_string(),
        NextJs { standalone: false } => "Next.js (next start)".to_string(),
        StaticSite { .. } => "static site".to_string(),
        Node { .. } => "Node server".to_string(),
        Asgi { app } => format!("ASGI app {app}"),
        McpHttp { path, .. } => format!("MCP server over HTTP at {path}"),
        Django { settings, .. } => format!("Django project ({settings})"),
    };
    format!("{what} in {dir}")
}

/// The secrets the user provides, names only, one a line.
pub fn env_example(plan: &Plan) -> String {
    let mut out = String::from(
        "# Secrets for berth (written by `berth init`): set them in the environment or in a\n# file passed with `berth deploy --env-file`. Never commit real values.\n",
    );
    for s in &plan.secrets {
        let note = match (s.required, s.generate) {
            (true, _) => "required",
            (false, true) => "optional: generated when empty",
            (false, false) => "optional: left out when empty",
        };
        let _ = writeln!(out, "# {} ({note})\n{}=", s.name, s.env);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(scalar("/api/health"), "/api/health");
        assert_eq!(scalar("3.12"), "\"3.12\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("@better-auth/cli"), "\"@better-auth/cli\"");
        assert_eq!(scalar("a b"), "\"a b\"");
    }
}
