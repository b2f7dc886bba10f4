//! Plan and deploy: create, no-op, update, recreate (422), conflict (409),
//! forbidden (403), and a namespace the deploy must create first.

use http::Method;

use super::fake_api::{FakeApi, Fault};
use super::*;
use crate::apply::{Action, ApplyError, Event, Inventory, ObjectKey, deploy, plan, revision};
use crate::hint::Hint;

async fn deploy_all(
    fake: &FakeApi,
    objects: &[Desired],
    options: &DeployOptions,
) -> (Result<DeployReport, ApplyError>, Vec<Event>) {
    let mut events = Vec::new();
    let result = deploy(
        &fake.client(),
        &release(),
        objects.to_vec(),
        options,
        &mut |e| events.push(e),
    )
    .await;
    (result, events)
}

fn verbs(plan: &crate::apply::Plan) -> Vec<(String, Verb)> {
    plan.objects
        .iter()
        .map(|p| (p.desired.key.to_string(), p.action.verb()))
        .collect()
}

#[tokio::test]
async fn creates_then_changes_nothing_then_updates_only_what_changed() {
    let fake = with_namespace();
    let client = fake.client();
    let objects = [config_map("a", "1"), config_map("b", "1")];
    let planned = plan(&client, &objects, &release(), false).await.unwrap();
    assert_eq!(
        verbs(&planned),
        [
            ("ConfigMap web/a".to_string(), Verb::Create),
            ("ConfigMap web/b".to_string(), Verb::Create)
        ]
    );
    let (report, events) = deploy_all(&fake, &objects, &options()).await;
    let report = report.unwrap();
    assert_eq!(
        changes(&report),
        [
            ("ConfigMap web/a".to_string(), Verb::Create),
            ("ConfigMap web/b".to_string(), Verb::Create)
        ]
    );
    assert_eq!(report.revision, Some(1));
    // Progress speaks the report's words.
    assert!(events.contains(&Event::Changed {
        object: "ConfigMap web/a".into(),
        verb: Verb::Create
    }));
    let live = fake.get(&path("configmaps", "a")).unwrap();
    assert_eq!(
        live["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        crate::apply::Ownership::of(&release()).id()
    );
    let inventory = Inventory::read(&client, &release()).await.unwrap().unwrap();
    assert_eq!(inventory.objects.len(), 2);

    // Nothing drifted: the plan is a no-op and a deploy writes no object.
    let planned = plan(&client, &objects, &release(), false).await.unwrap();
    assert!(planned.is_noop(), "{:?}", verbs(&planned));
    let before = fake.requests().len();
    let (report, _) = deploy_all(&fake, &objects, &options()).await;
    let report = report.unwrap();
    assert!(!report.wrote_anything());
    assert_eq!((report.unchanged, report.changes.len()), (2, 0));
    assert_eq!(
        writes_to(&fake, before, "/configmaps/"),
        Vec::<String>::new()
    );
    assert_eq!(writes_to(&fake, before, "/secrets/"), Vec::<String>::new());

    // One value changes: only that object is written.
    let changed = [config_map("a", "1"), config_map("b", "2")];
    let before = fake.requests().len();
    let (report, _) = deploy_all(&fake, &changed, &options()).await;
    let report = report.unwrap();
    assert_eq!(
        changes(&report),
        [("ConfigMap web/b".to_string(), Verb::Update)]
    );
    assert_eq!(report.revision, Some(2));
    let written = writes_to(&fake, before, "/configmaps/");
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("PATCH /api/v1/namespaces/web/configmaps/b?"));
    assert_eq!(
        fake.get(&path("configmaps", "b")).unwrap()["data"]["key"],
        "2"
    );
    let history = revision::list(&client, &release()).await.unwrap();
    let statuses: Vec<&str> = history.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, [revision::SUPERSEDED, revision::DEPLOYED]);
}

