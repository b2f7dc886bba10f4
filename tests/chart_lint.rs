//! The exported chart passes `helm lint --strict` with each bundled values file,
//! `--package` is byte-for-byte reproducible and accepted by helm, and a missing
//! required secret fails the install with a message naming it.

mod chart_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chart_support::{Case, berth, helm, run, run_ok, scratch};

fn export(out: &Path, extra: &[&str]) -> Vec<PathBuf> {
    let stdout = run_ok(
        berth()
            .args(["chart", "export", "--out"])
            .arg(out)
            .args(extra),
    );
    stdout.lines().map(PathBuf::from).collect()
}

fn lint(chart: &Path, values: Option<&str>, args: &[String]) {
    let mut command = Command::new(helm());
    command.args(["lint", "--strict"]).arg(chart);
    if let Some(values) = values {
        command.arg("-f").arg(values);
    }
    command.args(args);
    let stdout = run_ok(&mut command);
    assert!(stdout.contains("0 chart(s) failed"), "{stdout}");
    assert!(!stdout.contains("[WARNING]"), "{stdout}");
}

#[test]
fn helm_lint_strict_passes_with_each_values_file() {
    let chart = chart_support::exported_chart();
    lint(chart, None, &[]);
    for file in [
        "values.yaml",
        "values-dev.yaml",
        "values-staging.yaml",
        "values-prod.yaml",
    ] {
        lint(chart, Some(chart.join(file).to_str().unwrap()), &[]);
    }
    // And with the values a real install of each kind passes: a secret's value
    // in place of its spec.
    let secrets = scratch("lint").join("secrets.yaml");
    std::fs::write(
        &secrets,
        "database: {mode: external}\nexpose: {mode: gateway}\nnetworkPolicy: {enabled: true}\nsecrets: {databaseUrl: {value: 'postgresql://u:p@db/x?sslmode=require'}, openaiApiKey: {value: sk-x}}\n",
    )
    .unwrap();
    lint(chart, Some(secrets.to_str().unwrap()), &[]);
}

#[test]
fn helm_lint_strict_passes_for_each_example() {
    let mut linted = 0;
    for entry in std::fs::read_dir(chart_support::repo_path("examples")).unwrap() {
        let dir = entry.unwrap().path();
        let stack = dir.join("berth.yaml");
        if !stack.is_file() {
            continue;
        }
        let chart = chart_support::export_chart(
            Some(&dir),
            &scratch("lint-examples").join(dir.file_name().unwrap()),
        );
        // Every declared secret given, as an install would.
        let values =
            berth::values::load::parse_yaml(&std::fs::read_to_string(&stack).unwrap(), "example")
                .unwrap();
        let mut args = Vec::new();
        for name in values["secrets"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
        {
            args.push("--set-string".to_string());
            args.push(format!(
                "secrets.{name}.value=postgresql://u:p@db.example.com/x?sslmode=require"
            ));
        }
        lint(&chart, None, &args);
        let profile = scratch("lint-examples").join("prod.yaml");
        std::fs::write(&profile, "networkPolicy: {enabled: true}\nautoscaling: {enabled: true}\npodDisruptionBudget: {enabled: true}\n").unwrap();
        lint(&chart, Some(profile.to_str().unwrap()), &args);
        linted += 1;
    }
    assert!(linted >= 2, "only {linted} examples/*/berth.yaml");
}

#[test]
fn package_is_reproducible_and_accepted_by_helm() {
    let first = export(
        &scratch("package-1"),
        &["--package", "--chart-version", "1.2.3-rc.1"],
    );
    let second = export(
        &scratch("package-2"),
        &["--package", "--chart-version", "1.2.3-rc.1"],
    );
    let (tgz1, tgz2) = (&first[1], &second[1]);
    assert!(
        tgz1.ends_with("todo-chatbot-1.2.3-rc.1.tgz"),
        "{}",
        tgz1.display()
    );
    assert_eq!(
        std::fs::read(tgz1).unwrap(),
        std::fs::read(tgz2).unwrap(),
        "two packages differ"
    );

    lint(tgz1, None, &[]);
    let show = run_ok(Command::new(helm()).args(["show", "chart"]).arg(tgz1));
    assert!(show.contains("version: 1.2.3-rc.1"), "{show}");

    // The package renders exactly what the chart directory does.
    let case = Case::new("package").file("values/prod.yaml");
    let work = scratch("package-cases");
    let from_dir = chart_support::helm_template(&first[0], &case, &work);
    let from_tgz = chart_support::helm_template(tgz1, &case, &work);
    assert_eq!(from_dir, from_tgz);
    chart_support::compare(&chart_support::berth_render(&case), &from_tgz)
        .unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn export_replaces_an_earlier_chart_but_nothing_else() {
    let out = scratch("replace");
    let chart = &export(&out, &[])[0];
    let stale = chart.join("templates/stale.yaml");
    std::fs::write(&stale, "kind: Stale\n").unwrap();
    export(&out, &[]);
    assert!(!stale.exists(), "a stale template survived a re-export");

    let not_a_chart = scratch("not-a-chart");
    std::fs::create_dir_all(not_a_chart.join("todo-chatbot")).unwrap();
    std::fs::write(not_a_chart.join("todo-chatbot/notes.txt"), "mine").unwrap();
    let output = run(berth().args(["chart", "export", "--out"]).arg(&not_a_chart));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a chart"));
    assert!(not_a_chart.join("todo-chatbot/notes.txt").exists());

    let output = run(berth()
        .args(["chart", "export", "--chart-version", "v1", "--out"])
        .arg(&out));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("semantic version"));
}

#[test]
fn missing_required_secrets_fail_with_their_names() {
    let chart = chart_support::exported_chart();
    let work = scratch("required");
    for (set, key, readers) in [
        (
            "database.mode=external",
            "secrets.databaseUrl",
            &["backend", "mcp"][..],
        ),
        (
            "secrets.openaiApiKey.required=true",
            "secrets.openaiApiKey",
            &["backend"][..],
        ),
    ] {
        let case = Case::new(key).set(set);
        let output = run(&mut chart_support::helm_template_command(
            chart, &case, &work,
        ));
        assert!(!output.status.success(), "{set} without {key} rendered");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "{stderr}");
        assert!(
            stderr.contains(&format!("--set-file {key}.value=PATH")),
            "{stderr}"
        );
        let ours = run(berth().args(["render", "--set", set]));
        assert_eq!(
            ours.status.code(),
            Some(2),
            "berth rendered {set} without {key}"
        );
        // Components reading it from existing Secrets need no value.
        let mut with_secret = case;
        for reader in readers {
            with_secret = with_secret.set(&format!("components.{reader}.existingSecret=mine"));
        }
        chart_support::helm_template(chart, &with_secret, &work);
    }
}

