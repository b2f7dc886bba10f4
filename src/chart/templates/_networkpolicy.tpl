{{/*
NetworkPolicies follow the data: default deny in the namespace, then one
policy per workload allowing exactly what the values declare — `urlOf`
references (who calls whom), `database` references, routes from the entry
point (or from the edge proxy to each routed component), declared `egress` —
and cluster DNS.
*/}}

{{/* Components a component calls through `urlOf`, enabled and with a port: a sorted JSON list. Args: root, c. */}}
{{- define "berth.callees" -}}
{{- $root := .root -}}
{{- $names := list -}}
{{- range $key, $r := .c.env -}}
  {{- if and (kindIs "map" $r) (hasKey $r "urlOf") -}}
    {{- $target := index $root.Values.components $r.urlOf -}}
    {{- if and $target (eq (include "berth.enabled" $target) "true") (hasKey $target "port") -}}
      {{- $names = append $names $r.urlOf -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- $names | uniq | sortAlpha | toJson -}}
{{- end }}

{{/* "true" when a component reads the database. Arg: the component. */}}
{{- define "berth.usesDatabase" -}}
{{- $uses := false -}}
{{- range $key, $r := .env -}}
  {{- if and (kindIs "map" $r) (hasKey $r "database") }}{{ $uses = true }}{{ end -}}
{{- end -}}
{{- $uses -}}
{{- end }}

