//! Who may talk to `berth mcp --http`: a bearer token, required whenever the
//! server is more than a loopback read-only helper (a non-loopback bind, or
//! write tools over HTTP). The Host check stops browsers' DNS rebinding, not
//! other clients; the token does. Compared in constant time (as SHA-256
//! digests, so not even the length leaks).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The Secret key holding the whole `Authorization` header value
/// (`Bearer TOKEN`), as kagent's `headersFrom` sends it verbatim.
pub const SECRET_KEY: &str = "authorization";

/// The shortest token accepted: guessing must not be an option.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the token file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{origin}: the token has {length} characters; allowed: at least {MIN_TOKEN_CHARS} printable characters without spaces (e.g. openssl rand -hex 32)"
    )]
    Weak { origin: String, length: usize },
    #[error(
        "{origin}: key `{SECRET_KEY}` must hold `Bearer TOKEN` (the header kagent sends), not {found}"
    )]
    NotBearer { origin: String, found: String },
    #[error("cannot read Secret {namespace}/{name}")]
    SecretRead {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("Secret {namespace}/{name} has no key `{SECRET_KEY}`; it must hold `Bearer TOKEN`")]
    NoKey { namespace: String, name: String },
}

/// The token every request must present as `Authorization: Bearer TOKEN`.
#[derive(Clone)]
pub struct BearerToken {
    /// SHA-256 of the whole expected header value; the token itself is not kept.
    expected: [u8; 32],
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl BearerToken {
    /// A token as written in a file: the token alone, surrounding whitespace ignored.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_token(text.trim(), &path.display().to_string())
    }

    /// A Secret's `authorization` value: `Bearer TOKEN`.
    pub fn from_header_value(value: &str, origin: &str) -> Result<Self, TokenError> {
        let token = value
            .trim()
            .strip_prefix("Bearer ")
            .ok_or_else(|| TokenError::NotBearer {
                origin: origin.to_string(),
                found: if value.trim().is_empty() {
                    "an empty value".into()
                } else {
                    "another scheme or a bare token".into()
                },
            })?;
        Self::from_token(token.trim(), origin)
    }

    /// The token in Secret `namespace/name`, key `authorization`: the same
    /// Secret kagent's `headersFrom` sends as the header.
    pub async fn from_secret(
        client: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Self, TokenError> {
        let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
        let secret = api
            .get(name)
            .await
            .map_err(|source| TokenError::SecretRead {
                namespace: namespace.to_string(),
                name: name.to_string(),
                source,
            })?;
        let no_key = || TokenError::NoKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(SECRET_KEY))
            .ok_or_else(no_key)?;
        let text = String::from_utf8(value.0.clone()).map_err(|_| no_key())?;
        Self::from_header_value(&text, &format!("Secret {namespace}/{name}"))
    }

    fn from_token(token: &str, origin: &str) -> Result<Self, TokenError> {
        let printable = token.chars().all(|c| c.is_ascii_graphic());
        if token.chars().count() < MIN_TOKEN_CHARS || !printable {
            return Err(TokenError::Weak {
                origin: origin.to_string(),
                length: token.chars().count(),
            });
        }
        Ok(BearerToken {
            expected: digest(format!("Bearer {token}").as_bytes()),
        })
    }

    /// Whether an `Authorization` header value is the expected one.
    pub fn accepts(&self, header: &[u8]) -> bool {
        digest(header).ct_eq(&self.expected).into()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// axum middleware: 401 with `WWW-Authenticate: Bearer` unless the request
/// carries the token.
pub async fn require_token(
    State(token): State<Arc<BearerToken>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if presented.is_some_and(|h| token.accepts(h)) {
        return next.run(request).await;
    }
    (
        http::StatusCode::UNAUTHORIZED,
        [(http::header::WWW_AUTHENTICATE, "Bearer")],
        "Unauthorized: send Authorization: Bearer TOKEN (the token berth mcp was started with)\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_header_is_accepted() {
        let token = BearerToken::from_header_value("Bearer 0123456789abcdef0123", "test").unwrap();
        assert!(token.accepts(b"Bearer 0123456789abcdef0123"));
        for wrong in [
            &b"Bearer 0123456789abcdef012"[..],
            b"Bearer 0123456789abcdef01234",
            b"bearer 0123456789abcdef0123",
            b"0123456789abcdef0123",
            b"",
        ] {
            assert!(!token.accepts(wrong), "{}", String::from_utf8_lossy(wrong));
        }
    }

    #[test]
    fn a_file_holds_the_bare_token_and_weak_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef0123\n").unwrap();
        let token = BearerToken::from_file(&path).unwrap();
        assert!(token.accepts(b"Bearer 0123456789abcdef0123"));
        std::fs::write(&path, "short\n").unwrap();
        let err = BearerToken::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("5 characters") && err.contains("at least 16"),
            "{err}"
        );
        let err = BearerToken::from_header_value("0123456789abcdef0123", "Secret kagent/t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Bearer TOKEN") && !err.contains("0123"),
            "{err}"
        );
    }
}
