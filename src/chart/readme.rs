//! The chart's README: how to install it, how secrets are supplied, and a table
//! of every value (from the schema's descriptions and the defaults).

use serde_json::Value;

use super::ChartIdentity;

/// Every leaf of the schema as (dotted key, schema), in schema order. Maps with
/// free-form keys (`env`) are leaves.
pub fn schema_leaves(schema: &Value) -> Vec<(String, Value)> {
    let mut leaves = Vec::new();
    walk(schema, &mut Vec::new(), &mut leaves);
    leaves
}

fn walk(schema: &Value, path: &mut Vec<String>, leaves: &mut Vec<(String, Value)>) {
    match schema.get("properties").and_then(Value::as_object) {
        Some(properties) => {
            for (key, child) in properties {
                path.push(key.clone());
                walk(child, path, leaves);
                path.pop();
            }
        }
        None => leaves.push((path.join("."), schema.clone())),
    }
}

pub fn readme(identity: &ChartIdentity, schema: &Value, defaults: &Value) -> String {
    let name = &identity.name;
    let mut table = String::from("| Key | Default | Description |\n|---|---|---|\n");
    for (key, leaf) in schema_leaves(schema) {
        let default = key
            .split('.')
            .try_fold(defaults, |node, part| node.get(part))
            .map(|v| format!("`{}`", serde_json::to_string(v).expect("values serialize")))
            .unwrap_or_default();
        let mut description = leaf
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('\n', " ");
        if let Some(options) = leaf.get("enum").and_then(Value::as_array) {
            let options: Vec<String> = options
                .iter()
                .map(|o| format!("`{}`", o.as_str().unwrap_or_default()))
                .collect();
            description = format!("{description} One of {}.", options.join(", "))
                .trim()
                .to_string();
        }
        table.push_str(&format!(
            "| `{key}` | {default} | {} |\n",
            description.replace('|', "\\|")
        ));
    }
    format!(
        r#"# {name}

The Todo AI chatbot stack — Next.js frontend, FastAPI backend, MCP tool server and
PostgreSQL — as a Helm chart, exported by `berth chart export` (berth {berth}).
For the same values, `helm template` of this chart and `berth render` produce the
same objects field for field; berth's tests check that with the real `helm`.

Chart version {version}, app version {app_version}. Needs Kubernetes 1.23 or later.

## Install

```sh
helm install {name} ./{name} -n todo --create-namespace -f {name}/values-dev.yaml
# or from the package:
helm install {name} {name}-{version}.tgz -n todo --create-namespace
```

- `values-dev.yaml`: one replica each, fits `minikube start --cpus 2 --memory 4g`.
- `values-prod.yaml`: two or more replicas, HorizontalPodAutoscalers,
  PodDisruptionBudgets and NetworkPolicies (default deny, then only what the app uses).

The release name prefixes every object (`<release>-frontend`, `<release>-postgres`, …).
Helm installs into `-n`; `namespace.name` and `namespace.create` are berth's
equivalents and are not used by the chart (use `--create-namespace`).

## Secrets

Secret values never live in values files, and this chart holds none. Supply them
at install time, for example:

```sh
helm install {name} ./{name} -n todo --create-namespace \
  --set llm.provider=openai --set secrets.openaiApiKey="$OPENAI_API_KEY"
helm install {name} ./{name} -n todo --create-namespace \
  --set database.mode=external --set-file secrets.databaseUrl=./database-url.txt
```

(`--set-file` keeps the file's content as is: write it without a trailing newline,
e.g. `printf %s "$DATABASE_URL" > database-url.txt`), or create a Secret yourself and set `secrets.existingSecret` to its name; it must
hold the keys the components read: `AUTH_SECRET`, `DATABASE_URL`,
`POSTGRES_PASSWORD` and `OPENAI_API_KEY` or `GEMINI_API_KEY` for the chosen provider.
`secrets.authSecret` and `secrets.postgresPassword` are generated when not given
and kept across `helm upgrade` (read back from the live Secrets).
Required secrets (the database URL with `database.mode=external`, the key of the
chosen LLM provider) fail the install with a message naming them.

## Checking it

```sh
kubectl get pods,svc -n todo -l app.kubernetes.io/instance={name}
helm status {name} -n todo
```

`values.schema.json` is generated from berth's typed values model, so Helm rejects
unknown keys and wrong types as `berth` does; `templates/validate.yaml` adds berth's
other rules (ports, NodePort range, DNS names, image tags, paths, user ids, replica
and autoscaling bounds, environment variable names, the LLM base URL) and lists
every problem at once. Two rules stay with berth: quantity formats with requests
not above limits, and the database URL's driver and SSL parameter; run
`berth render -f your-values.yaml` to check a values file fully.

## Values

{table}"#,
        berth = env!("CARGO_PKG_VERSION"),
        version = identity.version,
        app_version = identity.app_version,
    )
}
