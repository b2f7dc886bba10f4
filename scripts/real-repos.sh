#!/usr/bin/env bash
# berth on real team repositories, as a new user would use it (issue 22): for each checkout under
# DIR, in a scratch copy,
#   berth init --yes -> berth images build (the specs init wrote, in the team's directory, no
#   --root) -> berth images load into the real node -> berth deploy (namespace corpus-<name>) ->
#   every component Ready -> the entry URL answers -> the browser check of the page's own requests
# and a report per repository (a table on stdout, JSON and logs under --out): init ok, every image
# built, every component Ready, entry answers, page requests ok, minutes, the first failure with its
# exact message. Each release is uninstalled (its namespace deleted) after its check.
#
#   scripts/real-repos.sh DIR [--only NAME]... [--open NAME]... [--host-only] [--out DIR] [--keep]
#   scripts/real-repos.sh --fixtures [--only NAME]... [--open NAME]...
#                                                          every fixture under tests/fixtures/repos
#   scripts/real-repos.sh --checkout DIR [--only NAME]... checkouts of tests/real-repos.txt into DIR
#
# --open NAME: after the checks at the NodePort, the same repository again through `berth open`:
# built and deployed for the local origin (expose.origin=local), `berth open` on its default
# ports, the browser check at the app's local URL, and a rolling upgrade of every other component
# it serves under a 10 req/s loop through that component's local port (>= 200 requests, zero lost).
# --host-only: init and build only (no real node needed). --keep: leave each release deployed and
# the scratch copies in place. --fixtures: the same checks on our own fixtures (namespaces
# corpus-fx-<name>); the browser check runs `--scenario todo` on a page whose source marks tasks
# with data-task (the UI contract of ORIGINS.md); exits 1 when a fixture fails.
# --checkout: repository NAME at COMMIT (and its DIR) from tests/real-repos.txt, taken from a local
# mirror $BERTH_REPO_MIRRORS/<owner>+<repo>/repo when there is one (bare git directories), else
# cloned from its URL; files a mirror lacks are listed.
#
# Generic only: nothing here knows a repository. What it does beyond what a user would do, every
# time printed in the report:
#   - network-only patches (scripts/corpus/offline-patches.py): next/font/google, which downloads
#     fonts during `next build`, is pointed at a system font; and (scripts/corpus/npm-registry.py)
#     a package-lock.json whose `resolved` URLs name a mirror registry (not registry.npmjs.org)
#     gets npm_config_replace_registry_host=always for the build, so npm fetches those tarballs
#     from its configured registry;
#   - secrets: berth.env.example's required secrets get generated dummy values in a per-run env file
#     (the names are reported; the values are never printed); a required database URL (a hosted
#     PostgreSQL, unreachable here) gets the URL of a stand-in PostgreSQL the script runs in the
#     namespace (the node's postgres image), as a team would supply its Neon URL; when a component
#     queries through Neon's serverless driver (scripts/corpus/neon-users.py), which speaks HTTPS
#     to `https://<host>/sql` and not PostgreSQL's protocol, the stand-in also runs Neon's HTTP
#     endpoint (scripts/corpus/neon-standin/, built with berth), the URL names it by its short
#     Service name (the driver derives the endpoint's host from the URL's), and those components
#     get NODE_TLS_REJECT_UNAUTHORIZED=0 (--set-string on their env: the stand-in's certificate is
#     self-signed, where Neon's is public);
#   - the edge proxy's image (nginx-unprivileged) is imported into the node from Debian's nginx;
#   - bases: the specs' base images come from the local test registry (registry.sh), seeded from this
#     machine when missing (scripts/images/seed-base.sh), through --registry-mirror docker.io=...;
#   - the build is given the origin the deploy serves at (--set expose.nodePort/expose.url), since
#     it runs apart from the deploy (`berth deploy` resolves it from the cluster when it builds);
#   - BERTH_CORPUS_BUILD_TOOLS=1 puts scripts/build-tools.sh's pinned uv and Poetry on PATH (off by
#     default: a user's machine may not have them, and berth should say so or bring them).
#   - BERTH_CORPUS_ROOT=1 passes --root (the copy) to `berth images build` (off by default: a user
#     runs it without; for looking past a build that fails only for want of it).
# Namespaces corpus-<name> (BERTH_CORPUS_NS_PREFIX replaces `corpus-`/`corpus-fx-`, for an
# engineer's own namespaces on a shared node); NodePorts from BERTH_CORPUS_NODEPORT (default 30100)
# up, one per repository. Needs the real node (scripts/node.sh env, with the BERTH_CLUSTER_DIR it was started
# with) unless --host-only.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
list=$repo/tests/real-repos.txt
BERTH=${BERTH:-${CARGO_TARGET_DIR:-$repo/target}/debug/berth}

