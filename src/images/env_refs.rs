//! `$VAR` references in a spec's `[env]` values, expanded against the base image's config.
//!
//! An OCI config holds env values as they are: nothing expands `$PATH` when the container
//! starts. A Dockerfile's `ENV PATH=/app/bin:$PATH` is expanded by the builder against the
//! environment so far; berth does the same with the base image's `Env`, so
//! `PATH = "/app/deps/bin:$PATH"` in a spec becomes the base's PATH with `/app/deps/bin` first.
//!
//! Syntax (the Dockerfile's): `$NAME`, `${NAME}`, `${NAME:-default}` (default when unset or
//! empty), `${NAME:+alternative}` (alternative when set and not empty, else empty); `$$` is a
//! literal `$`; a `$` not followed by a name or `{` is literal. A name the base does not set is
//! an error (unless a `:-`/`:+` form says what to do), never copied literally.

/// A reference the base image does not define, or a malformed `${`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("`${name}` is not set in the base image's config")]
    Unset { name: String },
    #[error("unclosed or empty `${{…}}` in {value:?}")]
    Malformed { value: String },
}

/// One piece of a value: literal text or a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Dollar,
    Ref {
        name: &'a str,
        /// `:-word` or `:+word`.
        modifier: Option<(char, &'a str)>,
    },
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn pieces(value: &str) -> Result<Vec<Piece<'_>>, RefError> {
    let malformed = || RefError::Malformed {
        value: value.to_owned(),
    };
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push(Piece::Dollar);
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(malformed)?;
            let body = &inner[..end];
            let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
            let name = &body[..name_len];
            if name.is_empty() || !name.starts_with(is_name_start) {
                return Err(malformed());
            }
            let modifier = match &body[name_len..] {
                "" => None,
                m if m.starts_with(":-") => Some(('-', &m[2..])),
                m if m.starts_with(":+") => Some(('+', &m[2..])),
                _ => return Err(malformed()),
            };
            out.push(Piece::Ref { name, modifier });
            rest = &inner[end + 1..];
        } else if after.starts_with(is_name_start) {
            let len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            out.push(Piece::Ref {
                name: &after[..len],
                modifier: None,
            });
            rest = &after[len..];
        } else {
            out.push(Piece::Text("$"));
            rest = after;
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The names `value` refers to (checks the syntax).
pub fn names(value: &str) -> Result<Vec<String>, RefError> {
    Ok(pieces(value)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref { name, .. } => Some(name.to_owned()),
            _ => None,
        })
        .collect())
}

/// `value` with every reference replaced through `lookup` (the base image's env).
pub fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, RefError> {
    let mut out = String::with_capacity(value.len());
    for piece in pieces(value)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Dollar => out.push('$'),
            Piece::Ref { name, modifier } => {
                let set = lookup(name).filter(|v| !v.is_empty());
                match (modifier, set) {
                    (None, Some(v)) => out.push_str(&v),
                    (None, None) if lookup(name).is_some() => {}
                    (None, None) => {
                        return Err(RefError::Unset {
                            name: name.to_owned(),
                        });
                    }
                    (Some(('-', word)), None) => out.push_str(word),
                    (Some(('-', _)), Some(v)) => out.push_str(&v),
                    (Some((_, word)), Some(_)) => out.push_str(word),
                    (Some(_), None) => {}
                }
            }
        }
    }
    Ok(out)
}

/// `value` with the references `replace` knows replaced by its text (taken as spec text: a `$`
/// in it must already be `$$`), the others kept as references; `$$` stays `$$`. For a
/// writer of specs that resolves some names itself and leaves the base's to the build.
pub fn rewrite(value: &str, replace: impl Fn(&str) -> Option<String>) -> Result<String, RefError> {
    let mut out = String::with_capacity(value.len());
    for piece in pieces(value)? {
        match piece {
            Piece::Text("$") => out.push_str("$$"),
            Piece::Text(t) => out.push_str(t),
            Piece::Dollar => out.push_str("$$"),
            Piece::Ref { name, modifier } => match (replace(name), modifier) {
                (Some(text), None) => out.push_str(&text),
                (_, Some((m, word))) => out.push_str(&format!("${{{name}:{m}{word}}}")),
                (None, None) => out.push_str(&format!("${{{name}}}")),
            },
        }
    }
    Ok(out)
}

/// `text` as a literal spec env value (`$` doubled).
pub fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(name: &str) -> Option<String> {
        match name {
            "PATH" => Some("/usr/local/bin:/usr/bin:/bin".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn references_expand_against_the_base() {
        let cases = [
            (
                "/app/deps/bin:$PATH",
                "/app/deps/bin:/usr/local/bin:/usr/bin:/bin",
            ),
            ("${PATH}:/opt/bin", "/usr/local/bin:/usr/bin:/bin:/opt/bin"),
            ("${NOPE:-fallback}", "fallback"),
            ("${EMPTY:-fallback}", "fallback"),
            ("${PATH:+set}", "set"),
            ("${NOPE:+set}", ""),
            ("$EMPTY", ""),
            ("cost: $$5 and 100$ and $-", "cost: $5 and 100$ and $-"),
            ("plain", "plain"),
        ];
        for (value, want) in cases {
            assert_eq!(expand(value, base).as_deref(), Ok(want), "{value}");
        }
    }

    #[test]
    fn an_unset_or_malformed_reference_is_an_error_never_literal_text() {
        assert_eq!(
            expand("/app/.venv/bin:$VIRTUAL_ENV", base),
            Err(RefError::Unset {
                name: "VIRTUAL_ENV".into()
            })
        );
        for bad in ["${PATH", "${}", "${1X}", "${PATH:?err}"] {
            assert!(
                matches!(names(bad), Err(RefError::Malformed { .. })),
                "{bad}"
            );
        }
        assert_eq!(names("$A:${B:-x}:$$C").unwrap(), ["A", "B"]);
    }

    #[test]
    fn a_writer_resolves_its_own_names_and_keeps_the_bases() {
        let own = |name: &str| (name == "APP_HOME").then(|| literal("/srv/$app"));
        assert_eq!(
            rewrite("$APP_HOME/bin:$PATH:$$x:5$", own).unwrap(),
            "/srv/$$app/bin:${PATH}:$$x:5$$"
        );
        // What it writes expands to the intended text.
        assert_eq!(
            expand("/srv/$$app/bin:${PATH}:$$x:5$$", base).unwrap(),
            "/srv/$app/bin:/usr/local/bin:/usr/bin:/bin:$x:5$"
        );
    }
}
