{{/*
Routes to enabled components, most specific (longest) prefix first, then by
path, as a JSON list of [path, component]: the order Ingress and Gateway API
match in. Arg: root.
*/}}
{{- define "berth.orderedRoutes" -}}
{{- $root := . -}}
{{- $enabled := dict -}}
{{- $longest := 0 -}}
{{- range $path, $target := .Values.expose.routes -}}
  {{- $c := index $root.Values.components $target -}}
  {{- if and $c (eq (include "berth.enabled" $c) "true") -}}
    {{- $_ := set $enabled $path $target -}}
    {{- $longest = max $longest (len $path) -}}
  {{- end -}}
{{- end -}}
{{- $ordered := list -}}
{{- range $i := until (int $longest) -}}
  {{- $length := sub $longest $i -}}
  {{- range $path, $target := $enabled -}}
    {{- if eq (len $path) (int $length) }}{{ $ordered = append $ordered (list $path $target) }}{{ end -}}
  {{- end -}}
{{- end -}}
{{- toJson $ordered -}}
{{- end }}

{{/*
What the Ingress or HTTPRoute needs, as JSON: its owner (the entry point when
it runs, else the first routed component) and the routes to components with
a port. Empty when nothing routed runs. Arg: root.
*/}}
{{- define "berth.routing" -}}
{{- $root := . -}}
{{- $ordered := include "berth.orderedRoutes" . | fromJsonArray -}}
{{- $routes := list -}}
{{- range $ordered -}}
  {{- $c := index $root.Values.components (index . 1) -}}
  {{- if hasKey $c "port" -}}
    {{- $routes = append $routes (dict "path" (index . 0) "service" (printf "%s-%s" $root.Release.Name (index . 1)) "port" (int64 $c.port)) -}}
  {{- end -}}
{{- end -}}
{{- $owner := "" -}}
{{- $entry := include "berth.entry" . -}}
{{- $entryComponent := index .Values.components $entry | default dict -}}
{{- if and $entry (hasKey .Values.components $entry) (eq (include "berth.enabled" $entryComponent) "true") -}}
  {{- $owner = $entry -}}
{{- else if $ordered -}}
  {{- $owner = index (first $ordered) 1 -}}
{{- end -}}
{{- if and $owner $routes -}}
{{- dict "owner" $owner "routes" $routes | toJson -}}
{{- else -}}
{}
{{- end -}}
{{- end }}
