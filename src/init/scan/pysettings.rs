//! pydantic-settings classes (`class Settings(BaseSettings)`): each field is an environment
//! variable, named after the field upper-cased with the class's `env_prefix` (from
//! `model_config = SettingsConfigDict(env_prefix=…)` or an inner `class Config`), or after its
//! `Field(alias=…)`/`validation_alias=…` as written (pydantic-settings ignores the prefix then).
//! A field with a default is optional; a literal default is its example value.
//!
//! Read line by line like the other Python scanners: nested models (`env_nested_delimiter`)
//! and settings classes that inherit from another settings class are not followed.

/// A variable a settings class reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsVar {
    /// 1-based line of the field.
    pub line: usize,
    pub class: String,
    pub field: String,
    pub env: String,
    pub required: bool,
    /// The default when it is a literal (strings, numbers, booleans).
    pub default: Option<String>,
}

/// The variables of every `BaseSettings` subclass in `text`.
pub fn read(text: &str) -> Vec<SettingsVar> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(class) = settings_class(line) else {
            continue;
        };
        let indent = indentation(line);
        let body: Vec<(usize, &str)> = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .filter(|(_, l)| !l.trim().is_empty())
            .take_while(|(_, l)| indentation(l) > indent)
            .map(|(n, l)| (n, *l))
            .collect();
        let Some(field_indent) = body.first().map(|(_, l)| indentation(l)) else {
            continue;
        };
        let prefix = env_prefix(&body).unwrap_or_default();
        for (n, l) in &body {
            if indentation(l) != field_indent {
                continue;
            }
            let Some((field, default)) = field(l) else {
                continue;
            };
            let (alias, required, default) = match default {
                None => (None, true, None),
                Some(d) => match d.strip_prefix("Field(") {
                    Some(args) => field_call(args),
                    None => (None, false, literal(d)),
                },
            };
            let env = alias.unwrap_or_else(|| format!("{prefix}{field}").to_ascii_uppercase());
            out.push(SettingsVar {
                line: n + 1,
                class: class.clone(),
                field,
                env,
                required,
                default,
            });
        }
    }
    out
}

/// `class Settings(BaseSettings):` → `Settings`.
fn settings_class(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix("class ")?;
    let (name, rest) = rest.split_once('(')?;
    let bases = rest.split_once(')')?.0;
    bases
        .split(',')
        .any(|b| {
            let b = b.trim();
            b == "BaseSettings" || b.ends_with(".BaseSettings")
        })
        .then(|| name.trim().to_string())
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `env_prefix="APP_"` (SettingsConfigDict), `env_prefix = "APP_"` (class Config) or
/// `"env_prefix": "APP_"` (a plain dict) anywhere in the class body.
fn env_prefix(body: &[(usize, &str)]) -> Option<String> {
    body.iter().find_map(|(_, l)| {
        let at = l.find("env_prefix")?;
        let rest = l[at + "env_prefix".len()..].trim_start_matches(['"', '\'']);
        let rest = rest.trim_start().strip_prefix(['=', ':'])?;
        super::text::leading_quoted(rest)
    })
}

/// `name: type` or `name: type = default` → the name and the default's text.
fn field(line: &str) -> Option<(String, Option<&str>)> {
    let l = line.trim();
    let (name, rest) = l.split_once(':')?;
    let name = name.trim();
    let identifier = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '_');
    if !identifier || name == "model_config" || rest.trim_start().starts_with("ClassVar") {
        return None;
    }
    // The annotation may hold `=` only inside brackets (`Annotated[str, Field(alias="X")]` is
    // not followed); the first `=` outside them starts the default.
    let mut depth = 0i32;
    let default = rest.char_indices().find_map(|(i, c)| {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            '=' if depth == 0 => return Some(rest[i + 1..].trim()),
            _ => {}
        }
        None
    });
    Some((
        name.to_string(),
        default.map(|d| d.trim_end_matches(',').trim()),
    ))
}

