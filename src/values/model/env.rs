//! Environment values: plain text or a reference resolved at render time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An environment value: a plain string (numbers and booleans are written as
/// text), or a reference resolved at render time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EnvValue {
    Plain(String),
    Ref(EnvRef),
}

/// What an env value may be written as.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub(super) enum EnvValueSchema {
    Text(String),
    Number(f64),
    Bool(bool),
    Ref(EnvRef),
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = serde_json::Value::deserialize(deserializer)?;
        match raw {
            serde_json::Value::String(s) => Ok(EnvValue::Plain(s)),
            serde_json::Value::Number(n) => number_text(&n)
                .map(EnvValue::Plain)
                .map_err(D::Error::custom),
            serde_json::Value::Bool(b) => Ok(EnvValue::Plain(b.to_string())),
            serde_json::Value::Object(_) => serde_json::from_value(raw)
                .map(EnvValue::Ref)
                .map_err(|e| D::Error::custom(e.to_string())),
            other => Err(D::Error::custom(format!(
                "invalid type: {}, expected a string or a reference such as {{secret: NAME}}",
                match other {
                    serde_json::Value::Null => "null",
                    _ => "a list",
                }
            ))),
        }
    }
}

/// Integers beyond ±2^53 do not survive a float64, which is how Helm reads
/// numbers from values files: the chart would print another number.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;

/// A number written in the values as the text the exported chart renders for it
/// (`berth.text`: a float64 holding an integer prints as that integer, any
/// other as Go's `%v`), so both tools give pods the same environment:
/// `1e3` → `1000`, `1.0` → `1`, `0.5` → `0.5`, `1e-7` → `1e-07`.
pub(crate) fn number_text(n: &serde_json::Number) -> Result<String, String> {
    let exact = n.as_i64().map(|i| i.unsigned_abs()).or(n.as_u64());
    if exact.is_some_and(|i| i > EXACT_INTEGER_LIMIT) {
        return Err(format!(
            "the number {n} is too large to pass through a chart unchanged; quote it to keep it as written (\"{n}\")"
        ));
    }
    let f = n
        .as_f64()
        .ok_or_else(|| format!("the number {n} is not representable"))?;
    // Go's int64(f) is only defined inside ±2^63; outside the chart prints the float.
    if f.fract() == 0.0 && f.abs() < (1u64 << 63) as f64 {
        return Ok((f as i64).to_string());
    }
    Ok(go_float_text(f))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what `%v` prints): the shortest
/// digits that round-trip, in exponent form (at least two exponent digits) when
/// the exponent is below -4 or 6 and above, else positional.
fn go_float_text(f: f64) -> String {
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("a decimal exponent");
    if !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    // Shortest round-trip digits in positional form: Rust's Display gives exactly these.
    f.to_string()
}

/// A reference: exactly one of `secret`, `urlOf`, `externalUrl`, `database`, `release`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvRef {
    /// The value of a secret in `secrets`.
    pub secret: Option<String>,
    /// In-cluster URL of a component: `http://<release>-<name>:<port><path>`.
    pub url_of: Option<String>,
    /// Path appended to `urlOf` (e.g. `/mcp`).
    pub path: Option<String>,
    /// The URL the browser uses, with this path (`/` gives the bare origin).
    pub external_url: Option<String>,
    /// A part of the database connection.
    pub database: Option<DatabasePart>,
    /// URL form for `database: url` (absent: postgres).
    pub driver: Option<Driver>,
    /// The release's name or namespace.
    pub release: Option<ReleasePart>,
}

/// A resolved reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference<'a> {
    Secret(&'a str),
    UrlOf { component: &'a str, path: &'a str },
    ExternalUrl(&'a str),
    Database { part: DatabasePart, driver: Driver },
    Release(ReleasePart),
}

impl EnvRef {
    /// The reference, when exactly one kind is given with only its own options.
    pub fn reference(&self) -> Option<Reference<'_>> {
        let kinds = usize::from(self.secret.is_some())
            + usize::from(self.url_of.is_some())
            + usize::from(self.external_url.is_some())
            + usize::from(self.database.is_some())
            + usize::from(self.release.is_some());
        if kinds != 1
            || (self.path.is_some() && self.url_of.is_none())
            || (self.driver.is_some() && self.database != Some(DatabasePart::Url))
        {
            return None;
        }
        Some(if let Some(name) = &self.secret {
            Reference::Secret(name)
        } else if let Some(component) = &self.url_of {
            Reference::UrlOf {
                component,
                path: self.path.as_deref().unwrap_or(""),
            }
        } else if let Some(path) = &self.external_url {
            Reference::ExternalUrl(path)
        } else if let Some(part) = self.database {
            Reference::Database {
                part,
                driver: self.driver.unwrap_or_default(),
            }
        } else {
            Reference::Release(self.release.expect("one kind is set"))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DatabasePart {
    /// The whole connection URL, in the form `driver` wants.
    Url,
    Host,
    Port,
    User,
    /// The database's name.
    Name,
    Password,
}

/// The URL form a client library wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Driver {
    /// `postgresql://…?sslmode=require` (libpq, node-postgres, Prisma, Drizzle).
    #[default]
    Postgres,
    /// `postgresql+asyncpg://…?ssl=require` (SQLAlchemy with asyncpg).
    Asyncpg,
    /// `postgresql+psycopg://…?sslmode=require` (SQLAlchemy with psycopg 3).
    Psycopg,
    /// `postgresql+psycopg2://…?sslmode=require`.
    Psycopg2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReleasePart {
    Name,
    Namespace,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(yaml_number: &str) -> Result<String, String> {
        number_text(&serde_json::from_str(yaml_number).unwrap())
    }

    /// Expected texts are what Go's fmt.Sprint prints for the float64 (checked
    /// with go 1.26), or the integer when the float64 holds one.
    #[test]
    fn numbers_render_as_the_chart_renders_them() {
        for (written, rendered) in [
            ("1e3", "1000"),
            ("1.0", "1"),
            ("-0.0", "0"),
            ("1000000", "1000000"),
            ("1e15", "1000000000000000"),
            ("1.5", "1.5"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1e-7", "1e-07"),
            ("-2.5e-5", "-2.5e-05"),
            ("999999.5", "999999.5"),
            ("1234567.5", "1.2345675e+06"),
            ("3.14159", "3.14159"),
            ("1e21", "1e+21"),
            ("1.5e300", "1.5e+300"),
            ("9007199254740992", "9007199254740992"),
        ] {
            assert_eq!(text(written).as_deref(), Ok(rendered), "{written}");
        }
    }

    #[test]
    fn integers_a_float64_cannot_hold_are_refused_with_a_hint_to_quote() {
        let err = text("9007199254740993").unwrap_err();
        assert!(err.contains("quote it"), "{err}");
        assert!(text("18446744073709551615").is_err());
        assert!(text("-9007199254740993").is_err());
    }
}
