//! Rules for `image.buildEnv`: the variables an image's build reads. What a build bakes in is
//! public (a browser bundle) and fixed for every cluster the image runs on, so only plain
//! values and the browser's origin (`{externalUrl: /p}`) are allowed.

use std::collections::BTreeMap;
use std::path::Path;

use super::env_names::credential;
use super::error::Problem;
use super::model::{EnvValue, Image, Reference, Values};
use super::validate::{check_path, is_env_name};

/// The spec an image is built from, by the name `berth images build` knows it by (the spec
/// file's stem, `images/web.toml` → `web`).
pub fn spec_name(build: &str) -> Option<&str> {
    Path::new(build).file_stem().and_then(|s| s.to_str())
}

/// Every problem with the build values of the components' and the database's images.
pub fn check_build_envs(values: &Values) -> Vec<Problem> {
    let mut problems = Vec::new();
    let images = values
        .components
        .iter()
        .map(|(name, c)| (format!("components.{name}.image"), &c.image))
        .chain([(
            "database.internal.image".to_string(),
            &values.database.internal.image,
        )]);
    // One spec is built once: every image built from it must ask for the same values.
    let mut by_spec: BTreeMap<&str, (String, &Image)> = BTreeMap::new();
    for (at, image) in images {
        problems.extend(check_image(&at, image));
        let Some(spec) = image.build.as_deref().and_then(spec_name) else {
            continue;
        };
        match by_spec.get(spec) {
            Some((first, other)) if other.build_env != image.build_env => problems.push(
                Problem::new(
                    format!("{at}.buildEnv"),
                    format!(
                        "differs from {first}.buildEnv, but both are built from the spec `{spec}`, which is built once"
                    ),
                )
                .with_hint("give both the same buildEnv, or give one its own spec file"),
            ),
            Some(_) => {}
            None => {
                by_spec.insert(spec, (at, image));
            }
        }
    }
    problems
}

fn check_image(at: &str, image: &Image) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !image.build_env.is_empty() && image.build.is_none() {
        problems.push(
            Problem::new(
                format!("{at}.buildEnv"),
                "is set, but the image has no build spec (image.build): a prebuilt image cannot take build values",
            )
            .with_hint("set image.build to the spec berth builds it from, or remove buildEnv and build the image with these values yourself"),
        );
    }
    for (key, value) in &image.build_env {
        let at = format!("{at}.buildEnv.{key}");
        if !is_env_name(key) {
            problems.push(Problem::new(
                at.clone(),
                "is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit",
            ));
        }
        match value {
            EnvValue::Plain(text) => problems.extend(plain_problem(&at, key, text)),
            EnvValue::Ref(r) => problems.extend(reference_problem(&at, r.reference())),
        }
    }
    problems
}

/// A credential in a build value would be readable by anyone who has the image (or the page);
/// the same rule as env and `berth init` ([`credential`]: a browser-visible name is public by
/// design).
fn plain_problem(at: &str, key: &str, text: &str) -> Option<Problem> {
    if text.is_empty() {
        return None;
    }
    let url_with_password = url::Url::parse(text).is_ok_and(|u| u.password().is_some());
    let why = if url_with_password {
        "is a URL with a password"
    } else if credential(key, Some(text)).is_some() {
        "looks like a credential"
    } else {
        return None;
    };
    // The value is never echoed: it may be the secret itself.
    Some(
        Problem::new(at, format!("{why}; a build value is baked into the image and anything it serves to the browser"))
            .with_hint("read secrets at run time: declare it under `secrets:` and set it in the component's env as {secret: NAME}"),
    )
}

