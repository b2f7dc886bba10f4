//! The in-cluster database's TLS certificate and key: self-signed, made once
//! per release (deploy reads an earlier one back from the cluster). Clients that
//! ask `sslmode=require` get encryption in transit; nothing verifies the
//! certificate, so it authenticates no one.

/// Common name of the certificate; the chart's `genSelfSignedCert` uses the same.
pub const DATABASE_TLS_COMMON_NAME: &str = "berth-postgres";

/// A PEM certificate and its PEM private key. Debug never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsPair {
    pub cert: String,
    pub key: String,
}

impl TlsPair {
    /// A new self-signed certificate (ECDSA P-256) for [`DATABASE_TLS_COMMON_NAME`].
    pub fn self_signed() -> TlsPair {
        let generated = rcgen::generate_simple_self_signed(vec![DATABASE_TLS_COMMON_NAME.into()])
            .expect("rcgen signs a certificate for a fixed DNS name");
        TlsPair {
            cert: generated.cert.pem(),
            key: generated.signing_key.serialize_pem(),
        }
    }
}

impl std::fmt::Debug for TlsPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPair")
            .field("cert", &self.cert)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::TlsPair;

    #[test]
    fn a_new_pair_is_pem_and_unique() {
        let pair = TlsPair::self_signed();
        assert!(pair.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pair.key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(TlsPair::self_signed().key, pair.key);
        assert!(!format!("{pair:?}").contains(&pair.key));
    }
}
