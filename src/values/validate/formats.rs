//! Rules on single fields: names, keys, label values, paths, ports, users, images and
//! resource quantities, each reporting the key path, the value and what is allowed.

use crate::values::error::Problem;
use crate::values::model::Resources;
use crate::values::quantity::parse_quantity;

pub(super) fn check_resources(problems: &mut Vec<Problem>, path: &str, r: &Resources) {
    let amounts = [
        ("requests.cpu", &r.requests.cpu),
        ("requests.memory", &r.requests.memory),
        ("limits.cpu", &r.limits.cpu),
        ("limits.memory", &r.limits.memory),
    ];
    let mut parsed = Vec::new();
    for (key, text) in amounts {
        match parse_quantity(text) {
            Some(q) if q > 0.0 => parsed.push(Some(q)),
            _ => {
                problems.push(Problem::new(
                    format!("{path}.{key}"),
                    format!("`{text}` is not a positive quantity; allowed: e.g. 250m or 1 for cpu, 256Mi or 1Gi for memory"),
                ));
                parsed.push(None);
            }
        }
    }
    for (resource, request, limit, req_text, lim_text) in [
        ("cpu", parsed[0], parsed[2], &r.requests.cpu, &r.limits.cpu),
        (
            "memory",
            parsed[1],
            parsed[3],
            &r.requests.memory,
            &r.limits.memory,
        ),
    ] {
        if let (Some(request), Some(limit)) = (request, limit)
            && request > limit
        {
            problems.push(Problem::new(
                format!("{path}.requests.{resource}"),
                format!("{req_text} is more than the limit {lim_text}; allowed: at most {path}.limits.{resource}"),
            ));
        }
    }
}

pub(super) fn check_image(problems: &mut Vec<Problem>, path: &str, repository: &str, tag: &str) {
    if repository.is_empty()
        || repository.contains(char::is_whitespace)
        || repository.contains(':') && !repository.contains('/')
    {
        problems.push(Problem::new(
            format!("{path}.image.repository"),
            format!("`{repository}` is not an image repository; allowed: e.g. docker.io/library/postgres"),
        ));
    }
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !tag.starts_with(['.', '-']);
    if !tag_ok {
        problems.push(Problem::new(
            format!("{path}.image.tag"),
            format!(
                "`{tag}` is not an image tag; allowed: letters, digits, `_`, `.`, `-` (up to 128)"
            ),
        ));
    }
}

pub(super) fn check_port(problems: &mut Vec<Problem>, path: &str, port: u16) {
    if port == 0 {
        problems.push(Problem::new(path, "0 is not a port; allowed: 1–65535"));
    }
}

pub fn check_path(problems: &mut Vec<Problem>, path: &str, value: &str) {
    if !value.starts_with('/') || value.contains(char::is_whitespace) {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not an HTTP path; allowed: starting with `/`, no spaces"),
        ));
    }
}

pub(super) fn check_user(problems: &mut Vec<Problem>, path: &str, uid: i64) {
    if uid <= 0 {
        problems.push(Problem::new(
            path,
            format!("{uid} is root or invalid; allowed: a numeric non-root user id (1 or more)"),
        ));
    }
}

pub(super) fn check_dns_label(problems: &mut Vec<Problem>, path: &str, value: &str) {
    if !is_dns_label(value) {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not a valid name; allowed: up to 63 lower-case letters, digits and `-`, starting and ending with a letter or digit"),
        ));
    }
}

/// RFC 1123 label, as Kubernetes uses for namespaces and Service names.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1035 label: a DNS label starting with a letter, as Service names require.
pub fn is_dns_1035(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

pub(super) fn is_secret_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name.
pub(super) fn check_qualified_key(problems: &mut Vec<Problem>, path: &str, key: &str) {
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !name_ok || (!prefix.is_empty() && !is_dns_subdomain(prefix)) {
        problems.push(Problem::new(
            path,
            format!("`{key}` is not a valid key; allowed: [prefix/]name, name up to 63 letters, digits, `-`, `_`, `.`"),
        ));
    }
}

pub(super) fn check_label_value(problems: &mut Vec<Problem>, path: &str, value: &str) {
    let ok = value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if !ok {
        problems.push(Problem::new(
            path,
            format!("`{value}` is not a valid label value; allowed: up to 63 letters, digits, `-`, `_`, `.`"),
        ));
    }
}

/// RFC 1123 subdomain (dot-separated labels), as Ingress hosts require.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
