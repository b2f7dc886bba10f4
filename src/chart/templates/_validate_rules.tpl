{{/*
berth's rules on single fields of a component, a path and a quantity, each as
a define returning a JSON list of problems (included by berth.validate). The
messages are berth's own.
*/}}

{{/* Rust's char::is_whitespace: ASCII spaces, vertical tab, U+0085 and Unicode separators. */}}
{{- define "berth.space" -}}[\t\n\x0B\f\r\x{85}\p{Z}]{{- end -}}

{{/* An HTTP path: starting with `/`, no spaces. Args: at, value. */}}
{{- define "berth.validatePath" -}}
{{- $problems := list -}}
{{- $value := toString .value -}}
{{- if or (not (hasPrefix "/" $value)) (regexMatch (include "berth.space" .) $value) -}}
  {{- $problems = append $problems (printf "%s: `%s` is not an HTTP path; allowed: starting with `/`, no spaces" .at $value) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/* A quantity's value (berth's parse_quantity), or -1 when it is not one. Arg: the text. */}}
{{- define "berth.quantity" -}}
{{- $text := toString . -}}
{{- $parts := regexFindAll "^[0-9.+-]*" $text 1 -}}
{{- $number := index $parts 0 -}}
{{- $suffix := trimPrefix $number $text -}}
{{- $multipliers := dict "" 1.0 "n" 1e-9 "u" 1e-6 "m" 1e-3 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $multiplier := -1.0 -}}
{{- if hasKey $multipliers $suffix -}}
  {{- $multiplier = index $multipliers $suffix -}}
{{- else if regexMatch "^[eE][+-]?[0-9]+$" $suffix -}}
  {{- $multiplier = float64 (printf "1%s" $suffix) -}}
{{- end -}}
{{- $valid := and $number (not (hasPrefix "-" $number)) (regexMatch "^[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)$" $number) (ge $multiplier 0.0) -}}
{{- if $valid -}}{{ mulf (float64 $number) $multiplier }}{{- else -}}-1{{- end -}}
{{- end }}

