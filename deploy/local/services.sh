#!/usr/bin/env bash
# Installs and runs the engines the channels and storage sources use, natively on loopback:
#   nats-server -js (Debian package), redis-server (Debian package), the real Apache Kafka broker in
#   KRaft mode (its jars fetched from Maven Central through deploy/local/kafka/pom.xml; Java 17), and an
#   S3-compatible server: Versity S3 Gateway (Apache-2.0) on a directory, built once with the Go toolchain.
# Idempotent: `up` starts only what is not already answering.
#
#   deploy/local/services.sh up|down|status [nats|redis|kafka|s3 ...]
#
# Environment: ES_SERVICES_DIR (state: data, logs, pids; default .elastic-serving/services),
#   ES_NATS_PORT (4222), ES_REDIS_PORT (6379), ES_KAFKA_PORT (9092), ES_KAFKA_CONTROLLER_PORT (9093),
#   ES_KAFKA_HEAP (512m), ES_REDIS_PERSIST (1: append-only file synced on every write; default: no persistence),
#   ES_S3_PORT (9000), ES_S3_ACCESS_KEY / ES_S3_SECRET_KEY (root keys; local defaults elastic-serving /
#   elastic-serving-secret), ES_S3_EVENT_WEBHOOK_URL (send every bucket event there; must answer at start),
#   ES_S3_BIN_DIR (where the built server is cached; default .elastic-serving/services/s3/bin, shared by
#   instances with another ES_SERVICES_DIR).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${ES_SERVICES_DIR:-$root/.elastic-serving/services}"
nats_port="${ES_NATS_PORT:-4222}"
redis_port="${ES_REDIS_PORT:-6379}"
kafka_port="${ES_KAFKA_PORT:-9092}"
kafka_controller_port="${ES_KAFKA_CONTROLLER_PORT:-9093}"
kafka_heap="${ES_KAFKA_HEAP:-512m}"
kafka_jars="$state/kafka/jars"
s3_port="${ES_S3_PORT:-9000}"
s3_access_key="${ES_S3_ACCESS_KEY:-elastic-serving}"
s3_secret_key="${ES_S3_SECRET_KEY:-elastic-serving-secret}"
s3_bin_dir="${ES_S3_BIN_DIR:-$root/.elastic-serving/services/s3/bin}"
# Apache-2.0. MinIO would send the same kind of notifications, but it is AGPL-3.0 (see docs/storage.md).
s3_module="github.com/versity/versitygw/cmd/versitygw"
s3_version="v1.8.0"

say() { printf '[services] %s\n' "$*"; }
fail() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds logfile
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    port_open "$2" && return 0
    sleep 0.1
  done
  [ -f "$4" ] && tail -n 30 "$4" >&2
  fail "$1 did not answer on 127.0.0.1:$2 within $3 s (log: $4)"
}