#[tokio::test]
async fn creates_the_release_namespace_before_taking_the_lock_in_it() {
    let fake = FakeApi::new();
    let objects = [namespace(), config_map("a", "1")];
    // The render's namespace does not exist: a plan can only say "create".
    let planned = plan(&fake.client(), &objects, &release(), false)
        .await
        .unwrap();
    assert!(planned.objects.iter().all(|p| p.action == Action::Create));
    assert!(
        planned.objects[1].after.is_none(),
        "no dry-run was possible"
    );
    let (report, _) = deploy_all(&fake, &objects, &options()).await;
    let report = report.unwrap();
    // The lock's empty namespace first, then the render's labels on it.
    assert_eq!(
        changes(&report),
        [
            ("Namespace web".to_string(), Verb::Update),
            ("ConfigMap web/a".to_string(), Verb::Create)
        ]
    );
    let requests = fake.requests();
    let create = requests
        .iter()
        .position(|r| r.starts_with("POST /api/v1/namespaces?"))
        .expect("the namespace was created");
    let lock = requests
        .iter()
        .rposition(|r| r.starts_with("POST /apis/coordination.k8s.io/v1/namespaces/web/leases"))
        .unwrap();
    assert!(create < lock, "{requests:#?}");
}

#[tokio::test]
async fn a_missing_namespace_the_render_does_not_create_is_an_error_with_a_hint() {
    let fake = FakeApi::new();
    let (result, _) = deploy_all(&fake, &[config_map("a", "1")], &options()).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, ApplyError::NoNamespace { namespace } if namespace == "web"));
    assert!(err.hint().unwrap().contains("namespace.create"));
    assert_eq!(writes_to(&fake, 0, "/configmaps/"), Vec::<String>::new());
}

const IMMUTABLE: &str =
    "Service \"web\" is invalid: spec.clusterIP: Invalid value: \"None\": field is immutable";

#[tokio::test]
async fn an_immutable_change_stops_untouched_unless_recreate_then_deletes_and_reapplies() {
    let fake = with_namespace();
    let client = fake.client();
    let (report, _) = deploy_all(&fake, &[service("web", "a")], &options()).await;
    report.unwrap();
    let old_uid = fake.get(&path("services", "web")).unwrap()["metadata"]["uid"].clone();
    fake.fault(Fault::on(Method::PATCH, "/services/web", 422, IMMUTABLE).dry_run_only(true));
    let changed = [service("web", "b")];
    let planned = plan(&client, &changed, &release(), false).await.unwrap();
    assert!(
        matches!(&planned.objects[0].action, Action::Recreate { reason, expansion: None } if reason.contains("field is immutable")),
        "{:?}",
        planned.objects[0].action
    );

    let before = fake.requests().len();
    let (refused, _) = deploy_all(&fake, &changed, &options()).await;
    let err = refused.unwrap_err();
    assert!(
        matches!(&err, ApplyError::Immutable { object, holds_volumes: false, .. } if object == "Service web/web"),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("--recreate"));
    assert_eq!(writes_to(&fake, before, "/services/"), Vec::<String>::new());

    let recreate = DeployOptions {
        recreate: true,
        ..options()
    };
    // Its deletion takes a moment (foreground: its dependents first); the
    // apply waits for the old object to go rather than patch it.
    fake.linger(&path("services", "web"));
    let finalizer = fake.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let live = finalizer.get(&path("services", "web"));
            if live.is_some_and(|l| l["metadata"]["deletionTimestamp"].is_string()) {
                finalizer.remove(&path("services", "web"));
                return;
            }
        }
    });
    let before = fake.requests().len();
    let (report, events) = deploy_all(&fake, &changed, &recreate).await;
    let report = report.unwrap();
    assert_eq!(
        changes(&report),
        [("Service web/web".to_string(), Verb::Recreate)]
    );
    assert!(events.contains(&Event::Changed {
        object: "Service web/web".into(),
        verb: Verb::Recreate
    }));
    let written = writes_to(&fake, before, "/services/web");
    assert!(
        written[0].starts_with("DELETE ") && written[1].starts_with("PATCH "),
        "{written:?}"
    );
    let live = fake.get(&path("services", "web")).unwrap();
    assert_ne!(live["metadata"]["uid"], old_uid, "a new object");
    assert_eq!(live["spec"]["selector"]["app"], "b");
}

#[tokio::test]
async fn a_conflict_names_the_manager_and_field_and_writes_nothing() {
    let fake = with_namespace();
    let message =
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.key";
    fake.fault(Fault::on(Method::PATCH, "/configmaps/b", 409, message).dry_run_only(true));
    let objects = [config_map("a", "1"), config_map("b", "1")];
    let planned = plan(&fake.client(), &objects, &release(), false)
        .await
        .unwrap();
    assert_eq!(
        planned.objects[1].action,
        Action::Conflict {
            message: message.into()
        }
    );
    let (result, _) = deploy_all(&fake, &objects, &options()).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("ConfigMap web/b: {message}"),
        "the object, the manager and the field"
    );
    assert!(err.hint().unwrap().contains("--force-conflicts"));
    // Planning is all-or-nothing: not even the conflict-free object was written.
    assert_eq!(writes_to(&fake, 0, "/configmaps/"), Vec::<String>::new());
}

