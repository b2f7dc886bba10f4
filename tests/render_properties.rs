//! Properties every render must have, in every profile: hardened containers,
//! probes and resources, labels, and the structure each profile promises.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use berth::manifests::{Kind, Manifest};
use berth::values::quantity::parse_quantity;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};

fn pod_templates(objects: &[Manifest]) -> Vec<(String, &PodTemplateSpec)> {
    objects
        .iter()
        .filter_map(|o| match o {
            Manifest::Deployment(d) => Some((o.display_name(), &d.spec.as_ref()?.template)),
            Manifest::StatefulSet(s) => Some((o.display_name(), &s.spec.as_ref()?.template)),
            _ => None,
        })
        .collect()
}

fn containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
}

#[test]
fn every_container_is_hardened_probed_and_limited() {
    for (profile, values) in common::profiles() {
        let objects = common::render(&values);
        let templates = pod_templates(&objects);
        // The Ingress profile routes by itself; NodePort ones have the edge proxy.
        let expected = if profile == "external-database" { 3 } else { 5 };
        assert_eq!(
            templates.len(),
            expected,
            "{profile}: frontend, backend, mcp (and the edge, postgres) workloads"
        );
        for (name, template) in templates {
            let spec = template.spec.as_ref().expect("pod spec");
            let pod_sc = spec
                .security_context
                .as_ref()
                .unwrap_or_else(|| panic!("{profile} {name}: pod securityContext"));
            assert_eq!(pod_sc.run_as_non_root, Some(true), "{profile} {name}");
            assert!(
                pod_sc.run_as_user.is_some_and(|u| u > 0),
                "{profile} {name}: numeric non-root user"
            );
            assert_eq!(
                pod_sc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
                Some("RuntimeDefault")
            );
            assert_eq!(
                spec.automount_service_account_token,
                Some(false),
                "{profile} {name}"
            );
            let annotations = template
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.as_ref())
                .expect("annotations");
            assert!(
                annotations
                    .get("checksum/config")
                    .is_some_and(|c| c.len() == 64),
                "{profile} {name}: checksum"
            );
            for c in containers(spec) {
                let where_ = format!("{profile} {name} container {}", c.name);
                let sc = c
                    .security_context
                    .as_ref()
                    .unwrap_or_else(|| panic!("{where_}: securityContext"));
                assert_eq!(sc.allow_privilege_escalation, Some(false), "{where_}");
                assert_eq!(sc.read_only_root_filesystem, Some(true), "{where_}");
                assert_eq!(sc.run_as_non_root, Some(true), "{where_}");
                let dropped = sc
                    .capabilities
                    .as_ref()
                    .and_then(|c| c.drop.clone())
                    .unwrap_or_default();
                assert_eq!(dropped, vec!["ALL".to_string()], "{where_}");
                assert_eq!(
                    sc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
                    Some("RuntimeDefault"),
                    "{where_}"
                );
                for (probe, kind) in [
                    (&c.readiness_probe, "readiness"),
                    (&c.liveness_probe, "liveness"),
                    (&c.startup_probe, "startup"),
                ] {
                    let probe = probe
                        .as_ref()
                        .unwrap_or_else(|| panic!("{where_}: {kind} probe"));
                    assert!(
                        probe.http_get.is_some() || probe.exec.is_some(),
                        "{where_}: {kind} probe has an action"
                    );
                }
                let resources = c
                    .resources
                    .as_ref()
                    .unwrap_or_else(|| panic!("{where_}: resources"));
                for (set, label) in [
                    (&resources.requests, "requests"),
                    (&resources.limits, "limits"),
                ] {
                    let set = set.as_ref().unwrap_or_else(|| panic!("{where_}: {label}"));
                    assert!(
                        set.contains_key("cpu") && set.contains_key("memory"),
                        "{where_}: {label} cpu+memory"
                    );
                }
                let mounts: BTreeSet<_> = c
                    .volume_mounts
                    .iter()
                    .flatten()
                    .map(|m| m.mount_path.as_str())
                    .collect();
                assert!(
                    mounts.contains("/tmp"),
                    "{where_}: writable /tmp on a read-only root"
                );
                assert!(
                    c.image
                        .as_deref()
                        .is_some_and(|i| i.contains(':') && !i.ends_with(":latest")),
                    "{where_}: pinned image"
                );
            }
        }
    }
}

