//! Properties every render must have, in every profile: hardened containers,
//! probes and resources, labels, and the structure each profile promises.

mod common;

use std::collections::BTreeSet;

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
        let expected = if profile == "external-database" { 3 } else { 4 };
        assert_eq!(
            templates.len(),
            expected,
            "{profile}: frontend, backend, mcp (and postgres) workloads"
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
                    component.is_some_and(|c| c == "database" || values.components.contains_key(c)),
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
    assert_eq!(count(Kind::PodDisruptionBudget), 3);
    // Default deny plus one policy per component.
    assert_eq!(count(Kind::NetworkPolicy), 5);
    for object in &objects {
        if let Manifest::Deployment(d) = object {
            assert_eq!(
                d.spec.as_ref().unwrap().replicas,
                None,
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
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|o| {
                o.metadata()
                    .labels
                    .as_ref()
                    .unwrap()
                    .get("app.kubernetes.io/component")
                    .map(String::as_str)
                    != Some(component)
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
