//! The chart's README: how to install it, how secrets are supplied, and a table
//! of every value (from the schema's descriptions and the defaults).

use serde_json::Value;

use super::ChartIdentity;
use crate::manifests::{build_env, exposure};
use crate::values::{EnvValue, Values};

/// Every leaf of the schema as (dotted key, schema), in schema order. A map
/// whose entries the user names (`components`, `secrets`, `env`, …) is walked
/// through `*`: `components.*.image.tag`. Each variant of an `anyOf`/`oneOf` is
/// walked (a `null` variant, an `Option`'s absence, is no key); a key with
/// several variants is listed once.
pub fn schema_leaves(schema: &Value) -> Vec<(String, Value)> {
    let mut leaves: Vec<(String, Value)> = Vec::new();
    walk(schema, &mut Vec::new(), &mut leaves);
    let mut seen = std::collections::BTreeSet::new();
    leaves.retain(|(key, _)| seen.insert(key.clone()));
    leaves
}

fn walk(schema: &Value, path: &mut Vec<String>, leaves: &mut Vec<(String, Value)>) {
    let variants = ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
        .collect::<Vec<_>>();
    if !variants.is_empty() {
        for variant in variants {
            walk(variant, path, leaves);
        }
        return;
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let entries = schema
        .get("additionalProperties")
        .filter(|a| a.is_object() && has_structure(a));
    if properties.is_none() && entries.is_none() {
        leaves.push((path.join("."), schema.clone()));
        return;
    }
    for (key, child) in properties.into_iter().flatten() {
        path.push(key.clone());
        walk(child, path, leaves);
        path.pop();
    }
    if let Some(entry) = entries {
        path.push("*".into());
        walk(entry, path, leaves);
        path.pop();
    }
}

/// Whether a schema says anything about its values (a map of free text, such
/// as `podLabels`, has `additionalProperties: {type: string}` and is a leaf
/// only when that says nothing more).
fn has_structure(schema: &Value) -> bool {
    schema.get("properties").is_some()
        || schema.get("anyOf").is_some()
        || schema.get("oneOf").is_some()
        || schema
            .get("additionalProperties")
            .is_some_and(|a| a.is_object())
        || schema.get("type").is_some()
}

/// What the images with `image.buildEnv` were built with, resolved for these values' origin:
/// the chart cannot change what a build baked in.
fn built_for_one_origin(values: Option<&Values>) -> String {
    let Some(values) = values else {
        return String::new();
    };
    let mut lines = String::new();
    for (name, c) in &values.components {
        if c.image.build_env.is_empty() {
            continue;
        }
        let resolved = build_env::resolve(values, &c.image);
        let pairs: Vec<String> = c
            .image
            .build_env
            .iter()
            .map(|(key, written)| match written {
                EnvValue::Plain(_) => format!("`{key}={}`", resolved[key]),
                EnvValue::Ref(r) => format!(
                    "`{key}={}` (from `{}`)",
                    resolved[key],
                    serde_json::to_string(r).expect("values serialize")
                ),
            })
            .collect();
        lines.push_str(&format!(
            "- `{name}` (`{}`): {}\n",
            c.image.build.as_deref().unwrap_or_default(),
            pairs.join(", ")
        ));
    }
    if lines.is_empty() {
        return lines;
    }
    format!(
        r#"## Images built for one origin

These components' images bake values into what they build (the browser's code reads
them), resolved for the origin `{origin}` of these values:

{lines}
Their `image.buildEnv` is in `values.yaml` for reference only: changing it, or
`expose`, here does not change an image that is already built. To serve the app at
another origin, build the images for it with berth (`berth images build` with the
values of that install, e.g. `--set expose.ingress.host=…`) and set each
`image.tag` to the new build.

"#,
        origin = exposure::external_url(values),
    )
}