fn reference_problem(at: &str, reference: Option<Reference<'_>>) -> Option<Problem> {
    let refused = |kind: &str, why: &str, hint: &str| {
        Some(Problem::new(format!("{at}.{kind}"), why.to_string()).with_hint(hint.to_string()))
    };
    match reference {
        None => Some(Problem::new(
            at,
            "is not a build value; allowed: a plain string or {externalUrl: /p}",
        )),
        Some(Reference::ExternalUrl(path)) => {
            let mut problems = Vec::new();
            check_path(&mut problems, &format!("{at}.externalUrl"), path);
            problems.into_iter().next()
        }
        Some(Reference::Secret(_)) => refused(
            "secret",
            "a secret must not be baked into an image: what a build reads ends up in files anyone with the image (or the page) can read",
            "read it at run time from the component's env ({secret: NAME}); a browser-visible key that is public by design can be a plain value",
        ),
        Some(Reference::UrlOf { component, .. }) => refused(
            "urlOf",
            &format!(
                "is an in-cluster URL of `{component}`; the browser, where a build value ends up, cannot resolve cluster DNS"
            ),
            &format!(
                "route a path to it (expose.routes./PREFIX: {component}) and use {{externalUrl: /PREFIX}}; server-side code reads {{urlOf: {component}}} at run time from env"
            ),
        ),
        Some(Reference::Database { .. }) => refused(
            "database",
            "a database connection must not be baked into an image (it holds a password, and the browser cannot reach the database)",
            "read it at run time from the component's env ({database: url})",
        ),
        Some(Reference::Release(_)) => refused(
            "release",
            "the release's name or namespace would make the image differ per release, though the same build serves every one",
            "use a plain value, or read it at run time from the component's env ({release: name})",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{self, ProcessEnv, ValueSources};

    fn load(stack: serde_json::Value) -> Result<Values, String> {
        let sources = ValueSources {
            layers: vec![("test".into(), stack)],
            ..Default::default()
        };
        values::load_unchecked_secrets(&sources, &ProcessEnv).map_err(|e| e.to_string())
    }

    fn web(build_env: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"components": {"frontend": {"image": {
            "repository": "r", "tag": "t", "build": "images/frontend.toml", "buildEnv": build_env
        }}}})
    }

    #[test]
    fn plain_values_and_the_origin_are_accepted() {
        let values = load(web(serde_json::json!({
            "NEXT_PUBLIC_API_URL": {"externalUrl": "/"},
            "VITE_MODE": "demo",
            "REACT_APP_RETRIES": 3,
        })))
        .unwrap();
        let env = &values.components["frontend"].image.build_env;
        assert_eq!(env["REACT_APP_RETRIES"], EnvValue::Plain("3".into()));
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn secrets_cluster_urls_databases_and_release_names_are_refused_with_a_hint() {
        for (value, key, says) in [
            (
                serde_json::json!({"secret": "authSecret"}),
                "secret",
                "must not be baked",
            ),
            (
                serde_json::json!({"urlOf": "backend"}),
                "urlOf",
                "cannot resolve cluster DNS",
            ),
            (
                serde_json::json!({"database": "url"}),
                "database",
                "database connection",
            ),
            (
                serde_json::json!({"release": "name"}),
                "release",
                "differ per release",
            ),
        ] {
            let err = load(web(serde_json::json!({ "NEXT_PUBLIC_X": value }))).unwrap_err();
            assert!(
                err.contains(&format!(
                    "components.frontend.image.buildEnv.NEXT_PUBLIC_X.{key}"
                )) && err.contains(says)
                    && err.contains("hint:"),
                "{err}"
            );
        }
    }

    #[test]
    fn credentials_bad_names_and_bad_paths_are_refused() {
        let err = load(web(serde_json::json!({
            "STRIPE_SECRET_KEY": "sk_live_abc",
            "9BAD": "x",
            "VITE_API": {"externalUrl": "api"},
            "VITE_DB": "postgres://u:hunter2@h/db",
        })))
        .unwrap_err();
        assert!(
            err.contains("buildEnv.STRIPE_SECRET_KEY: looks like a credential"),
            "{err}"
        );
        assert!(
            err.contains("buildEnv.9BAD: is not a valid environment variable name"),
            "{err}"
        );
        assert!(
            err.contains("buildEnv.VITE_API.externalUrl: `api` is not an HTTP path"),
            "{err}"
        );
        assert!(
            err.contains("buildEnv.VITE_DB: is a URL with a password"),
            "{err}"
        );
        assert!(
            !err.contains("sk_live_abc") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn build_values_need_a_spec_and_one_spec_has_one_set_of_values() {
        let err = load(serde_json::json!({"components": {"web": {"image": {
            "repository": "r", "tag": "t", "buildEnv": {"VITE_A": "1"}
        }}}}))
        .unwrap_err();
        assert!(
            err.contains("components.web.image.buildEnv: is set, but the image has no build spec"),
            "{err}"
        );

        let twice = |b: &str| serde_json::json!({"image": {"repository": "r", "tag": "t", "build": "images/web.toml", "buildEnv": {"VITE_A": b}}});
        let err = load(serde_json::json!({"components": {"a": twice("1"), "b": twice("2")}}))
            .unwrap_err();
        assert!(
            err.contains("components.b.image.buildEnv: differs from components.a.image.buildEnv")
                && err.contains("`web`"),
            "{err}"
        );
        assert!(
            load(serde_json::json!({"components": {"a": twice("1"), "b": twice("1")}})).is_ok()
        );
    }
}
