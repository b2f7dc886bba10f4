//! The database part of the plan: in-cluster or external, from compose, URLs and the answer.

use super::*;

/// Node packages that reach the database through Neon's proxy (WebSocket or HTTP), which an
/// in-cluster PostgreSQL does not speak.
const NEON_DRIVERS: [&str; 3] = [
    "@neondatabase/serverless",
    "@prisma/adapter-neon",
    "@neondatabase/neon-js",
];

/// A service whose driver only talks to Neon: the database is external (Neon), whatever compose
/// runs for local development. Its URL's variable is the one the root `.env.example` gives a
/// database URL under (the name the team's `.env` already uses), else the one the code reads.
fn neon_driver(
    findings: &Findings,
    services: &[Service],
    url_var: Option<(&String, &Found<EnvUse>)>,
    plan: &mut Plan,
) -> Option<DatabasePlan> {
    let (service, driver) = services.iter().find_map(|s| {
        let driver = NEON_DRIVERS
            .iter()
            .find(|d| s.packages.iter().any(|p| p == *d))?;
        Some((s, *driver))
    })?;
    let root_example = findings.env_files.iter().find(|(var, found, dir)| {
        dir == "."
            && found.value.example.is_some()
            && classify::classify(var, found.value.example.as_deref()) == Class::DatabaseUrl
    });
    let Some(variable) = root_example
        .map(|(var, found, _)| (var.clone(), found.source.to_string()))
        .or_else(|| url_var.map(|(var, found)| (var.clone(), found.source.to_string())))
    else {
        // No name for the URL anywhere: inventing one would give the app a variable it never
        // reads. The database is still not the compose PostgreSQL; the team names it.
        plan.assumptions.push(format!(
            "{} uses {driver}, which reaches the database only through Neon's proxy, but no variable holding its URL was found: no database is planned; add the Neon URL as a secret in berth.yaml",
            service.name
        ));
        return Some(DatabasePlan::None);
    };
    if let Some(Found { source, .. }) = &findings.database {
        plan.assumptions.push(format!(
            "the PostgreSQL of {source} is not deployed: {} uses {driver}, which reaches the database through Neon's proxy; supply the Neon URL as {}",
            service.name, variable.0
        ));
    }
    Some(DatabasePlan::External {
        secret: classify::secret_name(&variable.0),
        env: variable.0,
        why: format!(
            "{} uses {driver} (Neon's proxy protocol): the database is Neon, its URL's name from {}",
            service.name, variable.1
        ),
    })
}

pub(super) fn database(
    findings: &Findings,
    services: &[Service],
    answers: &Answers,
    plan: &mut Plan,
) -> DatabasePlan {
    let mut database = placement(findings, services, answers, plan);
    if let DatabasePlan::Internal { tls, .. } = &mut database {
        // Code that insists on TLS (written for Neon) cannot connect to a database without it.
        *tls = services.iter().find_map(|s| {
            let found = s.database_tls.as_ref()?;
            Some(format!("{} asks for it at {}", s.name, found.source))
        });
    }
    database
}

/// Where the database runs: in the cluster, external or none.
fn placement(
    findings: &Findings,
    services: &[Service],
    answers: &Answers,
    plan: &mut Plan,
) -> DatabasePlan {
    // A database URL variable, preferring one with an example value (it says where the database is).
    let url_vars: Vec<(&String, &Found<EnvUse>)> = services
        .iter()
        .flat_map(|s| s.env.iter())
        .filter(|(v, f)| classify::classify(v, f.value.example.as_deref()) == Class::DatabaseUrl)
        .collect();
    let url_var = url_vars
        .iter()
        .find(|(_, f)| f.value.example.is_some())
        .or_else(|| url_vars.first())
        .copied();
    if let Some(external) = neon_driver(findings, services, url_var, plan) {
        return external;
    }
    match &findings.database {
        Some(Found {
            value: DatabaseFinding::Compose { image, name, user },
            source,
        }) => {
            let fallback = plan.app_name.replace('-', "_");
            let image = image.split_once(':').map(|(r, t)| {
                let repo = if r.contains('/') {
                    r.to_string()
                } else {
                    format!("docker.io/library/{r}")
                };
                (repo, t.to_string())
            });
            DatabasePlan::Internal {
                name: name.clone().unwrap_or_else(|| fallback.clone()),
                user: user.clone().unwrap_or(fallback),
                image,
                why: source.to_string(),
                tls: None,
            }
        }
        Some(Found {
            value: DatabaseFinding::External { variable },
            source,
        }) => DatabasePlan::External {
            secret: classify::secret_name(variable),
            env: variable.clone(),
            why: source.to_string(),
        },
        None => {
            let Some((var, found)) = url_var else {
                return DatabasePlan::None;
            };
            let remote = found
                .value
                .example
                .as_deref()
                .and_then(|e| url::Url::parse(e).ok())
                .and_then(|u| {
                    let host = u.host_str()?.to_string();
                    Some(!matches!(
                        host.as_str(),
                        "localhost" | "127.0.0.1" | "db" | "postgres" | "database"
                    ))
                });
            let external = match (remote, answers.external_database) {
                (Some(remote), _) => remote,
                (None, Some(answer)) => answer,
                (None, None) => {
                    plan.questions.push(Question::DatabaseMode {
                        variable: var.clone(),
                    });
                    plan.assumptions.push(format!(
                        "{var} has no example value: assumed berth runs PostgreSQL in the cluster (set database.mode: external and supply {var} for a hosted one)"
                    ));
                    false
                }
            };
            if external {
                DatabasePlan::External {
                    secret: classify::secret_name(var),
                    env: var.clone(),
                    why: format!("{} (a hosted PostgreSQL URL)", found.source),
                }
            } else {
                let name = plan.app_name.replace('-', "_");
                DatabasePlan::Internal {
                    name: name.clone(),
                    user: name,
                    image: None,
                    why: format!("{} reads a database URL", found.source),
                    tls: None,
                }
            }
        }
    }
}
