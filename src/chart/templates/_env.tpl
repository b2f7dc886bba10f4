{{/*
Each component's environment with every reference resolved, split into a
ConfigMap (settings, URLs) and a Secret (secret values and anything composed
from one, such as a database URL with its password). Returned as JSON
{"config": {...}, "secret": {...}} so the ConfigMap, the Secret and the pods'
checksum annotation all read the same data. A secret value that is not
available (optional and not given, or held by an existing Secret) leaves the
variable out, as berth does. Args: root, name.
*/}}
{{- define "berth.env" -}}
{{- include "berth.ensureSecrets" .root -}}
{{- $root := .root -}}
{{- $c := index .root.Values.components .name -}}
{{- $existing := not (empty $c.existingSecret) -}}
{{- $config := dict -}}
{{- $secret := dict -}}
{{- range $key, $value := $c.env -}}
  {{- $resolved := include "berth.resolve" (dict "root" $root "value" $value) | fromJson -}}
  {{- if eq $resolved.to "config" -}}
    {{- $_ := set $config $key $resolved.value -}}
  {{- else if and (eq $resolved.to "secret") (not $existing) $resolved.value -}}
    {{- $_ := set $secret $key $resolved.value -}}
  {{- end -}}
{{- end -}}
{{- dict "config" $config "secret" $secret | toJson -}}
{{- end }}

{{/*
One env value as JSON {"to": "config"|"secret"|"absent", "value": text}: plain
text (numbers and booleans written as text), or a reference. Args: root, value.
*/}}
{{- define "berth.resolve" -}}
{{- $root := .root -}}
{{- $r := .value -}}
{{- $out := dict "to" "config" "value" "" -}}
{{- if not (kindIs "map" $r) -}}
  {{- $_ := set $out "value" (include "berth.text" $r) -}}
{{- else if hasKey $r "secret" -}}
  {{- $out = dict "to" "secret" "value" (include "berth.secretValue" (dict "root" $root "name" $r.secret)) -}}
{{- else if hasKey $r "urlOf" -}}
  {{- $target := index $root.Values.components $r.urlOf -}}
  {{- $_ := set $out "value" (printf "http://%s-%s:%d%s" $root.Release.Name $r.urlOf (int64 $target.port) ($r.path | default "")) -}}
{{- else if hasKey $r "externalUrl" -}}
  {{- $_ := set $out "value" (printf "%s%s" (include "berth.externalUrl" $root) (trimSuffix "/" $r.externalUrl)) -}}
{{- else if hasKey $r "release" -}}
  {{- $_ := set $out "value" (ternary $root.Release.Name $root.Release.Namespace (eq $r.release "name")) -}}
{{- else if hasKey $r "database" -}}
  {{- $out = include "berth.databaseRef" (dict "root" $root "part" $r.database "driver" ($r.driver | default "postgres")) | fromJson -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/*
A part of the database connection: for the in-cluster database the URL and
password are secret and the rest is not; for an external one everything comes
from the URL secret. Args: root, part, driver.
*/}}
{{- define "berth.databaseRef" -}}
{{- $db := .root.Values.database -}}
{{- $out := dict "to" "absent" "value" "" -}}
{{- if eq $db.mode "internal" -}}
  {{- $password := include "berth.secretValue" (dict "root" .root "name" $db.passwordSecret) -}}
  {{- $host := printf "%s-postgres" .root.Release.Name -}}
  {{- if eq .part "url" -}}
    {{- if $password -}}
      {{- $encoded := $password | urlquery | replace "+" "%20" -}}
      {{- $out = dict "to" "secret" "value" (printf "%s://%s:%s@%s:%d/%s" (include "berth.driverScheme" .driver) $db.user $encoded $host (int64 $db.internal.port) $db.name) -}}
    {{- end -}}
  {{- else if eq .part "password" -}}
    {{- $out = dict "to" "secret" "value" $password -}}
  {{- else if eq .part "host" -}}
    {{- $out = dict "to" "config" "value" $host -}}
  {{- else if eq .part "port" -}}
    {{- $out = dict "to" "config" "value" (toString (int64 $db.internal.port)) -}}
  {{- else if eq .part "user" -}}
    {{- $out = dict "to" "config" "value" $db.user -}}
  {{- else if eq .part "name" -}}
    {{- $out = dict "to" "config" "value" $db.name -}}
  {{- end -}}
{{- else if eq $db.mode "external" -}}
  {{- $url := include "berth.secretValue" (dict "root" .root "name" $db.external.urlSecret) -}}
  {{- if $url -}}
    {{- $out = dict "to" "secret" "value" (include "berth.externalPart" (dict "url" $url "part" .part "driver" .driver)) -}}
  {{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/* URL scheme of a driver's form. Arg: driver. */}}
{{- define "berth.driverScheme" -}}
{{- get (dict "postgres" "postgresql" "asyncpg" "postgresql+asyncpg" "psycopg" "postgresql+psycopg" "psycopg2" "postgresql+psycopg2") . -}}
{{- end }}

