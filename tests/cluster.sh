#!/usr/bin/env bash
# The dev cluster for `make demo` and the Python/PHP suites: 3 masters on BASE..BASE+2 and one
# replica each on BASE+3..BASE+5 (the replica of BASE+i is BASE+3+i), Debian's redis-server on
# 127.0.0.1, no persistence.
#
#   tests/cluster.sh start  [BASE_PORT]   start all six (idempotent; refuses ports in use)
#   tests/cluster.sh stop   [BASE_PORT]   stop the ones this script started (idempotent)
#   tests/cluster.sh status [BASE_PORT]   one line per server
#   tests/cluster.sh config [BASE_PORT]   the client config JSON (masters only)
#
# With CLUSTER_KIND=redis_cluster the six form a Redis Cluster instead (--cluster-enabled yes,
# the 16384 slots split over the three masters as `redis-cli --cluster create` splits them, each
# replica following its master through CLUSTER REPLICATE), and `config` prints
# {"redis_cluster": {"nodes": [...]}}. A cluster's roles change with a failover: `status` then
# shows the roles each server has now.
#
# BASE_PORT defaults to DEV_CLUSTER_BASE_PORT from tests/ports.env. State (per-server dirs,
# pidfiles, logs, cluster.json) lives in ${REDISCLUSTER_DEV_DIR:-${TMPDIR:-/tmp}/rediscluster-dev-BASE}.
#
# It only ever stops servers it started: their pids are in its own state directory, and a pid is
# signalled only while /proc says it is still a redis-server on that port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/ports.env disable=SC1091
source "$here/ports.env"

# The options every server of the repository shares (tests/redis-server.args: `--name value`
# per line, "" the empty value).
common_args=()
while read -r name value; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ "$value" == '""' ]] && value=""
  common_args+=("$name" "$value")
done < "$here/redis-server.args"

usage() {
  echo "usage: $0 start|stop|status|config [BASE_PORT]   (BASE_PORT default $DEV_CLUSTER_BASE_PORT)" >&2
  exit 2
}

action="${1:-}"
case "$action" in
  start | stop | status | config) ;;
  *) usage ;;
esac
(($# <= 2)) || usage

base="${2:-$DEV_CLUSTER_BASE_PORT}"
# At most 6 digits and no leading zero: no octal surprises, no arithmetic overflow.
if ! [[ "$base" =~ ^[1-9][0-9]{0,5}$ ]] || ((base < 7000 || base + 5 > 7199)); then
  echo "cluster.sh: BASE_PORT must be an integer such that BASE..BASE+5 lie inside 7000-7199 (so 7000-7194), got '$base'" >&2
  exit 2
fi

kind="${CLUSTER_KIND:-shards}"
case "$kind" in
  shards | redis_cluster) ;;
  *)
    echo "cluster.sh: CLUSTER_KIND must be shards or redis_cluster, got '$kind'" >&2
    exit 2
    ;;