#[test]
fn generated_secrets_are_shared_by_every_object_that_needs_them() {
    // Without supplied secrets each render makes new ones, but within one render
    // the frontend and backend agree on AUTH_SECRET and the database URL holds
    // PostgreSQL's password.
    let mut case = Case::new("generated");
    case.secrets.clear();
    let objects = chart_support::helm_template(
        chart_support::exported_chart(),
        &case,
        &scratch("generated"),
    );
    let secret = |name: &str, key: &str| -> String {
        let object = objects
            .iter()
            .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("Secret {name}"));
        let encoded = object["data"][key].as_str().unwrap();
        String::from_utf8(base64_decode(encoded)).unwrap()
    };
    let auth = secret("todo-chatbot-frontend", "AUTH_SECRET");
    assert_eq!(auth.len(), 64);
    assert!(auth.chars().all(|c| c.is_ascii_alphanumeric()), "{auth}");
    assert_eq!(auth, secret("todo-chatbot-backend", "AUTH_SECRET"));
    let password = secret("todo-chatbot-postgres", "POSTGRES_PASSWORD");
    assert_eq!(password.len(), 64);
    assert!(secret("todo-chatbot-mcp", "DATABASE_URL").contains(&format!(":{password}@")));
    assert!(
        !objects
            .iter()
            .any(|o| o.to_string().contains("OPENAI_API_KEY")),
        "an optional secret not given leaves its variable out"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|a| *a == byte).expect("base64") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[test]
fn notes_say_how_to_reach_the_app_for_each_exposure() {
    let chart = chart_support::exported_chart();
    for (mode, expected) in [
        ("nodePort", "minikube service demo-edge -n apps --url"),
        ("ingress", "http://todo.local"),
        (
            "none",
            "kubectl port-forward -n apps svc/demo-edge 8080:8080",
        ),
        // One routed component: no edge, its own Service.
        (
            "nodePort,expose.routes./api=frontend",
            "minikube service demo-frontend -n apps --url",
        ),
        (
            "none,expose.routes./api=frontend",
            "kubectl port-forward -n apps svc/demo-frontend 3000:3000",
        ),
    ] {
        let stdout = run_ok(
            Command::new(helm())
                .args(["install", "demo"])
                .arg(chart)
                .args(["-n", "apps", "--dry-run=client", "--set"])
                .arg(format!("expose.mode={mode}")),
        );
        let notes = stdout
            .split("NOTES:")
            .nth(1)
            .unwrap_or_else(|| panic!("no NOTES:\n{stdout}"));
        assert!(notes.contains(expected), "{mode}: {notes}");
        assert!(
            notes.contains("kubectl get pods,svc -n apps -l app.kubernetes.io/instance=demo"),
            "{notes}"
        );
    }
}

