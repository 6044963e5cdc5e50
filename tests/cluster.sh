#!/usr/bin/env bash
# The dev cluster for `make demo` and the Python/PHP suites: 3 masters on BASE..BASE+2 and one
# replica each on BASE+3..BASE+5, Debian's redis-server on 127.0.0.1, no persistence.
#
#   tests/cluster.sh start|stop|status|config [BASE_PORT]
#
# It only ever stops servers it started: their pids are in its own state directory, and a pid
# is signalled only while /proc says it is still a redis-server on our port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/ports.env disable=SC1091
source "$here/ports.env"

action="${1:-}"
base="${2:-$DEV_CLUSTER_BASE_PORT}"
if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 7000 || base + 5 > 7199)); then
  echo "cluster.sh: BASE_PORT must be an integer with BASE..BASE+5 inside 7000-7199, got '$base'" >&2
  exit 2
fi
state="${REDISCLUSTER_DEV_DIR:-${TMPDIR:-/tmp}/rediscluster-dev-$base}"
masters=("$base" "$((base + 1))" "$((base + 2))")
replicas=("$((base + 3))" "$((base + 4))" "$((base + 5))")

pidfile() { echo "$state/$1/redis.pid"; }

# Is the pid in our pidfile alive and still a redis-server on that port?
our_pid() {
  local port="$1" file pid
  file="$(pidfile "$port")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$port" || return 1
  echo "$pid"
}

answers() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

start_server() {
  local port="$1"
  shift
  mkdir -p "$state/$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --pidfile "$(pidfile "$port")" --logfile "$state/$port/redis.log" --dir "$state/$port" \
    --save '' --appendonly no --repl-diskless-sync-delay 0 "$@" >/dev/null
}

wait_until() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "cluster.sh: timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

link_up() { redis-cli -p "$1" info replication 2>/dev/null | grep -q '^master_link_status:up'; }
has_replica() { redis-cli -p "$1" info replication 2>/dev/null | grep -q '^connected_slaves:1'; }

stop_port() {
  local port="$1" pid
  if pid="$(our_pid "$port")"; then
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 5))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      sleep 2
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    echo "stopped 127.0.0.1:$port (pid $pid)"
  fi
  rm -f "$(pidfile "$port")"
}

stop_all() {
  local port
  for port in "${replicas[@]}" "${masters[@]}"; do stop_port "$port"; done
}

config_json() {
  printf '{"nodes": {"node_1": {"host": "127.0.0.1", "port": %d}, "node_2": {"host": "127.0.0.1", "port": %d}, "node_3": {"host": "127.0.0.1", "port": %d}}}\n' \
    "${masters[@]}"
}

start() {
  local port running=0 foreign=()
  for port in "${masters[@]}" "${replicas[@]}"; do
    if our_pid "$port" >/dev/null; then
      running=$((running + 1))
    elif answers "$port" || (command -v ss >/dev/null && ss -ltn "( sport = :$port )" | grep -q ":$port"); then
      foreign+=("$port")
    fi
  done
  if ((${#foreign[@]})); then
    echo "cluster.sh: port(s) ${foreign[*]} already in use by servers this script did not start; nothing started" >&2
    exit 1
  fi
  if ((running == 6)); then
    echo "dev cluster already running on $base..$((base + 5))"
    return 0
  fi
  # Partly running (an earlier start died): start clean.
  ((running == 0)) || stop_all
  trap 'echo "cluster.sh: start failed; stopping what was started" >&2; stop_all; exit 1' ERR
  for port in "${masters[@]}"; do
    start_server "$port"
  done
  for port in "${masters[@]}"; do wait_until "127.0.0.1:$port to answer" 10 answers "$port"; done
  local i
  for i in 0 1 2; do
    start_server "${replicas[$i]}" --replicaof 127.0.0.1 "${masters[$i]}"
  done
  for i in 0 1 2; do
    wait_until "replica ${replicas[$i]} link up" 20 link_up "${replicas[$i]}"
    wait_until "master ${masters[$i]} to see its replica" 20 has_replica "${masters[$i]}"
  done
  trap - ERR
  config_json >"$state/cluster.json"
  for i in 0 1 2; do
    echo "master  127.0.0.1:${masters[$i]}  pid $(our_pid "${masters[$i]}")  node_$((i + 1))"
  done
  for i in 0 1 2; do
    echo "replica 127.0.0.1:${replicas[$i]}  pid $(our_pid "${replicas[$i]}")  of node_$((i + 1))"
  done
  echo "config: $state/cluster.json"
}

status() {
  local port role up link
  for port in "${masters[@]}" "${replicas[@]}"; do
    role=master
    [[ " ${replicas[*]} " == *" $port "* ]] && role=replica
    if answers "$port"; then up=up; else up=down; fi
    link=""
    if [[ $role == replica && $up == up ]]; then
      link="$(redis-cli -p "$port" info replication | tr -d '\r' | grep '^master_link_status:' || true)"
    fi
    echo "$role 127.0.0.1:$port $up $link"
  done
}

case "$action" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  config) config_json ;;
  *)
    echo "usage: $0 start|stop|status|config [BASE_PORT]" >&2
    exit 2
    ;;
esac
