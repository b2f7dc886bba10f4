//! `registry`: where `berth deploy` pushes the images it builds, for clusters
//! that pull from a registry instead of having images side-loaded.
//!
//! ```yaml
//! registry:
//!   url: ghcr.io/my-team        # host[:port][/prefix], http:// or https:// optional
//!   pullSecret: auto            # true | false | auto
//! ```
//! The credentials for the pull Secret come from where `docker login` or
//! `podman login` keep them, never from values.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where built images are pushed and pulled from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registry {
    /// `host[:port][/prefix]`, optionally with `http://` or `https://`
    /// (loopback hosts default to plain HTTP), e.g. `ghcr.io/my-team`.
    pub url: RegistryUrl,
    /// Whether to create a `kubernetes.io/dockerconfigjson` pull Secret from
    /// the credentials the push used (`auto`: when the push used any).
    #[serde(default)]
    pub pull_secret: PullSecret,
}

/// A registry address, checked when the values are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistryUrl(String);

impl RegistryUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<RegistryUrl> for String {
    fn from(url: RegistryUrl) -> String {
        url.0
    }
}

impl TryFrom<String> for RegistryUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        check_url(&text).map(|()| RegistryUrl(text))
    }
}

impl JsonSchema for RegistryUrl {
    fn schema_name() -> Cow<'static, str> {
        "RegistryUrl".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "host[:port][/prefix], optionally with http:// or https://"
        })
    }
}

/// Allowed: an optional `http://`/`https://`, a host (letters, digits, `.`,
/// `-`, an optional `:port`), then repository path segments as OCI allows them.
fn check_url(text: &str) -> Result<(), String> {
    let invalid = |why: &str| {
        format!(
            "`{text}` is not a registry address: {why}; allowed: host[:port][/prefix], optionally with http:// or https:// (e.g. ghcr.io/my-team, 127.0.0.1:5000)"
        )
    };
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .unwrap_or(text);
    if rest.contains("://") {
        return Err(invalid("the scheme must be http:// or https://"));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let (name, port) = host.split_once(':').unwrap_or((host, ""));
    let host_char = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if name.is_empty() || !name.chars().all(host_char) || name.starts_with(['.', '-']) {
        return Err(invalid(
            "the host is missing or has characters a host cannot",
        ));
    }
    if host.contains(':') && port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(invalid("the port must be a number from 1 to 65535"));
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !prefix.is_empty() && !prefix.split('/').all(segment_ok) {
        return Err(invalid(
            "the path after the host must be lower-case repository segments (a-z, 0-9, `.`, `_`, `-`)",
        ));
    }
    Ok(())
}

/// `pullSecret`: `true`, `false` or `auto`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullSecret {
    /// Create one when the push used credentials (none for an anonymous registry).
    #[default]
    Auto,
    /// Always create one; a deploy without credentials for the registry fails.
    Always,
    /// Never: the nodes authenticate on their own (or the registry is public).
    Never,
}

impl Serialize for PullSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PullSecret::Auto => s.serialize_str("auto"),
            PullSecret::Always => s.serialize_bool(true),
            PullSecret::Never => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for PullSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        let expected = "true, false or auto";
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("expected {expected}")))?
        {
            Raw::Flag(true) => Ok(PullSecret::Always),
            Raw::Flag(false) => Ok(PullSecret::Never),
            Raw::Word(word) => match word.as_str() {
                "auto" => Ok(PullSecret::Auto),
                "true" => Ok(PullSecret::Always),
                "false" => Ok(PullSecret::Never),
                other => Err(serde::de::Error::custom(format!(
                    "`{other}` is not allowed; expected {expected}"
                ))),
            },
        }
    }
}

impl JsonSchema for PullSecret {
    fn schema_name() -> Cow<'static, str> {
        "PullSecret".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["auto"]}],
            "default": "auto"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: serde_json::Value) -> Result<Registry, String> {
        serde_json::from_value(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn addresses_and_pull_secret_modes() {
        for good in [
            "ghcr.io/my-team",
            "127.0.0.1:5000",
            "http://localhost:5000/",
            "https://registry.example.com/a/b_c",
        ] {
            let r = parse(serde_json::json!({"url": good})).unwrap();
            assert_eq!((r.url.as_str(), r.pull_secret), (good, PullSecret::Auto));
        }
        for (given, mode) in [
            (serde_json::json!(true), PullSecret::Always),
            (serde_json::json!(false), PullSecret::Never),
            (serde_json::json!("auto"), PullSecret::Auto),
            (serde_json::json!("false"), PullSecret::Never),
        ] {
            let r = parse(serde_json::json!({"url": "r.example", "pullSecret": given})).unwrap();
            assert_eq!(r.pull_secret, mode);
        }
    }

    #[test]
    fn bad_input_says_what_is_allowed() {
        for (bad, why) in [
            ("", "host is missing"),
            ("ftp://x/y", "scheme"),
            ("r.example:99999", "port"),
            ("r.example/Team", "lower-case"),
            ("r.example//x", "lower-case"),
        ] {
            let err = parse(serde_json::json!({"url": bad})).unwrap_err();
            assert!(
                err.contains(why) && err.contains("allowed: host[:port][/prefix]"),
                "{bad}: {err}"
            );
        }
        let err =
            parse(serde_json::json!({"url": "r.example", "pullSecret": "sometimes"})).unwrap_err();
        assert!(err.contains("expected true, false or auto"), "{err}");
        let err = parse(serde_json::json!({"url": "r.example", "pullSecret": 3})).unwrap_err();
        assert!(err.contains("expected true, false or auto"), "{err}");
    }

    #[test]
    fn serializes_back_to_what_was_written() {
        let r = parse(serde_json::json!({"url": "r.example", "pullSecret": true})).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"url": "r.example", "pullSecret": true})
        );
    }
}
