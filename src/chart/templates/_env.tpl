{{/*
Each component's environment, split into a ConfigMap (settings, internal URLs)
and a Secret (keys, auth secret, database credentials). Returned as JSON
{"config": {...}, "secret": {...}} so the ConfigMap, the Secret and the
pods' checksum annotation all read the same data. Args: root, component.
*/}}
{{- define "todo-chatbot.env" -}}
{{- include "todo-chatbot.checkSecrets" .root -}}
{{- $root := .root -}}
{{- $config := dict -}}
{{- $secret := dict -}}
{{- $extras := dict -}}
{{- if eq .component "frontend" -}}
  {{- $_ := set $config "PORT" (toString (int64 $root.Values.frontend.port)) -}}
  {{- $_ := set $config "HOSTNAME" "0.0.0.0" -}}
  {{- $_ := set $config "BACKEND_URL" (printf "http://%s-backend:%d" $root.Release.Name (int64 $root.Values.backend.port)) -}}
  {{- $_ := set $config "APP_URL" (include "todo-chatbot.externalUrl" $root) -}}
  {{- $_ := set $secret "AUTH_SECRET" (include "todo-chatbot.authSecret" $root) -}}
  {{- $extras = $root.Values.frontend.env -}}
{{- else if eq .component "backend" -}}
  {{- $_ := set $config "PORT" (toString (int64 $root.Values.backend.port)) -}}
  {{- $_ := set $config "MCP_SERVER_URL" (printf "http://%s-mcp:%d%s" $root.Release.Name (int64 $root.Values.mcp.port) $root.Values.mcp.path) -}}
  {{- $_ := set $config "LLM_PROVIDER" $root.Values.llm.provider -}}
  {{- if $root.Values.llm.model -}}
    {{- $_ := set $config "LLM_MODEL" $root.Values.llm.model -}}
  {{- end -}}
  {{- if $root.Values.llm.baseUrl -}}
    {{- $_ := set $config "OPENAI_BASE_URL" $root.Values.llm.baseUrl -}}
  {{- end -}}
  {{- $_ := set $secret "AUTH_SECRET" (include "todo-chatbot.authSecret" $root) -}}
  {{- $_ := set $secret "DATABASE_URL" (include "todo-chatbot.databaseUrl" $root) -}}
  {{- /* Only the key of the chosen provider: the others are not this release's to hold. */ -}}
  {{- if eq $root.Values.llm.provider "openai" -}}
    {{- $_ := set $secret "OPENAI_API_KEY" $root.Values.secrets.openaiApiKey -}}
  {{- else if eq $root.Values.llm.provider "gemini" -}}
    {{- $_ := set $secret "GEMINI_API_KEY" $root.Values.secrets.geminiApiKey -}}
  {{- end -}}
  {{- $extras = $root.Values.backend.env -}}
{{- else if eq .component "mcp" -}}
  {{- $_ := set $config "PORT" (toString (int64 $root.Values.mcp.port)) -}}
  {{- $_ := set $secret "DATABASE_URL" (include "todo-chatbot.databaseUrl" $root) -}}
  {{- $extras = $root.Values.mcp.env -}}
{{- else if eq .component "database" -}}
  {{- $_ := set $config "POSTGRES_DB" $root.Values.database.name -}}
  {{- $_ := set $config "POSTGRES_USER" $root.Values.database.user -}}
  {{- $_ := set $config "PGDATA" "/var/lib/postgresql/data/pgdata" -}}
  {{- $_ := set $secret "POSTGRES_PASSWORD" (include "todo-chatbot.postgresPassword" $root) -}}
{{- end -}}
{{- /* User-supplied extras come last so they can override a default on purpose. */ -}}
{{- range $key, $value := $extras -}}
  {{- $_ := set $config $key (toString $value) -}}
{{- end -}}
{{- dict "config" $config "secret" $secret | toJson -}}
{{- end }}

{{/*
SHA-256 over `KEY=VALUE\n` lines sorted by key, over the ConfigMap and (unless
an existing Secret is used) the Secret: a change rolls the pods that read it.
`range` visits a dict's keys in sorted order; Secret keys win over ConfigMap
keys of the same name, as in berth. Args: root, component.
*/}}
{{- define "todo-chatbot.checksum" -}}
{{- $env := include "todo-chatbot.env" . | fromJson -}}
{{- $all := dict -}}
{{- range $key, $value := $env.config -}}
  {{- $_ := set $all $key $value -}}
{{- end -}}
{{- if not .root.Values.secrets.existingSecret -}}
  {{- range $key, $value := $env.secret -}}
    {{- $_ := set $all $key $value -}}
  {{- end -}}
{{- end -}}
{{- $lines := "" -}}
{{- range $key, $value := $all -}}
  {{- $lines = printf "%s%s=%s\n" $lines $key $value -}}
{{- end -}}
{{- sha256sum $lines -}}
{{- end }}

{{/*
The URL users reach the app at. A NodePort's node address is only known on the
cluster, so this assumes localhost (as `minikube service` tunnels do). Arg: root.
*/}}
{{- define "todo-chatbot.externalUrl" -}}
{{- if eq .Values.expose.mode "ingress" -}}
{{- printf "%s://%s" (ternary "http" "https" (empty .Values.expose.ingress.tlsSecretName)) .Values.expose.ingress.host -}}
{{- else if eq .Values.expose.mode "nodePort" -}}
{{- printf "http://localhost:%d" (int64 .Values.expose.nodePort) -}}
{{- else -}}
{{- printf "http://localhost:%d" (int64 .Values.frontend.port) -}}
{{- end -}}
{{- end }}