#[test]
fn every_object_carries_the_release_labels() {
    for (profile, values) in common::profiles() {
        for object in common::render(&values) {
            let labels = object.metadata().labels.clone().unwrap_or_default();
            for key in ["name", "instance", "part-of", "version", "managed-by"] {
                assert!(
                    labels.contains_key(&format!("app.kubernetes.io/{key}")),
                    "{profile} {}: {key}",
                    object.display_name()
                );
            }
            assert_eq!(labels["app.kubernetes.io/managed-by"], "berth");
            assert_eq!(labels["app.kubernetes.io/instance"], "todo-chatbot");
            let release_wide = matches!(object.kind(), Kind::Namespace)
                || object.name().ends_with("-default-deny");
            if !release_wide {
                let component = labels
                    .get("app.kubernetes.io/component")
                    .map(String::as_str);
                assert!(
                    component.is_some_and(|c| c == "database"
                        || c == "edge"
                        || values.components.contains_key(c)),
                    "{profile} {}: component label {component:?}",
                    object.display_name()
                );
            }
        }
    }
}

fn kinds(objects: &[Manifest]) -> BTreeSet<Kind> {
    objects.iter().map(Manifest::kind).collect()
}

#[test]
fn dev_fits_a_small_minikube_with_one_replica_each() {
    let values = common::load(&["values/dev.yaml"], &[], &common::test_env());
    let objects = common::render(&values);
    let (mut cpu, mut memory) = (0.0, 0.0);
    for (name, template) in pod_templates(&objects) {
        let replicas = objects
            .iter()
            .find_map(|o| match o {
                Manifest::Deployment(d) if o.display_name() == name => d.spec.as_ref()?.replicas,
                Manifest::StatefulSet(s) if o.display_name() == name => s.spec.as_ref()?.replicas,
                _ => None,
            })
            .expect("replicas set without an HPA");
        assert_eq!(replicas, 1, "{name}");
        for c in containers(template.spec.as_ref().unwrap()) {
            let requests = c.resources.as_ref().unwrap().requests.as_ref().unwrap();
            cpu += parse_quantity(&requests["cpu"].0).unwrap();
            memory += parse_quantity(&requests["memory"].0).unwrap();
        }
    }
    assert!(cpu <= 2.0, "dev requests {cpu} CPU");
    assert!(
        memory <= 2.0 * 1024.0 * 1024.0 * 1024.0,
        "dev requests {memory} bytes"
    );
    assert!(!kinds(&objects).contains(&Kind::HorizontalPodAutoscaler));
}

#[test]
fn prod_scales_and_isolates() {
    let values = common::load(&["values/prod.yaml"], &[], &common::test_env());
    let objects = common::render(&values);
    let count = |kind| objects.iter().filter(|o| o.kind() == kind).count();
    assert_eq!(count(Kind::HorizontalPodAutoscaler), 3);
    // One per scaled component and the edge's (two proxies).
    assert_eq!(count(Kind::PodDisruptionBudget), 4);
    // Default deny plus one policy per component and the edge's.
    assert_eq!(count(Kind::NetworkPolicy), 6);
    for object in &objects {
        if let Manifest::Deployment(d) = object {
            // The edge proxy has no HPA: two replicas, so no single pod is the way in.
            let expected = (object.name() == "todo-chatbot-edge").then_some(2);
            assert_eq!(
                d.spec.as_ref().unwrap().replicas,
                expected,
                "{}: the HPA owns replicas",
                object.display_name()
            );
        }
    }
    assert!(values.autoscaling.min_replicas >= 2);
}

#[test]
fn deployments_roll_without_losing_capacity() {
    for (profile, values) in common::profiles() {
        for object in common::render(&values) {
            if let Manifest::Deployment(d) = &object {
                let strategy = d.spec.as_ref().unwrap().strategy.as_ref().unwrap();
                let rolling = strategy.rolling_update.as_ref().unwrap();
                assert_eq!(
                    rolling.max_unavailable,
                    Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0)),
                    "{profile} {}",
                    object.display_name()
                );
            }
        }
    }
}

