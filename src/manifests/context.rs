//! What a render needs besides the values: the release and namespace, and the
//! names derived from them.

use crate::values::Values;

/// Release-level settings resolved by the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext {
    /// Release name: the `instance` label and the prefix of every object name.
    pub release: String,
    /// Namespace every object is rendered into.
    pub namespace: String,
    pub app_name: String,
    pub app_version: String,
}

/// Default release name.
pub const DEFAULT_RELEASE: &str = "todo-chatbot";

impl RenderContext {
    /// The context for `values`, with an optional namespace override (`-n`).
    pub fn new(values: &Values, release: &str, namespace: Option<&str>) -> Self {
        RenderContext {
            release: release.to_string(),
            namespace: namespace.unwrap_or(&values.namespace.name).to_string(),
            app_name: values.app_name.clone(),
            app_version: values.app_version.clone(),
        }
    }

    /// `<release>-<component>`: the name of a component's objects.
    pub fn name(&self, component: ComponentName) -> String {
        format!("{}-{}", self.release, component.as_str_for_names())
    }
}

/// The four components of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentName {
    Frontend,
    Backend,
    Mcp,
    Database,
}

impl ComponentName {
    pub const ALL: [ComponentName; 4] = [
        ComponentName::Frontend,
        ComponentName::Backend,
        ComponentName::Mcp,
        ComponentName::Database,
    ];

    /// The `app.kubernetes.io/component` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentName::Frontend => "frontend",
            ComponentName::Backend => "backend",
            ComponentName::Mcp => "mcp",
            ComponentName::Database => "database",
        }
    }

    /// The suffix of object names; the database is named for what it runs.
    pub fn as_str_for_names(self) -> &'static str {
        match self {
            ComponentName::Database => "postgres",
            other => other.as_str(),
        }
    }

    /// The `app.kubernetes.io/name` value: the software the component runs.
    pub fn app_name(self) -> &'static str {
        match self {
            ComponentName::Frontend => "todo-frontend",
            ComponentName::Backend => "todo-backend",
            ComponentName::Mcp => "todo-mcp",
            ComponentName::Database => "postgresql",
        }
    }
}
