{{/*
Secret values. berth reads them from the environment (`fromEnv`) or
`--set-file secrets.NAME=PATH`; Helm cannot read the environment, so a Helm
user gives each at install time as the chart-only key `value` of the secret's
spec: `--set-file secrets.NAME.value=PATH` (or `--set-string
secrets.NAME.value=…`). The chart's values.schema.json adds that one key to
berth's; values files never hold secret values. An empty value is no value.

A secret with `generate` and no value is generated once per render: the value
of the live Secret is reused on upgrade (lookup), otherwise a random one of the
asked length is made. It is then stored as the spec's `value`, so every
template of this render reads the same value.
*/}}

{{/*
The value of a secret, or "" when not given. Trailing line breaks are dropped,
as berth drops them from --set-file: a file written by an editor or `echo`
gives the same value to both. Args: root, name.
*/}}
{{- define "berth.secretValue" -}}
{{- $s := index .root.Values.secrets .name | default dict -}}
{{- if kindIs "string" $s.value -}}
{{- regexReplaceAll "[\r\n]+$" $s.value "" -}}
{{- end -}}
{{- end }}

{{/*
Where a secret's value lives in the rendered objects, as a JSON list of
[Secret name, key]: the env keys of components that read it, and the
in-cluster database's password. Args: root, name.
*/}}
{{- define "berth.secretLocations" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $db := .root.Values.database -}}
{{- $found := list -}}
{{- if and (eq $db.mode "internal") (eq $db.passwordSecret $name) -}}
  {{- $found = append $found (list (printf "%s-postgres" $root.Release.Name) "POSTGRES_PASSWORD") -}}
{{- end -}}
{{- range $component, $c := $root.Values.components -}}
  {{- if not $c.existingSecret -}}
    {{- range $key, $r := $c.env -}}
      {{- if and (kindIs "map" $r) (eq (toString $r.secret) $name) -}}
        {{- $found = append $found (list (printf "%s-%s" $root.Release.Name $component) $key) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- toJson $found -}}
{{- end }}

{{/* Generates every secret that has `generate` and no value (see above). Arg: root. */}}
{{- define "berth.ensureSecrets" -}}
{{- $root := . -}}
{{- range $name, $s := .Values.secrets -}}
  {{- if and $s.generate (not (include "berth.secretValue" (dict "root" $root "name" $name))) -}}
    {{- $live := "" -}}
    {{- range include "berth.secretLocations" (dict "root" $root "name" $name) | fromJsonArray -}}
      {{- $object := lookup "v1" "Secret" $root.Release.Namespace (index . 0) -}}
      {{- if and (not $live) $object $object.data (hasKey $object.data (index . 1)) -}}
        {{- $live = index $object.data (index . 1) | b64dec -}}
      {{- end -}}
    {{- end -}}
    {{- $_ := set $s "value" ($live | default (randAlphaNum (int $s.generate.length))) -}}
  {{- end -}}
{{- end -}}
{{- end }}

{{/*
Secrets some enabled part of the stack reads, as a JSON list: component env
(not through an existing Secret), the in-cluster database's password, and an
external database's URL when a component composes from it. Arg: root.
*/}}
{{- define "berth.usedSecrets" -}}
{{- $used := list -}}
{{- $readsDatabase := false -}}
{{- range $name, $c := .Values.components -}}
  {{- if and (ne (toString $c.enabled) "false") (not $c.existingSecret) -}}
    {{- range $key, $r := $c.env -}}
      {{- if kindIs "map" $r -}}
        {{- if hasKey $r "secret" }}{{ $used = append $used $r.secret }}{{ end -}}
        {{- if hasKey $r "database" }}{{ $readsDatabase = true }}{{ end -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $db := .Values.database -}}
{{- if eq $db.mode "internal" -}}
  {{- $used = append $used $db.passwordSecret -}}
{{- else if and (eq $db.mode "external") $readsDatabase -}}
  {{- $used = append $used $db.external.urlSecret -}}
{{- end -}}
{{- $used | uniq | sortAlpha | toJson -}}
{{- end }}

{{/*
Fails, naming each one, when a used secret without a value cannot be
generated and is needed: marked `required`, or an external database's URL.
Arg: root.
*/}}
{{- define "berth.checkSecrets" -}}
{{- $root := . -}}
{{- $problems := list -}}
{{- range $name := include "berth.usedSecrets" . | fromJsonArray -}}
  {{- $s := index $root.Values.secrets $name | default dict -}}
  {{- if and (not $s.generate) (not (include "berth.secretValue" (dict "root" $root "name" $name))) -}}
    {{- $why := "" -}}
    {{- if $s.required -}}
      {{- $why = "is required" -}}
    {{- else if and (eq $root.Values.database.mode "external") (eq $root.Values.database.external.urlSecret $name) -}}
      {{- $why = "is required because database.mode is external" -}}
    {{- end -}}
    {{- if $why -}}
      {{- $about := ternary "" (printf " (%s)" $s.description) (empty $s.description) -}}
      {{- $berth := ternary "" (printf "; berth reads it from %s" $s.fromEnv) (empty $s.fromEnv) -}}
      {{- $problems = append $problems (printf "secrets.%s%s: %s; pass --set-file secrets.%s.value=PATH (or --set-string secrets.%s.value=…)%s" $name $about $why $name $name $berth) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if $problems -}}
  {{- fail (printf "missing secrets:\n  %s" (join "\n  " $problems)) -}}
{{- end -}}
{{- end }}