#[test]
fn disabling_a_component_removes_exactly_its_objects() {
    let all = common::render(&common::load(&[], &[], &common::test_env()));
    for component in ["frontend", "backend", "mcp"] {
        let values = common::load(
            &[],
            &[&format!("components.{component}.enabled=false")],
            &common::test_env(),
        );
        let names: BTreeSet<String> = common::render(&values)
            .iter()
            .map(Manifest::display_name)
            .collect();
        // Without the frontend or the backend the routes name one component:
        // the edge proxy goes too.
        let gone = |label: &str| label == component || (label == "edge" && component != "mcp");
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|o| {
                !o.metadata()
                    .labels
                    .as_ref()
                    .unwrap()
                    .get("app.kubernetes.io/component")
                    .is_some_and(|l| gone(l))
            })
            .map(Manifest::display_name)
            .collect();
        assert_eq!(names, expected, "disabling {component}");
    }
}

#[test]
fn a_config_change_rolls_only_the_component_that_reads_it() {
    let checksums = |set: &[&str]| -> Vec<(String, String)> {
        let values = common::load(&[], set, &common::test_env());
        pod_templates(&common::render(&values))
            .into_iter()
            .map(|(name, t)| {
                (
                    name,
                    t.metadata.as_ref().unwrap().annotations.as_ref().unwrap()["checksum/config"]
                        .clone(),
                )
            })
            .collect()
    };
    let before = checksums(&[]);
    let after = checksums(&["components.backend.env.LLM_MODEL=gpt-4o-mini"]);
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.clone())
        .collect();
    assert_eq!(
        changed,
        vec!["Deployment todo/todo-chatbot-backend".to_string()]
    );
}

