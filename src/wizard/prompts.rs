//! The questions, asked with dialoguer on stderr. Every question has a default,
//! so pressing Enter throughout deploys the dev profile. Nothing here writes to
//! disk or to a cluster.

use std::path::PathBuf;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};

use super::answers::{Answers, DatabaseChoice, ExposeChoice, ImagesChoice, LlmChoice, Profile};
use super::contexts::ContextChoice;
use crate::ui;
use crate::values::quantity::parse_quantity;
use crate::values::validate::{
    NODE_PORT_RANGE, check_database_url, is_dns_label, is_dns_subdomain,
};
use crate::values::{DatabaseMode, Environment, ExposeMode, LlmProvider, Values};

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
        let components = self.components([
            base.frontend.enabled,
            base.backend.enabled,
            base.mcp.enabled,
        ])?;
        let database = self.database(base, input.env)?;
        let llm = self.llm(base, input.env)?;
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
            frontend: components[0],
            backend: components[1],
            mcp: components[2],
            database,
            llm,
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

    fn components(&self, enabled: [bool; 3]) -> Result<[bool; 3]> {
        let chosen = MultiSelect::with_theme(&*self.theme)
            .with_prompt("Components (space toggles, enter accepts)")
            .items(["frontend (Next.js)", "backend (FastAPI)", "MCP tool server"])
            .defaults(&enabled)
            .interact()?;
        Ok([
            chosen.contains(&0),
            chosen.contains(&1),
            chosen.contains(&2),
        ])
    }

    fn database(&self, base: &Values, env: &dyn Environment) -> Result<DatabaseChoice> {
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
                Ok(DatabaseChoice::Internal { storage })
            }
            _ => {
                if let Some(url) = env
                    .var("DATABASE_URL")
                    .filter(|u| check_database_url(u).is_empty())
                    && self.confirm("Use DATABASE_URL from the environment?", true)?
                {
                    return Ok(DatabaseChoice::External { url });
                }
                let url = Input::<String>::with_theme(&*self.theme)
                    .with_prompt(
                        "Database URL (postgresql://USER:PASSWORD@HOST/DB?sslmode=require)",
                    )
                    .validate_with(|s: &String| match check_database_url(s).first() {
                        None => Ok(()),
                        Some(p) => Err(match &p.hint {
                            Some(hint) => format!("{} ({hint})", p.message),
                            None => p.message.clone(),
                        }),
                    })
                    .interact_text()?;
                Ok(DatabaseChoice::External { url })
            }
        }
    }

    fn llm(&self, base: &Values, env: &dyn Environment) -> Result<LlmChoice> {
        let openai = env.var("OPENAI_API_KEY");
        let gemini = env.var("GEMINI_API_KEY");
        // The provider from the flags, else the one whose key is at hand.
        let default = match base.llm.provider {
            LlmProvider::Openai => 1,
            LlmProvider::Gemini => 2,
            LlmProvider::None if openai.is_some() => 1,
            LlmProvider::None if gemini.is_some() => 2,
            LlmProvider::None => 0,
        };
        let choice = self.select(
            "LLM provider",
            &[
                "none (offline intent parser)",
                "OpenAI (or compatible)",
                "Gemini",
            ],
            default,
        )?;
        let key = |name: &str, found: Option<String>| -> Result<String> {
            if let Some(found) = found
                && self.confirm(&format!("Use {name} from the environment / .env?"), true)?
            {
                return Ok(found);
            }
            Ok(Password::with_theme(&*self.theme)
                .with_prompt(format!("{name} (input hidden)"))
                .validate_with(|s: &String| non_empty(s, "a key"))
                .interact()?)
        };
        Ok(match choice {
            0 => LlmChoice::None,
            1 => LlmChoice::Openai {
                key: key("OPENAI_API_KEY", openai)?,
            },
            _ => LlmChoice::Gemini {
                key: key("GEMINI_API_KEY", gemini)?,
            },
        })
    }

    fn expose(&self, base: &Values) -> Result<ExposeChoice> {
        let default = match base.expose.mode {
            ExposeMode::NodePort => 0,
            ExposeMode::Ingress => 1,
            ExposeMode::None => 2,
        };
        Ok(
            match self.select(
                "Expose the app",
                &[
                    "NodePort (minikube service --url)",
                    "Ingress (needs the ingress addon)",
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
                    host: self.text("Ingress host", &base.expose.ingress.host, |s| {
                        if is_dns_subdomain(s) {
                            Ok(())
                        } else {
                            Err("a DNS name such as todo.local".to_string())
                        }
                    })?,
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
