{{/*
berth's value rules that JSON Schema (values.schema.json) cannot express, so
`helm install` rejects what `berth deploy` rejects. Every problem is listed at
once, by key, as berth does. Not checked here (berth checks them): quantity
formats and requests above limits, and the database URL's driver and SSL
parameter.
*/}}
{{- define "todo-chatbot.validate" -}}
{{- $problems := list -}}
{{- $dnsLabel := "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" -}}
{{- range $name := list "frontend" "backend" "mcp" -}}
  {{- $c := index $.Values $name -}}
  {{- if lt (int64 $c.replicas) 0 -}}
    {{- $problems = append $problems (printf "%s.replicas: %v is negative; allowed: 0 or more" $name $c.replicas) -}}
  {{- end -}}
  {{- $problems = concat $problems (include "todo-chatbot.validateWorkload" (dict "path" $name "image" $c.image "port" $c.port "runAsUser" $c.runAsUser) | fromJsonArray) -}}
  {{- range $key, $path := dict "healthPath" $c.healthPath "readyPath" $c.readyPath -}}
    {{- if not (regexMatch "^/[^\\s]*$" $path) -}}
      {{- $problems = append $problems (printf "%s.%s: `%s` is not an HTTP path; allowed: starting with `/`, no spaces" $name $key $path) -}}
    {{- end -}}
  {{- end -}}
  {{- range $key, $_ := $c.env -}}
    {{- if not (regexMatch "^[A-Za-z_][A-Za-z0-9_]*$" $key) -}}
      {{- $problems = append $problems (printf "%s.env.%s: is not a valid environment variable name; allowed: letters, digits and `_`, not starting with a digit" $name $key) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if not (regexMatch "^/[^\\s]*$" .Values.mcp.path) -}}
  {{- $problems = append $problems (printf "mcp.path: `%s` is not an HTTP path; allowed: starting with `/`, no spaces" .Values.mcp.path) -}}
{{- end -}}
{{- if eq .Values.database.mode "internal" -}}
  {{- $problems = concat $problems (include "todo-chatbot.validateWorkload" (dict "path" "database.internal" "image" .Values.database.internal.image "port" .Values.database.internal.port "runAsUser" .Values.database.internal.runAsUser) | fromJsonArray) -}}
  {{- range $key, $value := dict "database.name" .Values.database.name "database.user" .Values.database.user -}}
    {{- if not (regexMatch "^[A-Za-z][A-Za-z0-9_]{0,62}$" $value) -}}
      {{- $problems = append $problems (printf "%s: `%s` is not allowed; use letters, digits and `_`, starting with a letter" $key $value) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $nodePort := int64 .Values.expose.nodePort -}}
{{- if or (lt $nodePort 30000) (gt $nodePort 32767) -}}
  {{- $problems = append $problems (printf "expose.nodePort: %d is outside the NodePort range; allowed: 30000–32767" $nodePort) -}}
{{- end -}}
{{- $host := .Values.expose.ingress.host -}}
{{- $hostOk := le (len $host) 253 -}}
{{- range splitList "." $host -}}
  {{- if not (regexMatch $dnsLabel .) }}{{ $hostOk = false }}{{ end -}}
{{- end -}}
{{- if not $hostOk -}}
  {{- $problems = append $problems (printf "expose.ingress.host: `%s` is not a valid DNS name; allowed: lower-case labels of letters, digits and `-`, separated by dots (e.g. todo.local)" $host) -}}
{{- end -}}
{{- if and (eq .Values.expose.mode "ingress") (not .Values.expose.ingress.className) -}}
  {{- $problems = append $problems "expose.ingress.className: is empty; an Ingress needs a class (Minikube's ingress addon uses `nginx`)" -}}
{{- end -}}
{{- $controller := .Values.expose.ingress.controllerNamespace -}}
{{- if and $controller (not (regexMatch $dnsLabel $controller)) -}}
  {{- $problems = append $problems (printf "expose.ingress.controllerNamespace: `%s` is not a valid name; allowed: up to 63 lower-case letters, digits and `-`" $controller) -}}
{{- end -}}
{{- $min := int64 .Values.autoscaling.minReplicas -}}
{{- if lt $min 1 -}}
  {{- $problems = append $problems (printf "autoscaling.minReplicas: %d is below 1; allowed: 1 or more" $min) -}}
{{- end -}}
{{- if gt $min (int64 .Values.autoscaling.maxReplicas) -}}
  {{- $problems = append $problems (printf "autoscaling.maxReplicas: %d is less than autoscaling.minReplicas (%d); allowed: at least minReplicas" (int64 .Values.autoscaling.maxReplicas) $min) -}}
{{- end -}}
{{- $target := int64 .Values.autoscaling.targetCpuUtilization -}}
{{- if or (lt $target 1) (gt $target 100) -}}
  {{- $problems = append $problems (printf "autoscaling.targetCpuUtilization: %d is not a percentage; allowed: 1–100" $target) -}}
{{- end -}}
{{- if lt (int64 .Values.podDisruptionBudget.minAvailable) 0 -}}
  {{- $problems = append $problems (printf "podDisruptionBudget.minAvailable: %d is negative; allowed: 0 or more" (int64 .Values.podDisruptionBudget.minAvailable)) -}}
{{- end -}}
{{- $baseUrl := .Values.llm.baseUrl -}}
{{- if and $baseUrl (not (regexMatch "^(?i)https?://[^\\s/?#]+([/?#]\\S*)?$" $baseUrl)) -}}
  {{- $problems = append $problems (printf "llm.baseUrl: `%s` is not an http(s) URL; allowed: e.g. https://api.example.com/v1, or empty" $baseUrl) -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "invalid values:\n  %s" (join "\n  " $problems)) -}}
{{- end -}}
{{- end }}

{{/* Image, port and user rules of one workload, as a JSON list of problems. Args: path, image, port, runAsUser. */}}
{{- define "todo-chatbot.validateWorkload" -}}
{{- $problems := list -}}
{{- $repository := .image.repository -}}
{{- if or (not $repository) (regexMatch "\\s" $repository) (and (contains ":" $repository) (not (contains "/" $repository))) -}}
  {{- $problems = append $problems (printf "%s.image.repository: `%s` is not an image repository; allowed: e.g. docker.io/library/postgres" .path $repository) -}}
{{- end -}}
{{- if not (regexMatch "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$" (toString .image.tag)) -}}
  {{- $problems = append $problems (printf "%s.image.tag: `%v` is not an image tag; allowed: letters, digits, `_`, `.`, `-` (up to 128)" .path .image.tag) -}}
{{- end -}}
{{- if eq (int64 .port) 0 -}}
  {{- $problems = append $problems (printf "%s.port: 0 is not a port; allowed: 1–65535" .path) -}}
{{- end -}}
{{- if lt (int64 .runAsUser) 1 -}}
  {{- $problems = append $problems (printf "%s.runAsUser: %v is root or invalid; allowed: a numeric non-root user id (1 or more)" .path (int64 .runAsUser)) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}
