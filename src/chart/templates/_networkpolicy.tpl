{{/*
Building blocks of the NetworkPolicies: default deny in the namespace, then
per component only the paths the app uses, and cluster DNS.
*/}}

{{/* A peer selecting one component's pods. Args: root, component. */}}
{{- define "todo-chatbot.podPeer" -}}
- podSelector:
    matchLabels:
      {{- include "todo-chatbot.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* Egress to one component's pods on a port. Args: root, component, port. */}}
{{- define "todo-chatbot.egressToPods" -}}
- to:
    {{- include "todo-chatbot.podPeer" . | nindent 4 }}
  ports:
    - port: {{ int64 .port }}
      protocol: TCP
{{- end }}

{{/* Egress to any address on a TCP port. Arg: port. */}}
{{- define "todo-chatbot.egressToAnywhere" -}}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
  ports:
    - port: {{ int64 . }}
      protocol: TCP
{{- end }}

{{/* Cluster DNS (CoreDNS in kube-system, as on Minikube), first in every egress list. */}}
{{- define "todo-chatbot.egressToDns" -}}
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

{{/*
The explicit port of a URL, else the default: the scheme's (http 80, https 443)
when it has a well-known one. Args: url, default.
*/}}
{{- define "todo-chatbot.urlPort" -}}
{{- $port := "" -}}
{{- $scheme := "" -}}
{{- if .url -}}
  {{- $parsed := urlParse .url -}}
  {{- $scheme = lower $parsed.scheme -}}
  {{- $port = regexFind ":[0-9]+$" $parsed.host | trimPrefix ":" -}}
{{- end -}}
{{- if $port -}}
{{- atoi $port -}}
{{- else if eq $scheme "http" -}}
80
{{- else if eq $scheme "https" -}}
443
{{- else -}}
{{- .default -}}
{{- end -}}
{{- end }}

{{/*
To the in-cluster PostgreSQL pods, or to an external database's port (5432 when
the URL lives in an existing Secret the chart cannot read). Arg: root.
*/}}
{{- define "todo-chatbot.egressToDatabase" -}}
{{- if eq .Values.database.mode "internal" -}}
{{- include "todo-chatbot.egressToPods" (dict "root" . "component" "database" "port" .Values.database.internal.port) -}}
{{- else -}}
{{- include "todo-chatbot.egressToAnywhere" (include "todo-chatbot.urlPort" (dict "url" .Values.secrets.databaseUrl "default" 5432)) -}}
{{- end -}}
{{- end }}

{{/* The metadata and selector every component policy starts with. Args: root, component. */}}
{{- define "todo-chatbot.networkPolicyHead" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  {{- include "todo-chatbot.metadata" . | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "todo-chatbot.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
{{- end }}
