//! Target platform (`linux/amd64`, `linux/arm64/v8`), choosing a manifest from an index, and
//! the names other tools give the same platform (for build-step placeholders and checks).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// One architecture under its names: OCI, the kernel's (`uname -m`, also in manylinux tags),
/// npm's `--cpu` (Node's `process.arch`) and the ELF `e_machine` of its binaries.
struct Arch {
    oci: &'static str,
    uname: &'static str,
    npm: &'static str,
    elf: u16,
}

const ARCHES: [Arch; 7] = [
    Arch {
        oci: "amd64",
        uname: "x86_64",
        npm: "x64",
        elf: 62,
    },
    Arch {
        oci: "arm64",
        uname: "aarch64",
        npm: "arm64",
        elf: 183,
    },
    Arch {
        oci: "arm",
        uname: "armv7l",
        npm: "arm",
        elf: 40,
    },
    Arch {
        oci: "386",
        uname: "i686",
        npm: "ia32",
        elf: 3,
    },
    Arch {
        oci: "ppc64le",
        uname: "ppc64le",
        npm: "ppc64",
        elf: 21,
    },
    Arch {
        oci: "s390x",
        uname: "s390x",
        npm: "s390x",
        elf: 22,
    },
    Arch {
        oci: "riscv64",
        uname: "riscv64",
        npm: "riscv64",
        elf: 243,
    },
];

/// Newest glibc the pip tag list admits: Debian bookworm's (2.36), the base of the `-bookworm`
/// images the reference specs use. Older manylinux tags down to 2.17 (manylinux2014) follow.
const GLIBC_MINOR_MAX: u32 = 36;

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
        let architecture = ARCHES
            .iter()
            .find(|a| a.uname == arch)
            .map_or(arch, |a| a.oci);
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// The platform of the machine berth runs on (where host-side build steps run).
    pub fn host() -> Self {
        Self::from_node_arch(std::env::consts::ARCH)
    }

    fn arch(&self) -> Option<&'static Arch> {
        ARCHES.iter().find(|a| a.oci == self.architecture)
    }

    /// The ELF `e_machine` of binaries for this platform, when berth knows it.
    pub fn elf_machine(&self) -> Option<u16> {
        self.arch().map(|a| a.elf)
    }

    /// Whether binaries of `other` would have to be built differently (os or architecture
    /// differ; a missing variant matches any).
    pub fn differs_from(&self, other: &Platform) -> bool {
        self.os != other.os || self.architecture != other.architecture
    }

    /// Values for the platform placeholders of build steps:
    ///
    /// - `{os}`, `{arch}`, `{variant}`: the OCI names (`linux`, `arm64`, `v8` or empty);
    /// - `{uname_arch}`: the kernel's name (`aarch64`, `x86_64`);
    /// - `{npm_os}`, `{npm_cpu}`: for `npm install --os={npm_os} --cpu={npm_cpu}`;
    /// - `{pip_platforms}`: manylinux tags for the target, space-separated, newest glibc first,
    ///   as `PIP_PLATFORM` expects (`env = { PIP_PLATFORM = "{pip_platforms}" }` with
    ///   `--only-binary=:all:` and `--python-version`).
    pub fn placeholders(&self) -> BTreeMap<String, String> {
        let arch = self.arch();
        let uname = arch.map_or(self.architecture.as_str(), |a| a.uname);
        let npm_cpu = arch.map_or(self.architecture.as_str(), |a| a.npm);
        let npm_os = if self.os == "windows" {
            "win32"
        } else {
            &self.os
        };
        let pip: Vec<String> = (17..=GLIBC_MINOR_MAX)
            .rev()
            .map(|minor| format!("manylinux_2_{minor}_{uname}"))
            .chain([format!("manylinux2014_{uname}")])
            .collect();
        [
            ("os", self.os.clone()),
            ("arch", self.architecture.clone()),
            ("variant", self.variant.clone().unwrap_or_default()),
            ("uname_arch", uname.to_owned()),
            ("npm_os", npm_os.to_owned()),
            ("npm_cpu", npm_cpu.to_owned()),
            ("pip_platforms", pip.join(" ")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// `linux-arm64-v8`: the platform as a file name.
    pub fn slug(&self) -> String {
        self.to_string().replace('/', "-")
    }

    /// Parse a comma-separated list (`linux/amd64,linux/arm64`), without duplicates.
    pub fn parse_list(list: &str) -> Result<Vec<Platform>, String> {
        let mut platforms: Vec<Platform> = Vec::new();
        for item in list.split(',').map(str::trim) {
            let platform: Platform = item.parse()?;
            if platforms.contains(&platform) {
                return Err(format!("platform {item:?} is listed twice in {list:?}"));
            }
            platforms.push(platform);
        }
        Ok(platforms)
    }

    /// The `platform` object of an index entry.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::json!({"architecture": self.architecture, "os": self.os});
        if let Some(variant) = &self.variant {
            value["variant"] = variant.clone().into();
        }
        value
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
        assert_eq!(Platform::from_node_arch("aarch64").architecture, "arm64");
        let list = Platform::parse_list("linux/amd64, linux/arm64/v8").unwrap();
        assert_eq!(list[1].slug(), "linux-arm64-v8");
        assert_eq!(
            list[1].to_json(),
            serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
        );
        assert!(Platform::parse_list("linux/amd64,linux/amd64").is_err());
        assert!(Platform::parse_list("linux/amd64,").is_err());
    }

    #[test]
    fn placeholders_name_the_target_for_each_tool() {
        let arm: Platform = "linux/arm64/v8".parse().unwrap();
        let values = arm.placeholders();
        let get = |k: &str| values[k].as_str();
        assert_eq!(
            (get("os"), get("arch"), get("variant"), get("uname_arch")),
            ("linux", "arm64", "v8", "aarch64")
        );
        assert_eq!((get("npm_os"), get("npm_cpu")), ("linux", "arm64"));
        let tags: Vec<&str> = get("pip_platforms").split(' ').collect();
        assert_eq!(tags.first(), Some(&"manylinux_2_36_aarch64"));
        assert!(tags.contains(&"manylinux_2_28_aarch64"));
        assert_eq!(tags.last(), Some(&"manylinux2014_aarch64"));
        let amd = Platform::default().placeholders();
        assert_eq!(
            (amd["npm_cpu"].as_str(), amd["variant"].as_str()),
            ("x64", "")
        );
        assert!(amd["pip_platforms"].ends_with("manylinux_2_17_x86_64 manylinux2014_x86_64"));
        assert_eq!(arm.elf_machine(), Some(183));
        assert_eq!(Platform::default().elf_machine(), Some(62));
        assert!(arm.differs_from(&Platform::default()));
        assert!(!arm.differs_from(&"linux/arm64".parse().unwrap()));
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
