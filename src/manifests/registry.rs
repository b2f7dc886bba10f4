//! What a deploy through a registry adds to the render: images pinned by
//! digest, and a `kubernetes.io/dockerconfigjson` pull Secret every
//! ServiceAccount references. Both are facts of a push, known only at deploy,
//! so they reach the render through the [`RenderContext`], not the values.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Container, LocalObjectReference, PodSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::context::RenderContext;
use super::labels::release_labels;
use super::object::Manifest;

/// Suffix of the pull Secret's name: `<release>-image-pull`.
pub const PULL_SECRET_SUFFIX: &str = "image-pull";

/// The key Kubernetes reads a `kubernetes.io/dockerconfigjson` Secret from.
pub const DOCKER_CONFIG_KEY: &str = ".dockerconfigjson";

/// What the push decided for the render.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegistryRender {
    /// Image as the values render it (`repo:tag`) → as pushed (`repo@sha256:…`).
    pub pins: BTreeMap<String, String>,
    /// The pull Secret's `.dockerconfigjson`; `None`: no Secret, no imagePullSecrets.
    pub docker_config_json: Option<String>,
}

impl std::fmt::Debug for RegistryRender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRender")
            .field("pins", &self.pins)
            .field(
                "docker_config_json",
                &self.docker_config_json.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `<release>-image-pull`.
pub fn pull_secret_name(ctx: &RenderContext) -> String {
    ctx.name(PULL_SECRET_SUFFIX)
}

/// Pins the images the push pinned and, with a pull Secret, adds it and makes
/// every ServiceAccount reference it. Without a push this changes nothing.
pub fn apply(objects: &mut Vec<Manifest>, ctx: &RenderContext) {
    let registry = &ctx.registry;
    for object in objects.iter_mut() {
        let spec = match object {
            Manifest::Deployment(d) => d.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
            Manifest::StatefulSet(s) => s.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
            _ => None,
        };
        if let Some(spec) = spec {
            pin(spec, &registry.pins);
        }
    }
    let Some(config) = &registry.docker_config_json else {
        return;
    };
    let name = pull_secret_name(ctx);
    for object in objects.iter_mut() {
        if let Manifest::ServiceAccount(account) = object {
            account.image_pull_secrets = Some(vec![LocalObjectReference { name: name.clone() }]);
        }
    }
    objects.push(Manifest::Secret(pull_secret(ctx, name, config)));
    super::sort_for_apply(objects);
}

fn pin(spec: &mut PodSpec, pins: &BTreeMap<String, String>) {
    let containers = spec.containers.iter_mut();
    let init = spec.init_containers.iter_mut().flatten();
    for container in containers.chain(init) {
        let Container { image, .. } = container;
        if let Some(pinned) = image.as_deref().and_then(|i| pins.get(i)) {
            *image = Some(pinned.clone());
        }
    }
}

fn pull_secret(ctx: &RenderContext, name: String, config: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(ctx.namespace.clone()),
            labels: Some(release_labels(ctx)),
            ..Default::default()
        },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            DOCKER_CONFIG_KEY.to_string(),
            ByteString(config.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{self, output};
    use crate::values::{self, ProcessEnv, ValueSources};

    fn render(registry: RegistryRender) -> Vec<Manifest> {
        let values = values::load(&ValueSources::default(), &ProcessEnv).unwrap();
        let mut ctx = RenderContext::new(&values, "rel", None);
        ctx.registry = registry;
        manifests::render(&values, &ctx)
    }

    #[test]
    fn without_a_push_nothing_changes() {
        let plain = render(RegistryRender::default());
        assert!(!output::to_yaml_stream(&plain).contains("imagePullSecrets"));
        assert!(!output::to_yaml_stream(&plain).contains("@sha256:"));
    }

    #[test]
    fn pins_images_and_references_the_pull_secret_from_every_service_account() {
        let backend_images = |objects: &[Manifest]| -> Vec<String> {
            let spec = objects
                .iter()
                .find_map(|o| match o {
                    Manifest::Deployment(d) if o.name() == "rel-backend" => d.spec.clone(),
                    _ => None,
                })
                .and_then(|s| s.template.spec)
                .unwrap();
            let init = spec.init_containers.unwrap_or_default();
            spec.containers
                .into_iter()
                .chain(init)
                .filter_map(|c| c.image)
                .collect()
        };
        let plain = backend_images(&render(RegistryRender::default()));
        let backend = plain[0].clone();
        let pinned = format!("r.example/x@sha256:{}", "a".repeat(64));
        let objects = render(RegistryRender {
            pins: BTreeMap::from([(backend.clone(), pinned.clone())]),
            docker_config_json: Some(r#"{"auths":{"r.example":{"auth":"c2VrcmV0"}}}"#.into()),
        });
        // The container and its tasks' init containers alike.
        let images = backend_images(&objects);
        assert_eq!(images.len(), plain.len());
        assert!(images.iter().all(|i| *i == pinned), "{images:?}");
        let frontend = output::to_yaml_stream(&objects);
        assert!(
            frontend.contains("image: localhost/todo-chatbot/frontend:"),
            "unpinned images stay"
        );
        let accounts = objects
            .iter()
            .filter_map(|o| match o {
                Manifest::ServiceAccount(a) => Some(a),
                _ => None,
            })
            .collect::<Vec<_>>();
        assert!(!accounts.is_empty());
        for account in accounts {
            assert_eq!(
                account.image_pull_secrets.as_ref().unwrap()[0].name,
                "rel-image-pull"
            );
        }
        let secret = objects
            .iter()
            .find_map(|o| match o {
                Manifest::Secret(s) if s.metadata.name.as_deref() == Some("rel-image-pull") => {
                    Some(s)
                }
                _ => None,
            })
            .expect("the pull Secret is rendered");
        assert_eq!(
            secret.type_.as_deref(),
            Some("kubernetes.io/dockerconfigjson")
        );
        // Shown only redacted, like every Secret.
        let mut shown = objects.clone();
        manifests::redact_secrets(&mut shown);
        assert!(!output::to_yaml_stream(&shown).contains("c2VrcmV0"));
        // Config objects (the Secret) come before the workloads that need it.
        let position = |kind: &str, name: &str| {
            objects
                .iter()
                .position(|o| o.kind().as_str() == kind && o.name() == name)
                .unwrap()
        };
        assert!(position("Secret", "rel-image-pull") < position("Deployment", "rel-backend"));
    }
}