need_packages() {
  local missing=()
  command -v nats-server >/dev/null || missing+=(nats-server)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

start_detached() { # pidfile logfile command...
  local pidfile="$1" log="$2"
  shift 2
  nohup setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

up_nats() {
  if port_open "$nats_port"; then say "nats   already answering on nats://127.0.0.1:$nats_port"; return; fi
  mkdir -p "$state/nats/data"
  # max_payload above the default 1 MiB: the ingress accepts 1 MiB of data, and its ce- headers ride along.
  cat >"$state/nats/server.conf" <<EOF
listen: 127.0.0.1:$nats_port
max_payload: 8MB
jetstream { store_dir: "$state/nats/data" }
EOF
  start_detached "$state/nats/pid" "$state/nats/server.log" nats-server -js -c "$state/nats/server.conf"
  wait_port nats "$nats_port" 20 "$state/nats/server.log"
  say "nats   listening on nats://127.0.0.1:$nats_port (JetStream, file storage in $state/nats/data, max payload 8 MB)"
}

up_redis() {
  if port_open "$redis_port"; then say "redis  already answering on redis://127.0.0.1:$redis_port"; return; fi
  mkdir -p "$state/redis"
  # No persistence is the CI and laptop default; docs/durability.md says what AOF changes.
  local persistence=(--appendonly no) described="no persistence"
  if [ "${ES_REDIS_PERSIST:-}" = 1 ]; then
    persistence=(--appendonly yes --appendfsync always)
    described="append-only file, fsync always"
  fi
  start_detached "$state/redis/pid" "$state/redis/server.log" \
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' "${persistence[@]}" --dir "$state/redis" \
    --daemonize no --protected-mode yes
  wait_port redis "$redis_port" 20 "$state/redis/server.log"
  say "redis  listening on redis://127.0.0.1:$redis_port ($described)"
}

fetch_kafka() {
  if [ -f "$kafka_jars/.complete" ] && cmp -s "$here/kafka/pom.xml" "$kafka_jars/.complete"; then return; fi
  say "fetching the Kafka broker's jars from Maven Central (once)"
  rm -rf "$kafka_jars"
  mkdir -p "$kafka_jars"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$kafka_jars" -DincludeScope=runtime || fail "maven could not fetch the Kafka jars"
  cp "$here/kafka/pom.xml" "$kafka_jars/.complete"
}

write_kafka_config() {
  mkdir -p "$state/kafka/data"
  cat >"$state/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$kafka_controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$kafka_controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/kafka/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.consumer.session.timeout.ms=45000
log.retention.hours=24
EOF
  cat >"$state/kafka/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=WARN
EOF
}

up_kafka() {
  if port_open "$kafka_port"; then say "kafka  already answering on 127.0.0.1:$kafka_port"; return; fi
  fetch_kafka
  write_kafka_config
  # G1 with the pause target and heap occupancy kafka-server-start.sh sets (the JVM's own 200 ms target let young
  # pauses here reach ~15 ms, each one a latency spike in the open-loop benches). Full tiered JIT, as that script
  # runs it: C1 alone (-XX:TieredStopAtLevel=1) left the broker at ~500 ms of CPU per second at 1,000 events/s,
  # C2 at ~350-450 once warm, which halved the end-to-end median on this 2-vCPU machine.
  local java_cmd=(java "-Xms$kafka_heap" "-Xmx$kafka_heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35
    "-Dlog4j2.configurationFile=$state/kafka/log4j2.properties" -cp "$kafka_jars/*")
  if [ ! -f "$state/kafka/data/meta.properties" ]; then
    "${java_cmd[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid)" \
      -c "$state/kafka/server.properties" >"$state/kafka/format.log" 2>&1 ||
      { cat "$state/kafka/format.log" >&2; fail "kafka storage format failed"; }
  fi
  start_detached "$state/kafka/pid" "$state/kafka/server.log" \
    "${java_cmd[@]}" kafka.Kafka "$state/kafka/server.properties"
  wait_port kafka "$kafka_port" 90 "$state/kafka/server.log"
  say "kafka  listening on 127.0.0.1:$kafka_port (KRaft single node, $(basename "$(ls "$kafka_jars"/kafka_2.13-*.jar)" .jar))"
}

build_s3() {
  if [ -x "$s3_bin_dir/versitygw" ] && [ "$(cat "$s3_bin_dir/.version" 2>/dev/null)" = "$s3_version" ]; then return; fi
  command -v go >/dev/null || fail "s3 needs the Go toolchain (go 1.25 or later) to build $s3_module@$s3_version"
  say "building the S3 test server $s3_module@$s3_version with $(go version | cut -d' ' -f3) (once; a few minutes)"
  mkdir -p "$s3_bin_dir"
  local tmp
  tmp="$(mktemp -d "$s3_bin_dir/.build.XXXXXX")"
  if ! GOBIN="$tmp" go install "$s3_module@$s3_version" >"$s3_bin_dir/build.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$s3_bin_dir/build.log" >&2
    fail "could not build $s3_module@$s3_version (log: $s3_bin_dir/build.log)"
  fi
  mv -f "$tmp/versitygw" "$s3_bin_dir/versitygw"
  rm -rf "$tmp"
  echo "$s3_version" >"$s3_bin_dir/.version"
}

up_s3() {
  if port_open "$s3_port"; then say "s3     already answering on http://127.0.0.1:$s3_port"; return; fi
  build_s3
  mkdir -p "$state/s3/data" "$state/s3/meta"
  # Metadata in a sidecar directory, so the data directory needs no extended-attribute support.
  local args=(--port "127.0.0.1:$s3_port" --region us-east-1 --quiet)
  [ -n "${ES_S3_EVENT_WEBHOOK_URL:-}" ] && args+=(--event-webhook-url "$ES_S3_EVENT_WEBHOOK_URL")
  # Keys through the environment, never argv: `ps` shows argv to every user.
  (
    export ROOT_ACCESS_KEY="$s3_access_key" ROOT_SECRET_KEY="$s3_secret_key"
    start_detached "$state/s3/pid" "$state/s3/server.log" \
      "$s3_bin_dir/versitygw" "${args[@]}" posix --sidecar "$state/s3/meta" "$state/s3/data"
  )
  wait_port s3 "$s3_port" 30 "$state/s3/server.log"
  say "s3     listening on http://127.0.0.1:$s3_port (Versity S3 Gateway $s3_version, path-style, region us-east-1, buckets in $state/s3/data)"
}

down_one() { # name
  local pidfile="$state/$1/pid"
  [ -f "$pidfile" ] || { say "$1 not started by this script"; return; }
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$pidfile"
}

status_one() { # name port
  if port_open "$2"; then say "$1 up on 127.0.0.1:$2"; else say "$1 down (127.0.0.1:$2)"; return 1; fi
}

command="${1:-}"
shift || true
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=(nats redis kafka s3)

case "$command" in
  up)
    need_packages
    for e in "${engines[@]}"; do "up_$e"; done
    ;;
  down)
    for e in "${engines[@]}"; do down_one "$e"; done
    ;;
  status)
    rc=0
    for e in "${engines[@]}"; do
      port_var="${e}_port"
      status_one "$e" "${!port_var}" || rc=1
    done
    exit $rc
    ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