esac
state="${REDISCLUSTER_DEV_DIR:-${TMPDIR:-/tmp}/rediscluster-dev-$base}"
# redis-server chdirs into --dir, so every path handed to it must be absolute.
[[ "$state" == /* ]] || state="$PWD/$state"
masters=("$base" "$((base + 1))" "$((base + 2))")
replicas=("$((base + 3))" "$((base + 4))" "$((base + 5))")

pidfile() { echo "$state/$1/redis.pid"; }
logfile() { echo "$state/$1/redis.log"; }

# cli PORT ARGS...: redis-cli on loopback that cannot hang on a silent listener.
cli() {
  local port="$1"
  shift
  timeout 3 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# is_ours PID PORT: the pid is alive and is a redis-server serving 127.0.0.1:PORT
# (redis-server rewrites its cmdline to "redis-server 127.0.0.1:PORT").
is_ours() {
  local pid="$1" port="$2" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *redis-server* && "$cmd" =~ :$port([^0-9]|$) ]]
}

# our_pid PORT: prints the pid from our pidfile if it is still our server on PORT.
our_pid() {
  local port="$1" file pid
  file="$(pidfile "$port")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null)" || return 1
  is_ours "$pid" "$port" || return 1
  echo "$pid"
}

answers() { [[ "$(cli "$1" ping)" == PONG ]]; }
# Our pidfile names a live redis-server on PORT, and PORT answers (not someone else who won a race).
ours_and_up() { our_pid "$1" >/dev/null && answers "$1"; }

listening() {
  command -v ss >/dev/null || return 1
  ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .
}

role_of() {
  if [[ "$kind" == redis_cluster ]]; then
    case "$(repl_field "$1" role)" in
      slave) echo replica ;;
      master) echo master ;;
      *) echo node ;;
    esac
    return
  fi
  if [[ " ${replicas[*]} " == *" $1 "* ]]; then echo replica; else echo master; fi
}

repl_field() { cli "$1" info replication | tr -d '\r' | sed -n "s/^$2://p"; }
link_up() { [[ "$(repl_field "$1" master_link_status)" == up ]]; }
has_replica() { [[ "$(repl_field "$1" connected_slaves)" == 1 ]]; }
# After a diskless full sync, Redis 7 reports the replica online (and the link up) but holds back
# the command stream until the replica's first REPLCONF ACK, up to a second later; a write made
# in that window shows up on the replica only after it. So a master counts as replicating once a
# write on it is acknowledged by its replica: SET + DEL of a probe key (nothing is left behind),
# then WAIT on the same connection.
replicates() {
  local out
  out="$(printf '%s\n' 'SET __rediscluster_dev_probe__ 1' 'DEL __rediscluster_dev_probe__' 'WAIT 1 1000' |
    timeout 5 redis-cli -h 127.0.0.1 -p "$1" 2>/dev/null)" || return 1
  [[ "$(tail -n 1 <<<"$out")" == 1 ]]
}

log_tail() {
  local port="$1" log
  log="$(logfile "$port")"
  if [[ -f "$log" ]]; then
    echo "--- last lines of $log ---" >&2
    tail -n 15 "$log" >&2
  else
    echo "--- no log at $log ---" >&2
  fi
}

# wait_until SECONDS CMD ARGS...: polls CMD every 0.1 s.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

start_server() {
  local port="$1"
  shift
  mkdir -p "$state/$port"
  # A replica saves the RDB of its full sync in --dir, a cluster node its view in nodes.conf;
  # never let a later start load old data.
  rm -f "$(pidfile "$port")" "$state/$port/dump.rdb" "$state/$port/nodes.conf"
  local cluster_args=()
  [[ "$kind" == shards ]] || cluster_args=(--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000)
  redis-server "${common_args[@]}" --port "$port" --daemonize yes \
    --pidfile "$(pidfile "$port")" --logfile "$(logfile "$port")" --dir "$state/$port" \
    "${cluster_args[@]}" "$@" >/dev/null
}

cluster_ok() { cli "$1" cluster info | tr -d '\r' | grep -q '^cluster_state:ok$'; }
node_id() { cli "$1" cluster myid | tr -d '\r'; }
knows() { cli "$1" cluster nodes | grep -q "^$2 "; }
# Every node sees all six and the cluster as ok.
cluster_formed() {
  local port
  for port in "${masters[@]}" "${replicas[@]}"; do
    cluster_ok "$port" || return 1
    [[ "$(cli "$port" cluster nodes | grep -c connected)" == 6 ]] || return 1
  done
}

# The three masters share the slots, then each replica joins and follows its master.
form_redis_cluster() {
  local i master_id
  timeout 30 redis-cli --cluster create "${masters[@]/#/127.0.0.1:}" --cluster-yes >/dev/null 2>&1 ||
    fail "redis-cli --cluster create failed on ${masters[*]}" "${masters[0]}"
  for i in 0 1 2; do
    master_id="$(node_id "${masters[$i]}")"
    cli "${replicas[$i]}" cluster meet 127.0.0.1 "${masters[$i]}" >/dev/null
    wait_until 20 knows "${replicas[$i]}" "$master_id" ||
      fail "127.0.0.1:${replicas[$i]} did not learn of its master within 20 s" "${replicas[$i]}"
    [[ "$(cli "${replicas[$i]}" cluster replicate "$master_id")" == OK ]] ||
      fail "CLUSTER REPLICATE failed on 127.0.0.1:${replicas[$i]}" "${replicas[$i]}"
  done
  wait_until 30 cluster_formed || fail "the Redis Cluster did not reach cluster_state:ok on all six within 30 s" "${masters[0]}"
  for i in 0 1 2; do
    wait_until 20 link_up "${replicas[$i]}" ||
      fail "replica 127.0.0.1:${replicas[$i]} did not reach master_link_status:up within 20 s" "${replicas[$i]}"
  done
}

stop_port() {
  local port="$1" pid reply grace=5
  if pid="$(our_pid "$port")"; then
    reply="$(cli "$port" shutdown nosave)" || true
    # A refused SHUTDOWN (e.g. renamed away) answers with an error: no point waiting for it.
    [[ "$reply" != *ERR* ]] || grace=0
    wait_until "$grace" eval "! is_ours $pid $port" || {
      echo "cluster.sh: 127.0.0.1:$port (pid $pid) ignored SHUTDOWN; sending SIGTERM" >&2
      is_ours "$pid" "$port" && kill "$pid" 2>/dev/null
      wait_until 3 eval "! is_ours $pid $port" || {
        echo "cluster.sh: 127.0.0.1:$port (pid $pid) ignored SIGTERM; sending SIGKILL" >&2
        is_ours "$pid" "$port" && kill -9 "$pid" 2>/dev/null
        wait_until 2 eval "! is_ours $pid $port" || true
      }
    }
    echo "stopped $(role_of "$port") 127.0.0.1:$port (pid $pid)"
  fi
  rm -f "$(pidfile "$port")"
}

stop_all() {
  local port
  for port in "${replicas[@]}" "${masters[@]}"; do stop_port "$port"; done
}

config_json() {
  if [[ "$kind" == redis_cluster ]]; then
    printf '{"redis_cluster": {"nodes": ["127.0.0.1:%d", "127.0.0.1:%d", "127.0.0.1:%d"]}}\n' "${masters[@]}"
    return
  fi
  printf '{"nodes": {"node_1": {"host": "127.0.0.1", "port": %d}, "node_2": {"host": "127.0.0.1", "port": %d}, "node_3": {"host": "127.0.0.1", "port": %d}}}\n' \
    "${masters[@]}"
}

print_servers() {
  local i
  for i in 0 1 2; do
    echo "master  127.0.0.1:${masters[$i]}  pid $(our_pid "${masters[$i]}" || echo '?')  node_$((i + 1))"
  done
  for i in 0 1 2; do
    echo "replica 127.0.0.1:${replicas[$i]}  pid $(our_pid "${replicas[$i]}" || echo '?')  of 127.0.0.1:${masters[$i]}"
  done
}

# fail MESSAGE [PORT]: stop everything this invocation started (all six are ours: a start only
# proceeds once none of the ports is held by anyone else), show the log, exit 1.
fail() {
  echo "cluster.sh: $1" >&2
  [[ -z "${2:-}" ]] || log_tail "$2"
  echo "cluster.sh: start failed; stopping what was started" >&2
  stop_all >&2
  exit 1
}

start() {
  local port running=0 foreign=()
  for port in "${masters[@]}" "${replicas[@]}"; do
    if our_pid "$port" >/dev/null; then
      running=$((running + 1))
    elif listening "$port" || answers "$port"; then
      foreign+=("$port")
    fi
  done
  if ((${#foreign[@]})); then
    echo "cluster.sh: port(s) ${foreign[*]} already in use by something this script did not start (state dir $state); nothing started" >&2
    exit 1
  fi
  if ((running == 6)); then
    echo "dev cluster already running on 127.0.0.1:$base..$((base + 5)) (state dir $state)"
    config_json >"$state/cluster.json"
    print_servers
    return 0
  fi
  # Partly running (an earlier start or a server died): stop our leftovers, start clean.
  if ((running)); then
    echo "cluster.sh: only $running of 6 servers running; restarting the dev cluster" >&2
    stop_all >&2
  fi

  local i
  for port in "${masters[@]}"; do
    start_server "$port" || fail "redis-server failed to start on 127.0.0.1:$port" "$port"
  done
  for port in "${masters[@]}"; do
    wait_until 10 ours_and_up "$port" || fail "master 127.0.0.1:$port did not answer PING within 10 s" "$port"
  done
  for i in 0 1 2; do
    if [[ "$kind" == shards ]]; then
      start_server "${replicas[$i]}" --replicaof 127.0.0.1 "${masters[$i]}"
    else
      start_server "${replicas[$i]}" && wait_until 10 ours_and_up "${replicas[$i]}"
    fi || fail "redis-server failed to start on 127.0.0.1:${replicas[$i]}" "${replicas[$i]}"
  done
  [[ "$kind" == shards ]] || form_redis_cluster
  local deadline=$((SECONDS + 20))
  for i in 0 1 2; do
    wait_until $((deadline - SECONDS)) link_up "${replicas[$i]}" ||
      fail "replica 127.0.0.1:${replicas[$i]} did not reach master_link_status:up within 20 s" "${replicas[$i]}"
    wait_until $((deadline - SECONDS)) has_replica "${masters[$i]}" ||
      fail "master 127.0.0.1:${masters[$i]} did not report connected_slaves:1 within 20 s" "${masters[$i]}"
    wait_until $((deadline - SECONDS)) replicates "${masters[$i]}" ||
      fail "a write on master 127.0.0.1:${masters[$i]} was not acknowledged by its replica within 20 s" "${replicas[$i]}"
  done
  for port in "${masters[@]}" "${replicas[@]}"; do
    our_pid "$port" >/dev/null || fail "no live redis-server pid in $(pidfile "$port")" "$port"
  done
  config_json >"$state/cluster.json"
  print_servers
  echo "config: $state/cluster.json"
}

status() {
  local port role up link pid
  for port in "${masters[@]}" "${replicas[@]}"; do
    role="$(role_of "$port")"
    if pid="$(our_pid "$port")"; then
      up="up pid=$pid"
    elif answers "$port"; then
      up="up (not started by this script)"
    else
      up=down
    fi
    link=""
    if [[ $role == replica && $up != down ]]; then
      link="$(repl_field "$port" master_link_status)"
      [[ -z "$link" ]] || link=" master_link_status:$link"
    fi
    echo "$role 127.0.0.1:$port $up$link"
  done
}

case "$action" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  config) config_json ;;
esac