#[test]
fn external_database_has_no_statefulset_and_ingress_routes_api_to_backend() {
    let (_, values) = common::profiles()
        .into_iter()
        .find(|(n, _)| *n == "external-database")
        .unwrap();
    let objects = common::render(&values);
    assert!(!kinds(&objects).contains(&Kind::StatefulSet));
    let ingress = objects
        .iter()
        .find_map(|o| match o {
            Manifest::Ingress(i) => Some(i.clone()),
            _ => None,
        })
        .expect("an Ingress");
    let paths: Vec<(String, String)> = ingress.spec.unwrap().rules.unwrap()[0]
        .http
        .as_ref()
        .unwrap()
        .paths
        .iter()
        .map(|p| {
            (
                p.path.clone().unwrap(),
                p.backend.service.as_ref().unwrap().name.clone(),
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            ("/api".to_string(), "todo-chatbot-backend".to_string()),
            ("/".to_string(), "todo-chatbot-frontend".to_string())
        ]
    );
}

fn service<'a>(objects: &'a [Manifest], name: &str) -> &'a k8s_openapi::api::core::v1::Service {
    objects
        .iter()
        .find_map(|o| match o {
            Manifest::Service(s) if s.metadata.name.as_deref() == Some(name) => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Service {name}"))
}

fn edge_conf(objects: &[Manifest]) -> Option<String> {
    objects.iter().find_map(|o| match o {
        Manifest::ConfigMap(cm) if cm.metadata.name.as_deref() == Some("todo-chatbot-edge") => {
            cm.data.as_ref()?.get("nginx.conf").cloned()
        }
        _ => None,
    })
}

fn policy<'a>(
    objects: &'a [Manifest],
    name: &str,
) -> &'a k8s_openapi::api::networking::v1::NetworkPolicySpec {
    objects
        .iter()
        .find_map(|o| match o {
            Manifest::NetworkPolicy(p) if p.metadata.name.as_deref() == Some(name) => {
                p.spec.as_ref()
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no NetworkPolicy {name}"))
}

#[test]
fn routes_to_several_components_reach_the_nodeport_through_the_edge() {
    let values = common::load(&["values/prod.yaml"], &[], &common::test_env());
    let objects = common::render(&values);
    let edge = service(&objects, "todo-chatbot-edge")
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(edge.type_.as_deref(), Some("NodePort"));
    assert_eq!(edge.ports.as_ref().unwrap()[0].node_port, Some(30080));
    let frontend = service(&objects, "todo-chatbot-frontend")
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(frontend.type_.as_deref(), Some("ClusterIP"));
    let conf = edge_conf(&objects).expect("the edge's nginx.conf");
    let api = conf.find("location = \"/api\"").expect("/api");
    let root = conf.find("location \"/\"").expect("/");
    assert!(api < root, "most specific first:\n{conf}");
    assert!(
        conf.contains("proxy_pass http://todo-chatbot-backend:8000;"),
        "{conf}"
    );
    assert!(
        conf.contains("proxy_pass http://todo-chatbot-frontend:3000;"),
        "{conf}"
    );
    assert!(
        conf.contains("proxy_buffering off;") && conf.contains("$http_upgrade"),
        "{conf}"
    );
    // NodePort traffic reaches the edge only; the edge reaches the routed components.
    let edge_policy = policy(&objects, "todo-chatbot-edge");
    let ingress = edge_policy.ingress.as_ref().unwrap();
    assert!(
        ingress.len() == 1 && ingress[0].from.is_none(),
        "{ingress:?}"
    );
    let egress_ports: Vec<String> = edge_policy
        .egress
        .as_ref()
        .unwrap()
        .iter()
        .flat_map(|r| r.ports.iter().flatten())
        .map(|p| format!("{:?}", p.port))
        .collect();
    assert!(
        egress_ports.iter().any(|p| p.contains("8000"))
            && egress_ports.iter().any(|p| p.contains("3000")),
        "{egress_ports:?}"
    );
    for component in ["frontend", "backend"] {
        let from = policy(&objects, &format!("todo-chatbot-{component}"))
            .ingress
            .as_ref()
            .unwrap();
        let peers: Vec<String> = from
            .iter()
            .flat_map(|r| r.from.as_ref().expect("no rule open to everyone"))
            .filter_map(|p| {
                p.pod_selector
                    .as_ref()?
                    .match_labels
                    .as_ref()?
                    .get("app.kubernetes.io/component")
                    .cloned()
            })
            .collect();
        assert!(
            peers.contains(&"edge".to_string()),
            "{component}: {peers:?}"
        );
    }
}

#[test]
fn one_routed_component_needs_no_edge_and_a_route_change_rolls_the_edge() {
    let objects = common::render(&common::load(
        &[],
        &["expose.routes./api=frontend"],
        &common::test_env(),
    ));
    assert!(edge_conf(&objects).is_none());
    let frontend = service(&objects, "todo-chatbot-frontend")
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(frontend.type_.as_deref(), Some("NodePort"));
    // Stripping a prefix needs the edge even for one component.
    let objects = common::render(&common::load(
        &[],
        &[
            "expose.routes./api.component=frontend",
            "expose.routes./api.stripPrefix=true",
        ],
        &common::test_env(),
    ));
    let conf = edge_conf(&objects).expect("an edge to strip the prefix");
    assert!(
        conf.contains(
            "location \"/api/\" {\n            proxy_pass http://todo-chatbot-frontend:3000/;"
        ),
        "{conf}"
    );
    // A new route changes the edge's checksum, and only the edge's.
    let checksums = |set: &[&str]| -> BTreeMap<String, String> {
        pod_templates(&common::render(&common::load(
            &[],
            set,
            &common::test_env(),
        )))
        .into_iter()
        .map(|(name, t)| {
            (
                name,
                t.metadata.as_ref().unwrap().annotations.as_ref().unwrap()["checksum/config"]
                    .clone(),
            )
        })
        .collect()
    };
    let before = checksums(&[]);
    let after = checksums(&["expose.routes./mcp=mcp"]);
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(changed, vec!["Deployment todo/todo-chatbot-edge"]);
}

#[test]
fn a_gateway_strips_a_prefix_with_a_url_rewrite() {
    let values = common::load(
        &[],
        &[
            "expose.mode=gateway",
            "expose.routes./api.component=backend",
            "expose.routes./api.stripPrefix=true",
        ],
        &common::test_env(),
    );
    let objects = common::render(&values);
    assert!(edge_conf(&objects).is_none(), "a Gateway routes by itself");
    let route = objects
        .iter()
        .find_map(|o| match o {
            Manifest::HttpRoute(r) => Some(serde_json::to_value(r).unwrap()),
            _ => None,
        })
        .expect("an HTTPRoute");
    let rules = route["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["matches"][0]["path"]["value"], "/api");
    assert_eq!(
        rules[0]["filters"],
        serde_json::json!([{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}])
    );
    assert!(rules[1].get("filters").is_none(), "{rules:?}");
}