die() { echo "real-repos: error: $*" >&2; exit 2; }
log() { echo "real-repos: $*" >&2; }

mode=repos dir='' only=() open_names=() host_only='' keep='' out=''
while (($#)); do
  case $1 in
    --only) only+=("${2:?--only needs a NAME}"); shift 2 ;;
    --open) open_names+=("${2:?--open needs a NAME}"); shift 2 ;;
    --host-only) host_only=1; shift ;;
    --keep) keep=1; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --fixtures) mode=fixtures; shift ;;
    --checkout) mode=checkout; dir=${2:?--checkout needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z $dir ]] || die "unexpected argument $1"; dir=$1; shift ;;
  esac
done
wanted() { ((${#only[@]} == 0)) || [[ " ${only[*]} " == *" $1 "* ]]; }

# --- checkouts ----------------------------------------------------------------------------------

if [[ $mode == checkout ]]; then
  mkdir -p "$dir"
  rc=0
  while read -r name url commit subdir _; do
    [[ -n $name && $name != \#* ]] || continue
    wanted "$name" || continue
    slug=${url#https://github.com/}
    mirror=${BERTH_REPO_MIRRORS:-}/${slug/\//+}/repo
    rm -rf "${dir:?}/$name"
    mkdir -p "$dir/$name"
    tree=$commit
    [[ $subdir == . ]] || tree=$commit:$subdir
    if [[ -n ${BERTH_REPO_MIRRORS:-} && -d $mirror ]]; then
      missing=$(python3 "$repo/scripts/corpus/checkout.py" "$mirror" "$tree" "$dir/$name") ||
        { log "$name: checkout from $mirror failed"; rc=1; continue; }
      [[ -z $missing ]] || log "$name: the mirror lacks $(wc -l <<<"$missing") file(s): $(tr '\n' ' ' <<<"$missing")"
    else
      tmp=$(mktemp -d)
      if git clone --quiet --no-checkout "$url" "$tmp/git" && git -C "$tmp/git" archive "$tree" | tar -x -C "$dir/$name"; then :; else
        log "$name: clone of $url at $commit failed"; rc=1
      fi
      rm -rf "$tmp"
    fi
    log "$name: $url $commit${subdir:+ ($subdir)} -> $dir/$name"
  done <"$list"
  exit $rc
fi

# --- the run ------------------------------------------------------------------------------------

if [[ $mode == fixtures ]]; then
  dir=${dir:-$repo/tests/fixtures/repos}
  ns_prefix=${BERTH_CORPUS_NS_PREFIX:-corpus-fx-}
  port=${BERTH_CORPUS_NODEPORT:-30120}
else
  [[ -n $dir ]] || die "the directory of checkouts is missing (scripts/real-repos.sh DIR; --checkout DIR makes them)"
  ns_prefix=${BERTH_CORPUS_NS_PREFIX:-corpus-}
  port=${BERTH_CORPUS_NODEPORT:-30100}
fi
[[ -d $dir ]] || die "$dir is not a directory"
dir=$(cd "$dir" && pwd)
[[ -x $BERTH ]] || die "$BERTH missing (cargo build --bin berth, or BERTH=path)"
out=${out:-$(mktemp -d /tmp/real-repos.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z $host_only ]]; then
  env_lines=$("$repo/scripts/node.sh" env 2>/dev/null) ||
    die "no real node (BERTH_CLUSTER_DIR=… scripts/node.sh env failed); use --host-only for init and build"
  eval "$(sed 's/^/export /' <<<"$env_lines")"
  k() { "$KUBECTL" --request-timeout=30s "$@"; }
  # The edge proxy's image (a release routing several components through one NodePort runs it):
  # a user's node pulls it from Docker Hub, this one cannot reach it.
  # shellcheck source=node/app.sh
  source "$repo/scripts/node/app.sh"
  app_edge_image || die "the edge proxy's image could not be imported into the node"
fi

registry=$("$repo/scripts/registry.sh" up --python --node | tail -n 1) || die "scripts/registry.sh up failed"
if [[ -n ${BERTH_CORPUS_BUILD_TOOLS:-} ]]; then
  tools=$("$repo/scripts/build-tools.sh" | tail -n 1) || die "scripts/build-tools.sh failed"
  export PATH=$tools:$PATH
  log "build tools on PATH: $tools (BERTH_CORPUS_BUILD_TOOLS)"
fi
{
  echo "berth: $BERTH ($("$BERTH" --version 2>&1), git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null))"
  echo "bases from the test registry $registry (--registry-mirror docker.io=http://$registry; seeded from this machine)"
  [[ -z ${BERTH_CORPUS_BUILD_TOOLS:-} ]] || echo "uv and Poetry put on PATH (BERTH_CORPUS_BUILD_TOOLS): $tools"
  [[ -z ${BERTH_CORPUS_ROOT:-} ]] || echo "berth images build given --root (BERTH_CORPUS_ROOT): a user runs it without"
  [[ -n $host_only ]] || echo "the edge proxy's image imported into the node (scripts/images/seed-nginx.sh: Debian's nginx under the pinned nginx-unprivileged name), as the node cannot pull from Docker Hub here"
} >"$out/assists.txt"
# The browser check's tools, once (not per repository).
if [[ -z $host_only ]]; then
  BERTH_PLAYWRIGHT_DIR=$("$repo/scripts/browser-tools.sh" | tail -n 1) || die "scripts/browser-tools.sh failed"
  export BERTH_PLAYWRIGHT_DIR
fi

# step NAME STATUS SECONDS MESSAGE: one line of the repository's record.
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4//$'\n'/ }" >>"$rdir/steps.tsv"; }
# What went wrong, in one line, from a step's log (scripts/corpus/first-error.py).
first_error() { python3 "$repo/scripts/corpus/first-error.py" "$1"; }

# The Neon stand-in's image (scripts/corpus/neon-standin), built with berth and loaded into the
# node once per run; prints its reference.
neon_standin_image() {
  local dir=$repo/scripts/corpus/neon-standin archives=$out/.neon-standin ref
  if [[ ! -s $archives/built.out ]]; then
    "$repo/scripts/images/seed-base.sh" "$registry" docker.io/library/python:3.12-slim-bookworm \
      >"$out/.neon-standin.log" 2>&1 || return 1
    (cd "$dir" && "$BERTH" images build --registry-mirror "docker.io=http://$registry" --out "$archives" \
      >"$out/.neon-standin.out" && "$BERTH" images load --out "$archives" --target containerd \
      --containerd-socket "$CONTAINERD_SOCKET") >>"$out/.neon-standin.log" 2>&1 || return 1
    cp "$out/.neon-standin.out" "$archives/built.out"
  fi
  ref=$(cut -f1 "$archives/built.out" | head -n 1)
  [[ -n $ref ]] && echo "$ref"
}

# The --set-string values (one a line) that make the components querying through Neon's driver
# (run_one's neon_users) trust the Neon stand-in's self-signed certificate, when it runs (its
# standin URL): network-only, listed in patches.txt.
neon_trust() {
  [[ -n ${neon_users:-} && -n ${standin:-} ]] || return 0
  local comp
  for comp in $neon_users; do
    echo "components.$comp.env.NODE_TLS_REJECT_UNAUTHORIZED=0"
  done
}

# A PostgreSQL in namespace NS standing in for a hosted one (the node's own postgres image), for
# a required database URL; prints its URL. With NEON (non-empty), Neon's HTTP endpoint next to it
# (port 443 of the same Service) and a URL whose host is the Service's short name. Not part of the
# release: deleted with the namespace.
standin_database() { # NS [NEON]
  local ns=$1 neon=${2:-} password image neon_image='' host
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  image=$(k get nodes -o jsonpath='{range .items[0].status.images[*]}{.names[*]}{"\n"}{end}' | tr ' ' '\n' |
    grep -m1 -E '^docker.io/library/postgres:[^@]+$') || return 1
  if [[ -n $neon ]]; then
    neon_image=$(neon_standin_image) || { log "the Neon stand-in's image failed (see $out/.neon-standin.log)"; return 1; }
  fi
  k create namespace "$ns" >/dev/null 2>&1
  k -n "$ns" create secret generic corpus-external-db --from-literal=password="$password" >/dev/null || return 1
  local sidecar='' neon_volume='' neon_port=''
  if [[ -n $neon ]]; then
    local tls
    tls=$(mktemp -d)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj /CN=corpus-external-db -addext subjectAltName=DNS:corpus-external-db \
      -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null &&
      k -n "$ns" create secret tls corpus-external-db-tls --cert "$tls/tls.crt" --key "$tls/tls.key" >/dev/null
    local rc=$?
    rm -rf "$tls"
    ((rc == 0)) || return 1
    sidecar="
        - name: neon-http
          image: $neon_image
          imagePullPolicy: Never
          env:
            - {name: TLS_CERT, value: /tls/tls.crt}
            - {name: TLS_KEY, value: /tls/tls.key}
          ports: [{containerPort: 8443}]
          readinessProbe: {tcpSocket: {port: 8443}, periodSeconds: 2}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {memory: 128Mi}}
          volumeMounts: [{name: run, mountPath: /var/run/postgresql}, {name: tls, mountPath: /tls}]"
    neon_volume=", {name: tls, secret: {secretName: corpus-external-db-tls, defaultMode: 0440}}"
    neon_port=", {name: neon-http, port: 443, targetPort: 8443}"
  fi
  k -n "$ns" apply -f - >/dev/null <<YAML || return 1
apiVersion: apps/v1
kind: Deployment
metadata: {name: corpus-external-db, labels: {app: corpus-external-db}}
spec:
  selector: {matchLabels: {app: corpus-external-db}}
  template:
    metadata: {labels: {app: corpus-external-db}}
    spec:
      securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: postgres
          image: $image
          imagePullPolicy: Never
          env:
            - {name: POSTGRES_USER, value: corpus}
            - {name: POSTGRES_DB, value: corpus}
            - {name: PGDATA, value: /var/lib/postgresql/data/pgdata} # its own directory: the emptyDir's root is not ours to chmod
            - {name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: corpus-external-db, key: password}}}
          ports: [{containerPort: 5432}]
          readinessProbe: {tcpSocket: {port: 5432}, periodSeconds: 2}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
          volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}, {name: run, mountPath: /var/run/postgresql}]$sidecar
      volumes: [{name: data, emptyDir: {}}, {name: run, emptyDir: {}}$neon_volume]
---
apiVersion: v1
kind: Service
metadata: {name: corpus-external-db}
spec:
  selector: {app: corpus-external-db}
  ports: [{name: postgres, port: 5432, targetPort: 5432}$neon_port]
YAML
  k -n "$ns" rollout status deployment/corpus-external-db --timeout=180s >/dev/null || return 1
  # Neon's driver sends its queries to https://<the URL's host>/sql, with the host's first label
  # replaced by `api.` when it has more than one: the short name is kept as it is.
  host=corpus-external-db.$ns.svc.cluster.local
  [[ -z $neon ]] || host=corpus-external-db
  echo "postgresql://corpus:$password@$host:5432/corpus"
}

# --- through `berth open` (--open NAME) ---------------------------------------------------------

# The app through `berth open` on localhost, as a team that develops on localhost would use it:
# images built and the release deployed for the local origin (expose.origin=local: every
# {externalUrl} is http://localhost:<port>), `berth open` on its default ports (each component's
# own), the browser check at the app's local URL, then, for every other component it serves, a
# rolling upgrade (a pod-template change) under a 10 req/s loop through that component's local port
# at its readiness path: >= 200 requests, zero lost. Records open-build, open-deploy, open,
# open-browser and open-upgrade. Uses run_one's rdir, sets, scenario, root, npm_env and record.
open_leg() { # NAME NS WORK NODEPORT
  local name=$1 ns=$2 work=$3 nodeport=$4 t=$SECONDS
  local origin=(--set expose.origin=local --set "expose.nodePort=$nodeport")
  if ! (cd "$work" && env "${npm_env[@]}" timeout 45m "$BERTH" images build --registry-mirror "docker.io=http://$registry" \
      "${origin[@]}" --out "$rdir/archives-open" "${root[@]}") >"$rdir/open-build.out" 2>"$rdir/open-build.log"; then
    record open-build fail $((SECONDS - t)) "$(first_error "$rdir/open-build.log")"
    return
  fi
  if ! (cd "$work" && "$BERTH" images load --out "$rdir/archives-open" --target containerd \
      --containerd-socket "$CONTAINERD_SOCKET") >>"$rdir/open-build.log" 2>&1; then
    record open-build fail $((SECONDS - t)) "$(first_error "$rdir/open-build.log")"
    return
  fi
  record open-build ok $((SECONDS - t)) "$(grep -c . "$rdir/open-build.out") images for the local origin"
  local sets=() set
  while IFS= read -r set; do sets+=(--set-string "$set"); done < <(neon_trust)
  while IFS= read -r set; do
    sets+=(--set-string "$set") # repositories and tags: a hex tag of digits only is not a number
  done < <(python3 "$repo/scripts/corpus/image-sets.py" "$work" "$rdir/open-build.out" 2>>"$rdir/open-deploy.log")
  t=$SECONDS
  if ! (cd "$work" && "$BERTH" deploy --yes --images skip -n "$ns" --env-file "$rdir/secrets.env" \
      "${origin[@]}" "${sets[@]}" --timeout 10m) >"$rdir/open-deploy.out" 2>>"$rdir/open-deploy.log"; then
    record open-deploy fail $((SECONDS - t)) "$(first_error "$rdir/open-deploy.log")"
    return
  fi
  record open-deploy ok $((SECONDS - t)) ""

  (cd "$work" && exec "$BERTH" open -n "$ns") >"$rdir/open.out" 2>"$rdir/open.err" &
  local pid=$! i app=''
  for i in $(seq 1 60); do
    app=$(awk '/\(the app\)$/ {print $1; exit}' "$rdir/open.out")
    [[ -z $app ]] || break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if [[ -z $app ]]; then
    record open fail 0 "berth open printed no app URL: $(first_error "$rdir/open.err")"
    kill -INT "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return
  fi
  record open ok 0 "$(tr '\n' ';' <"$rdir/open.out")"

  t=$SECONDS
  if node "$repo/scripts/browser-check.mjs" "$app/" --allow-offline-external "${scenario[@]}" \
      --json "$rdir/open-browser.json" --screenshot "$rdir/open-browser.png" >/dev/null 2>"$rdir/open-browser.log"; then
    record open-browser ok $((SECONDS - t)) "$app/: $(tail -n 1 "$rdir/open-browser.log")"
  else
    record open-browser fail $((SECONDS - t)) "$app/: $(grep -m1 -v ': offline (not counted)' "$rdir/open-browser.log")"
  fi

  local url comp path stop loops=() summaries=() failed=''
  t=$SECONDS
  while read -r url comp _; do
    path=$(k -n "$ns" get deploy -l "app.kubernetes.io/component=$comp" \
      -o jsonpath='{.items[0].spec.template.spec.containers[0].readinessProbe.httpGet.path}' 2>/dev/null)
    stop=$rdir/open-stop-$comp
    python3 "$repo/scripts/node/request-loop.py" "$url${path:-/}" "" "$stop" 10 900 200 >"$rdir/open-loop-$comp.json" &
    loops+=("$comp:$!")
    sets+=(--set "components.$comp.podAnnotations.berth-upgrade-check=r$RANDOM$RANDOM")
  done < <(grep -v '(the app)$' "$rdir/open.out")
  if ((${#loops[@]} == 0)); then
    record open-upgrade skip 0 "berth open serves only the app"
  else
    sleep 3
    (cd "$work" && "$BERTH" deploy --yes --images skip -n "$ns" --env-file "$rdir/secrets.env" \
      "${origin[@]}" "${sets[@]}" --timeout 10m) >"$rdir/open-upgrade.out" 2>"$rdir/open-upgrade.log" ||
      failed="the upgrade's deploy failed: $(first_error "$rdir/open-upgrade.log")"
    sleep 3
    local loop
    for loop in "${loops[@]}"; do
      touch "$rdir/open-stop-${loop%%:*}"
      wait "${loop#*:}"
      summaries+=("${loop%%:*} $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(str(d["failures"]) + " of " + str(d["requests"]) + " lost")' "$rdir/open-loop-${loop%%:*}.json")")
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["requests"] >= 200 and d["failures"] == 0 else 1)' \
        "$rdir/open-loop-${loop%%:*}.json" || failed=${failed:-"requests lost during the upgrade"}
    done
    kill -0 "$pid" 2>/dev/null || failed=${failed:-"berth open died: $(first_error "$rdir/open.err")"}
    if [[ -z $failed ]]; then
      record open-upgrade ok $((SECONDS - t)) "${summaries[*]}"
    else
      record open-upgrade fail $((SECONDS - t)) "$failed (${summaries[*]})"
    fi
  fi
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

# --- one repository -----------------------------------------------------------------------------

run_one() { # NAME SOURCE NODEPORT
  local name=$1 src=$2 nodeport=$3 t0=$SECONDS t ns=$ns_prefix$1
  rdir=$out/$name
  rm -rf "$rdir"
  mkdir -p "$rdir"
  local work=$rdir/$name # named as the repository: init names the app after its directory
  cp -a "$src" "$work"
  log "=== $name ($src) -> $work"

  # Network-only patches (files changed in the copy; npm told to fetch from its own registry).
  python3 "$repo/scripts/corpus/offline-patches.py" "$work" >"$rdir/patches.txt" 2>&1 || true
  python3 "$repo/scripts/corpus/npm-registry.py" "$work" >"$rdir/npm-registry.txt" 2>>"$rdir/patches.txt" || true
  cat "$rdir/npm-registry.txt" >>"$rdir/patches.txt"

  # 1. init
  t=$SECONDS
  if (cd "$work" && "$BERTH" init --yes) >"$rdir/init.out" 2>"$rdir/init.log"; then
    record init ok $((SECONDS - t)) ""
  else
    record init fail $((SECONDS - t)) "$(first_error "$rdir/init.log")"
    return
  fi
  python3 "$repo/scripts/corpus/init-summary.py" "$work" "$rdir/init.log" >"$rdir/init.json" 2>"$rdir/init-summary.err"

  # 2. bases and build
  local bases
  bases=$(sed -nE 's/^(base|source) *= *"([^"]+)".*/\2/p' "$work"/images/*.toml 2>/dev/null | sort -u)
  if [[ -n $bases ]]; then
    # shellcheck disable=SC2086
    "$repo/scripts/images/seed-base.sh" "$registry" $bases >"$rdir/bases.log" 2>&1 ||
      log "$name: some bases could not be seeded (see $rdir/bases.log)"
  fi
  t=$SECONDS
  local specs built
  specs=$(find "$work/images" -maxdepth 1 -name '*.toml' 2>/dev/null | wc -l)
  local root=()
  [[ -z ${BERTH_CORPUS_ROOT:-} ]] || root=(--root "$work")
  # The origin the deploy below serves at: build-time public values (an API URL `next build` or
  # Vite bakes in) are resolved against it, as `berth deploy` does when it builds. A separate
  # build is told it, as a user building ahead of a deploy would (--host-only: the node's
  # address is still the one the deploy would have).
  local origin=(--set "expose.nodePort=$nodeport" --set "expose.url=http://${NODE_IP:-127.0.0.1}:$nodeport")
  # Network-only: npm fetches what a lock file's `resolved` URLs name; a lock written against a
  # mirror registry (not registry.npmjs.org) is fetched from the configured registry instead.
  local npm_env=()
  if [[ -s $rdir/npm-registry.txt ]]; then
    npm_env=(npm_config_replace_registry_host=always)
  fi
  if (cd "$work" && env "${npm_env[@]}" timeout 45m "$BERTH" images build --registry-mirror "docker.io=http://$registry" \
      "${origin[@]}" --out "$rdir/archives" "${root[@]}") >"$rdir/build.out" 2>"$rdir/build.log"; then
    built=$(grep -c . "$rdir/build.out")
    record build ok $((SECONDS - t)) "$built of $specs images"
  else
    # build.out lists images only when every one was built; each built image leaves its record
    # (<name>.json) in --out as it finishes.
    built=$(find "$rdir/archives" -maxdepth 1 -name '*.json' 2>/dev/null | grep -c .)
    record build fail $((SECONDS - t)) "$built of $specs images built; $(first_error "$rdir/build.log")"
    return
  fi
  [[ -z $host_only ]] || return

  # 3. load
  t=$SECONDS
  if (cd "$work" && "$BERTH" images load --out "$rdir/archives" --target containerd \
      --containerd-socket "$CONTAINERD_SOCKET") >"$rdir/load.log" 2>&1; then
    record load ok $((SECONDS - t)) ""
  else
    record load fail $((SECONDS - t)) "$(first_error "$rdir/load.log")"
    return
  fi

  # 4. secrets: dummy values for the required ones (names reported, values never printed); a
  # required database URL (a hosted PostgreSQL such as Neon, which this machine cannot reach)
  # gets the URL of a stand-in PostgreSQL in the namespace instead.
  : >"$rdir/secrets.env"
  chmod 600 "$rdir/secrets.env"
  local dummies=() standin='' neon_users
  neon_users=$(python3 "$repo/scripts/corpus/neon-users.py" "$work" 2>>"$rdir/patches.txt")
  k delete namespace "$ns" --ignore-not-found --wait=true --timeout=180s >/dev/null 2>&1
  if [[ -f $work/berth.env.example ]]; then
    local required=0 line var
    while IFS= read -r line; do
      if [[ $line == '#'*'(required)'* ]]; then required=1; continue; fi
      if [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]]; then
        var=${BASH_REMATCH[1]}
        if ((required)) && [[ $var =~ (DATABASE|DB|POSTGRES|PG)_?(URL|URI|DSN)$ ]]; then
          [[ -n $standin ]] || standin=$(standin_database "$ns" "$neon_users") || standin=''
          if [[ -n $standin ]]; then
            printf '%s=%s\n' "$var" "$standin" >>"$rdir/secrets.env"
            dummies+=("$var (the stand-in PostgreSQL corpus-external-db in $ns${neon_users:+, with the Neon HTTP endpoint})")
          else
            record secrets fail 0 "the stand-in PostgreSQL for $var did not start"
          fi
        elif ((required)); then
          printf '%s=corpus-%s\n' "$var" "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >>"$rdir/secrets.env"
          dummies+=("$var")
        fi
        required=0
      fi
    done <"$work/berth.env.example"
  fi
  printf '%s\n' "${dummies[@]}" >"$rdir/dummy-secrets.txt"

  # 5. deploy (the tags the build printed, on the keys whose image.build names their spec)
  local sets=() set comp
  while IFS= read -r set; do sets+=(--set-string "$set"); done < <(neon_trust)
  for comp in ${standin:+$neon_users}; do
    echo "neon: $comp queries through Neon's serverless driver: the stand-in database serves Neon's HTTP endpoint; $comp gets NODE_TLS_REJECT_UNAUTHORIZED=0 for its self-signed certificate" >>"$rdir/patches.txt"
  done
  while IFS= read -r set; do
    sets+=(--set-string "$set") # repositories and tags: a hex tag of digits only is not a number
  done < <(python3 "$repo/scripts/corpus/image-sets.py" "$work" "$rdir/build.out" 2>>"$rdir/deploy.log")
  t=$SECONDS
  if (cd "$work" && "$BERTH" deploy --yes --images skip -n "$ns" --env-file "$rdir/secrets.env" \
      "${origin[@]}" "${sets[@]}" --timeout 10m) >"$rdir/deploy.out" 2>>"$rdir/deploy.log"; then
    record deploy ok $((SECONDS - t)) ""
  else
    record deploy fail $((SECONDS - t)) "$(first_error "$rdir/deploy.log")"
    (cd "$work" && "$BERTH" diagnose -n "$ns") >"$rdir/diagnose.log" 2>&1
  fi
  k -n "$ns" get pods -o wide >"$rdir/pods.txt" 2>&1

  # 6. every component Ready (whatever deploy said)
  local notready
  notready=$(k -n "$ns" get deploy,statefulset -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}' 2>&1 |
    awk 'NF && $2 != $3 {print $1 " " ($3 == "" ? 0 : $3) "/" $2 " ready"}')
  local workloads
  workloads=$(k -n "$ns" get deploy,statefulset -o name 2>/dev/null | grep -c .)
  if [[ -z $notready && $workloads -gt 0 ]]; then
    record ready ok 0 "$workloads workloads"
  else
    record ready fail 0 "${notready:-no workloads}"
  fi

  # 7. the entry answers
  local svcport url code ctype
  svcport=$(k -n "$ns" get svc -o jsonpath='{range .items[?(@.spec.type=="NodePort")]}{.spec.ports[0].nodePort}{"\n"}{end}' 2>/dev/null | head -n 1)
  if [[ -z $svcport ]]; then
    record entry fail 0 "no NodePort Service in $ns"
  else
    url=http://$NODE_IP:$svcport
    # kube-proxy programs a new Service's NodePort on its own schedule (iptables-restore after the
    # endpoints turn ready; seconds on a loaded node, as on Minikube), so a refused connection is
    # retried for up to 30 s; any HTTP answer is final.
    # The 30 s are counted by the clock: a request that times out (a Service whose pods are not
    # ready) costs its own 30 s and is not retried past them.
    local tries=0 start=$SECONDS
    while :; do
      read -r code ctype < <(curl -sS -L -o "$rdir/entry.body" -w '%{http_code} %{content_type}\n' --max-time 30 "$url/" 2>"$rdir/entry.err" || echo "000 -")
      [[ $code == 000 && $((SECONDS - start)) -lt 30 ]] || break
      tries=$((tries + 1))
      sleep 1
    done
    [[ $tries -eq 0 ]] || echo "no answer for $((SECONDS - start)) s ($tries tries) before the last" >>"$rdir/entry.err"
    echo "$url $code $ctype" >"$rdir/entry.txt"
    # A page must load; an API without a route at / answers with its own 4xx, which is an answer.
    if [[ $code =~ ^[23] ]] || [[ $code =~ ^4 && $ctype != text/html* ]]; then
      record entry ok 0 "$url/ -> HTTP $code $ctype"
    else
      record entry fail 0 "$url/ -> HTTP $code $(cat "$rdir/entry.err" 2>/dev/null; head -c 200 "$rdir/entry.body" 2>/dev/null | tr -d '\0')"
    fi

    # 8. the browser check, where the entry serves a page
    local scenario=()
    if [[ $ctype == text/html* ]]; then
      grep -rqs --include='*.tsx' --include='*.jsx' --include='*.ts' --include='*.js' --include='*.html' \
        --exclude-dir=node_modules --exclude-dir=.next -e 'data-task' "$src" && scenario=(--scenario todo)
      t=$SECONDS
      if node "$repo/scripts/browser-check.mjs" "$url/" --allow-offline-external "${scenario[@]}" \
          --json "$rdir/browser.json" --screenshot "$rdir/browser.png" >/dev/null 2>"$rdir/browser.log"; then
        record browser ok $((SECONDS - t)) "$(tail -n 1 "$rdir/browser.log")"
      else
        record browser fail $((SECONDS - t)) "$(grep -m1 -v ': offline (not counted)' "$rdir/browser.log")"
      fi
    else
      record browser skip 0 "the entry serves ${ctype:-nothing}, not a page"
    fi
  fi

  # 9. through `berth open` (--open NAME): built and deployed for the local origin, served by
  # `berth open` on its default ports, the browser check there, then a rolling upgrade of every
  # other component it serves under a 10 req/s loop through that component's local port.
  if [[ " ${open_names[*]} " == *" $name "* && -n $svcport ]]; then
    open_leg "$name" "$ns" "$work" "$nodeport"
  fi

  # 10. uninstall
  if [[ -z $keep ]]; then
    (cd "$work" && "$BERTH" uninstall -n "$ns" --delete-data) >"$rdir/uninstall.log" 2>&1
    k delete namespace "$ns" --ignore-not-found --wait=true --timeout=180s >>"$rdir/uninstall.log" 2>&1
  fi
  log "$name: done in $(((SECONDS - t0) / 60)) min"
}

names=()
for src in "$dir"/*/; do
  name=$(basename "$src")
  wanted "$name" || continue
  names+=("$name")
done
((${#names[@]})) || die "no repository under $dir${only:+ named ${only[*]}}"

i=0
for name in "${names[@]}"; do
  start=$SECONDS
  run_one "$name" "$dir/$name" $((port + i))
  echo $((SECONDS - start)) >"$out/$name/seconds"
  [[ -n $keep ]] || rm -rf "${out:?}/$name/$name" "$out/$name/archives" "$out/$name/archives-open"
  i=$((i + 1))
done

python3 "$repo/scripts/corpus/report.py" "$out" "${names[@]}" --mode "$mode" ${host_only:+--host-only}
rc=$?
log "report: $out/results.json, $out/results.md; logs per repository under $out/<name>/"
[[ $mode == fixtures ]] && exit $rc
exit 0
