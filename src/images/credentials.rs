//! Registry credentials found where Docker and Podman keep them: credential helpers
//! (`credHelpers`, `credsStore`, spoken to through the `docker-credential-<name> get` protocol)
//! and `auths` entries, in `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json` (else
//! `~/.docker/config.json`), `$XDG_RUNTIME_DIR/containers/auth.json` and
//! `~/.config/containers/auth.json`, in that order.
//!
//! Within one file, as Docker does: a `credHelpers` entry for the registry wins, then the
//! `credsStore` helper, then an `auths` entry (Podman's `registry/namespace` keys match the
//! longest prefix of the repository). The first file that yields credentials is used. Secrets
//! never reach a message: errors name the file, the key or the helper, never what they hold.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

use super::error::ErrorKind;

/// Docker Hub's key in config files and the server URL its helpers are asked for.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Where credentials were found, for messages (never the credentials themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A credential helper program answered.
    Helper {
        /// `docker-credential-<name>`.
        program: String,
        /// The config file that named it.
        file: PathBuf,
    },
    /// An `auths` entry.
    Auths {
        /// The file holding it.
        file: PathBuf,
        /// The key it is stored under.
        key: String,
    },
}

/// The credential files to consult, in order: `$REGISTRY_AUTH_FILE`,
/// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, then Podman's defaults.
pub fn default_files() -> Vec<PathBuf> {
    files_from(|name| std::env::var_os(name))
}

fn files_from(var: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let env = |name: &str| var(name).filter(|v| !v.is_empty());
    let mut files = Vec::new();
    if let Some(file) = env("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(file));
    }
    let home = env("HOME").map(PathBuf::from);
    match (env("DOCKER_CONFIG"), &home) {
        (Some(dir), _) => files.push(PathBuf::from(dir).join("config.json")),
        (None, Some(home)) => files.push(home.join(".docker/config.json")),
        (None, None) => {}
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(dir).join("containers/auth.json"));
    }
    if let Some(home) = &home {
        files.push(home.join(".config/containers/auth.json"));
    }
    files
}

/// Credentials for `repository` on `registry` (a host, `docker.io` for Docker Hub) from the first
/// of `files` that has some; `None` means anonymous.
pub fn lookup(
    files: &[PathBuf],
    registry: &str,
    repository: &str,
) -> Result<Option<(RegistryAuth, Found)>, ErrorKind> {
    lookup_with(files, None, registry, repository)
}

/// [`lookup`] with helpers searched in `helper_path` instead of `$PATH`.
fn lookup_with(
    files: &[PathBuf],
    helper_path: Option<&OsStr>,
    registry: &str,
    repository: &str,
) -> Result<Option<(RegistryAuth, Found)>, ErrorKind> {
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ErrorKind::io("read credentials file", file, e)),
        };
        let config: Value = serde_json::from_str(&text).map_err(|e| ErrorKind::Malformed {
            what: format!("credentials file {}", file.display()),
            // serde_json's message names a line and column, never the content.
            message: e.to_string(),
        })?;
        if let Some(found) = from_config(&config, file, helper_path, registry, repository)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn from_config(
    config: &Value,
    file: &Path,
    helper_path: Option<&OsStr>,
    registry: &str,
    repository: &str,
) -> Result<Option<(RegistryAuth, Found)>, ErrorKind> {
    let host = normalize(registry);
    let helper = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| {
            helpers
                .iter()
                .find(|(key, _)| normalize(key) == host)
                .and_then(|(_, name)| name.as_str())
        })
        .or_else(|| config.get("credsStore").and_then(Value::as_str))
        .filter(|name| !name.is_empty());
    if let Some(name) = helper {
        let server = if host == "docker.io" {
            DOCKER_HUB.to_owned()
        } else {
            host.clone()
        };
        if let Some(auth) = run_helper(name, &server, file, helper_path)? {
            let found = Found::Helper {
                program: format!("docker-credential-{name}"),
                file: file.to_owned(),
            };
            return Ok(Some((auth, found)));
        }
    }
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    // The most specific key first: `host/org/repo`, `host/org`, then `host`.
    let path = format!("{host}/{repository}");
    let mut best: Option<(&String, &Value)> = None;
    for (key, entry) in auths {
        let key_path = normalize_key_path(key);
        let matches = key_path == host
            || (path.starts_with(&key_path) && path[key_path.len()..].starts_with('/'));
        if matches && best.is_none_or(|(b, _)| normalize_key_path(b).len() < key_path.len()) {
            best = Some((key, entry));
        }
    }
    let Some((key, entry)) = best else {
        return Ok(None);
    };
    let found = Found::Auths {
        file: file.to_owned(),
        key: key.clone(),
    };
    auths_entry(entry)
        .map(|auth| auth.map(|a| (a, found.clone())))
        .map_err(|why| {
            ErrorKind::Credentials(format!(
                "{}: entry \"auths\".{key:?}: {why}",
                file.display()
            ))
        })
}