pub fn readme(
    identity: &ChartIdentity,
    schema: &Value,
    defaults: &Value,
    values: Option<&Values>,
) -> String {
    let name = &identity.name;
    let origins = built_for_one_origin(values);
    let mut table = String::from("| Key | Default | Description |\n|---|---|---|\n");
    for (key, leaf) in schema_leaves(schema) {
        let default = if key.contains('*') {
            String::new()
        } else {
            key.split('.')
                .try_fold(defaults, |node, part| node.get(part))
                .map(|v| format!("`{}`", serde_json::to_string(v).expect("values serialize")))
                .unwrap_or_default()
        };
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
    let components = defaults
        .get("components")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(
                    |(n, c)| match c.get("description").and_then(Value::as_str) {
                        Some(d) if !d.is_empty() => format!("- `{n}`: {d}\n"),
                        _ => format!("- `{n}`\n"),
                    },
                )
                .collect::<String>()
        })
        .unwrap_or_default();
    let secrets = defaults
        .get("secrets")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(n, spec)| {
                    let mut how = Vec::new();
                    if spec.get("generate").is_some() {
                        how.push("generated when not given, kept on upgrade".to_string());
                    }
                    if spec.get("required").and_then(Value::as_bool) == Some(true) {
                        how.push("required".to_string());
                    }
                    if let Some(env) = spec.get("fromEnv").and_then(Value::as_str) {
                        how.push(format!("berth reads it from `{env}`"));
                    }
                    let about = spec
                        .get("description")
                        .and_then(Value::as_str)
                        .filter(|d| !d.is_empty())
                        .map(|d| format!("{d}; "))
                        .unwrap_or_default();
                    format!("- `secrets.{n}`: {about}{}\n", how.join("; "))
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    let example_secret = defaults
        .get("secrets")
        .and_then(Value::as_object)
        .and_then(|s| s.keys().next().cloned())
        .unwrap_or_else(|| "mySecret".into());
    format!(
        r#"# {name}

{name} as a Helm chart, exported by `berth chart export` (berth {berth}).
For the same values, `helm template` of this chart and `berth render` produce the
same objects field for field; berth's tests check that with the real `helm` on
hundreds of generated stacks.

Chart version {version}, app version {app_version}. Needs Kubernetes 1.23 or later.

The templates know kinds, not names: each entry of `components` becomes a
ServiceAccount, ConfigMap, Secret and Deployment (its `tasks` as init containers),
a Service when it has a `port` (a worker has none), and the HorizontalPodAutoscaler,
PodDisruptionBudget and NetworkPolicy its settings ask for; `expose.routes` becomes
an Ingress or a Gateway API HTTPRoute, or, with `nodePort` and `none` when the routes
name several components, the nginx edge proxy `<release>-edge` (`expose.edge`);
`database.mode: internal` a PostgreSQL
StatefulSet. This chart's components:

{components}
## Install

```sh
helm install {name} ./{name} -n {name} --create-namespace
# or from the package:
helm install {name} {name}-{version}.tgz -n {name} --create-namespace
```

The release name prefixes every object (`<release>-<component>`, the in-cluster
database `<release>-postgres`). Helm installs into `-n`; `namespace.name` and
`namespace.create` are berth's equivalents and are not used by the chart (use
`--create-namespace`). A component whose image berth builds (`image.build`) must be
built and loaded first (`berth images build` / `berth images load`), or given
another `image.tag`.

{origins}## Secrets

Secret values never live in values files, and this chart holds none. berth reads
them from the environment (each secret's `fromEnv`) or `--set-file`; Helm cannot
read your environment, so give each value at install time **in place of the
secret's spec**, with the same flag berth takes:

```sh
printf %s "$VALUE" > {example_secret}.txt     # no trailing newline
helm install {name} ./{name} -n {name} --create-namespace \
  --set-file secrets.{example_secret}={example_secret}.txt
# or, for a short value: --set-string secrets.{example_secret}="$VALUE"
```

A string under `secrets.NAME` is that secret's value; the spec (`fromEnv`,
`generate`, `required`, `description`) means "not given". `values.schema.json`
allows exactly these two forms. Keep the values out of files you commit; Helm
stores what you pass in the release record (a Secret in the namespace).

- A secret with `generate` that is not given is generated (random letters and
  digits of the asked length) on install and read back from the live Secrets on
  `helm upgrade`, so it stays the same.
- A used secret marked `required` (or an external database's URL) that is not
  given fails the install with a message naming it.
- An optional secret that is not given leaves its variable out.
- A component with `existingSecret` reads every `secret`/`database` variable from
  that Secret instead; create it first.

This chart's secrets:

{secrets}
## The browser's origin

Every `{{externalUrl: /p}}` in `env` (CORS lists, auth base URLs) is the origin plus
`/p`: `expose.url` when set, else with `expose.origin: local` the
`http://localhost:<port>` that `berth open` serves, else the Ingress or Gateway host.
For a NodePort, `berth deploy` reads the node's address from the cluster and records
it as `expose.url`; Helm cannot, so the chart falls back to
`http://localhost:<nodePort>`: give the address your browser uses with
`--set expose.url=http://NODE-ADDRESS:NODEPORT` (on Minikube, `minikube ip`).

## Checking it

```sh
kubectl get pods,svc -n {name} -l app.kubernetes.io/instance={name}
helm status {name} -n {name}
```

`values.schema.json` is generated from berth's typed values model, so Helm rejects
unknown keys and wrong types as `berth` does; `templates/validate.yaml` adds berth's
other rules (component names, references: their form, their paths and what they name,
routes and their conflicts, credentials written as plain env, ports, NodePort range,
DNS names, image tags and build paths, user ids, probes, quantities and requests
within limits, writable paths and their volume names, label and annotation keys and
values, tasks, egress hosts, secret names, replica, budget and autoscaling bounds)
and lists every problem at once, as berth words it. What only berth checks:

- a number in env too large for a float64: Helm has already read it as a float64
  (another number) before a template sees it, so the chart cannot tell; berth asks
  to quote it;
- a secret value's form: the database URL's driver and SSL parameter agreeing and
  its host (a URL parser, not a template, tells these apart; the chart takes
  `secrets.*.value` as given);
- an IPv6 egress address is checked for its characters only.

Run `berth render -f your-values.yaml` to check a values file fully.

## Values

`*` stands for a name you choose (a component, a secret, an env variable, a task,
a route's path).

{table}"#,
        berth = env!("CARGO_PKG_VERSION"),
        version = identity.version,
        app_version = identity.app_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_walk_named_maps_and_variants() {
        let schema = serde_json::json!({
            "properties": {
                "components": {"type": "object", "additionalProperties": {
                    "properties": {
                        "port": {"type": ["integer", "null"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "probe": {"anyOf": [{"properties": {"http": {"type": "string"}}}, {"type": "null"}]},
                        "env": {"additionalProperties": {"anyOf": [
                            {"type": "string"},
                            {"properties": {"secret": {"type": "string"}}},
                        ]}},
                    }
                }},
                "name": {"type": "string"},
            }
        });
        let keys: Vec<String> = schema_leaves(&schema).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "components.*.port",
                "components.*.labels.*",
                "components.*.probe.http",
                "components.*.env.*",
                "components.*.env.*.secret",
                "name",
            ]
        );
    }
}
