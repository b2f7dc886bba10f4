//! The one external entry point: a NodePort on the frontend Service, or an
//! Ingress sending `/` to the frontend and `/api` to the backend on the same
//! origin, so the browser never needs cluster DNS.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::context::{ComponentName, RenderContext};
use super::labels::component_labels;
use crate::values::{ExposeMode, Values};

/// The URL users reach the app at. A NodePort's node address is only known on
/// the cluster, so render assumes `localhost` (as `minikube service` tunnels do);
/// `berth status` shows the real one.
pub fn external_url(values: &Values) -> String {
    let expose = &values.expose;
    match expose.mode {
        ExposeMode::Ingress => {
            let scheme = if expose.ingress.tls_secret_name.is_empty() {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{}", expose.ingress.host)
        }
        ExposeMode::NodePort => format!("http://localhost:{}", expose.node_port),
        ExposeMode::None => format!("http://localhost:{}", values.frontend.port),
    }
}

/// The Ingress, when exposing through one and at least one of its backends runs.
pub fn ingress(values: &Values, ctx: &RenderContext) -> Option<Ingress> {
    let expose = &values.expose;
    if expose.mode != ExposeMode::Ingress || !(values.frontend.enabled || values.backend.enabled) {
        return None;
    }
    let mut paths = Vec::new();
    if values.backend.enabled {
        paths.push(prefix_path(
            "/api",
            &ctx.name(ComponentName::Backend),
            values.backend.port,
        ));
    }
    if values.frontend.enabled {
        paths.push(prefix_path(
            "/",
            &ctx.name(ComponentName::Frontend),
            values.frontend.port,
        ));
    }
    let tls = (!expose.ingress.tls_secret_name.is_empty()).then(|| {
        vec![IngressTLS {
            hosts: Some(vec![expose.ingress.host.clone()]),
            secret_name: Some(expose.ingress.tls_secret_name.clone()),
        }]
    });
    Some(Ingress {
        metadata: ObjectMeta {
            name: Some(ctx.name(ComponentName::Frontend)),
            namespace: Some(ctx.namespace.clone()),
            labels: Some(component_labels(
                ctx,
                ComponentName::Frontend,
                &values.frontend.image.tag,
            )),
            ..Default::default()
        },
        spec: Some(IngressSpec {
            ingress_class_name: Some(expose.ingress.class_name.clone()),
            rules: Some(vec![IngressRule {
                host: Some(expose.ingress.host.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            tls,
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn prefix_path(path: &str, service: &str, port: u16) -> HTTPIngressPath {
    HTTPIngressPath {
        path: Some(path.into()),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service.into(),
                port: Some(ServiceBackendPort {
                    number: Some(port.into()),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        },
    }
}