/// Decode one `auths` entry: `auth` (base64 `user:password`) or `username`/`password`; an entry
/// with neither (Docker writes `{}` when a helper holds the secret) means none.
fn auths_entry(entry: &Value) -> Result<Option<RegistryAuth>, &'static str> {
    if entry
        .get("identitytoken")
        .is_some_and(|t| t.as_str() != Some(""))
    {
        return Err(
            "identity tokens (OAuth refresh tokens) are not supported; log in with a username and password or access token",
        );
    }
    if let Some(encoded) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "`auth` is not valid base64")?;
        let text = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8")?;
        let (user, password) = text
            .split_once(':')
            .ok_or("`auth` must encode username:password")?;
        return Ok(Some(RegistryAuth::Basic(user.into(), password.into())));
    }
    let field = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    match (field("username"), field("password")) {
        (Some(user), Some(password)) => Ok(Some(RegistryAuth::Basic(user.into(), password.into()))),
        (None, None) => Ok(None),
        _ => Err("needs both `username` and `password`"),
    }
}

/// Ask `docker-credential-<name>` for `server`'s credentials: `get` with the server URL on
/// stdin, `{"Username": …, "Secret": …}` on stdout; "credentials not found" means none.
fn run_helper(
    name: &str,
    server: &str,
    file: &Path,
    helper_path: Option<&OsStr>,
) -> Result<Option<RegistryAuth>, ErrorKind> {
    let program = format!("docker-credential-{name}");
    let fail = |message: String| {
        ErrorKind::Credentials(format!(
            "{program} (named in {}) for {server}: {message}",
            file.display()
        ))
    };
    let mut command = Command::new(&program);
    if let Some(path) = helper_path {
        // With PATH set on the command, the program is looked up there.
        command.env("PATH", path);
    }
    let mut child = command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                fail("not found on PATH; install it, or remove the entry to use `auths`".to_owned())
            }
            _ => fail(format!("could not start: {e}")),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is reported by its status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("did not finish: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        // On failure helpers print an error message, not credentials; keep it short anyway.
        let said = format!("{stdout} {}", String::from_utf8_lossy(&output.stderr));
        let said: String = said.split_whitespace().collect::<Vec<_>>().join(" ");
        let said: String = said.chars().take(200).collect();
        return Err(fail(format!("{} ({said})", output.status)));
    }
    let reply: Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| fail("answered with something other than the JSON of the protocol".into()))?;
    let field = |k: &str| reply.get(k).and_then(Value::as_str).unwrap_or_default();
    match (field("Username"), field("Secret")) {
        (_, "") => Err(fail("answered without a Secret".into())),
        ("<token>", _) => Err(fail(
            "returned an identity token (OAuth refresh token), which berth does not support; log in with a username and access token".into(),
        )),
        (user, secret) => Ok(Some(RegistryAuth::Basic(user.into(), secret.into()))),
    }
}

/// `https://index.docker.io/v1/` → `docker.io`, `http://host:5000/` → `host:5000`.
fn normalize(key: &str) -> String {
    let path = normalize_key_path(key);
    path.split('/').next().unwrap_or_default().to_owned()
}

