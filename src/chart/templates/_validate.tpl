{{/*
berth's value rules that JSON Schema (values.schema.json) cannot express, so
`helm install` rejects what `berth deploy` rejects: names, references between
components, secrets and the database, routes, credentials in plain env, and
bounds, and (_validate_rules.tpl) paths, probes, quantities, keys, labels,
writable paths, tasks and egress. Every problem is listed at once, by key, as
berth does. What only berth checks is listed in the chart's README (a secret
value's form, such as the database URL's driver and SSL parameter, and numbers
too large for a float64 in env): `berth render` checks a values file fully.
*/}}
{{- define "berth.validate" -}}
{{- $root := . -}}
{{- $problems := list -}}
{{- $dns1035 := "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$" -}}
{{- $dnsLabel := "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" -}}
{{- $envName := "^[A-Za-z_][A-Za-z0-9_]*$" -}}
{{- $components := .Values.components | default dict -}}
{{- $secrets := .Values.secrets | default dict -}}
{{- $db := .Values.database -}}
{{- if not $components -}}
  {{- $problems = append $problems "components: is empty; nothing to deploy" -}}
{{- end -}}
{{- range $name, $c := $components -}}
  {{- $at := printf "components.%s" $name -}}
  {{- if not (regexMatch $dns1035 $name) -}}
    {{- $problems = append $problems (printf "%s: `%s` is not a valid component name; allowed: up to 63 lower-case letters, digits and `-`, starting with a letter and not ending with `-` (DNS-1035)" $at $name) -}}
  {{- else if has $name (list "postgres" "default-deny" "edge") -}}
    {{- $problems = append $problems (printf "%s: `%s` is a name berth uses for its own objects; choose another" $at $name) -}}
  {{- end -}}
  {{- if gt (add (len $root.Release.Name) 1 (len $name)) 63 -}}
    {{- $problems = append $problems (printf "%s: `%s-%s` is longer than 63 characters, the limit of a Service name" $at $root.Release.Name $name) -}}
  {{- end -}}
  {{- if and (hasKey $c "replicas") (lt (int64 $c.replicas) 0) -}}
    {{- $problems = append $problems (printf "%s.replicas: %d is negative; allowed: 0 or more" $at (int64 $c.replicas)) -}}
  {{- end -}}
  {{- if and (hasKey $c "port") (eq (int64 $c.port) 0) -}}
    {{- $problems = append $problems (printf "%s.port: 0 is not a port; allowed: 1–65535" $at) -}}
  {{- end -}}
  {{- if and (hasKey $c "runAsUser") (lt (int64 $c.runAsUser) 1) -}}
    {{- $problems = append $problems (printf "%s.runAsUser: %d is root or invalid; allowed: a numeric non-root user id (1 or more)" $at (int64 $c.runAsUser)) -}}
  {{- end -}}
  {{- $problems = concat $problems (include "berth.validateImage" (dict "path" $at "image" $c.image) | fromJsonArray) -}}
  {{- $problems = concat $problems (include "berth.validateComponent" (dict "root" $root "name" $name "c" $c) | fromJsonArray) -}}
  {{- $problems = concat $problems (include "berth.validateBuildEnv" (dict "path" $at "env" $c.image.buildEnv) | fromJsonArray) -}}
  {{- range $key, $r := $c.env -}}
    {{- $key_at := printf "%s.env.%s" $at $key -}}
    {{- if not (regexMatch $envName $key) -}}
      {{- $problems = append $problems (printf "%s: is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit" $key_at) -}}
    {{- end -}}
    {{- if kindIs "map" $r -}}
      {{- $problems = concat $problems (include "berth.validateReference" (dict "at" $key_at "r" $r) | fromJsonArray) -}}
      {{- if and (hasKey $r "secret") (not (hasKey $secrets (toString $r.secret))) -}}
        {{- $problems = append $problems (printf "%s.secret: names the secret `%s`, which is not declared" $key_at $r.secret) -}}
      {{- end -}}
      {{- if hasKey $r "urlOf" -}}
        {{- $target := index $components (toString $r.urlOf) -}}
        {{- if not $target -}}
          {{- $problems = append $problems (printf "%s.urlOf: names the component `%s`, which is not declared" $key_at $r.urlOf) -}}
        {{- else if not (hasKey $target "port") -}}
          {{- $problems = append $problems (printf "%s.urlOf: names `%s`, a worker without a port; it has no URL" $key_at $r.urlOf) -}}
        {{- end -}}
      {{- end -}}
      {{- if and (hasKey $r "database") (eq $db.mode "none") -}}
        {{- $problems = append $problems (printf "%s.database: refers to the database, but database.mode is none" $key_at) -}}
      {{- end -}}
    {{- else if $r -}}
      {{- $upper := upper $key -}}
      {{- $credentialName := or (hasSuffix "_SECRET" $upper) (hasSuffix "_KEY" $upper) (hasSuffix "_TOKEN" $upper) (has $upper (list "SECRET" "TOKEN" "APIKEY")) (contains "PASSWORD" $upper) -}}
      {{- if or $credentialName (regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*:[^/?#@]*@" (toString $r)) -}}
        {{- $problems = append $problems (printf "%s: looks like a credential; plain env values land in a ConfigMap: declare it under `secrets:` and write %s: {secret: NAME}" $key_at $key) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
  {{- range $task, $t := $c.tasks -}}
    {{- if or (not (regexMatch $dnsLabel $task)) (eq $task $name) -}}
      {{- $problems = append $problems (printf "%s.tasks.%s: `%s` is not a valid task name; allowed: lower-case letters, digits and `-`, not the component's own name" $at $task $task) -}}
    {{- end -}}
    {{- /* Tasks are init containers: they run before the new version rolls out, the only time there is. */ -}}
    {{- if not (eq (toString ($t.before | default "rollout")) "rollout") -}}
      {{- $problems = append $problems (printf "%s.tasks.%s.before: `%s` is not supported; allowed: rollout" $at $task $t.before) -}}
    {{- end -}}
  {{- end -}}
  {{- /* A path a component says it serves, sent elsewhere by a more specific route. */ -}}
  {{- if and (has $root.Values.expose.mode (list "ingress" "gateway")) (eq (include "berth.enabled" $c) "true") -}}
    {{- range $served := $c.paths -}}
      {{- $match := "" -}}
      {{- range include "berth.orderedRoutes" $root | fromJsonArray -}}
        {{- $prefix := regexReplaceAll "/+$" (index . 0) "" -}}
        {{- if and (not $match) (or (not $prefix) (eq $served $prefix) (hasPrefix (printf "%s/" $prefix) $served)) -}}
          {{- $match = . -}}
        {{- end -}}
      {{- end -}}
      {{- if and $match (ne (index $match 1) $name) -}}
        {{- $problems = append $problems (printf "expose.routes.%s: sends %s to `%s`, but components.%s.paths says `%s` serves it" (index $match 0) $served (index $match 1) $name $name) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $name, $s := $secrets -}}
  {{- if not (regexMatch "^[A-Za-z][A-Za-z0-9_-]{0,62}$" $name) -}}
    {{- $problems = append $problems (printf "secrets.%s: `%s` is not a valid secret name; allowed: letters, digits, `_` and `-`, starting with a letter" $name $name) -}}
  {{- end -}}
  {{- if and (hasKey $s "fromEnv") (not (regexMatch "^[A-Za-z_][A-Za-z0-9_]*$" (toString $s.fromEnv))) -}}
    {{- $problems = append $problems (printf "secrets.%s.fromEnv: `%s` is not an environment variable name; allowed: letters, digits and `_`, not starting with a digit" $name $s.fromEnv) -}}
  {{- end -}}
  {{- if $s.generate -}}
    {{- $length := int64 $s.generate.length -}}
    {{- if or (lt $length 16) (gt $length 256) -}}
      {{- $problems = append $problems (printf "secrets.%s.generate.length: %d is out of range; allowed: 16–256" $name $length) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if eq $db.mode "internal" -}}
  {{- if not (hasKey $secrets $db.passwordSecret) -}}
    {{- $problems = append $problems (printf "database.passwordSecret: names the secret `%s`, which is not declared" $db.passwordSecret) -}}
  {{- end -}}
  {{- $problems = concat $problems (include "berth.validateImage" (dict "path" "database.internal" "image" $db.internal.image) | fromJsonArray) -}}
  {{- $problems = concat $problems (include "berth.validateBuildEnv" (dict "path" "database.internal" "env" $db.internal.image.buildEnv) | fromJsonArray) -}}
  {{- if eq (int64 $db.internal.port) 0 -}}
    {{- $problems = append $problems "database.internal.port: 0 is not a port; allowed: 1–65535" -}}
  {{- end -}}
  {{- $problems = concat $problems (include "berth.validateResources" (dict "at" "database.internal.resources" "r" $db.internal.resources) | fromJsonArray) -}}
  {{- $storage := include "berth.text" $db.internal.storage -}}
  {{- if le (include "berth.quantity" $storage | float64) 0.0 -}}
    {{- $problems = append $problems (printf "database.internal.storage: `%s` is not a positive quantity; allowed: e.g. 1Gi, 500Mi" $storage) -}}
  {{- end -}}
  {{- if lt (int64 $db.internal.runAsUser) 1 -}}
    {{- $problems = append $problems (printf "database.internal.runAsUser: %d is root or invalid; allowed: a numeric non-root user id (1 or more)" (int64 $db.internal.runAsUser)) -}}
  {{- end -}}
  {{- range $key, $value := dict "database.name" $db.name "database.user" $db.user -}}
    {{- if not (regexMatch "^[A-Za-z][A-Za-z0-9_]{0,62}$" $value) -}}
      {{- $problems = append $problems (printf "%s: `%s` is not allowed; use letters, digits and `_`, starting with a letter" $key $value) -}}
    {{- end -}}
  {{- end -}}
{{- else if and (eq $db.mode "external") (not (hasKey $secrets $db.external.urlSecret)) -}}
  {{- $problems = append $problems (printf "database.external.urlSecret: names the secret `%s`, which is not declared" $db.external.urlSecret) -}}
{{- end -}}
{{- $expose := .Values.expose -}}
{{- $normalized := dict -}}
{{- range $path, $route := $expose.routes -}}
  {{- $target := include "berth.routeComponent" $route -}}
  {{- $c := index $components $target -}}
  {{- /* `"` and `\` never appear unescaped in a URL path, and would end the
         quoted location in the edge's nginx configuration. */ -}}
  {{- if or (not (hasPrefix "/" $path)) (regexMatch "[?#\"\\\\]" $path) (regexMatch (include "berth.space" .) $path) -}}
    {{- $problems = append $problems (printf "expose.routes.%s: `%s` is not a path prefix; allowed: starting with `/`, no spaces, `?`, `#`, `\"` or `\\`" $path $path) -}}
  {{- end -}}
  {{- /* Trailing slashes do not change what a prefix matches. */ -}}
  {{- $same := regexReplaceAll "/+$" $path "" | default "/" -}}
  {{- if hasKey $normalized $same -}}
    {{- $problems = append $problems (printf "expose.routes.%s: conflicts with the route `%s`: both match the same paths" $path (index $normalized $same)) -}}
  {{- else -}}
    {{- $_ := set $normalized $same $path -}}
  {{- end -}}
  {{- if eq (include "berth.routeStrips" $route) "true" -}}
    {{- if eq (regexReplaceAll "/+$" $path "") "" -}}
      {{- $problems = append $problems (printf "expose.routes.%s.stripPrefix: is true on `/`, which has no prefix to strip" $path) -}}
    {{- end -}}
    {{- if eq $expose.mode "ingress" -}}
      {{- $problems = append $problems (printf "expose.routes.%s.stripPrefix: is true, but an Ingress cannot strip a prefix portably (each controller has its own annotation)" $path) -}}
    {{- end -}}
  {{- end -}}
  {{- if not $c -}}
    {{- $problems = append $problems (printf "expose.routes.%s: routes to `%s`, which is not a component" $path $target) -}}
  {{- else if not (hasKey $c "port") -}}
    {{- $problems = append $problems (printf "expose.routes.%s: routes to `%s`, a worker without a port" $path $target) -}}
  {{- end -}}
{{- end -}}
{{- if and (eq $expose.mode "nodePort") (not (include "berth.entry" .)) (ne (include "berth.usesEdge" .) "true") -}}
  {{- $problems = append $problems "expose.routes: has no route for `/`; a NodePort exposes the component routed at `/` (or the edge proxy, when the routes name several components)" -}}
{{- end -}}
{{- $problems = concat $problems (include "berth.validateImage" (dict "path" "expose.edge" "image" $expose.edge.image) | fromJsonArray) -}}
{{- if lt (int64 $expose.edge.replicas) 1 -}}
  {{- $problems = append $problems (printf "expose.edge.replicas: %d is below 1; allowed: 1 or more (the edge is the only way in)" (int64 $expose.edge.replicas)) -}}
{{- end -}}
{{- if not (regexMatch "^[0-9]{1,12}[kKmMgG]?$" (include "berth.text" $expose.edge.maxBodySize)) -}}
  {{- $problems = append $problems (printf "expose.edge.maxBodySize: `%s` is not a size; allowed: digits with an optional k, m or g (e.g. 10m, 512k, 0 for no limit)" (include "berth.text" $expose.edge.maxBodySize)) -}}
{{- end -}}
{{- $nodePort := int64 $expose.nodePort -}}
{{- if or (lt $nodePort 30000) (gt $nodePort 32767) -}}
  {{- $problems = append $problems (printf "expose.nodePort: %d is outside the NodePort range; allowed: 30000–32767" $nodePort) -}}
{{- end -}}
{{- range $key, $host := dict "expose.ingress.host" $expose.ingress.host "expose.gateway.host" $expose.gateway.host -}}
  {{- $ok := le (len $host) 253 -}}
  {{- range splitList "." $host -}}
    {{- if not (regexMatch $dnsLabel .) }}{{ $ok = false }}{{ end -}}
  {{- end -}}
  {{- if not $ok -}}
    {{- $problems = append $problems (printf "%s: `%s` is not a valid DNS name; allowed: lower-case labels of letters, digits and `-`, separated by dots (e.g. todo.local)" $key $host) -}}
  {{- end -}}
{{- end -}}
{{- if and (eq $expose.mode "ingress") (not $expose.ingress.className) -}}
  {{- $problems = append $problems "expose.ingress.className: is empty; an Ingress needs a class (Minikube's ingress addon uses `nginx`)" -}}
{{- end -}}
{{- if and (eq $expose.mode "gateway") (not (include "berth.isSubdomain" (toString $expose.gateway.name))) -}}
  {{- $problems = append $problems (printf "expose.gateway.name: `%s` is not a Gateway name; an HTTPRoute attaches to an existing Gateway" $expose.gateway.name) -}}
{{- end -}}
{{- range $key, $ns := dict "expose.ingress.controllerNamespace" $expose.ingress.controllerNamespace "expose.gateway.namespace" $expose.gateway.namespace -}}
  {{- if and $ns (not (regexMatch $dnsLabel $ns)) -}}
    {{- $problems = append $problems (printf "%s: `%s` is not a valid name; allowed: up to 63 lower-case letters, digits and `-`" $key $ns) -}}
  {{- end -}}
{{- end -}}
{{- if and $expose.url (not (regexMatch "^https?://[^/?#@\\s]+/?$" $expose.url)) -}}
  {{- $problems = append $problems (printf "expose.url: `%s` is not an origin; allowed: http(s)://host[:port], e.g. http://localhost:3000 or https://todo.example.com" $expose.url) -}}
{{- end -}}
{{- $routedNames := list -}}
{{- range $path, $route := $expose.routes -}}
  {{- $name := $route -}}
  {{- if kindIs "map" $route }}{{ $name = $route.component }}{{ end -}}
  {{- if hasKey (index $components $name | default dict) "port" }}{{ $routedNames = append $routedNames $name }}{{ end -}}
{{- end -}}
{{- $localSeen := dict -}}
{{- range $name, $port := $expose.localPorts | default dict -}}
  {{- if not (has $name $routedNames) -}}
    {{- $problems = append $problems (printf "expose.localPorts.%s: `%s` is not a routed component with a port; `berth open` serves only what expose.routes routes" $name $name) -}}
  {{- end -}}
  {{- $key := toString (int64 $port) -}}
  {{- if eq (int64 $port) 0 -}}
    {{- $problems = append $problems (printf "expose.localPorts.%s: 0 is not a port; allowed: 1–65535 (above 1023 needs no root)" $name) -}}
  {{- else if hasKey $localSeen $key -}}
    {{- $problems = append $problems (printf "expose.localPorts.%s: port %s is also expose.localPorts.%s; each local port serves one component" $name $key (get $localSeen $key)) -}}
  {{- else -}}
    {{- $_ := set $localSeen $key $name -}}
  {{- end -}}
{{- end -}}
{{- $scaling := list (list "autoscaling" .Values.autoscaling) -}}
{{- range $name, $c := $components -}}
  {{- $scaling = append $scaling (list (printf "components.%s.autoscaling" $name) (include "berth.autoscaling" (dict "root" $root "c" $c) | fromJson)) -}}
{{- end -}}
{{- range $scaling -}}
  {{- $at := index . 0 -}}
  {{- $a := index . 1 -}}
  {{- $min := int64 $a.minReplicas -}}
  {{- if lt $min 1 -}}
    {{- $problems = append $problems (printf "%s.minReplicas: %d is below 1; allowed: 1 or more" $at $min) -}}
  {{- end -}}
  {{- if gt $min (int64 $a.maxReplicas) -}}
    {{- $problems = append $problems (printf "%s.maxReplicas: %d is less than minReplicas (%d); allowed: at least minReplicas" $at (int64 $a.maxReplicas) $min) -}}
  {{- end -}}
  {{- $target := int64 $a.targetCpuUtilization -}}
  {{- if or (lt $target 1) (gt $target 100) -}}
    {{- $problems = append $problems (printf "%s.targetCpuUtilization: %d is not a percentage; allowed: 1–100" $at $target) -}}
  {{- end -}}
{{- end -}}
{{- if lt (int64 .Values.podDisruptionBudget.minAvailable) 0 -}}
  {{- $problems = append $problems (printf "podDisruptionBudget.minAvailable: %d is negative; allowed: 0 or more" (int64 .Values.podDisruptionBudget.minAvailable)) -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "invalid values:\n  %s" (join "\n  " ($problems | uniq))) -}}
{{- end -}}
{{- end }}

{{/* Repository and tag rules of an image, as a JSON list of problems. Args: path, image. */}}
{{- define "berth.validateImage" -}}
{{- $problems := list -}}
{{- $repository := toString .image.repository -}}
{{- if or (not $repository) (regexMatch "\\s" $repository) (and (contains ":" $repository) (not (contains "/" $repository))) -}}
  {{- $problems = append $problems (printf "%s.image.repository: `%s` is not an image repository; allowed: e.g. docker.io/library/postgres" .path $repository) -}}
{{- end -}}
{{- if not (regexMatch "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$" (toString .image.tag)) -}}
  {{- $problems = append $problems (printf "%s.image.tag: `%v` is not an image tag; allowed: letters, digits, `_`, `.`, `-` (up to 128)" .path .image.tag) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/*
An image's build values (image.buildEnv) are baked in when berth builds it, so
the chart cannot change them; it refuses, as berth does, what must never be
baked into an image: a secret, an in-cluster URL (the browser cannot resolve
cluster DNS), the database connection or the release's name.
*/}}
{{- define "berth.validateBuildEnv" -}}
{{- $problems := list -}}
{{- range $key, $be := .env -}}
  {{- $at := printf "%s.image.buildEnv.%s" $.path $key -}}
  {{- if not (regexMatch "^[A-Za-z_][A-Za-z0-9_]*$" $key) -}}
    {{- $problems = append $problems (printf "%s: is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit" $at) -}}
  {{- end -}}
  {{- if kindIs "map" $be -}}
    {{- if hasKey $be "secret" -}}
      {{- $problems = append $problems (printf "%s.secret: the secret `%s` must not be baked into an image: what a build reads ends up in files anyone with the image (or the page) can read" $at $be.secret) -}}
    {{- else if hasKey $be "urlOf" -}}
      {{- $problems = append $problems (printf "%s.urlOf: is an in-cluster URL of `%s` (path `%s`); the browser, where a build value ends up, cannot resolve cluster DNS: route a path to it and use {externalUrl: /PREFIX}" $at $be.urlOf ($be.path | default "/")) -}}
    {{- else if hasKey $be "database" -}}
      {{- $problems = append $problems (printf "%s.database: the database's %s (driver %s) must not be baked into an image" $at $be.database ($be.driver | default "default")) -}}
    {{- else if hasKey $be "release" -}}
      {{- $problems = append $problems (printf "%s.release: the release's %s would make the image differ per release, though the same build serves every one" $at $be.release) -}}
    {{- else if not (hasPrefix "/" (toString $be.externalUrl)) -}}
      {{- $problems = append $problems (printf "%s.externalUrl: `%s` is not an HTTP path; allowed: a path starting with /" $at $be.externalUrl) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}
