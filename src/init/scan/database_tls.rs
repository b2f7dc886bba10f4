//! Whether a Python service's code insists on TLS to PostgreSQL without verifying the server:
//! libpq's `sslmode=require` (in `connect_args`, a keyword argument or a URL the code builds) or
//! asyncpg's `ssl="require"`. Code written for Neon hard-codes it, and the in-cluster database
//! then has to serve TLS (`database.internal.tls`). `verify-ca`/`verify-full` and asyncpg's
//! `ssl=True` verify the certificate, which a self-signed one cannot pass: not matched.

/// The first line (1-based) asking for TLS, and what it asks, e.g. `sslmode=require`.
pub fn requirement(text: &str) -> Option<(usize, &'static str)> {
    text.lines().enumerate().find_map(|(n, line)| {
        let code = line.split('#').next().unwrap_or("");
        // `"sslmode": "require"`, `sslmode='require'`, `?sslmode=require` read alike.
        let squeezed: String = code
            .chars()
            .filter(|c| !matches!(c, '"' | '\'' | ' ' | '\t'))
            .collect();
        if ["sslmode:require", "sslmode=require"]
            .iter()
            .any(|p| squeezed.contains(p))
        {
            return Some((n + 1, "sslmode=require"));
        }
        let asyncpg = ["ssl:require", "ssl=require"].iter().any(|p| {
            squeezed.match_indices(p).any(|(i, _)| {
                // Not the tail of a longer name (`use_ssl=require_…` is someone else's).
                let before = squeezed[..i].chars().next_back();
                let after = squeezed[i + p.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
            })
        });
        asyncpg.then_some((n + 1, "ssl=require (asyncpg)"))
    })
}

#[cfg(test)]
mod tests {
    use super::requirement;

    #[test]
    fn finds_the_forms_that_do_not_verify() {
        let cases = [
            (
                "engine = create_engine(url, connect_args={\"sslmode\": \"require\"})",
                "sslmode=require",
            ),
            (
                "connect_args = {\n    'sslmode': 'require',  # Neon\n}",
                "sslmode=require",
            ),
            (
                "psycopg2.connect(dsn, sslmode=\"require\")",
                "sslmode=require",
            ),
            ("url = f\"{base}?sslmode=require\"", "sslmode=require"),
            (
                "await asyncpg.connect(url, ssl=\"require\")",
                "ssl=require (asyncpg)",
            ),
            (
                "create_async_engine(url, connect_args={\"ssl\": \"require\"})",
                "ssl=require (asyncpg)",
            ),
        ];
        for (text, what) in cases {
            assert_eq!(requirement(text).map(|(_, w)| w), Some(what), "{text}");
        }
        assert_eq!(
            requirement("a = 1\nb = {'sslmode': 'require'}").map(|(n, _)| n),
            Some(2)
        );
    }

    #[test]
    fn ignores_comments_verification_and_other_names() {
        for text in [
            "# connect_args={'sslmode': 'require'} on Neon",
            "connect_args={'sslmode': 'prefer'}",
            "connect_args={'sslmode': 'verify-full'}",
            "await asyncpg.connect(url, ssl=True)",
            "use_ssl=required_flag",
            "ssl=require_tls(config)",
        ] {
            assert_eq!(requirement(text), None, "{text}");
        }
    }
}
