{{/*
Names, labels and the pod hardening every workload shares. The chart knows
kinds (an HTTP component, a worker, the in-cluster database), never a
particular app's names: those come from .Values.components and .Values.secrets.

Convention (tests/chart_drift.rs checks it): values are read as
.Values.<full.path>, or through these variables whose key path is fixed:
  $c  a component          (components.*)      $t  one of its tasks (components.*.tasks.*)
  $p  its probes           (components.*.probes)
  $k  a probe check        (components.*.probes, and its startup, readiness, liveness)
  $r  an env value         (components.*.env.*)
  $route a route           (expose.routes.*)
  $a  autoscaling          (autoscaling, components.*.autoscaling)
  $b  disruption budget    (podDisruptionBudget, components.*.podDisruptionBudget)
  $res resources           (components.*.resources, database.internal.resources,
                           expose.edge.resources)
  $s  a secret's spec      (secrets.*)         $db .Values.database
  $expose .Values.expose
So every key of values.schema.json appears in a template literally, and a new
model field cannot be silently ignored.
*/}}

{{/*
Who a component's objects are, as JSON: objectName (<release>-<name>),
component (the app.kubernetes.io/component label and container name),
software (app.kubernetes.io/name: nameLabel, else the name) and version (the
image tag). Args: root, name.
*/}}
{{- define "berth.identity" -}}
{{- $c := index .root.Values.components .name -}}
{{- dict "objectName" (printf "%s-%s" .root.Release.Name .name) "component" .name "software" ($c.nameLabel | default .name) "version" (toString $c.image.tag) | toJson -}}
{{- end }}

{{/* Who the in-cluster database's objects are: named for what it runs. Arg: root. */}}
{{- define "berth.databaseIdentity" -}}
{{- dict "objectName" (printf "%s-postgres" .Release.Name) "component" "database" "software" "postgresql" "version" (toString .Values.database.internal.image.tag) | toJson -}}
{{- end }}

{{/* Labels that select a workload's pods (immutable: no version). Args: root, who. */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/component: {{ .who.component | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/name: {{ .who.software | quote }}
{{- end }}

{{/* Labels without the version: for volume claim templates. Args: root, who. */}}
{{- define "berth.stableLabels" -}}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: {{ .root.Values.appName | quote }}
{{- end }}

{{/* Labels of an object that belongs to one workload. Args: root, who. */}}
{{- define "berth.labels" -}}
{{ include "berth.stableLabels" . }}
app.kubernetes.io/version: {{ .who.version | quote }}
{{- end }}

{{/* The same labels as a dict (for merging with a component's pod labels). Args: root, who. */}}
{{- define "berth.labelsDict" -}}
{{- include "berth.labels" . | fromYaml | toJson -}}
{{- end }}

{{/* Labels of a release-wide object (the default-deny policy). Arg: root. */}}
{{- define "berth.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/name: {{ .Values.appName | quote }}
app.kubernetes.io/part-of: {{ .Values.appName | quote }}
app.kubernetes.io/version: {{ .Values.appVersion | quote }}
{{- end }}

{{/* name, namespace and labels of a workload's object. Args: root, who. */}}
{{- define "berth.metadata" -}}
name: {{ .who.objectName | quote }}
namespace: {{ .root.Release.Namespace | quote }}
labels:
  {{- include "berth.labels" . | nindent 2 }}
{{- end }}

{{/* Pod-level security: non-root with a numeric user, RuntimeDefault seccomp. Arg: uid. */}}
{{- define "berth.podSecurityContext" -}}
fsGroup: {{ . }}
runAsGroup: {{ . }}
runAsNonRoot: true
runAsUser: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: no escalation, no capabilities, read-only root. Arg: uid. */}}
{{- define "berth.containerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
readOnlyRootFilesystem: true
runAsGroup: {{ . }}
runAsNonRoot: true
runAsUser: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
A number or text as berth writes it. Numbers in values files reach templates as
float64, which Go prints in exponent form from 1e+06 up; berth writes whole
numbers in full (1000000), so whole floats are printed as integers.
*/}}
{{- define "berth.text" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end }}

{{/* Resource requests and limits. Arg: a resources dict ($res: a component's or the database's). */}}
{{- define "berth.resources" -}}
{{- $res := . -}}
requests:
  cpu: {{ include "berth.text" $res.requests.cpu | quote }}
  memory: {{ include "berth.text" $res.requests.memory | quote }}
limits:
  cpu: {{ include "berth.text" $res.limits.cpu | quote }}
  memory: {{ include "berth.text" $res.limits.memory | quote }}
{{- end }}

{{/* envFrom: the workload's ConfigMap, then its Secret if it reads one. Args: config, secret. */}}
{{- define "berth.envFrom" -}}
- configMapRef:
    name: {{ .config | quote }}
{{- if .secret }}
- secretRef:
    name: {{ .secret | quote }}
{{- end }}
{{- end }}

{{/* ConfigMap and Secret of a workload's environment. Args: root, who, env ({config, secret}), secret (bool: render the Secret). */}}
{{- define "berth.envObjects" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "berth.metadata" . | nindent 2 }}
data:{{ if not .env.config }} {}{{ end }}
  {{- range $key, $value := .env.config }}
  {{ $key | quote }}: {{ $value | quote }}
  {{- end }}
{{- if .secret }}
---
apiVersion: v1
kind: Secret
metadata:
  {{- include "berth.metadata" . | nindent 2 }}
type: Opaque
data:{{ if not .env.secret }} {}{{ end }}
  {{- range $key, $value := .env.secret }}
  {{ $key | quote }}: {{ $value | b64enc | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/* None of the workloads talks to the Kubernetes API. Args: root, who. */}}
{{- define "berth.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "berth.metadata" . | nindent 2 }}
automountServiceAccountToken: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
