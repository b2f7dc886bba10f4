//! Build-time placeholders for the variables a Next.js app's modules refuse to load without.
//! `next build` loads every route module to collect page data; a module that throws when, say,
//! `DATABASE_URL` is unset fails the build, although it only needs the variable to exist (the
//! team's own Dockerfile then passes a dummy `ARG`). The real value is a secret that exists
//! only at run time and must never reach an image, so the build step gets a placeholder of
//! the right shape (a URL where a URL is parsed) that points at nothing: port 9 on loopback,
//! where nothing listens. A page that really queries at build time still fails, with the
//! connection error: that page must render per request (`export const dynamic =
//! 'force-dynamic'`), which the note says.

use std::collections::BTreeMap;

use crate::init::findings::Service;
use crate::values::env_names::is_browser_visible;

const URL_WORDS: [&str; 4] = ["URL", "URI", "DSN", "ENDPOINT"];
const DATABASE_WORDS: [&str; 5] = ["DATABASE", "POSTGRES", "PG", "DB", "NEON"];

/// The placeholder for `name`: a PostgreSQL URL, an HTTP URL, or a 48-character token (secret
/// checks often want 32 or more).
fn placeholder(name: &str) -> String {
    let words: Vec<&str> = name.split('_').collect();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(w));
    if has(&URL_WORDS) && has(&DATABASE_WORDS) {
        "postgresql://build:placeholder@127.0.0.1:9/build".into()
    } else if has(&URL_WORDS) {
        "http://127.0.0.1:9".into()
    } else {
        "berth-build-placeholder-not-a-secret-00000000000".into()
    }
}

/// Server-side variables the app's modules check when they load, with a placeholder each
/// (browser-visible ones are real build values: `image.buildEnv`), and the user's note.
pub fn load_placeholders(service: &Service, notes: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut checks = Vec::new();
    for check in &service.load_checks {
        if is_browser_visible(&check.value) || out.contains_key(&check.value) {
            continue;
        }
        out.insert(check.value.clone(), placeholder(&check.value));
        checks.push(format!("{} ({})", check.value, check.source));
    }
    if !checks.is_empty() {
        notes.push(format!(
            "{}: `next build` loads modules that throw without {}: its build step gets placeholders (images/{}.toml), never the real values, which the pods get at run time; a page that queries them while it is prerendered fails the build: give it `export const dynamic = 'force-dynamic'`",
            service.name,
            checks.join(", "),
            service.name
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::findings::{Found, Runtime, Source};

    #[test]
    fn placeholders_have_the_shape_of_the_value_and_skip_public_names() {
        let runtime = Runtime::NextJs { standalone: true };
        let mut s = Service::new("web", "web", Found::new(runtime, Source::assumed("x")));
        for name in [
            "DATABASE_URL",
            "AUTH_SECRET",
            "NEXT_PUBLIC_API_URL",
            "BACKEND_URL",
            "DATABASE_URL",
        ] {
            s.load_checks.push(Found::new(
                name.into(),
                Source::new("web/lib/db.ts", Some(3), "throws"),
            ));
        }
        let mut notes = Vec::new();
        let env = load_placeholders(&s, &mut notes);
        assert_eq!(
            env.into_iter().collect::<Vec<_>>(),
            [
                (
                    "AUTH_SECRET".into(),
                    "berth-build-placeholder-not-a-secret-00000000000".into()
                ),
                ("BACKEND_URL".into(), "http://127.0.0.1:9".into()),
                (
                    "DATABASE_URL".into(),
                    "postgresql://build:placeholder@127.0.0.1:9/build".into()
                ),
            ]
        );
        assert!(
            notes[0].contains("force-dynamic") && notes[0].contains("web/lib/db.ts:3"),
            "{notes:?}"
        );
        assert!(!notes[0].contains("NEXT_PUBLIC"), "{notes:?}");
    }
}
