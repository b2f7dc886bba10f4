{{/*
Names and labels. Every object is named <release>-<component> (the database:
<release>-postgres) and carries the app.kubernetes.io/* labels berth renders.

Convention (a test checks it): values are read as .Values.<full.path>, or as
$c.<field> inside the shared component templates, where $c is the values of
frontend, backend or mcp. So every key of values.schema.json appears here
literally and a new model field cannot be silently ignored.
*/}}

{{/* The object-name suffix of a component: the database is named for what it runs. */}}
{{- define "todo-chatbot.suffix" -}}
{{- if eq . "database" }}postgres{{ else }}{{ . }}{{ end -}}
{{- end }}

{{/* <release>-<suffix>. Args: root, component. */}}
{{- define "todo-chatbot.fullname" -}}
{{- printf "%s-%s" .root.Release.Name (include "todo-chatbot.suffix" .component) -}}
{{- end }}

{{/* app.kubernetes.io/name: the software a component runs. */}}
{{- define "todo-chatbot.appName" -}}
{{- get (dict "frontend" "todo-frontend" "backend" "todo-backend" "mcp" "todo-mcp" "database" "postgresql") . -}}
{{- end }}

{{/* app.kubernetes.io/version of a component: its image tag. Args: root, component. */}}
{{- define "todo-chatbot.version" -}}
{{- if eq .component "database" -}}
{{- .root.Values.database.internal.image.tag -}}
{{- else -}}
{{- $c := index .root.Values .component -}}
{{- $c.image.tag -}}
{{- end -}}
{{- end }}

{{/* Labels that select a component's pods (immutable: no version). Args: root, component. */}}
{{- define "todo-chatbot.selectorLabels" -}}
app.kubernetes.io/component: {{ .component | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/name: {{ include "todo-chatbot.appName" .component | quote }}
{{- end }}

{{/* Component labels without the version: for volume claim templates. */}}
{{- define "todo-chatbot.stableLabels" -}}
{{ include "todo-chatbot.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service | quote }}
app.kubernetes.io/part-of: {{ .root.Values.appName | quote }}
{{- end }}

{{/* Labels of an object that belongs to one component. */}}
{{- define "todo-chatbot.labels" -}}
{{ include "todo-chatbot.stableLabels" . }}
app.kubernetes.io/version: {{ include "todo-chatbot.version" . | quote }}
{{- end }}

{{/* Labels of a release-wide object (the namespace's default-deny policy). Arg: root. */}}
{{- define "todo-chatbot.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/name: {{ .Values.appName | quote }}
app.kubernetes.io/part-of: {{ .Values.appName | quote }}
app.kubernetes.io/version: {{ .Values.appVersion | quote }}
{{- end }}

{{/* name, namespace and labels of a component's object. Args: root, component. */}}
{{- define "todo-chatbot.metadata" -}}
name: {{ include "todo-chatbot.fullname" . | quote }}
namespace: {{ .root.Release.Namespace | quote }}
labels:
  {{- include "todo-chatbot.labels" . | nindent 2 }}
{{- end }}

{{/* Pod-level security: non-root with a numeric user, RuntimeDefault seccomp. Arg: uid. */}}
{{- define "todo-chatbot.podSecurityContext" -}}
fsGroup: {{ . }}
runAsGroup: {{ . }}
runAsNonRoot: true
runAsUser: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: no escalation, no capabilities, read-only root. Arg: uid. */}}
{{- define "todo-chatbot.containerSecurityContext" -}}
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

{{/* The Secret a component's pods read: its own, or secrets.existingSecret. Args: root, component. */}}
{{- define "todo-chatbot.secretName" -}}
{{- .root.Values.secrets.existingSecret | default (include "todo-chatbot.fullname" .) -}}
{{- end }}

{{/*
A Kubernetes quantity as berth writes it. Numbers in values files reach
templates as float64, which Go prints in exponent form from 1e+06 up; berth
writes whole numbers in full (1000000), so whole floats are printed as integers.
*/}}
{{- define "todo-chatbot.quantity" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end }}
