{{/*
A component's workload: a Deployment (its tasks as init containers), a Service
when it has a port, and the HPA and PDB its effective settings ask for.
*/}}

{{/* "true" when a component is enabled (absent means enabled). Arg: the component. */}}
{{- define "berth.enabled" -}}
{{- $c := . -}}
{{- ne (toString $c.enabled) "false" -}}
{{- end }}

{{/*
A probe check as JSON ({"http": path} | {"tcp": true} | {"exec": [...]}), or
{} unless exactly one kind is given. Arg: a dict with http, tcp, exec.
*/}}
{{- define "berth.check" -}}
{{- $k := . -}}
{{- $kinds := list -}}
{{- if kindIs "string" $k.http }}{{ $kinds = append $kinds (dict "http" $k.http) }}{{ end -}}
{{- if eq (toString $k.tcp) "true" }}{{ $kinds = append $kinds (dict "tcp" true) }}{{ end -}}
{{- if kindIs "slice" $k.exec }}{{ $kinds = append $kinds (dict "exec" $k.exec) }}{{ end -}}
{{- if eq (len $kinds) 1 }}{{ first $kinds | toJson }}{{ else }}{}{{ end -}}
{{- end }}

{{/*
Startup, readiness and liveness probes as JSON {"startup": …, …}: each
override, else the default check, else a TCP check on the port (none for a
worker). Arg: the component.
*/}}
{{- define "berth.probes" -}}
{{- $p := .probes | default dict -}}
{{- $base := include "berth.check" $p | fromJson -}}
{{- if and (not $base) (hasKey . "port") }}{{ $base = dict "tcp" true }}{{ end -}}
{{- $out := dict -}}
{{- range $which, $override := dict "startup" $p.startup "readiness" $p.readiness "liveness" $p.liveness -}}
  {{- $check := dict -}}
  {{- if kindIs "map" $override }}{{ $check = include "berth.check" $override | fromJson }}{{ end -}}
  {{- $check = $check | default $base -}}
  {{- if $check }}{{ $_ := set $out $which $check }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/* One probe. Args: check, which (startup, readiness or liveness). */}}
{{- define "berth.probe" -}}
{{- $timing := get (dict "startup" (list 2 60) "readiness" (list 5 3) "liveness" (list 10 3)) .which -}}
{{- if hasKey .check "http" }}
httpGet:
  path: {{ .check.http | quote }}
  port: http
{{- else if hasKey .check "tcp" }}
tcpSocket:
  port: http
{{- else }}
exec:
  command: {{ toJson .check.exec }}
{{- end }}
periodSeconds: {{ index $timing 0 }}
timeoutSeconds: {{ ternary 3 2 (hasKey .check "exec") }}
failureThreshold: {{ index $timing 1 }}
{{- end }}

{{/*
The emptyDir volume name for a writable path: its last two segments, leading
dots dropped, joined by `-` (`/app/.next/cache` → `next-cache`). Arg: path.
*/}}
{{- define "berth.volumeName" -}}
{{- $segments := list -}}
{{- range splitList "/" . -}}
  {{- if . -}}
    {{- $segments = append $segments (regexReplaceAll "[^a-z0-9]" (lower (regexReplaceAll "^\\.+" . "")) "-") -}}
  {{- end -}}
{{- end -}}
{{- $n := len $segments -}}
{{- if gt $n 2 }}{{ $segments = slice $segments (sub $n 2) }}{{ end -}}
{{- join "-" $segments | trimAll "-" -}}
{{- end }}

{{/* The effective autoscaling of a component: its overrides over the release-wide settings, as JSON. Args: root, c. */}}
{{- define "berth.autoscaling" -}}
{{- $out := deepCopy .root.Values.autoscaling -}}
{{- $a := .c.autoscaling | default dict -}}
{{- if hasKey $a "enabled" }}{{ $_ := set $out "enabled" $a.enabled }}{{ end -}}
{{- if hasKey $a "minReplicas" }}{{ $_ := set $out "minReplicas" $a.minReplicas }}{{ end -}}
{{- if hasKey $a "maxReplicas" }}{{ $_ := set $out "maxReplicas" $a.maxReplicas }}{{ end -}}
{{- if hasKey $a "targetCpuUtilization" }}{{ $_ := set $out "targetCpuUtilization" $a.targetCpuUtilization }}{{ end -}}
{{- toJson $out -}}
{{- end }}

{{/* The effective disruption budget of a component, as JSON. Args: root, c. */}}
{{- define "berth.disruptionBudget" -}}
{{- $out := deepCopy .root.Values.podDisruptionBudget -}}
{{- $b := .c.podDisruptionBudget | default dict -}}
{{- if hasKey $b "enabled" }}{{ $_ := set $out "enabled" $b.enabled }}{{ end -}}
{{- if hasKey $b "minAvailable" }}{{ $_ := set $out "minAvailable" $b.minAvailable }}{{ end -}}
{{- toJson $out -}}
{{- end }}

{{/*
The image fields a component's container and its tasks share. Args: root, c.
*/}}
{{- define "berth.containerCommon" -}}
{{- $c := .c -}}
image: {{ printf "%s:%s" $c.image.repository (toString $c.image.tag) | quote }}
imagePullPolicy: {{ .root.Values.imagePullPolicy | quote }}
{{- end }}