{{/* A peer selecting one workload's pods. Args: root, who. */}}
{{- define "berth.podPeer" -}}
- podSelector:
    matchLabels:
      {{- include "berth.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* Egress to one workload's pods on a port. Args: root, who, port. */}}
{{- define "berth.egressToPods" -}}
- to:
    {{- include "berth.podPeer" . | nindent 4 }}
  ports:
    - port: {{ int64 .port }}
      protocol: TCP
{{- end }}

{{/* Egress to any address on a TCP port. Arg: port. */}}
{{- define "berth.egressToAnywhere" -}}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
  ports:
    - port: {{ int64 . }}
      protocol: TCP
{{- end }}

{{/* Cluster DNS (CoreDNS in kube-system, as on Minikube), first in every egress list. */}}
{{- define "berth.egressToDns" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/* A peer selecting a namespace. Arg: name. */}}
{{- define "berth.namespacePeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . | quote }}
{{- end }}

{{/* The metadata and selector every workload policy starts with. Args: root, who. */}}
{{- define "berth.policyHead" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  {{- include "berth.metadata" . | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "berth.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
{{- end }}

{{/*
Who may connect to a component's port: the components that call it; the edge
proxy, the Ingress controller's or the Gateway's namespace when it is routed;
everyone when it is the exposed entry point (NodePort and controller traffic
arrives from addresses we cannot name) or routed through a Gateway of unknown
namespace. Args: root, name, c.
*/}}
{{- define "berth.componentIngress" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $expose := .root.Values.expose -}}
{{- $port := int64 .c.port -}}
{{- $routed := false -}}
{{- range $path, $route := $expose.routes -}}
  {{- if eq (include "berth.routeComponent" $route) $name }}{{ $routed = true }}{{ end -}}
{{- end -}}
{{- $edge := eq (include "berth.usesEdge" $root) "true" -}}
{{- if or (and (ne $expose.mode "none") (eq (include "berth.entry" $root) $name) (not $edge)) (and (eq $expose.mode "gateway") $routed (not $expose.gateway.namespace)) }}
ingress:
  - ports:
      - port: {{ $port }}
        protocol: TCP
{{- else -}}
{{- $peers := list -}}
{{- range $caller, $other := $root.Values.components -}}
  {{- if and (eq (include "berth.enabled" $other) "true") (has $name (include "berth.callees" (dict "root" $root "c" $other) | fromJsonArray)) -}}
    {{- $peers = append $peers (include "berth.podPeer" (dict "root" $root "who" (include "berth.identity" (dict "root" $root "name" $caller) | fromJson))) -}}
  {{- end -}}
{{- end -}}
{{- if and $edge $routed -}}
  {{- $peers = append $peers (include "berth.podPeer" (dict "root" $root "who" (include "berth.edgeIdentity" $root | fromJson))) -}}
{{- end -}}
{{- if and (eq $expose.mode "ingress") $routed $expose.ingress.controllerNamespace -}}
  {{- $peers = append $peers (include "berth.namespacePeer" $expose.ingress.controllerNamespace) -}}
{{- else if and (eq $expose.mode "gateway") $routed $expose.gateway.namespace -}}
  {{- $peers = append $peers (include "berth.namespacePeer" $expose.gateway.namespace) -}}
{{- end -}}
{{- if $peers }}
ingress:
  - from:
      {{- range $peers }}
      {{- . | nindent 6 }}
      {{- end }}
    ports:
      - port: {{ $port }}
        protocol: TCP
{{- end -}}
{{- end -}}
{{- end }}

{{/* The policy of one enabled component. Args: root, name, who. */}}
{{- define "berth.componentPolicy" -}}
{{- $root := .root -}}
{{- $c := index .root.Values.components .name -}}
{{- $db := .root.Values.database -}}
{{- include "berth.policyHead" . }}
  {{- if hasKey $c "port" }}
  {{- include "berth.componentIngress" (dict "root" $root "name" .name "c" $c) | trim | nindent 2 }}
  {{- end }}
  egress:
    {{- include "berth.egressToDns" . | nindent 4 }}
    {{- range $callee := include "berth.callees" (dict "root" $root "c" $c) | fromJsonArray }}
    {{- $target := index $root.Values.components $callee }}
    {{- include "berth.egressToPods" (dict "root" $root "who" (include "berth.identity" (dict "root" $root "name" $callee) | fromJson) "port" $target.port) | nindent 4 }}
    {{- end }}
    {{- $anywhere := list }}
    {{- if eq (include "berth.usesDatabase" $c) "true" }}
    {{- if eq $db.mode "internal" }}
    {{- include "berth.egressToPods" (dict "root" $root "who" (include "berth.databaseIdentity" $root | fromJson) "port" $db.internal.port) | nindent 4 }}
    {{- else if eq $db.mode "external" }}
    {{- /* Without the URL (an existing Secret holds it) assume PostgreSQL's default port. */}}
    {{- $url := include "berth.secretValue" (dict "root" $root "name" $db.external.urlSecret) }}
    {{- $anywhere = append $anywhere (ternary (include "berth.externalPart" (dict "url" $url "part" "port")) "5432" (not (empty $url))) }}
    {{- end }}
    {{- end }}
    {{- range $host := $c.egress }}
    {{- $anywhere = append $anywhere (ternary (regexFind "[0-9]+$" $host) "443" (contains ":" $host)) }}
    {{- end }}
    {{- range $port := $anywhere | uniq }}
    {{- include "berth.egressToAnywhere" $port | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The edge proxy's policy: NodePort traffic in (from addresses we cannot name;
none in none mode, where only port-forwards reach it), out only to the routed
components and DNS. Arg: root.
*/}}
{{- define "berth.edgePolicy" -}}
{{- $root := . -}}
{{- $self := dict "root" . "who" (include "berth.edgeIdentity" . | fromJson) -}}
{{- $routed := list -}}
{{- range include "berth.orderedRoutes" . | fromJsonArray -}}
  {{- $routed = append $routed (index . 1) -}}
{{- end -}}
{{- include "berth.policyHead" $self }}
  {{- if eq .Values.expose.mode "nodePort" }}
  ingress:
    - ports:
        - port: 8080
          protocol: TCP
  {{- end }}
  egress:
    {{- include "berth.egressToDns" . | nindent 4 }}
    {{- range $name := $routed | uniq | sortAlpha }}
    {{- $c := index $root.Values.components $name }}
    {{- if hasKey $c "port" }}
    {{- include "berth.egressToPods" (dict "root" $root "who" (include "berth.identity" (dict "root" $root "name" $name) | fromJson) "port" $c.port) | nindent 4 }}
    {{- end }}
    {{- end }}
{{- end }}

{{/* The in-cluster database's policy: only its clients, no egress at all. Arg: root. */}}
{{- define "berth.databasePolicy" -}}
{{- $root := . -}}
{{- $self := dict "root" . "who" (include "berth.databaseIdentity" . | fromJson) -}}
{{- $peers := list -}}
{{- range $name, $c := .Values.components -}}
  {{- if and (eq (include "berth.enabled" $c) "true") (eq (include "berth.usesDatabase" $c) "true") -}}
    {{- $peers = append $peers (include "berth.podPeer" (dict "root" $root "who" (include "berth.identity" (dict "root" $root "name" $name) | fromJson))) -}}
  {{- end -}}
{{- end -}}
{{- include "berth.policyHead" $self }}
  {{- if $peers }}
  ingress:
    - from:
        {{- range $peers }}
        {{- . | nindent 8 }}
        {{- end }}
      ports:
        - port: {{ int64 .Values.database.internal.port }}
          protocol: TCP
  {{- end }}
{{- end }}