/// A key without scheme, Docker Hub's `/v1/` and trailing slashes; Hub's names become
/// `docker.io`.
fn normalize_key_path(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key)
        .trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io",
        other => other,
    };
    let path = if host == "docker.io" && path == "v1" {
        ""
    } else {
        path
    };
    if path.is_empty() {
        host.to_owned()
    } else {
        format!("{host}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn basic(user: &str, password: &str) -> Option<RegistryAuth> {
        Some(RegistryAuth::Basic(user.into(), password.into()))
    }

    fn auth_of(files: &[PathBuf], registry: &str, repository: &str) -> Option<RegistryAuth> {
        lookup(files, registry, repository).unwrap().map(|(a, _)| a)
    }

    #[test]
    fn auths_entries_match_like_docker_and_podman() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
                "ghcr.io":{"username":"u","password":"p"},
                "quay.io/team":{"auth":"dGVhbTpzZWNyZXQ="},
                "quay.io":{"auth":"YW55OmJvZHk="},
                "helper-holds-it.example":{}
            }}"#,
        )
        .unwrap();
        let files = [dir.path().join("missing.json"), path.clone()];
        let expected = [
            ("docker.io", "library/x", "user", "pass"),
            ("index.docker.io", "library/x", "user", "pass"),
            ("ghcr.io", "org/app", "u", "p"),
            // The longest matching key wins: `quay.io/team`, not `quay.io`.
            ("quay.io", "team/app", "team", "secret"),
            ("quay.io", "teamx/app", "any", "body"),
        ];
        for (registry, repository, user, password) in expected {
            assert_eq!(
                auth_of(&files, registry, repository),
                basic(user, password),
                "{registry}/{repository}"
            );
        }
        assert_eq!(auth_of(&files, "helper-holds-it.example", "a"), None);
        assert_eq!(auth_of(&files, "elsewhere.example", "a"), None);
        let (_, found) = lookup(&files, "ghcr.io", "a").unwrap().unwrap();
        assert_eq!(
            found,
            Found::Auths {
                file: path,
                key: "ghcr.io".into()
            }
        );
    }

    #[test]
    fn bad_entries_name_the_file_and_key_but_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(
            &path,
            r#"{"auths":{"r.example":{"username":"only-user-sekrit"},"s.example":{"auth":"not base64 sekrit"}}}"#,
        )
        .unwrap();
        for registry in ["r.example", "s.example"] {
            let err = lookup(std::slice::from_ref(&path), registry, "a")
                .unwrap_err()
                .to_string();
            assert!(err.contains(registry) && err.contains("auth.json"), "{err}");
            assert!(!err.contains("sekrit"), "{err}");
        }
        std::fs::write(&path, "{\"auths\": {\"x\": \"sekrit\"").unwrap();
        let err = lookup(std::slice::from_ref(&path), "x", "a")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("auth.json") && !err.contains("sekrit"),
            "{err}"
        );
    }

    /// A stand-in helper speaking the protocol; it records what it was asked.
    fn helper(dir: &Path, name: &str, body: &str) {
        let program = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&program, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn helpers_are_asked_through_the_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let asked = dir.path().join("asked");
        helper(
            dir.path(),
            "store",
            &format!(
                "read -r server; echo \"$1 $server\" >> {}; case $server in \
                 https://index.docker.io/v1/) echo '{{\"ServerURL\":\"x\",\"Username\":\"hub\",\"Secret\":\"hub-pw\"}}' ;; \
                 *) echo 'credentials not found in native keychain'; exit 1 ;; esac",
                asked.display()
            ),
        );
        helper(
            dir.path(),
            "special",
            "read -r server; echo \"{\\\"Username\\\":\\\"sp\\\",\\\"Secret\\\":\\\"sp-pw-$server\\\"}\"",
        );
        helper(dir.path(), "broken", "echo 'keychain locked' >&2; exit 3");
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"credsStore":"store","credHelpers":{"special.example:5000":"special","broken.example":"broken","gone.example":"gone"},
               "auths":{"other.example":{"auth":"b3RoZXI6ZmlsZQ=="}}}"#,
        )
        .unwrap();
        let files = [config];
        // Helpers are found on PATH, as Docker finds them.
        let path = std::ffi::OsString::from(format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap()
        ));
        let look = |registry: &str| lookup_with(&files, Some(&path), registry, "a");
        let auth = |registry: &str| look(registry).unwrap().map(|(a, _)| a);
        assert_eq!(auth("docker.io"), basic("hub", "hub-pw"));
        assert_eq!(
            auth("special.example:5000"),
            basic("sp", "sp-pw-special.example:5000")
        );
        // The store has nothing for it: the `auths` entry is used.
        assert_eq!(auth("other.example"), basic("other", "file"));
        let err = look("broken.example").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-broken") && err.contains("keychain locked"),
            "{err}"
        );
        let err = look("gone.example").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-gone") && err.contains("PATH"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&asked).unwrap(),
            "get https://index.docker.io/v1/\nget other.example\n"
        );
    }

    #[test]
    fn default_files_follow_the_environment() {
        let vars = [
            ("REGISTRY_AUTH_FILE", "/a/auth.json"),
            ("DOCKER_CONFIG", "/d"),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
            ("HOME", "/h"),
        ];
        let with = |set: &[&str]| {
            files_from(|k| {
                vars.iter()
                    .find(|(name, _)| *name == k && set.contains(name))
                    .map(|(_, v)| OsString::from(v))
            })
        };
        assert_eq!(
            with(&[
                "REGISTRY_AUTH_FILE",
                "DOCKER_CONFIG",
                "XDG_RUNTIME_DIR",
                "HOME"
            ]),
            [
                "/a/auth.json",
                "/d/config.json",
                "/run/user/1/containers/auth.json",
                "/h/.config/containers/auth.json"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            with(&["HOME"]),
            ["/h/.docker/config.json", "/h/.config/containers/auth.json"].map(PathBuf::from)
        );
    }
}
