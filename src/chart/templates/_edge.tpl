{{/*
The edge proxy (nodePort and none modes, routes to several components):
nginx-unprivileged configured from the routes. See berth's
src/manifests/edge.rs and edge_config.rs: the configuration text below is the
same, byte for byte.
*/}}

{{/* Who the edge's objects are, as JSON. Arg: root. */}}
{{- define "berth.edgeIdentity" -}}
{{- $expose := .Values.expose -}}
{{- dict "objectName" (printf "%s-edge" .Release.Name) "component" "edge" "software" "nginx" "version" (toString $expose.edge.image.tag) | toJson -}}
{{- end }}

{{/*
nginx.conf: each route's prefix itself and everything below it (`/api` serves
`/api` and `/api/…`, never `/apix`), most specific first; with stripPrefix the
upstream URI `/` replaces the matched part. Upstreams are the components'
Service names, resolved when nginx starts. Arg: root.
*/}}
{{- define "berth.edgeConf" -}}
{{- $expose := .Values.expose -}}
{{- $locations := "" -}}
{{- $block := "        location %s {\n            proxy_pass %s;\n        }\n" -}}
{{- range (include "berth.routing" . | fromJson).routes -}}
  {{- $prefix := regexReplaceAll "/+$" .path "" -}}
  {{- $upstream := printf "http://%s:%d%s" .service (int64 .port) (ternary "/" "" .stripPrefix) -}}
  {{- if $prefix -}}
    {{- $locations = printf "%s%s%s" $locations (printf $block (printf "= \"%s\"" $prefix) $upstream) (printf $block (printf "\"%s/\"" $prefix) $upstream) -}}
  {{- else -}}
    {{- $locations = printf "%s%s" $locations (printf $block "\"/\"" $upstream) -}}
  {{- end -}}
{{- end -}}
# The edge proxy of berth: expose.routes on one origin.
worker_processes 1;
daemon off;
pid /tmp/nginx.pid;
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    # The root filesystem is read-only: temporary files go to the scratch volume.
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    access_log /dev/stdout;
    server_tokens off;
    client_max_body_size {{ include "berth.text" $expose.edge.maxBodySize }};

    # WebSocket upgrades pass through.
    map $http_upgrade $connection_upgrade {
        default upgrade;
        "" close;
    }

    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $http_host;
    # Streamed answers (server-sent events, chunked responses) and uploads
    # pass as they are written, and may stay open.
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_read_timeout 1h;
    proxy_send_timeout 1h;

    server {
        listen 8080;
{{ $locations }}    }

    # The probes' endpoint.
    server {
        listen 8081;
        location = /healthz {
            access_log off;
            return 200 "ok\n";
        }
    }
}
{{ end }}

{{/* An HTTP probe of the edge's health endpoint. Arg: which (startup, readiness or liveness). */}}
{{- define "berth.edgeProbe" -}}
{{- $timing := get (dict "startup" (list 2 60) "readiness" (list 5 3) "liveness" (list 10 3)) . -}}
httpGet:
  path: /healthz
  port: health
periodSeconds: {{ index $timing 0 }}
timeoutSeconds: 2
failureThreshold: {{ index $timing 1 }}
{{- end }}
