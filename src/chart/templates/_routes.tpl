{{/*
A route's component: the route is a component's name or
{component: NAME, stripPrefix: BOOL}. Arg: the route ($route).
*/}}
{{- define "berth.routeComponent" -}}
{{- $route := . -}}
{{- if kindIs "map" $route }}{{ toString $route.component }}{{ else }}{{ toString $route }}{{ end -}}
{{- end }}

{{/* "true" when a route removes its prefix before the component sees the request. Arg: the route. */}}
{{- define "berth.routeStrips" -}}
{{- $route := . -}}
{{- and (kindIs "map" $route) (eq (toString $route.stripPrefix) "true") -}}
{{- end }}

{{/*
Routes to enabled components, most specific (longest) prefix first, then by
path, as a JSON list of [path, component, stripPrefix]: the order Ingress and
Gateway API match in. Arg: root.
*/}}
{{- define "berth.orderedRoutes" -}}
{{- $root := . -}}
{{- $enabled := dict -}}
{{- $longest := 0 -}}
{{- range $path, $route := .Values.expose.routes -}}
  {{- $target := include "berth.routeComponent" $route -}}
  {{- $c := index $root.Values.components $target -}}
  {{- if and $c (eq (include "berth.enabled" $c) "true") -}}
    {{- $_ := set $enabled $path (list $target (eq (include "berth.routeStrips" $route) "true")) -}}
    {{- $longest = max $longest (len $path) -}}
  {{- end -}}
{{- end -}}
{{- $ordered := list -}}
{{- range $i := until (int $longest) -}}
  {{- $length := sub $longest $i -}}
  {{- range $path, $target := $enabled -}}
    {{- if eq (len $path) (int $length) }}{{ $ordered = append $ordered (list $path (index $target 0) (index $target 1)) }}{{ end -}}
  {{- end -}}
{{- end -}}
{{- toJson $ordered -}}
{{- end }}

{{/*
"true" when the edge proxy serves the routes: in nodePort and none modes, when
the routes to enabled components name more than one component or strip a
prefix. Arg: root.
*/}}
{{- define "berth.usesEdge" -}}
{{- $components := list -}}
{{- $strips := false -}}
{{- range include "berth.orderedRoutes" . | fromJsonArray -}}
  {{- $components = append $components (index . 1) -}}
  {{- if index . 2 }}{{ $strips = true }}{{ end -}}
{{- end -}}
{{- and (has .Values.expose.mode (list "nodePort" "none")) (or (gt (len ($components | uniq)) 1) $strips) -}}
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
    {{- $routes = append $routes (dict "path" (index . 0) "service" (printf "%s-%s" $root.Release.Name (index . 1)) "port" (int64 $c.port) "stripPrefix" (index . 2)) -}}
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