#[tokio::test]
async fn a_forbidden_write_keeps_the_client_error_and_marks_the_revision_failed() {
    let fake = with_namespace();
    let message = "configmaps \"b\" is forbidden: User \"dev\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"web\"";
    fake.fault(Fault::on(Method::PATCH, "/configmaps/b", 403, message).dry_run_only(false));
    let (result, _) = deploy_all(
        &fake,
        &[config_map("a", "1"), config_map("b", "1")],
        &options(),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("apply ConfigMap web/b: forbidden: {message}")
    );
    assert_eq!(err.code(), 403);
    let source = std::error::Error::source(&err).expect("the client error");
    assert!(matches!(
        source.downcast_ref::<kube::Error>(),
        Some(kube::Error::Api(status)) if status.reason == "Forbidden"
    ));
    // A wrapper passes the hint down.
    let wrapped = anyhow::Error::new(crate::pipeline::DeployError::Apply(err));
    assert!(
        crate::cli::error_hints::of_chain(&wrapped)
            .unwrap()
            .contains("kubectl auth can-i")
    );
    let history = revision::list(&fake.client(), &release()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, revision::FAILED);
}

#[tokio::test]
async fn an_empty_render_is_refused_before_any_request() {
    let fake = with_namespace();
    let before = fake.requests().len();
    let (result, _) = deploy_all(&fake, &[], &options()).await;
    assert!(matches!(result, Err(ApplyError::EmptyRender)));
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn objects_the_release_also_owns_stay_in_its_inventory_unapplied() {
    let fake = with_namespace();
    let kept = ObjectKey {
        stage: 1,
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(NAMESPACE.into()),
        name: "kept".into(),
    };
    let owning = DeployOptions {
        also_owned: vec![kept.clone()],
        ..options()
    };
    let (report, _) = deploy_all(&fake, &[config_map("a", "1")], &owning).await;
    report.unwrap();
    let inventory = Inventory::read(&fake.client(), &release())
        .await
        .unwrap()
        .unwrap();
    assert!(inventory.objects.contains(&kept));
    assert!(fake.get(&path("secrets", "kept")).is_none());
}

#[tokio::test]
async fn a_refused_dry_run_stops_the_plan_naming_the_request() {
    let fake = with_namespace();
    let message =
        "configmaps \"a\" is forbidden: User \"dev\" cannot patch resource \"configmaps\"";
    fake.fault(Fault::on(Method::PATCH, "/configmaps/a", 403, message).dry_run_only(true));
    let err = plan(&fake.client(), &[config_map("a", "1")], &release(), false)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("dry-run apply ConfigMap web/a: forbidden: {message}")
    );
}

#[tokio::test]
async fn a_deploy_whose_wait_times_out_records_a_failed_revision() {
    let fake = with_namespace();
    // Nothing runs its pods here: the Deployment never becomes ready.
    let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "shop/api:1"}]}}}});
    let objects = [Desired::from_json(deployment, 2).unwrap()];
    let waiting = DeployOptions {
        wait: Some(std::time::Duration::from_millis(1500)),
        ..options()
    };
    let (report, _) = deploy_all(&fake, &objects, &waiting).await;
    let report = report.unwrap();
    assert!(
        matches!(&report.readiness, crate::apply::Readiness::TimedOut { waiting } if waiting.len() == 1),
        "{:?}",
        report.readiness
    );
    let history = revision::list(&fake.client(), &release()).await.unwrap();
    assert_eq!(history[0].status, revision::FAILED);
}

#[tokio::test]
async fn revisions_beyond_the_history_limit_are_trimmed_and_reported() {
    let fake = with_namespace();
    let keep_one = DeployOptions {
        history_max: 1,
        ..options()
    };
    let (first, _) = deploy_all(&fake, &[config_map("a", "1")], &keep_one).await;
    first.unwrap();
    let (second, events) = deploy_all(&fake, &[config_map("a", "2")], &keep_one).await;
    assert_eq!(second.unwrap().revision, Some(2));
    assert!(events.contains(&Event::HistoryTrimmed {
        revisions: vec![1],
        keep: 1
    }));
    let history = revision::list(&fake.client(), &release()).await.unwrap();
    let numbers: Vec<u32> = history.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [2]);
}