{{/* Requests and limits: positive quantities, requests at most the limits. Args: at, r. */}}
{{- define "berth.validateResources" -}}
{{- $problems := list -}}
{{- $at := .at -}}
{{- $values := dict -}}
{{- range $key := list "requests.cpu" "requests.memory" "limits.cpu" "limits.memory" -}}
  {{- $side := index $.r (index (splitList "." $key) 0) | default dict -}}
  {{- $text := include "berth.text" (index $side (index (splitList "." $key) 1)) -}}
  {{- $q := include "berth.quantity" $text | float64 -}}
  {{- if le $q 0.0 -}}
    {{- $problems = append $problems (printf "%s.%s: `%s` is not a positive quantity; allowed: e.g. 250m or 1 for cpu, 256Mi or 1Gi for memory" $at $key $text) -}}
  {{- end -}}
  {{- $_ := set $values $key (list $q $text) -}}
{{- end -}}
{{- range $resource := list "cpu" "memory" -}}
  {{- $request := index $values (printf "requests.%s" $resource) -}}
  {{- $limit := index $values (printf "limits.%s" $resource) -}}
  {{- if and (gt (index $request 0) 0.0) (gt (index $limit 0) 0.0) (gt (index $request 0) (index $limit 0)) -}}
    {{- $problems = append $problems (printf "%s.requests.%s: %s is more than the limit %s; allowed: at most %s.limits.%s" $at $resource (index $request 1) (index $limit 1) $at $resource) -}}
  {{- end -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/* One env reference: exactly one kind, its own options only, paths. Args: at, r. */}}
{{- define "berth.validateReference" -}}
{{- $problems := list -}}
{{- $r := .r -}}
{{- $kinds := 0 -}}
{{- range $kind := list "secret" "urlOf" "externalUrl" "database" "release" -}}
  {{- if hasKey $r $kind }}{{ $kinds = add1 $kinds }}{{ end -}}
{{- end -}}
{{- $options := and (or (not (hasKey $r "path")) (hasKey $r "urlOf")) (or (not (hasKey $r "driver")) (eq (toString $r.database) "url")) -}}
{{- if or (ne (int $kinds) 1) (not $options) -}}
  {{- $problems = append $problems (printf "%s: is not a reference; allowed: exactly one of {secret: NAME}, {urlOf: COMPONENT, path: /p}, {externalUrl: /p}, {database: url|host|port|user|name|password, driver: …}, {release: name|namespace}" .at) -}}
{{- else if and (hasKey $r "urlOf") $r.path -}}
  {{- $problems = concat $problems (include "berth.validatePath" (dict "at" (printf "%s.path" .at) "value" $r.path) | fromJsonArray) -}}
{{- else if hasKey $r "externalUrl" -}}
  {{- $problems = concat $problems (include "berth.validatePath" (dict "at" (printf "%s.externalUrl" .at) "value" $r.externalUrl) | fromJsonArray) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/* A label value. Args: at, value. */}}
{{- define "berth.validateLabelValue" -}}
{{- $problems := list -}}
{{- if not (regexMatch "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$" (toString .value)) -}}
  {{- $problems = append $problems (printf "%s: `%s` is not a valid label value; allowed: up to 63 letters, digits, `-`, `_`, `.`" .at .value) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/* A label or annotation key: [DNS-subdomain prefix/]name. Args: at, key. */}}
{{- define "berth.validateQualifiedKey" -}}
{{- $problems := list -}}
{{- $parts := splitList "/" .key -}}
{{- $name := last $parts -}}
{{- $prefix := trimSuffix (printf "/%s" $name) .key -}}
{{- if eq $prefix .key }}{{ $prefix = "" }}{{ end -}}
{{- $prefixOk := or (not $prefix) (include "berth.isSubdomain" $prefix) -}}
{{- if or (not (regexMatch "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" $name)) (not $prefixOk) -}}
  {{- $problems = append $problems (printf "%s: `%s` is not a valid key; allowed: [prefix/]name, name up to 63 letters, digits, `-`, `_`, `.`" .at .key) -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}

{{/* "true" when the text is an RFC 1123 subdomain (dot-separated DNS labels, up to 253). */}}
{{- define "berth.isSubdomain" -}}
{{- $ok := le (len .) 253 -}}
{{- range splitList "." . -}}
  {{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" .) }}{{ $ok = false }}{{ end -}}
{{- end -}}
{{- if $ok }}true{{ end -}}
{{- end }}

{{/* berth's emptyDir volume name for a writable path: its last two segments. Arg: the path. */}}
{{- define "berth.writableVolume" -}}
{{- $segments := list -}}
{{- range splitList "/" . -}}
  {{- if . -}}
    {{- $segments = append $segments (regexReplaceAll "[^a-z0-9]" (lower (regexReplaceAll "^[.]+" . "")) "-") -}}
  {{- end -}}
{{- end -}}
{{- $tail := $segments -}}
{{- if ge (len $segments) 2 }}{{ $tail = slice $segments (sub (len $segments) 2) }}{{ end -}}
{{- trimAll "-" (join "-" $tail) -}}
{{- end }}

{{/* What berth checks on a component beyond names and references. Args: root, name, c. */}}
{{- define "berth.validateComponent" -}}
{{- $problems := list -}}
{{- $c := .c -}}
{{- $at := printf "components.%s" .name -}}
{{- $space := include "berth.space" . -}}
{{- with $c.image.build -}}
  {{- if or (hasPrefix "/" .) (not (hasSuffix ".toml" .)) -}}
    {{- $problems = append $problems (printf "%s.image.build: `%s` is not a build spec path; allowed: a relative path to a .toml file, e.g. images/web.toml" $at .) -}}
  {{- end -}}
{{- end -}}
{{- if hasKey $c "nameLabel" -}}
  {{- $problems = concat $problems (include "berth.validateLabelValue" (dict "at" (printf "%s.nameLabel" $at) "value" $c.nameLabel) | fromJsonArray) -}}
{{- end -}}
{{- /* Probes: one default kind, overrides exactly one, paths, a port to check. */ -}}
{{- $probes := $c.probes | default dict -}}
{{- $checks := list (list (printf "%s.probes" $at) $probes) -}}
{{- range $key := list "startup" "readiness" "liveness" -}}
  {{- if hasKey $probes $key -}}
    {{- $checks = append $checks (list (printf "%s.probes.%s" $at $key) (index $probes $key)) -}}
  {{- end -}}
{{- end -}}
{{- range $i, $entry := $checks -}}
  {{- $path := index $entry 0 -}}
  {{- $check := index $entry 1 -}}
  {{- $n := 0 -}}
  {{- if hasKey $check "http" }}{{ $n = add1 $n }}{{ end -}}
  {{- if eq (toString $check.tcp) "true" }}{{ $n = add1 $n }}{{ end -}}
  {{- if hasKey $check "exec" }}{{ $n = add1 $n }}{{ end -}}
  {{- if and (eq $i 0) (gt (int $n) 1) -}}
    {{- $problems = append $problems (printf "%s: sets more than one of http, tcp and exec; allowed: one default check" $path) -}}
  {{- else if and (gt $i 0) (ne (int $n) 1) -}}
    {{- $problems = append $problems (printf "%s: needs exactly one of http (a path), tcp: true or exec (a command)" $path) -}}
  {{- end -}}
  {{- if hasKey $check "http" -}}
    {{- $problems = concat $problems (include "berth.validatePath" (dict "at" (printf "%s.http" $path) "value" $check.http) | fromJsonArray) -}}
  {{- end -}}
  {{- if and (or (hasKey $check "http") (eq (toString $check.tcp) "true")) (not (hasKey $c "port")) -}}
    {{- $problems = append $problems (printf "%s: checks the port, but the component has none (a worker)" $path) -}}
  {{- end -}}
  {{- if and (hasKey $check "exec") (not $check.exec) -}}
    {{- $problems = append $problems (printf "%s.exec: is empty; allowed: a command, e.g. [cat, /tmp/healthy]" $path) -}}
  {{- end -}}
{{- end -}}
{{- with $c.resources -}}
  {{- $problems = concat $problems (include "berth.validateResources" (dict "at" (printf "%s.resources" $at) "r" .) | fromJsonArray) -}}
{{- end -}}
{{- /* Writable paths: absolute directories with distinct, valid volume names. */ -}}
{{- $volumes := dict -}}
{{- range $i, $path := $c.writablePaths -}}
  {{- $key := printf "%s.writablePaths[%d]" $at $i -}}
  {{- if or (not (hasPrefix "/" $path)) (eq $path "/") (regexMatch $space $path) -}}
    {{- $problems = append $problems (printf "%s: `%s` is not a directory; allowed: an absolute path below /, e.g. /tmp" $key $path) -}}
  {{- else -}}
    {{- $volume := include "berth.writableVolume" $path -}}
    {{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" $volume) -}}
      {{- $problems = append $problems (printf "%s: `%s` gives the volume name `%s`, which is not a valid name" $key $path $volume) -}}
    {{- else if hasKey $volumes $volume -}}
      {{- $problems = append $problems (printf "%s: `%s` and `%s` both give the volume name `%s`" $key $path (index $volumes $volume) $volume) -}}
    {{- else -}}
      {{- $_ := set $volumes $volume $path -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $key, $_ := $c.podAnnotations -}}
  {{- $problems = concat $problems (include "berth.validateQualifiedKey" (dict "at" (printf "%s.podAnnotations.%s" $at $key) "key" $key) | fromJsonArray) -}}
{{- end -}}
{{- range $key, $value := $c.podLabels -}}
  {{- $path := printf "%s.podLabels.%s" $at $key -}}
  {{- $problems = concat $problems (include "berth.validateQualifiedKey" (dict "at" $path "key" $key) | fromJsonArray) -}}
  {{- $problems = concat $problems (include "berth.validateLabelValue" (dict "at" $path "value" $value) | fromJsonArray) -}}
  {{- if hasPrefix "app.kubernetes.io/" $key -}}
    {{- $problems = append $problems (printf "%s: app.kubernetes.io/ labels are berth's (they select the pods); use another prefix" $path) -}}
  {{- end -}}
{{- end -}}
{{- $budget := $c.podDisruptionBudget | default dict -}}
{{- if and (hasKey $budget "minAvailable") (lt (int64 $budget.minAvailable) 0) -}}
  {{- $problems = append $problems (printf "%s.podDisruptionBudget.minAvailable: %d is negative; allowed: 0 or more" $at (int64 $budget.minAvailable)) -}}
{{- end -}}
{{- with $c.existingSecret -}}
  {{- if not (include "berth.isSubdomain" .) -}}
    {{- $problems = append $problems (printf "%s.existingSecret: `%s` is not a valid Secret name; allowed: lower-case letters, digits, `-` and `.`" $at .) -}}
  {{- end -}}
{{- end -}}
{{- range $i, $path := $c.paths -}}
  {{- $problems = concat $problems (include "berth.validatePath" (dict "at" (printf "%s.paths[%d]" $at $i) "value" $path) | fromJsonArray) -}}
{{- end -}}
{{- range $task, $t := $c.tasks -}}
  {{- if or (not $t.command) (not (toString (first $t.command))) -}}
    {{- $problems = append $problems (printf "%s.tasks.%s.command: is empty; allowed: the program and its arguments, e.g. [alembic, upgrade, head]" $at $task) -}}
  {{- end -}}
{{- end -}}
{{- /* Egress: a host (DNS name or IP) and maybe a port 1–65535. */ -}}
{{- range $i, $entry := $c.egress -}}
  {{- $host := $entry -}}
  {{- $portOk := true -}}
  {{- if contains ":" $entry -}}
    {{- $port := regexFind "[^:]*$" $entry -}}
    {{- $host = trimSuffix (printf ":%s" $port) $entry -}}
    {{- $portOk = and (regexMatch "^[0-9]{1,5}$" $port) (ge (int $port) 1) (le (int $port) 65535) -}}
  {{- end -}}
  {{- $ipv4 := regexMatch "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$" $host -}}
  {{- $ipv6 := and (contains ":" $host) (regexMatch "^[0-9A-Fa-f:.]+$" $host) -}}
  {{- if or (not $portOk) (not (or $ipv4 $ipv6 (include "berth.isSubdomain" (lower $host)))) -}}
    {{- $problems = append $problems (printf "%s.egress[%d]: `%s` is not a host; allowed: a DNS name or IP, optionally with :PORT (e.g. api.openai.com or db.example.com:5432)" $at $i $entry) -}}
  {{- end -}}
{{- end -}}
{{- toJson $problems -}}
{{- end }}
