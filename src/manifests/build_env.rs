//! The values each image's build reads (`image.buildEnv`), resolved: plain text as written,
//! `{externalUrl: /p}` through the one origin function ([`external_url_at`]). Keyed by the
//! spec the image is built from, which is what `berth images build` knows.

use std::collections::BTreeMap;

use super::exposure::external_url_at;
use crate::values::build_env::spec_name;
use crate::values::{EnvValue, Image, Reference, Values};

/// Resolved build values by spec name (`images/web.toml` → `web`), for every image that has
/// some. Validation guarantees one set per spec and only plain values and `externalUrl`.
pub fn build_envs(values: &Values) -> BTreeMap<String, BTreeMap<String, String>> {
    let images = values
        .components
        .values()
        .map(|c| &c.image)
        .chain([&values.database.internal.image]);
    images
        .filter(|image| !image.build_env.is_empty())
        .filter_map(|image| {
            let spec = image.build.as_deref().and_then(spec_name)?;
            Some((spec.to_string(), resolve(values, image)))
        })
        .collect()
}

/// One image's build values, resolved.
pub fn resolve(values: &Values, image: &Image) -> BTreeMap<String, String> {
    image
        .build_env
        .iter()
        .map(|(key, value)| {
            let text = match value {
                EnvValue::Plain(text) => text.clone(),
                EnvValue::Ref(r) => match r.reference() {
                    Some(Reference::ExternalUrl(path)) => external_url_at(values, path),
                    other => unreachable!("validated build value {key}: {other:?}"),
                },
            };
            (key.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{self, ProcessEnv, ValueSources};

    fn load(layer: serde_json::Value) -> Values {
        let sources = ValueSources {
            layers: vec![("test".into(), layer)],
            ..Default::default()
        };
        values::load_unchecked_secrets(&sources, &ProcessEnv).unwrap()
    }

    #[test]
    fn the_origin_follows_the_exposure_and_plain_values_stay() {
        let layer = |expose: serde_json::Value| {
            serde_json::json!({
                "expose": expose,
                "components": {"frontend": {"image": {"buildEnv": {
                    "NEXT_PUBLIC_API_URL": {"externalUrl": "/api/"},
                    "NEXT_PUBLIC_APP_URL": {"externalUrl": "/"},
                    "NEXT_PUBLIC_MODE": "demo",
                }}}}
            })
        };
        let ingress = load(layer(serde_json::json!({
            "mode": "ingress", "ingress": {"host": "todo.example.com"}
        })));
        let envs = build_envs(&ingress);
        assert_eq!(envs.keys().collect::<Vec<_>>(), ["frontend"]);
        let env = &envs["frontend"];
        assert_eq!(env["NEXT_PUBLIC_API_URL"], "http://todo.example.com/api");
        assert_eq!(env["NEXT_PUBLIC_APP_URL"], "http://todo.example.com");
        assert_eq!(env["NEXT_PUBLIC_MODE"], "demo");
        // The same function the env uses.
        assert_eq!(
            env["NEXT_PUBLIC_APP_URL"],
            crate::manifests::exposure::external_url(&ingress)
        );

        let node_port = load(layer(
            serde_json::json!({"mode": "nodePort", "nodePort": 30205}),
        ));
        assert_eq!(
            build_envs(&node_port)["frontend"]["NEXT_PUBLIC_API_URL"],
            "http://localhost:30205/api"
        );
    }

    #[test]
    fn images_without_build_values_are_left_out() {
        assert!(build_envs(&load(serde_json::json!({}))).is_empty());
    }
}
