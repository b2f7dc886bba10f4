//! The wizard's answers and what they become: a values layer (saved for scripted
//! re-use, never holding a secret) and the secrets, kept apart.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::values::load::{merge, parse_yaml};
use crate::values::{DEV_VALUES_YAML, PROD_VALUES_YAML, ValuesError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Prod,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Prod => "prod",
        }
    }

    fn yaml(self) -> &'static str {
        match self {
            Profile::Dev => DEV_VALUES_YAML,
            Profile::Prod => PROD_VALUES_YAML,
        }
    }

    /// Replicas per component the profile suggests.
    pub fn default_replicas(self) -> i32 {
        match self {
            Profile::Dev => 1,
            Profile::Prod => 2,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseChoice {
    Internal {
        storage: String,
    },
    /// The URL is a secret: it goes to [`Answers::secrets`], not here.
    External,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposeChoice {
    NodePort { port: i32 },
    Ingress { host: String },
    Gateway { host: String },
    None,
}

/// Whether deploy builds and side-loads images first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagesChoice {
    BuildAndLoad,
    Existing,
}

impl ImagesChoice {
    /// The `--images` flag value this answer corresponds to.
    pub fn flag(self) -> &'static str {
        match self {
            ImagesChoice::BuildAndLoad => "load",
            ImagesChoice::Existing => "skip",
        }
    }
}

/// A secret the wizard was given: its name in `secrets`, the environment
/// variable that supplies it (for a saved `.env`), and the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretAnswer {
    pub name: String,
    pub from_env: Option<String>,
    pub value: String,
}

/// Everything the wizard asked.
#[derive(Clone)]
pub struct Answers {
    pub kube_context: Option<String>,
    pub namespace: String,
    pub release: String,
    pub profile: Profile,
    /// Every component in the values, and whether it runs.
    pub components: BTreeMap<String, bool>,
    /// `None` when the values have no database.
    pub database: Option<DatabaseChoice>,
    /// Secrets typed or confirmed, kept apart from the values layer.
    pub secrets: Vec<SecretAnswer>,
    pub expose: ExposeChoice,
    pub replicas: i32,
    pub images: ImagesChoice,
}

impl std::fmt::Debug for Answers {
    // Secrets (database URL, API keys) are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers")
            .field("kube_context", &self.kube_context)
            .field("namespace", &self.namespace)
            .field("release", &self.release)
            .field("profile", &self.profile)
            .field("components", &self.components)
            .field("expose", &self.expose)
            .field("replicas", &self.replicas)
            .finish_non_exhaustive()
    }
}

impl Answers {
    /// The values layer: the chosen profile with the answers on top. It holds no
    /// secret, so it can be saved and used with `-f` later. The bundled profiles
    /// describe the embedded stack: their entries for components the values do
    /// not have are left out.
    pub fn values_layer(&self) -> Result<Value, ValuesError> {
        let mut layer = parse_yaml(
            self.profile.yaml(),
            &format!("the {} profile", self.profile.name()),
        )?;
        if let Some(Value::Object(components)) = layer.get_mut("components") {
            components.retain(|name, _| self.components.contains_key(name));
        }
        let components: serde_json::Map<String, Value> = self
            .components
            .iter()
            .map(|(name, enabled)| {
                (
                    name.clone(),
                    json!({"enabled": enabled, "replicas": self.replicas}),
                )
            })
            .collect();
        let mut answers = json!({
            "namespace": {"name": self.namespace},
            "components": components,
        });
        match &self.database {
            Some(DatabaseChoice::Internal { storage }) => {
                answers["database"] = json!({"mode": "internal", "internal": {"storage": storage}});
            }
            Some(DatabaseChoice::External) => answers["database"] = json!({"mode": "external"}),
            None => {}
        }
        answers["expose"] = match &self.expose {
            ExposeChoice::NodePort { port } => json!({"mode": "nodePort", "nodePort": port}),
            ExposeChoice::Ingress { host } => json!({"mode": "ingress", "ingress": {"host": host}}),
            ExposeChoice::Gateway { host } => json!({"mode": "gateway", "gateway": {"host": host}}),
            ExposeChoice::None => json!({"mode": "none"}),
        };
        merge(&mut layer, answers);
        Ok(layer)
    }

    /// The secrets the answers carry, by environment variable (those without
    /// one cannot go to a `.env` file).
    pub fn secret_env(&self) -> HashMap<String, String> {
        self.secrets
            .iter()
            .filter_map(|s| Some((s.from_env.clone()?, s.value.clone())))
            .collect()
    }

    /// The command that repeats this deploy without questions.
    pub fn scripted_command(&self, values_file: &str, env_file: Option<&str>) -> String {
        let mut command = format!(
            "berth deploy -f {values_file} --release {} --yes",
            self.release
        );
        if let Some(context) = &self.kube_context {
            command.push_str(&format!(" --kube-context {context}"));
        }
        if let Some(env_file) = env_file {
            command.push_str(&format!(" --env-file {env_file}"));
        }
        command.push_str(&format!(" --images {}", self.images.flag()));
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Answers {
        Answers {
            kube_context: Some("minikube".into()),
            namespace: "shop".into(),
            release: "shop".into(),
            profile: Profile::Dev,
            components: BTreeMap::from([("web".into(), true), ("worker".into(), false)]),
            database: Some(DatabaseChoice::External),
            secrets: vec![
                SecretAnswer {
                    name: "dbUrl".into(),
                    from_env: Some("DB_URL".into()),
                    value: "postgresql://u:hunter2@db.example.com/shop?sslmode=require".into(),
                },
                SecretAnswer {
                    name: "apiKey".into(),
                    from_env: None,
                    value: "key-secret".into(),
                },
            ],
            expose: ExposeChoice::Gateway {
                host: "shop.local".into(),
            },
            replicas: 1,
            images: ImagesChoice::Existing,
        }
    }

    #[test]
    fn values_layer_holds_the_answers_but_no_secret() {
        let layer = answers().values_layer().unwrap();
        let text = layer.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("key-secret"),
            "{text}"
        );
        assert_eq!(layer["database"]["mode"], "external");
        assert_eq!(layer["expose"]["gateway"]["host"], "shop.local");
        assert_eq!(layer["components"]["worker"]["enabled"], false);
        assert_eq!(layer["components"]["web"]["replicas"], 1);
        // The bundled profile's entries for components this stack lacks are dropped.
        assert!(layer["components"].get("frontend").is_none(), "{text}");
        assert_eq!(layer["database"]["internal"]["storage"], "1Gi");
    }

    #[test]
    fn secrets_are_returned_separately() {
        let env = answers().secret_env();
        assert!(env["DB_URL"].contains("hunter2"));
        assert_eq!(env.len(), 1, "a secret without fromEnv has no variable");
        assert!(!format!("{:?}", answers()).contains("hunter2"));
    }
}
