//! Parsing of Helm-style `--set` expressions: `a.b=1,c[0].d=x`, `list={x,y}`.
//! Backslash escapes `.`, `,`, `=` and `[` in keys and values.

use serde_json::Value;

/// One segment of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A parsed `KEY=VALUE` assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub path: Vec<PathSegment>,
    pub value: Value,
}

/// How the value half of an assignment is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `--set`: `true`/`false`/`null`/integers are typed, the rest are strings.
    Typed,
    /// `--set-string` and `--set-file`: always a string.
    String,
}

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SetSyntaxError {
    pub reason: String,
}

fn syntax(reason: impl Into<String>) -> SetSyntaxError {
    SetSyntaxError {
        reason: reason.into(),
    }
}

/// Parses one flag argument, which may hold several comma-separated assignments.
pub fn parse_set(expr: &str, kind: ValueKind) -> Result<Vec<Assignment>, SetSyntaxError> {
    if expr.trim().is_empty() {
        return Err(syntax("expected KEY=VALUE, got an empty string"));
    }
    split_unescaped(expr, ',', true)
        .into_iter()
        .map(|part| parse_assignment(&part, kind))
        .collect()
}

/// Renders a key path as the user would type it: `frontend.env.FOO`, `items[0]`.
pub fn path_to_string(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn parse_assignment(part: &str, kind: ValueKind) -> Result<Assignment, SetSyntaxError> {
    let (key, value) = split_once_unescaped(part, '=')
        .ok_or_else(|| syntax(format!("expected KEY=VALUE, got `{part}` (no `=`)")))?;
    let path = parse_path(&key)?;
    let value = parse_value(&value, kind);
    Ok(Assignment { path, value })
}

fn parse_path(key: &str) -> Result<Vec<PathSegment>, SetSyntaxError> {
    if key.is_empty() {
        return Err(syntax("the key before `=` is empty"));
    }
    let mut path = Vec::new();
    for raw in split_unescaped(key, '.', false) {
        path.extend(parse_key_segment(&raw, key)?);
    }
    Ok(path)
}

/// `name[1][2]` → Key(name), Index(1), Index(2).
fn parse_key_segment(raw: &str, whole: &str) -> Result<Vec<PathSegment>, SetSyntaxError> {
    let (name, mut rest) = match find_unescaped(raw, '[') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let name = unescape(name);
    if name.is_empty() {
        return Err(syntax(format!("empty key segment in `{whole}`")));
    }
    let mut out = vec![PathSegment::Key(name)];
    while !rest.is_empty() {
        let close = rest
            .find(']')
            .filter(|_| rest.starts_with('['))
            .ok_or_else(|| syntax(format!("unbalanced `[` in `{whole}`")))?;
        let index = rest[1..close].parse::<usize>().map_err(|_| {
            syntax(format!(
                "list index `{}` in `{whole}` is not a number",
                &rest[1..close]
            ))
        })?;
        out.push(PathSegment::Index(index));
        rest = &rest[close + 1..];
    }
    Ok(out)
}

fn parse_value(raw: &str, kind: ValueKind) -> Value {
    if kind == ValueKind::Typed && raw.starts_with('{') && raw.ends_with('}') && raw.len() >= 2 {
        let inner = &raw[1..raw.len() - 1];
        if inner.is_empty() {
            return Value::Array(Vec::new());
        }
        let items = split_unescaped(inner, ',', false);
        return Value::Array(items.iter().map(|s| typed_scalar(&unescape(s))).collect());
    }
    let text = unescape(raw);
    match kind {
        ValueKind::Typed => typed_scalar(&text),
        ValueKind::String => Value::String(text),
    }
}

fn typed_scalar(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match text.parse::<i64>() {
            // Helm keeps leading zeros as strings ("007" is not 7).
            Ok(n) if !(text.len() > 1 && text.starts_with('0')) => Value::from(n),
            _ => Value::String(text.to_string()),
        },
    }
}

/// Splits on `sep` not preceded by a backslash; with `braces`, not inside `{…}`.
fn split_unescaped(s: &str, sep: char, braces: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '{' if braces => {
                depth += 1;
                current.push(c);
            }
            '}' if braces => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            c if c == sep && depth == 0 => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn split_once_unescaped(s: &str, sep: char) -> Option<(String, String)> {
    let i = find_unescaped(s, sep)?;
    Some((s[..i].to_string(), s[i + sep.len_utf8()..].to_string()))
}

fn find_unescaped(s: &str, target: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == target {
            return Some(i);
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> PathSegment {
        PathSegment::Key(k.to_string())
    }

    #[test]
    fn typed_values_and_multiple_assignments() {
        let parsed = parse_set(
            "frontend.replicas=3,expose.mode=ingress,a.b=true",
            ValueKind::Typed,
        )
        .unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].path, vec![key("frontend"), key("replicas")]);
        assert_eq!(parsed[0].value, json!(3));
        assert_eq!(parsed[1].value, json!("ingress"));
        assert_eq!(parsed[2].value, json!(true));
    }

    #[test]
    fn set_string_keeps_strings() {
        let parsed = parse_set("database.internal.image.tag=17", ValueKind::String).unwrap();
        assert_eq!(parsed[0].value, json!("17"));
    }

    #[test]
    fn escapes_lists_and_indices() {
        let parsed = parse_set(r"frontend.env.A\.B=x\,y", ValueKind::Typed).unwrap();
        assert_eq!(
            parsed[0].path,
            vec![key("frontend"), key("env"), key("A.B")]
        );
        assert_eq!(parsed[0].value, json!("x,y"));
        let parsed = parse_set("l={a,2},m[1].n=007", ValueKind::Typed).unwrap();
        assert_eq!(parsed[0].value, json!(["a", 2]));
        assert_eq!(
            parsed[1].path,
            vec![key("m"), PathSegment::Index(1), key("n")]
        );
        assert_eq!(parsed[1].value, json!("007"));
        assert_eq!(path_to_string(&parsed[1].path), "m[1].n");
    }

    #[test]
    fn malformed_expressions_are_rejected_with_reasons() {
        for (expr, needle) in [
            ("frontend.replicas", "no `=`"),
            ("=3", "key before `=` is empty"),
            ("a..b=1", "empty key segment"),
            ("a[x]=1", "not a number"),
            ("a[1=1", "unbalanced"),
            ("", "empty string"),
        ] {
            let err = parse_set(expr, ValueKind::Typed).unwrap_err();
            assert!(err.reason.contains(needle), "{expr}: {}", err.reason);
        }
    }
}