/// The arguments of `Field(…)` on one line: (alias, required, literal default).
fn field_call(args: &str) -> (Option<String>, bool, Option<String>) {
    let alias = ["validation_alias=", "alias="].iter().find_map(|key| {
        let at = args.find(key)?;
        // `validation_alias=` also ends with `alias=`: only a whole keyword counts.
        let before = args[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        super::text::leading_quoted(&args[at + key.len()..])
    });
    let first = args.split(',').next().unwrap_or("").trim();
    let first = first.trim_end_matches(')').trim();
    let positional = !first.is_empty() && !first.contains('=');
    let keyword_default = args
        .split(',')
        .map(str::trim)
        .find_map(|a| a.strip_prefix("default="));
    let has_factory = args.contains("default_factory=");
    let default_text = if positional {
        Some(first)
    } else {
        keyword_default.map(|d| d.trim_end_matches(')').trim())
    };
    let required = !has_factory && default_text.is_none_or(|d| d == "..." || d == "Ellipsis");
    let default = default_text.filter(|_| !required).and_then(literal);
    (alias, required, default)
}

/// A literal default as the env text pydantic would parse back: strings, numbers, booleans.
fn literal(text: &str) -> Option<String> {
    let text = text.split(" #").next().unwrap_or(text).trim();
    if let Some(s) = super::text::leading_quoted(text) {
        return Some(s);
    }
    match text {
        "True" => Some("true".into()),
        "False" => Some("false".into()),
        _ if !text.is_empty() && text.parse::<f64>().is_ok() => Some(text.into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, bool, Option<String>)> {
        read(text)
            .into_iter()
            .map(|v| (v.env, v.required, v.default))
            .collect()
    }

    fn v(env: &str, required: bool, default: Option<&str>) -> (String, bool, Option<String>) {
        (env.into(), required, default.map(String::from))
    }

    #[test]
    fn fields_become_variables_with_the_prefix_unless_aliased() {
        let text = r#"
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """App settings."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_prefix="TASKS_",
    )

    database_url: str
    openai_api_key: str = Field(..., alias="OPENAI_API_KEY")
    log_level: str = "info"
    workers: int = 2
    debug: bool = False
    cors_origins: list[str] = Field(default_factory=list)
    model: str = Field("gpt-4o-mini", validation_alias="LLM_MODEL")
    timeout: float = Field(default=30.0)
    sentry_dsn: str | None = None

    def url(self) -> str:
        local: str = "not a field"
        return self.database_url


settings = Settings()
"#;
        assert_eq!(
            vars(text),
            [
                v("TASKS_DATABASE_URL", true, None),
                v("OPENAI_API_KEY", true, None),
                v("TASKS_LOG_LEVEL", false, Some("info")),
                v("TASKS_WORKERS", false, Some("2")),
                v("TASKS_DEBUG", false, Some("false")),
                v("TASKS_CORS_ORIGINS", false, None),
                v("LLM_MODEL", false, Some("gpt-4o-mini")),
                v("TASKS_TIMEOUT", false, Some("30.0")),
                v("TASKS_SENTRY_DSN", false, None),
            ]
        );
    }

    #[test]
    fn an_inner_config_class_gives_the_prefix_and_other_classes_are_not_settings() {
        let text = "import pydantic_settings\n\nclass Config(pydantic_settings.BaseSettings):\n    jwt_secret: str\n    port: int = 8000\n\n    class Config:\n        env_prefix = 'API_'\n\nclass Todo(BaseModel):\n    title: str\n";
        assert_eq!(
            vars(text),
            [
                v("API_JWT_SECRET", true, None),
                v("API_PORT", false, Some("8000"))
            ]
        );
        let first = &read(text)[0];
        assert_eq!(
            (first.line, first.class.as_str(), first.field.as_str()),
            (4, "Config", "jwt_secret")
        );
        assert!(read("class Todo(BaseModel):\n    title: str\n").is_empty());
    }
}
