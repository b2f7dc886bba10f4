//! The questions, asked with dialoguer on stderr. Every question has a default,
//! so pressing Enter throughout deploys the dev profile. Which components and
//! secrets it asks about come from the values, never from code. Nothing here
//! writes to disk or to a cluster.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};

use super::answers::{Answers, DatabaseChoice, ExposeChoice, ImagesChoice, Profile, SecretAnswer};
use super::contexts::ContextChoice;
use crate::ui;
use crate::values::quantity::parse_quantity;
use crate::values::validate::{
    NODE_PORT_RANGE, check_database_url, is_dns_label, is_dns_subdomain,
};
use crate::values::{DatabaseMode, Environment, ExposeMode, Values};

/// Why the wizard stopped without answers.
#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    #[error("interrupted; nothing was written to the cluster or to disk")]
    Interrupted,
    #[error("cannot talk to the terminal: {0}")]
    Terminal(std::io::Error),
}

impl From<dialoguer::Error> for WizardError {
    fn from(err: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(io) = err;
        if io.kind() == std::io::ErrorKind::Interrupted {
            WizardError::Interrupted
        } else {
            WizardError::Terminal(io)
        }
    }
}

type Result<T> = std::result::Result<T, WizardError>;

/// Defaults and what the environment already offers.
pub struct WizardInput<'a> {
    pub contexts: Vec<ContextChoice>,
    pub namespace: String,
    pub release: String,
    /// Values from the defaults and any flags given: they pre-fill the answers.
    pub base: &'a Values,
    /// The process environment and `--env-file`, for keys to offer.
    pub env: &'a dyn Environment,
}

/// What to save after the plan is shown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SaveChoice {
    pub values_file: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
}

pub struct Prompter {
    theme: Box<dyn Theme>,
}

impl Default for Prompter {
    fn default() -> Self {
        let theme: Box<dyn Theme> = if ui::colour_enabled() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        Prompter { theme }
    }
}

impl Prompter {
    /// Asks every question in order.
    pub fn ask(&self, input: &WizardInput<'_>) -> Result<Answers> {
        let context = self.context(&input.contexts)?;
        let namespace = self.text("Namespace", &input.namespace, |s| dns_label(s, "namespace"))?;
        let release = self.text("Release name", &input.release, |s| {
            dns_label(s, "release name")
        })?;
        let profile = match self.select(
            "Profile",
            &[
                "dev (one replica each, fits a small Minikube)",
                "prod (replicas, autoscaling, disruption budgets, network policies)",
            ],
            0,
        )? {
            0 => Profile::Dev,
            _ => Profile::Prod,
        };
        let base = input.base;
        let components = self.components(base)?;
        let database = self.database(base, input.env)?;
        let (database, mut secrets) = match database {
            Some((choice, url)) => (Some(choice), url.into_iter().collect()),
            None => (None, Vec::new()),
        };
        secrets.extend(self.secrets(base, &components, input.env)?);
        let expose = self.expose(base)?;
        let replicas: i32 = self
            .text(
                "Replicas per component",
                &profile.default_replicas().to_string(),
                |s| {
                    s.parse::<i32>()
                        .ok()
                        .filter(|n| (1..=20).contains(n))
                        .map(|_| ())
                        .ok_or_else(|| "a number from 1 to 20".to_string())
                },
            )?
            .parse()
            .expect("validated");
        let local = context
            .as_ref()
            .and_then(|name| input.contexts.iter().find(|c| &c.name == name))
            .is_some_and(|c| c.local.is_some());
        let images = match self.select(
            "Images",
            &[
                "build and load them into the cluster (berth images)",
                "use the existing tags from the values",
            ],
            if local { 0 } else { 1 },
        )? {
            0 => ImagesChoice::BuildAndLoad,
            _ => ImagesChoice::Existing,
        };
        Ok(Answers {
            kube_context: context,
            namespace,
            release,
            profile,
            components,
            database,
            secrets,
            expose,
            replicas,
            images,
        })
    }

    /// Offers to save the answers; secrets go to a `.env` only on an explicit yes.
    pub fn save_choice(&self) -> Result<SaveChoice> {
        if !Confirm::with_theme(&*self.theme)
            .with_prompt("Save these answers as a values file for scripted re-use?")
            .default(false)
            .interact()?
        {
            return Ok(SaveChoice::default());
        }
        let values_file = self.text("Values file", "berth-values.yaml", |s| {
            non_empty(s, "a file name")
        })?;
        let env_file = Confirm::with_theme(&*self.theme)
            .with_prompt("Also write the secrets to a .env file (mode 0600)? Keep it out of git")
            .default(false)
            .interact()?
            .then(|| self.text("Secrets file", ".env", |s| non_empty(s, "a file name")))
            .transpose()?;
        Ok(SaveChoice {
            values_file: Some(values_file.into()),
            env_file: env_file.map(PathBuf::from),
        })
    }

    /// The last question before anything is written.
    pub fn confirm_apply(&self) -> Result<bool> {
        Ok(Confirm::with_theme(&*self.theme)
            .with_prompt("Deploy now?")
            .default(true)
            .interact()?)
    }

