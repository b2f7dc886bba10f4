//! Target platform (`linux/amd64`, `linux/arm64/v8`) and choosing a manifest from an index.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// An OCI platform: os, architecture and optional variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v8`, `v7`, … when relevant.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl Platform {
    /// The platform for a Kubernetes node's `kubernetes.io/arch` label (or `uname -m` output).
    pub fn from_node_arch(arch: &str) -> Self {
        let architecture = match arch {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Whether an index entry's `platform` object matches; a missing variant matches any
    /// (`linux/arm64` accepts `linux/arm64/v8`).
    pub fn matches(&self, platform: &Value) -> bool {
        let field = |k: &str| platform.get(k).and_then(Value::as_str);
        field("os") == Some(self.os.as_str())
            && field("architecture") == Some(self.architecture.as_str())
            && (self.variant.is_none() || field("variant") == self.variant.as_deref())
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).into(),
                    architecture: (*arch).into(),
                    variant: Some((*variant).into()),
                })
            }
            _ => Err(format!(
                "platform {s:?} is not os/arch[/variant], e.g. linux/amd64"
            )),
        }
    }
}

/// Pick the manifest digest for `platform` from an image index's `manifests` array.
pub fn select_manifest<'a>(index: &'a Value, platform: &Platform) -> Option<&'a str> {
    index
        .get("manifests")?
        .as_array()?
        .iter()
        .find(|m| m.get("platform").is_some_and(|p| platform.matches(p)))
        .and_then(|m| m.get("digest")?.as_str())
}

/// The platforms an index lists, for error messages.
pub fn listed_platforms(index: &Value) -> String {
    let list: Vec<String> = index
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let p = m.get("platform")?;
            let os = p.get("os")?.as_str()?;
            let arch = p.get("architecture")?.as_str()?;
            Some(match p.get("variant").and_then(Value::as_str) {
                Some(v) => format!("{os}/{arch}/{v}"),
                None => format!("{os}/{arch}"),
            })
        })
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_prints() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert_eq!(Platform::from_node_arch("x86_64"), Platform::default());
    }

    #[test]
    fn selects_from_an_index() {
        let index = json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
        ]});
        assert_eq!(
            select_manifest(&index, &Platform::default()),
            Some("sha256:amd")
        );
        assert_eq!(
            select_manifest(&index, &"linux/arm64".parse().unwrap()),
            Some("sha256:arm")
        );
        assert_eq!(
            select_manifest(&index, &"linux/s390x".parse().unwrap()),
            None
        );
        assert_eq!(
            listed_platforms(&index),
            "linux/arm64/v8, linux/amd64, unknown/unknown"
        );
    }
}