#[test]
fn rules_beyond_the_schema_reject_what_berth_rejects() {
    let chart = chart_support::exported_chart();
    let work = scratch("rules");
    for (set, key) in [
        (
            "components.frontend.replicas=-1",
            "components.frontend.replicas",
        ),
        ("components.backend.port=0", "components.backend.port"),
        ("components.mcp.image.tag=-bad", "components.mcp.image.tag"),
        (
            "components.frontend.image.repository=has space",
            "components.frontend.image.repository",
        ),
        (
            "components.frontend.runAsUser=0",
            "components.frontend.runAsUser",
        ),
        (
            "components.backend.env.1BAD=x",
            "components.backend.env.1BAD",
        ),
        (
            "components.backend.env.MY_TOKEN=abc",
            "components.backend.env.MY_TOKEN",
        ),
        (
            "components.backend.env.X.secret=nope",
            "components.backend.env.X.secret",
        ),
        (
            "components.backend.env.X.urlOf=nope",
            "components.backend.env.X.urlOf",
        ),
        (
            "components.frontend.image.buildEnv.NEXT_PUBLIC_API.urlOf=backend",
            "components.frontend.image.buildEnv.NEXT_PUBLIC_API.urlOf",
        ),
        (
            "components.frontend.image.buildEnv.NEXT_PUBLIC_KEY.secret=authSecret",
            "components.frontend.image.buildEnv.NEXT_PUBLIC_KEY.secret",
        ),
        (
            "components.Web.image.repository=a/b,components.Web.image.tag=v1",
            "components.Web",
        ),
        ("expose.routes./x=nope", "expose.routes./x"),
        (
            "expose.mode=ingress,components.frontend.paths[0]=/api/auth",
            "expose.routes./api",
        ),
        (
            "expose.routes./.component=frontend,expose.routes./.stripPrefix=true",
            "expose.routes./.stripPrefix",
        ),
        (
            "expose.mode=ingress,expose.routes./api.component=backend,expose.routes./api.stripPrefix=true",
            "expose.routes./api.stripPrefix",
        ),
        (
            "components.edge.image.repository=a/b,components.edge.image.tag=v1",
            "components.edge",
        ),
        ("expose.edge.replicas=0", "expose.edge.replicas"),
        ("expose.edge.maxBodySize=10mb", "expose.edge.maxBodySize"),
        ("expose.edge.image.tag=-bad", "expose.edge.image.tag"),
        ("database.name=1db", "database.name"),
        ("database.passwordSecret=nope", "database.passwordSecret"),
        ("expose.nodePort=8080", "expose.nodePort"),
        ("expose.ingress.host=Todo.local", "expose.ingress.host"),
        ("expose.ingress.host=todo..local", "expose.ingress.host"),
        (
            "expose.mode=ingress,expose.ingress.className=",
            "expose.ingress.className",
        ),
        (
            "expose.ingress.controllerNamespace=Ingress",
            "expose.ingress.controllerNamespace",
        ),
        ("autoscaling.minReplicas=0", "autoscaling.minReplicas"),
        (
            "autoscaling.minReplicas=4,autoscaling.maxReplicas=3",
            "autoscaling.maxReplicas",
        ),
        (
            "autoscaling.targetCpuUtilization=101",
            "autoscaling.targetCpuUtilization",
        ),
        (
            "podDisruptionBudget.minAvailable=-1",
            "podDisruptionBudget.minAvailable",
        ),
        (
            "secrets.authSecret.generate.length=8",
            "secrets.authSecret.generate.length",
        ),
    ] {
        let ours = run(berth().args(["render", "--set", set]));
        assert_eq!(ours.status.code(), Some(2), "berth accepted {set}");
        assert!(
            String::from_utf8_lossy(&ours.stderr).contains(key),
            "berth on {set}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let case = Case::new(set).set(set);
        let helm = run(&mut chart_support::helm_template_command(
            chart, &case, &work,
        ));
        assert!(!helm.status.success(), "helm accepted {set}");
        let stderr = String::from_utf8_lossy(&helm.stderr);
        assert!(
            stderr.contains(&format!("{key}:")),
            "helm on {set}: {stderr}"
        );
    }
    // Rules of the in-cluster database do not apply to an external one, in either tool.
    let external = Case::new("external")
        .set("database.mode=external,database.name=1db")
        .secret("databaseUrl", "postgresql://u:p@db.example.com/x");
    chart_support::assert_equivalent(&external);
}
