//! The wizard's answers and what they become: a values layer (saved for scripted
//! re-use, never holding a secret) and the secrets, kept apart.

use std::collections::HashMap;

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
    Internal { storage: String },
    External { url: String },
}

#[derive(Clone, PartialEq, Eq)]
pub enum LlmChoice {
    None,
    Openai { key: String },
    Gemini { key: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposeChoice {
    NodePort { port: i32 },
    Ingress { host: String },
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

/// Everything the wizard asked.
#[derive(Clone)]
pub struct Answers {
    pub kube_context: Option<String>,
    pub namespace: String,
    pub release: String,
    pub profile: Profile,
    pub frontend: bool,
    pub backend: bool,
    pub mcp: bool,
    pub database: DatabaseChoice,
    pub llm: LlmChoice,
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
            .field("expose", &self.expose)
            .field("replicas", &self.replicas)
            .finish_non_exhaustive()
    }
}

impl Answers {
    /// The values layer: the chosen profile with the answers on top. It holds no
    /// secret, so it can be saved and used with `-f` later.
    pub fn values_layer(&self) -> Result<Value, ValuesError> {
        let mut layer = parse_yaml(
            self.profile.yaml(),
            &format!("the {} profile", self.profile.name()),
        )?;
        let replicas = self.replicas;
        let (mode, storage) = match &self.database {
            DatabaseChoice::Internal { storage } => ("internal", Some(storage.clone())),
            DatabaseChoice::External { .. } => ("external", None),
        };
        let provider = match self.llm {
            LlmChoice::None => "none",
            LlmChoice::Openai { .. } => "openai",
            LlmChoice::Gemini { .. } => "gemini",
        };
        let mut answers = json!({
            "namespace": {"name": self.namespace},
            "frontend": {"enabled": self.frontend, "replicas": replicas},
            "backend": {"enabled": self.backend, "replicas": replicas},
            "mcp": {"enabled": self.mcp, "replicas": replicas},
            "database": {"mode": mode},
            "llm": {"provider": provider},
        });
        if let Some(storage) = storage {
            answers["database"]["internal"] = json!({"storage": storage});
        }
        answers["expose"] = match &self.expose {
            ExposeChoice::NodePort { port } => json!({"mode": "nodePort", "nodePort": port}),
            ExposeChoice::Ingress { host } => json!({"mode": "ingress", "ingress": {"host": host}}),
            ExposeChoice::None => json!({"mode": "none"}),
        };
        merge(&mut layer, answers);
        Ok(layer)
    }

    /// The secrets the answers carry, by environment variable.
    pub fn secret_env(&self) -> HashMap<String, String> {
        let mut env = HashMap::new();
        if let DatabaseChoice::External { url } = &self.database {
            env.insert("DATABASE_URL".to_string(), url.clone());
        }
        match &self.llm {
            LlmChoice::Openai { key } => env.insert("OPENAI_API_KEY".to_string(), key.clone()),
            LlmChoice::Gemini { key } => env.insert("GEMINI_API_KEY".to_string(), key.clone()),
            LlmChoice::None => None,
        };
        env
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
            namespace: "todo".into(),
            release: "todo-chatbot".into(),
            profile: Profile::Dev,
            frontend: true,
            backend: true,
            mcp: false,
            database: DatabaseChoice::External {
                url: "postgresql://u:hunter2@db.example.com/todo?sslmode=require".into(),
            },
            llm: LlmChoice::Gemini {
                key: "gemini-secret".into(),
            },
            expose: ExposeChoice::Ingress {
                host: "todo.local".into(),
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
            !text.contains("hunter2") && !text.contains("gemini-secret"),
            "{text}"
        );
        assert_eq!(layer["database"]["mode"], "external");
        assert_eq!(layer["llm"]["provider"], "gemini");
        assert_eq!(layer["expose"]["ingress"]["host"], "todo.local");
        assert_eq!(layer["mcp"]["enabled"], false);
        // The dev profile's sizes come along.
        assert_eq!(layer["frontend"]["resources"]["requests"]["cpu"], "100m");
    }

    #[test]
    fn secrets_are_returned_separately() {
        let env = answers().secret_env();
        assert_eq!(env["GEMINI_API_KEY"], "gemini-secret");
        assert!(env["DATABASE_URL"].contains("hunter2"));
        assert!(!format!("{:?}", answers()).contains("hunter2"));
    }
}