    fn context(&self, contexts: &[ContextChoice]) -> Result<Option<String>> {
        if contexts.is_empty() {
            ui::status(
                "No kubeconfig context found; using the in-cluster or default configuration.",
            );
            return Ok(None);
        }
        let labels: Vec<String> = contexts.iter().map(ContextChoice::label).collect();
        let index = self.select("Kubernetes context", &labels, 0)?;
        Ok(Some(contexts[index].name.clone()))
    }

    /// Which of the values' components run.
    fn components(&self, base: &Values) -> Result<BTreeMap<String, bool>> {
        let names: Vec<&String> = base.components.keys().collect();
        let items: Vec<String> = base
            .components
            .iter()
            .map(|(name, c)| {
                let kind = match c.port {
                    Some(port) => format!(":{port}"),
                    None => "worker".to_string(),
                };
                match c.description.as_str() {
                    "" => format!("{name} ({kind})"),
                    d => format!("{name} ({kind}) {d}"),
                }
            })
            .collect();
        let defaults: Vec<bool> = base.components.values().map(|c| c.is_enabled()).collect();
        let chosen = MultiSelect::with_theme(&*self.theme)
            .with_prompt("Components (space toggles, enter accepts)")
            .items(&items)
            .defaults(&defaults)
            .interact()?;
        Ok(names
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), chosen.contains(&i)))
            .collect())
    }

    /// Where the database runs; for an external one, its URL (a secret).
    fn database(
        &self,
        base: &Values,
        env: &dyn Environment,
    ) -> Result<Option<(DatabaseChoice, Option<SecretAnswer>)>> {
        if base.database.mode == DatabaseMode::None {
            return Ok(None);
        }
        let default = usize::from(base.database.mode == DatabaseMode::External);
        match self.select(
            "Database",
            &[
                "PostgreSQL in the cluster (with a volume)",
                "external PostgreSQL URL (e.g. Neon)",
            ],
            default,
        )? {
            0 => {
                let storage = self.text("Volume size", &base.database.internal.storage, |s| {
                    parse_quantity(s)
                        .filter(|q| *q > 0.0)
                        .map(|_| ())
                        .ok_or_else(|| "a size such as 1Gi or 500Mi".to_string())
                })?;
                // No URL to ask for: the password is generated.
                Ok(Some((DatabaseChoice::Internal { storage }, None)))
            }
            _ => {
                let name = &base.database.external.url_secret;
                let from_env = base.secrets.get(name).and_then(|s| s.from_env.clone());
                let key = format!("secrets.{name}");
                let answer = |value: String| SecretAnswer {
                    name: name.clone(),
                    from_env: from_env.clone(),
                    value,
                };
                if let Some(var) = &from_env
                    && let Some(url) = env
                        .var(var)
                        .filter(|u| check_database_url(u, &key).is_empty())
                    && self.confirm(&format!("Use {var} from the environment?"), true)?
                {
                    return Ok(Some((DatabaseChoice::External, Some(answer(url)))));
                }
                let url = Input::<String>::with_theme(&*self.theme)
                    .with_prompt(
                        "Database URL (postgresql://USER:PASSWORD@HOST/DB?sslmode=require)",
                    )
                    .validate_with(|s: &String| match check_database_url(s, &key).first() {
                        None => Ok(()),
                        Some(p) => Err(match &p.hint {
                            Some(hint) => format!("{} ({hint})", p.message),
                            None => p.message.clone(),
                        }),
                    })
                    .interact_text()?;
                Ok(Some((DatabaseChoice::External, Some(answer(url)))))
            }
        }
    }

    /// The secrets the chosen components read that berth cannot generate:
    /// offered from the environment, else asked with hidden input (optional
    /// ones may be skipped with Enter).
    fn secrets(
        &self,
        base: &Values,
        components: &BTreeMap<String, bool>,
        env: &dyn Environment,
    ) -> Result<Vec<SecretAnswer>> {
        let mut answers = Vec::new();
        for name in secrets_to_ask(base, components) {
            let spec = &base.secrets[name];
            let label = spec.from_env.clone().unwrap_or_else(|| name.to_string());
            let found = spec.from_env.as_deref().and_then(|var| env.var(var));
            let value = match found {
                Some(found)
                    if self
                        .confirm(&format!("Use {label} from the environment / .env?"), true)? =>
                {
                    found
                }
                _ => {
                    let what = match (spec.description.as_str(), spec.required) {
                        ("", true) => String::new(),
                        ("", false) => " (optional, Enter skips)".to_string(),
                        (d, true) => format!(" ({d})"),
                        (d, false) => format!(" ({d}; Enter skips)"),
                    };
                    let required = spec.required;
                    let prompt = format!("{label}{what} (input hidden)");
                    let value = Password::with_theme(&*self.theme)
                        .with_prompt(&prompt)
                        .allow_empty_password(!required)
                        .validate_with(move |s: &String| {
                            if required {
                                non_empty(s, "a value")
                            } else {
                                Ok(())
                            }
                        })
                        // The theme's report shows `********` even for an empty answer.
                        .report(false)
                        .interact()?;
                    self.report_secret(&prompt, value.is_empty())?;
                    value
                }
            };
            if !value.is_empty() {
                answers.push(SecretAnswer {
                    name: name.to_string(),
                    from_env: spec.from_env.clone(),
                    value,
                });
            }
        }
        Ok(answers)
    }

    /// The answered line of a hidden prompt: masked when a value was typed,
    /// `skipped` when Enter left an optional secret unset.
    fn report_secret(&self, prompt: &str, skipped: bool) -> Result<()> {
        let mut line = String::new();
        let formatted = if skipped {
            self.theme
                .format_input_prompt_selection(&mut line, prompt, "skipped (not set)")
        } else {
            self.theme
                .format_password_prompt_selection(&mut line, prompt)
        };
        formatted.map_err(|_| WizardError::Terminal(std::io::Error::other("cannot format")))?;
        // dialoguer draws its prompts on stderr too.
        console::Term::stderr()
            .write_line(&line)
            .map_err(WizardError::Terminal)
    }

    fn expose(&self, base: &Values) -> Result<ExposeChoice> {
        let default = match base.expose.mode {
            ExposeMode::NodePort => 0,
            ExposeMode::Ingress => 1,
            ExposeMode::Gateway => 2,
            ExposeMode::None => 3,
        };
        let host = |prompt: &str, default: &str| {
            self.text(prompt, default, |s| {
                if is_dns_subdomain(s) {
                    Ok(())
                } else {
                    Err("a DNS name such as todo.local".to_string())
                }
            })
        };
        Ok(
            match self.select(
                "Expose the app",
                &[
                    "NodePort (minikube service --url)",
                    "Ingress (needs an ingress controller)",
                    "Gateway API HTTPRoute (needs a Gateway)",
                    "not at all (kubectl port-forward)",
                ],
                default,
            )? {
                0 => {
                    let port = self.text("NodePort", &base.expose.node_port.to_string(), |s| {
                        s.parse::<i32>()
                            .ok()
                            .filter(|p| NODE_PORT_RANGE.contains(p))
                            .map(|_| ())
                            .ok_or_else(|| "a port from 30000 to 32767".to_string())
                    })?;
                    ExposeChoice::NodePort {
                        port: port.parse().expect("validated"),
                    }
                }
                1 => ExposeChoice::Ingress {
                    host: host("Ingress host", &base.expose.ingress.host)?,
                },
                2 => ExposeChoice::Gateway {
                    host: host("Gateway host", &base.expose.gateway.host)?,
                },
                _ => ExposeChoice::None,
            },
        )
    }

    fn select<T: std::fmt::Display>(
        &self,
        prompt: &str,
        items: &[T],
        default: usize,
    ) -> Result<usize> {
        Ok(Select::with_theme(&*self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()?)
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        Ok(Confirm::with_theme(&*self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()?)
    }

    fn text(
        &self,
        prompt: &str,
        default: &str,
        validate: impl Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        Ok(Input::<String>::with_theme(&*self.theme)
            .with_prompt(prompt)
            .default(default.to_string())
            .validate_with(|s: &String| validate(s))
            .interact_text()?)
    }
}

/// Secrets read by the chosen components that are neither generated nor the
/// database's (asked with the database question), by name.
fn secrets_to_ask<'a>(base: &'a Values, components: &BTreeMap<String, bool>) -> Vec<&'a str> {
    let mut names: Vec<&str> = base
        .components
        .iter()
        .filter(|(name, c)| {
            components.get(*name).copied().unwrap_or(false) && c.existing_secret.is_none()
        })
        .flat_map(|(_, c)| c.secrets_read())
        .filter(|name| {
            base.secrets
                .get(*name)
                .is_some_and(|s| s.generate.is_none())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn dns_label(s: &str, what: &str) -> std::result::Result<(), String> {
    if is_dns_label(s) {
        Ok(())
    } else {
        Err(format!("a {what}: lower-case letters, digits and `-`"))
    }
}

fn non_empty(s: &str, what: &str) -> std::result::Result<(), String> {
    if s.trim().is_empty() {
        Err(format!("{what} is required"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::secrets_to_ask;
    use crate::values::{ValueSources, load_unchecked_secrets};

    #[test]
    fn the_secrets_asked_come_from_the_values() {
        let base = load_unchecked_secrets(&ValueSources::default(), &HashMap::new()).unwrap();
        let all: BTreeMap<String, bool> =
            base.components.keys().map(|k| (k.clone(), true)).collect();
        // Generated ones (and the database's) are not asked; the optional keys are.
        let asked = secrets_to_ask(&base, &all);
        let expected: Vec<&str> = base
            .secrets
            .iter()
            .filter(|(name, spec)| {
                spec.generate.is_none() && **name != base.database.external.url_secret
            })
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(asked, expected);
        assert!(!asked.is_empty());
        // Only what the chosen components read.
        let none: BTreeMap<String, bool> =
            base.components.keys().map(|k| (k.clone(), false)).collect();
        assert!(secrets_to_ask(&base, &none).is_empty());
    }
}