{{/*
One part of an external PostgreSQL URL (percent-decoded), or the whole URL in
the driver's form: scheme replaced, TLS parameter renamed (asyncpg reads `ssl`,
the others `sslmode`), everything else kept byte for byte. Empty when the URL
has no such part. Args: url, part, driver.
*/}}
{{- define "berth.externalPart" -}}
{{- $raw := .url -}}
{{- if contains "://" $raw -}}
{{- $split := splitn "://" 2 $raw -}}
{{- $scheme := $split._0 -}}
{{- $rest := $split._1 -}}
{{- if eq .part "url" -}}
  {{- if has (regexReplaceAll "\\+.*$" $scheme "") (list "postgresql" "postgres") -}}
    {{- $tls := ternary "ssl" "sslmode" (eq .driver "asyncpg") -}}
    {{- $q := splitn "?" 2 $rest -}}
    {{- include "berth.driverScheme" .driver }}://{{ $q._0 -}}
    {{- if contains "?" $rest -}}
      {{- $params := list -}}
      {{- range splitList "&" $q._1 -}}
        {{- $kv := splitn "=" 2 . -}}
        {{- if and (contains "=" .) (has $kv._0 (list "sslmode" "ssl")) -}}
          {{- $params = append $params (printf "%s=%s" $tls $kv._1) -}}
        {{- else -}}
          {{- $params = append $params . -}}
        {{- end -}}
      {{- end -}}
      ?{{ join "&" $params -}}
    {{- end -}}
  {{- end -}}
{{- else -}}
  {{- $authority := regexFind "^[^/?#]*" $rest -}}
  {{- $userinfo := "" -}}
  {{- $hostport := $authority -}}
  {{- if contains "@" $authority -}}
    {{- $userinfo = regexReplaceAll "@[^@]*$" $authority "" -}}
    {{- $hostport = regexReplaceAll "^.*@" $authority "" -}}
  {{- end -}}
  {{- if eq .part "host" -}}
    {{- regexReplaceAll ":[0-9]*$" $hostport "" -}}
  {{- else if eq .part "port" -}}
    {{- (regexFind ":[0-9]+$" $hostport | trimPrefix ":") | default "5432" | atoi -}}
  {{- else if eq .part "user" -}}
    {{- include "berth.percentDecode" (regexReplaceAll ":.*$" $userinfo "") -}}
  {{- else if and (eq .part "password") (contains ":" $userinfo) -}}
    {{- include "berth.percentDecode" (regexReplaceAll "^[^:]*:" $userinfo "") -}}
  {{- else if eq .part "name" -}}
    {{- include "berth.percentDecode" (regexReplaceAll "^/+" (regexFind "^/[^?#]*" (trimPrefix $authority $rest)) "") -}}
  {{- end -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* Percent-decoding, by Go's URL parser (a path is decoded, `+` kept). Arg: text. */}}
{{- define "berth.percentDecode" -}}
{{- if contains "%" . -}}
{{- (urlParse (printf "x:///%s" .)).path | trimPrefix "/" -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end }}

{{/*
SHA-256 over `KEY=VALUE\n` lines sorted by key, over the ConfigMap and the
Secret: a change rolls the pods that read it. `range` visits a dict's keys in
sorted order; Secret keys win over ConfigMap keys of the same name, as in
berth. Arg: env ({config, secret}).
*/}}
{{- define "berth.checksum" -}}
{{- $all := dict -}}
{{- range $key, $value := .config -}}
  {{- $_ := set $all $key $value -}}
{{- end -}}
{{- range $key, $value := .secret -}}
  {{- $_ := set $all $key $value -}}
{{- end -}}
{{- $lines := "" -}}
{{- range $key, $value := $all -}}
  {{- $lines = printf "%s%s=%s\n" $lines $key $value -}}
{{- end -}}
{{- sha256sum $lines -}}
{{- end }}

{{/* The component routed at `/`: the entry point when there is no edge proxy. Arg: root. */}}
{{- define "berth.entry" -}}
{{- include "berth.routeComponent" (index .Values.expose.routes "/" | default "") -}}
{{- end }}

{{/*
The origin the browser uses (berth's manifests::exposure::external_url):
expose.url when set; else with expose.origin=local the local origin of
`berth open`; else the Ingress or Gateway host. A NodePort's node address is
only known on the cluster (berth deploy resolves it into expose.url); here it
falls back to http://localhost:<nodePort>. Arg: root.
*/}}
{{- define "berth.externalUrl" -}}
{{- $expose := .Values.expose -}}
{{- if $expose.url -}}
{{- trimSuffix "/" $expose.url -}}
{{- else if eq ($expose.origin | default "cluster") "local" -}}
{{- include "berth.localOrigin" . -}}
{{- else if eq $expose.mode "ingress" -}}
{{- printf "%s://%s" (ternary "http" "https" (empty $expose.ingress.tlsSecretName)) $expose.ingress.host -}}
{{- else if eq $expose.mode "gateway" -}}
{{- printf "%s://%s" (ternary "https" "http" $expose.gateway.https) $expose.gateway.host -}}
{{- else if eq $expose.mode "nodePort" -}}
{{- printf "http://localhost:%d" (int64 $expose.nodePort) -}}
{{- else -}}
{{- $entry := include "berth.entry" . -}}
{{- $c := dict -}}
{{- if $entry }}{{ $c = index .Values.components $entry | default dict }}{{ end -}}
{{- if hasKey $c "port" -}}
{{- printf "http://localhost:%d" (int64 $c.port) -}}
{{- else -}}
http://localhost
{{- end -}}
{{- end -}}
{{- end }}

{{/*
The local origin `berth open` serves (berth's manifests::local_ports):
http://localhost:<port> of the entry (the component routed at `/`), else of
the first routed component by name. Its port is expose.localPorts' entry, else
its container port (below 1024: 8000 higher), moved up past ports other
components were given explicitly. Arg: root.
*/}}
{{- define "berth.localOrigin" -}}
{{- $root := . -}}
{{- $expose := .Values.expose -}}
{{- $localPorts := $expose.localPorts | default dict -}}
{{- $routed := list -}}
{{- range $path, $route := $expose.routes -}}
  {{- $name := $route -}}
  {{- if kindIs "map" $route }}{{ $name = $route.component }}{{ end -}}
  {{- $c := index $root.Values.components $name | default dict -}}
  {{- if and (hasKey $c "port") (eq (include "berth.enabled" $c) "true") -}}
    {{- $routed = append $routed $name -}}
  {{- end -}}
{{- end -}}
{{- $routed = $routed | uniq | sortAlpha -}}
{{- $primary := include "berth.entry" . -}}
{{- if not (has $primary $routed) }}{{ $primary = first $routed | default "" }}{{ end -}}
{{- if not $primary -}}
http://localhost
{{- else if hasKey $localPorts $primary -}}
{{- printf "http://localhost:%d" (int64 (index $localPorts $primary)) -}}
{{- else -}}
  {{- $taken := list -}}
  {{- range $name, $port := $localPorts -}}
    {{- if has $name $routed }}{{ $taken = append $taken (int64 $port) }}{{ end -}}
  {{- end -}}
  {{- $port := int64 (index $root.Values.components $primary).port -}}
  {{- if lt $port 1024 }}{{ $port = add $port 8000 }}{{ end -}}
  {{- range until (len $taken) -}}
    {{- if has $port $taken }}{{ $port = add $port 1 }}{{ end -}}
  {{- end -}}
  {{- printf "http://localhost:%d" (int64 $port) -}}
{{- end -}}
{{- end }}
