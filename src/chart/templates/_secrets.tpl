{{/*
Secret inputs. They come from --set secrets.<key>=… (or --set-file), or from an
existing Secret named by secrets.existingSecret; values files never hold them.
authSecret and postgresPassword are generated when not given: the value of the
live Secret is reused on upgrade (lookup), otherwise a random one is made once
per render and shared by every template through .Values.
*/}}

{{/* Fails with the key and the reason when a required secret is missing, as berth does. */}}
{{- define "todo-chatbot.checkSecrets" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if and (eq .Values.database.mode "external") (not .Values.secrets.databaseUrl) -}}
{{- fail "secrets.databaseUrl is required because database.mode is external; pass --set-file secrets.databaseUrl=PATH (or --set), or name an existing Secret in secrets.existingSecret" -}}
{{- end -}}
{{- if and (eq .Values.llm.provider "openai") (not .Values.secrets.openaiApiKey) -}}
{{- fail "secrets.openaiApiKey is required because llm.provider is openai; pass --set secrets.openaiApiKey=…, or name an existing Secret in secrets.existingSecret" -}}
{{- end -}}
{{- if and (eq .Values.llm.provider "gemini") (not .Values.secrets.geminiApiKey) -}}
{{- fail "secrets.geminiApiKey is required because llm.provider is gemini; pass --set secrets.geminiApiKey=…, or name an existing Secret in secrets.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* A generated secret: given, else live, else random. Args: root, key, value, secrets (names of Secrets to look in), envKey. */}}
{{- define "todo-chatbot.generatedSecret" -}}
{{- $value := .value -}}
{{- if not $value -}}
  {{- range .secrets -}}
    {{- $live := lookup "v1" "Secret" $.root.Release.Namespace . -}}
    {{- if and (not $value) $live $live.data (hasKey $live.data $.envKey) -}}
      {{- $value = index $live.data $.envKey | b64dec -}}
    {{- end -}}
  {{- end -}}
  {{- if not $value -}}
    {{- $value = randAlphaNum 64 -}}
  {{- end -}}
  {{- $_ := set .root.Values.secrets .key $value -}}
{{- end -}}
{{- $value -}}
{{- end }}

{{/* HS256 secret shared by frontend and backend. Arg: root. */}}
{{- define "todo-chatbot.authSecret" -}}
{{- include "todo-chatbot.generatedSecret" (dict "root" . "key" "authSecret" "value" .Values.secrets.authSecret "envKey" "AUTH_SECRET" "secrets" (list (printf "%s-backend" .Release.Name) (printf "%s-frontend" .Release.Name))) -}}
{{- end }}

{{/* Password of the in-cluster PostgreSQL. Arg: root. */}}
{{- define "todo-chatbot.postgresPassword" -}}
{{- include "todo-chatbot.generatedSecret" (dict "root" . "key" "postgresPassword" "value" .Values.secrets.postgresPassword "envKey" "POSTGRES_PASSWORD" "secrets" (list (printf "%s-postgres" .Release.Name))) -}}
{{- end }}

{{/*
The database URL the backend and MCP server use. Internal: the password is
percent-encoded as a URL's userinfo needs (urlquery, with `+` for a space
turned into %20: a literal `+` is already %2B). Arg: root.
*/}}
{{- define "todo-chatbot.databaseUrl" -}}
{{- if eq .Values.database.mode "external" -}}
{{- .Values.secrets.databaseUrl -}}
{{- else -}}
{{- $password := include "todo-chatbot.postgresPassword" . | urlquery | replace "+" "%20" -}}
{{- printf "postgresql://%s:%s@%s-postgres:%d/%s" .Values.database.user $password .Release.Name (int64 .Values.database.internal.port) .Values.database.name -}}
{{- end -}}
{{- end }}
