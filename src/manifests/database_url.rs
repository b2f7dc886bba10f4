//! Database connection values in the form each client library wants, for the
//! in-cluster PostgreSQL and an external one alike. The forms differ in the
//! URL scheme and in the TLS parameter's name: libpq-style drivers read
//! `sslmode`, asyncpg reads `ssl`.

use crate::values::{DatabasePart, Driver};

/// Port PostgreSQL listens on when a URL names none.
pub const POSTGRES_DEFAULT_PORT: u16 = 5432;

impl DriverForm for Driver {
    fn scheme(self) -> &'static str {
        match self {
            Driver::Postgres => "postgresql",
            Driver::Asyncpg => "postgresql+asyncpg",
            Driver::Psycopg => "postgresql+psycopg",
            Driver::Psycopg2 => "postgresql+psycopg2",
        }
    }

    fn tls_param(self) -> &'static str {
        match self {
            Driver::Asyncpg => "ssl",
            _ => "sslmode",
        }
    }
}

/// What differs between drivers' URL forms.
pub trait DriverForm {
    fn scheme(self) -> &'static str;
    fn tls_param(self) -> &'static str;
}

/// The in-cluster database's URL: no TLS inside the cluster, so no TLS parameter.
pub fn internal_url(
    driver: Driver,
    user: &str,
    password: &str,
    host: &str,
    port: u16,
    name: &str,
) -> String {
    format!(
        "{}://{user}:{}@{host}:{port}/{name}",
        driver.scheme(),
        url_encode(password)
    )
}

/// An external URL rewritten into `driver`'s form: the scheme replaced and the
/// TLS parameter renamed (`sslmode` ↔ `ssl`); everything else kept byte for
/// byte. `None` when the text is not a `postgres[ql][+driver]://` URL.
pub fn external_url(raw: &str, driver: Driver) -> Option<String> {
    let (scheme, rest) = raw.split_once("://")?;
    let base = scheme.split_once('+').map_or(scheme, |(b, _)| b);
    if !matches!(base, "postgresql" | "postgres") {
        return None;
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let mut url = format!("{}://{before_query}", driver.scheme());
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("sslmode" | "ssl", value)) => format!("{}={value}", driver.tls_param()),
                _ => pair.to_string(),
            })
            .collect();
        url.push('?');
        url.push_str(&params.join("&"));
    }
    Some(url)
}

/// One part of an external URL (percent-decoded), or the URL in `driver`'s form.
pub fn external_part(raw: &str, part: DatabasePart, driver: Driver) -> Option<String> {
    if part == DatabasePart::Url {
        return external_url(raw, driver);
    }
    let parsed = url::Url::parse(raw).ok()?;
    let decode = percent_decode;
    Some(match part {
        DatabasePart::Url => unreachable!("handled above"),
        DatabasePart::Host => parsed.host_str()?.to_string(),
        DatabasePart::Port => parsed.port().unwrap_or(POSTGRES_DEFAULT_PORT).to_string(),
        DatabasePart::User => decode(parsed.username()),
        DatabasePart::Name => decode(parsed.path().trim_start_matches('/')),
        DatabasePart::Password => decode(parsed.password()?),
    })
}

/// The port an external URL connects to.
pub fn external_port(raw: &str) -> Option<u16> {
    let parsed = url::Url::parse(raw).ok()?;
    Some(parsed.port().unwrap_or(POSTGRES_DEFAULT_PORT))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), as a URL's
/// userinfo needs; Helm's `urlquery` encodes the same set.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_unreserved_only() {
        assert_eq!(url_encode("aZ0-._~"), "aZ0-._~");
        assert_eq!(url_encode("p@ss:w/rd ü"), "p%40ss%3Aw%2Frd%20%C3%BC");
    }

    #[test]
    fn internal_urls_per_driver() {
        assert_eq!(
            internal_url(Driver::Postgres, "todo", "p@ss", "r-postgres", 5432, "todo"),
            "postgresql://todo:p%40ss@r-postgres:5432/todo"
        );
        assert_eq!(
            internal_url(Driver::Asyncpg, "u", "pw", "h", 5432, "d"),
            "postgresql+asyncpg://u:pw@h:5432/d"
        );
    }

    #[test]
    fn external_urls_are_rewritten_for_the_driver_and_otherwise_kept() {
        let neon =
            "postgresql://todo:pw@ep-x.neon.tech/todo?sslmode=require&channel_binding=require";
        assert_eq!(external_url(neon, Driver::Postgres).unwrap(), neon);
        assert_eq!(
            external_url(neon, Driver::Asyncpg).unwrap(),
            "postgresql+asyncpg://todo:pw@ep-x.neon.tech/todo?ssl=require&channel_binding=require"
        );
        assert_eq!(
            external_url(
                "postgres+asyncpg://u:p@h:6543/d?ssl=require",
                Driver::Psycopg
            )
            .unwrap(),
            "postgresql+psycopg://u:p@h:6543/d?sslmode=require"
        );
        assert_eq!(external_url("mysql://u:p@h/d", Driver::Postgres), None);
    }

    #[test]
    fn external_parts_are_decoded() {
        let url = "postgresql://us%40er:p%2Fw@db.example.com:6543/my_db?sslmode=require";
        let part = |p| external_part(url, p, Driver::Postgres).unwrap();
        assert_eq!(part(DatabasePart::Host), "db.example.com");
        assert_eq!(part(DatabasePart::Port), "6543");
        assert_eq!(part(DatabasePart::User), "us@er");
        assert_eq!(part(DatabasePart::Password), "p/w");
        assert_eq!(part(DatabasePart::Name), "my_db");
        assert_eq!(external_port("postgresql://u:p@h/d"), Some(5432));
    }
}
