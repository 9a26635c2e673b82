#!/usr/bin/env bash
# Server comparison: netpoll's example servers against their tokio and Go equivalents
# (benches/compare/tokio, benches/compare/go), driven by wrk, redis-benchmark, iperf3 and
# netpoll_stress. Prints one table (per benchmark and metric: each system's median and spread,
# netpoll's ratios, the targets) and writes it under benches/results/ with a bar chart.
#
# Usage: bash benches/compare/run.sh
# Env:   ROUNDS (5)     rounds; each round runs every system once per benchmark, in rotated order
#        DURATION (5)   seconds per client run
#        WORKERS (2)    worker threads of every server (NETPOLL_WORKERS, tokio worker_threads,
#                       GOMAXPROCS) and of the netpoll_stress client
#        ONLY           comma list among kv,http_hello,echo,proxy,file_server,idle (default: all)
#        IDLE_CONNS (15000)  idle connections held against each server in `idle`
#        KV_RATE_P1, KV_RATE_P16  req/s that size redis-benchmark -n (default: measured)
#        CARGO_TARGET_DIR    respected for both cargo builds
# As root it installs what is missing with apt-get (wrk, redis-tools, redis-server, iperf3,
# golang-go, curl). Every client and server runs under `timeout`; servers left at exit are killed.
#
# Besides the peers, three ceilings are measured, each a reference for what the machine allows
# rather than a system to beat: `direct` (iperf3 without a proxy), `epoll` (echo and http_hello
# as a hand-written C epoll loop per worker, benches/compare/epoll) and `redis` (redis-server,
# the best-known hand-written epoll loop, for kv).
set -uo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
WORKERS=${WORKERS:-2}
IDLE_CONNS=${IDLE_CONNS:-15000}
ALL_BENCHES="kv,http_hello,echo,proxy,file_server,idle"
ONLY=${ONLY:-$ALL_BENCHES}

for v in ROUNDS DURATION WORKERS IDLE_CONNS; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "run.sh: $v must be a positive integer, got '${!v}'" >&2
        exit 2
    fi
done
IFS=',' read -r -a BENCHES <<<"$ONLY"
for b in "${BENCHES[@]}"; do
    case ",$ALL_BENCHES," in
    *",$b,"*) ;;
    *)
        echo "run.sh: unknown benchmark '$b' in ONLY (known: $ALL_BENCHES)" >&2
        exit 2
        ;;
    esac
done

user_cwd=$(pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
compare="$root/benches/compare"
results="$root/benches/results"
mkdir -p "$results"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/netpoll-compare.XXXXXX")

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Cleanup: every background process we start is in PIDS until it is reaped.

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.5
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        # `timeout` does not pass SIGKILL on: kill what it runs too.
        for c in $(children "$p"); do kill -KILL "$c" 2>/dev/null; done
    done
    rm -rf "$tmp"
}
children() {
    { cat "/proc/$1/task/$1/children" 2>/dev/null || pgrep -P "$1" 2>/dev/null; } | tr -s ' ' '\n' | grep .
}
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Tools

have() { command -v "$1" >/dev/null 2>&1; }

if ! have python3; then
    echo "run.sh: python3 is required (for the report and a few helpers)" >&2
    exit 1
fi

missing_pkgs=()
for pair in wrk:wrk redis-benchmark:redis-tools redis-server:redis-server iperf3:iperf3 go:golang-go curl:curl; do
    have "${pair%%:*}" || missing_pkgs+=("${pair#*:}")
done
if [ ${#missing_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        log "installing with apt-get: ${missing_pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        timeout 300 apt-get update -qq >"$tmp/apt.log" 2>&1 || log "apt-get update failed (see below)"
        for pkg in "${missing_pkgs[@]}"; do
            if timeout 600 apt-get install -y -qq --no-install-recommends "$pkg" >>"$tmp/apt.log" 2>&1; then
                log "installed $pkg"
            else
                log "could not install $pkg:"
                tail -3 "$tmp/apt.log" >&2
            fi
        done
    else
        log "missing: ${missing_pkgs[*]} (run as root to install them, or: apt-get install ${missing_pkgs[*]})"
    fi
fi

SKIP_GO=""
have go || SKIP_GO="go is not installed (apt-get install golang-go)"
bench_tool_missing() {
    case "$1" in
    kv) have redis-benchmark || echo "redis-benchmark missing (apt-get install redis-tools)" ;;
    http_hello | file_server) have wrk || echo "wrk missing (apt-get install wrk)" ;;
    proxy) have iperf3 || echo "iperf3 missing (apt-get install iperf3)" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Builds

if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    case "$CARGO_TARGET_DIR" in
    /*) ;;
    *) CARGO_TARGET_DIR="$user_cwd/$CARGO_TARGET_DIR" ;;
    esac
    export CARGO_TARGET_DIR
    np_target="$CARGO_TARGET_DIR"
    tk_target="$CARGO_TARGET_DIR"
else
    np_target="$root/target"
    tk_target="$compare/tokio/target"
fi

log "building netpoll's examples (cargo build --release --examples)"
if ! (cd "$root" && timeout 1800 cargo build --release --examples >"$tmp/build-netpoll.log" 2>&1); then
    tail -30 "$tmp/build-netpoll.log" >&2
    echo "run.sh: building netpoll's examples failed" >&2
    exit 1
fi
log "building the tokio peers (benches/compare/tokio)"
if ! (cd "$compare/tokio" && timeout 1800 cargo build --release --locked >"$tmp/build-tokio.log" 2>&1); then
    tail -30 "$tmp/build-tokio.log" >&2
    echo "run.sh: building the tokio peers failed" >&2
    exit 1
fi
if [ -z "$SKIP_GO" ]; then
    log "building the Go peers (benches/compare/go, $(go version | awk '{print $3}'))"
    if ! (cd "$compare/go" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
        timeout 900 go build -o bin/ ./cmd/... >"$tmp/build-go.log" 2>&1); then
        tail -20 "$tmp/build-go.log" >&2
        SKIP_GO="the Go build failed"
    fi
fi
SYSTEMS=(netpoll tokio)
if [ -n "$SKIP_GO" ]; then
    log "skipping Go: $SKIP_GO"
else
    SYSTEMS+=(go)
fi
# The ceilings (see the top of this file): measured where their tool is there, else skipped.
SKIP_EPOLL=""
if ! have gcc; then
    SKIP_EPOLL="gcc is not installed"
else
    mkdir -p "$compare/epoll/bin"
    for n in echo http_hello; do
        flag=$(echo "SERVE_$n" | tr 'a-z' 'A-Z')
        if ! gcc -O2 -Wall -pthread "-D$flag" -o "$compare/epoll/bin/$n" "$compare/epoll/epoll_server.c" \
            >>"$tmp/build-epoll.log" 2>&1; then
            tail -10 "$tmp/build-epoll.log" >&2
            SKIP_EPOLL="the C epoll servers did not build"
        fi
    done
fi
[ -z "$SKIP_EPOLL" ] || log "no epoll ceiling: $SKIP_EPOLL"
SKIP_REDIS=""
have redis-server || SKIP_REDIS="redis-server is not installed (apt-get install redis-server)"
[ -z "$SKIP_REDIS" ] || log "no redis ceiling: $SKIP_REDIS"

STRESS="$np_target/release/examples/netpoll_stress"
bin_of() { # system name
    case "$1" in
    netpoll) echo "$np_target/release/examples/$2" ;;
    tokio) echo "$tk_target/release/$2" ;;
    go) echo "$compare/go/bin/$2" ;;
    epoll) echo "$compare/epoll/bin/$2" ;;
    esac
}
for s in "${SYSTEMS[@]}"; do
    for n in echo http_hello kv proxy file_server; do
        if [ ! -x "$(bin_of "$s" "$n")" ]; then
            echo "run.sh: $(bin_of "$s" "$n") was not built" >&2
            exit 1
        fi
    done
done

# ---------------------------------------------------------------------------------------------
# Results

stamp=$(date +%Y-%m-%d-%H%M%S)
RAW="$results/compare-$stamp.raw.tsv"
printf 'benchmark\tmetric\tsystem\tround\tvalue\n' >"$RAW"
record() { # bench metric system round value
    if [[ $5 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
        printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"
        log "  $1 $2 $3: $5"
    else
        log "  $1 $2 $3: no value ('$5')"
    fi
}
FAILURES=0
fail() {
    FAILURES=$((FAILURES + 1))
    log "FAILED: $*"
}

# ---------------------------------------------------------------------------------------------
# Servers

SERVER_PID="" # the `timeout` wrapping the server
SERVER_ADDR=""
RUN_ID=0

# start_server system name args...: starts it with WORKERS workers, waits for its line.
start_server() {
    local sys=$1 name=$2 bin limit i
    shift 2
    RUN_ID=$((RUN_ID + 1))
    SERVER_OUT="$tmp/server-$RUN_ID-$sys-$name"
    limit=${SERVER_LIMIT:-$((DURATION * 6 + 120))}
    if [ "$sys" = redis ]; then
        start_redis "$limit"
        return
    fi
    bin=$(bin_of "$sys" "$name")
    NETPOLL_WORKERS=$WORKERS timeout -k 3 "$limit" "$bin" "$@" >"$SERVER_OUT.out" 2>"$SERVER_OUT.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    SERVER_ADDR=""
    for ((i = 0; i < 200; i++)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$SERVER_OUT.out" 2>/dev/null | head -1)
        [ -n "$SERVER_ADDR" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "$sys $name did not announce its address; stderr:"
    tail -5 "$SERVER_OUT.err" >&2
    stop_server
    return 1
}

# The kv ceiling: redis-server on a fresh port, no persistence; ready once it answers PING.
start_redis() {
    local port i
    port=$(free_port)
    timeout -k 3 "$1" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --daemonize no --logfile "$SERVER_OUT.err" >"$SERVER_OUT.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    SERVER_ADDR=""
    for ((i = 0; i < 200; i++)); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
            SERVER_ADDR="127.0.0.1:$port"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    fail "redis-server did not answer PING; its log:"
    tail -5 "$SERVER_OUT.err" >&2
    stop_server
    return 1
}

# The server process itself (the child of `timeout`).
server_pid() {
    children "$SERVER_PID" | head -1
}

# stop_server: SIGTERM (the contract: exit within the 5 s grace), then SIGKILL.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for ((i = 0; i < 80; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "  server did not exit on SIGTERM within 8 s: killing it"
        for c in $(children "$SERVER_PID"); do kill -KILL "$c" 2>/dev/null; done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    forget "$SERVER_PID"
    SERVER_PID=""
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
socket_count() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:'; }

# ---------------------------------------------------------------------------------------------
# Benchmarks: each run_<bench> SYSTEM ROUND measures one system once.

# Requests per redis-benchmark test (-n), so that one test lasts about DURATION seconds: from
# KV_RATE_P1 / KV_RATE_P16 (requests/s) if set, otherwise measured by calibrate_kv: one short
# unrecorded run against netpoll's kv, the slowest of the three tests.
KV_RATE_P1=${KV_RATE_P1:-}
KV_RATE_P16=${KV_RATE_P16:-}
calibrate_kv() {
    local p rate out
    for p in 1 16; do
        [ "$p" = 1 ] && [ -n "$KV_RATE_P1" ] && continue
        [ "$p" = 16 ] && [ -n "$KV_RATE_P16" ] && continue
        rate=""
        if start_server netpoll kv 127.0.0.1:0; then
            out="$SERVER_OUT.client"
            timeout -k 3 60 redis-benchmark -h 127.0.0.1 -p "${SERVER_ADDR##*:}" -c 50 \
                -n $((p * 20000)) -P "$p" -t ping_inline,set,get --csv >"$out" 2>&1
            stop_server
            rate=$(tr -d '"' <"$out" | awk -F, '$1 ~ /^(PING_INLINE|SET|GET)$/ && $2 > 0 {
                if (min == "" || $2 < min) min = $2 } END { if (min != "") printf "%d", min }')
        fi
        if [ -z "$rate" ]; then
            rate=$((p == 1 ? 20000 : 200000))
            log "kv calibration failed: assuming $rate req/s for -P $p"
        else
            log "kv calibration: $rate req/s with -P $p, so -n $((rate * DURATION))"
        fi
        if [ "$p" = 1 ]; then KV_RATE_P1=$rate; else KV_RATE_P16=$rate; fi
    done
}

run_kv() {
    local sys=$1 round=$2 p n out line test rps p99 metric
    for p in 1 16; do
        start_server "$sys" kv 127.0.0.1:0 || continue
        if [ "$p" = 1 ]; then n=$((KV_RATE_P1 * DURATION)); else n=$((KV_RATE_P16 * DURATION)); fi
        out="$SERVER_OUT.client"
        timeout -k 3 $((DURATION * 3 * 5 + 30)) redis-benchmark -h 127.0.0.1 -p "${SERVER_ADDR##*:}" \
            -c 50 -n "$n" -P "$p" -t ping_inline,set,get --csv >"$out" 2>&1
        local status=$?
        stop_server
        [ $status = 0 ] || fail "kv -P $p on $sys: redis-benchmark exited $status: $(tail -2 "$out" | tr '\n' ' ')"
        # "PING_INLINE","rps","avg","min","p50","p95","p99","max"
        while IFS= read -r line; do
            line=${line//\"/}
            IFS=',' read -r test rps _ _ _ _ p99 _ <<<"$line"
            case "$test" in PING_INLINE | SET | GET) ;; *) continue ;; esac
            metric=$(echo "$test" | tr 'A-Z' 'a-z')
            [ "$p" = 1 ] || metric="${metric}_P$p"
            record kv "${metric}_rps" "$sys" "$round" "$rps"
            record kv "${metric}_p99_ms" "$sys" "$round" "$p99"
        done <"$out"
    done
}

# wrk_run URL CONNS EXTRA...: runs wrk -t2 for DURATION; sets WRK_* from its result line.
wrk_run() {
    local url=$1 conns=$2 out="$SERVER_OUT.client"
    shift 2
    WRK_REQ="" WRK_BYTES="" WRK_SECS="" WRK_P99="" WRK_ERR="" WRK_NON2XX=""
    timeout -k 3 $((DURATION + 40)) wrk -t2 -c"$conns" -d"${DURATION}s" --latency \
        -s "$compare/wrk_report.lua" "$@" "$url" >"$out" 2>&1
    local status=$?
    local line
    line=$(grep '^WRK_RESULT' "$out" | tail -1)
    if [ $status != 0 ] || [ -z "$line" ]; then
        fail "wrk $url: exit $status: $(tail -3 "$out" | tr '\n' ' ')"
        return 1
    fi
    local kv
    for kv in ${line#WRK_RESULT }; do
        case "$kv" in
        requests=*) WRK_REQ=${kv#*=} ;;
        bytes=*) WRK_BYTES=${kv#*=} ;;
        seconds=*) WRK_SECS=${kv#*=} ;;
        p99_us=*) WRK_P99=${kv#*=} ;;
        errors=*) WRK_ERR=${kv#*=} ;;
        non2xx=*) WRK_NON2XX=${kv#*=} ;;
        esac
    done
    if [ "${WRK_ERR:-0}" != 0 ] || [ "${WRK_NON2XX:-0}" != 0 ]; then
        log "  wrk reported $WRK_ERR socket errors and $WRK_NON2XX non-2xx responses"
    fi
    return 0
}
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

run_http_hello() {
    local sys=$1 round=$2
    start_server "$sys" http_hello 127.0.0.1:0 || return
    wrk_run "http://$SERVER_ADDR/" 100
    local ok=$?
    stop_server
    [ $ok = 0 ] || return
    record http_hello rps "$sys" "$round" "$(calc "$WRK_REQ / $WRK_SECS")"
    record http_hello p99_ms "$sys" "$round" "$(calc "$WRK_P99 / 1000")"
}

# netpoll_stress's JSON summary: the value of one key.
json_get() { # file key.path
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    text = open(sys.argv[1]).read()
    obj = json.loads(text[text.index("{"):text.rindex("}") + 1])
    for k in sys.argv[2].split("."):
        obj = obj[k]
    print(obj)
except Exception as e:
    print(f"unparsable: {e}")
PY
}

run_echo() {
    local sys=$1 round=$2 size label out status
    for size in 64 16384; do
        if [ "$size" = 64 ]; then label=64B; else label=16KiB; fi
        start_server "$sys" echo 127.0.0.1:0 || continue
        out="$SERVER_OUT.client"
        NETPOLL_WORKERS=$WORKERS timeout -k 3 $((DURATION + 40)) "$STRESS" --addr "$SERVER_ADDR" \
            --conns 100 --duration "$DURATION" --size "$size" --json --quiet >"$out" 2>"$out.err"
        status=$?
        stop_server
        if [ $status != 0 ]; then
            fail "echo $label on $sys: netpoll_stress exited $status: $(tail -c 300 "$out" "$out.err" | tr '\n' ' ')"
            [ -s "$out" ] || continue
        fi
        record echo "${label}_msgps" "$sys" "$round" "$(json_get "$out" msgs_per_s)"
        [ "$size" = 64 ] || record echo "${label}_MBps" "$sys" "$round" "$(json_get "$out" mb_per_s)"
        record echo "${label}_p99_us" "$sys" "$round" "$(json_get "$out" latency_us.p99)"
    done
}

# iperf3_through HOST PORT: sets IPERF_BPS (bits/s received) or returns 1.
iperf3_through() {
    local out="$tmp/iperf3-$RUN_ID.json"
    IPERF_BPS=""
    timeout -k 3 $((DURATION + 30)) iperf3 -c "$1" -p "$2" -t "$DURATION" -J >"$out" 2>&1
    local status=$?
    IPERF_BPS=$(json_get "$out" end.sum_received.bits_per_second)
    if [ $status != 0 ] || ! [[ $IPERF_BPS =~ ^[0-9.eE+]+$ ]]; then
        fail "iperf3 to $1:$2: exit $status: $(json_get "$out" error)"
        return 1
    fi
}

# start_iperf3_server: an iperf3 server on a fresh port; sets IPERF_PORT, IPERF_PID.
start_iperf3_server() {
    IPERF_PORT=$(free_port)
    local log="$tmp/iperf3-server-$RUN_ID.log" i
    timeout -k 3 $((DURATION + 60)) iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$log" 2>&1 &
    IPERF_PID=$!
    PIDS+=("$IPERF_PID")
    for ((i = 0; i < 100; i++)); do
        grep -q "Server listening" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    log "  iperf3 -s did not say it was listening: $(tail -2 "$log" | tr '\n' ' ')"
}
stop_iperf3_server() {
    kill "$IPERF_PID" 2>/dev/null
    wait "$IPERF_PID" 2>/dev/null
    forget "$IPERF_PID"
}

run_proxy() {
    local sys=$1 round=$2
    start_iperf3_server
    if [ "$sys" = direct ]; then
        iperf3_through 127.0.0.1 "$IPERF_PORT" && record proxy Gbps direct "$round" "$(calc "$IPERF_BPS / 1e9")"
        stop_iperf3_server
        return
    fi
    if start_server "$sys" proxy 127.0.0.1:0 "127.0.0.1:$IPERF_PORT"; then
        iperf3_through 127.0.0.1 "${SERVER_ADDR##*:}" && record proxy Gbps "$sys" "$round" "$(calc "$IPERF_BPS / 1e9")"
        stop_server
    fi
    stop_iperf3_server
}

FILE_DIR=""
make_files() {
    FILE_DIR="$tmp/files"
    mkdir -p "$FILE_DIR"
    head -c $((64 << 20)) /dev/urandom >"$FILE_DIR/file-64m.bin"
    head -c 4096 /dev/urandom >"$FILE_DIR/file-4k.bin"
}

run_file_server() {
    local sys=$1 round=$2 file conns label got want
    [ -n "$FILE_DIR" ] || make_files
    for file in file-64m.bin file-4k.bin; do
        if [ "$file" = file-64m.bin ]; then label=64MiB conns=10; else label=4KiB conns=100; fi
        start_server "$sys" file_server 127.0.0.1:0 "$FILE_DIR" || continue
        # One fetch first, to check the server sends the whole file.
        want=$(stat -c %s "$FILE_DIR/$file")
        got=$(timeout 30 curl -s -o /dev/null -w '%{size_download}' "http://$SERVER_ADDR/$file")
        if [ "$got" != "$want" ]; then
            fail "file_server on $sys sent $got bytes of $file, not $want"
            stop_server
            continue
        fi
        wrk_run "http://$SERVER_ADDR/$file" "$conns" --timeout 30s
        local ok=$?
        stop_server
        [ $ok = 0 ] || continue
        record file_server "${label}_MBps" "$sys" "$round" "$(calc "$WRK_BYTES / $WRK_SECS / 1e6")"
        record file_server "${label}_rps" "$sys" "$round" "$(calc "$WRK_REQ / $WRK_SECS")"
        [ "$label" = 64MiB ] || record file_server "${label}_p99_ms" "$sys" "$round" "$(calc "$WRK_P99 / 1000")"
    done
}

# idle: IDLE_CONNS connections held open by `netpoll_stress --mode idle` clients, 1000 per
# process (the fd limit is per process, and 1000 at once fit any listen backlog), each started
# once the server has accepted the previous ones. The server's RSS is read before and while they
# are held; the connections counted are the sockets the server holds (a client's connect succeeds
# in the kernel's backlog even if the server never accepts it). A server that runs out of fds
# (a splice echo holds a pipe, two more fds, per connection) is measured with what it holds.
IDLE_PER_CLIENT=1000
run_idle() {
    local sys=$1 round=$2
    local procs=$(((IDLE_CONNS + IDLE_PER_CLIENT - 1) / IDLE_PER_CLIENT))
    local pid rss0 s0 rss1 c i per want t0 tlast last fd_limit clients=() stalled=""
    SERVER_LIMIT=$((procs * 12 + 90)) start_server "$sys" echo 127.0.0.1:0 || return
    pid=$(server_pid)
    fd_limit=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
    sleep 0.5
    rss0=$(rss_kib "$pid")
    s0=$(socket_count "$pid")
    want=$s0
    for ((i = 0; i < procs; i++)); do
        per=$((IDLE_CONNS - i * IDLE_PER_CLIENT))
        ((per > IDLE_PER_CLIENT)) && per=$IDLE_PER_CLIENT
        NETPOLL_WORKERS=1 timeout -k 3 $((procs * 12 + 60)) "$STRESS" --mode idle --addr "$SERVER_ADDR" \
            --conns "$per" --duration $((procs * 12 + 30)) --timeout 30 --json --quiet \
            >"$SERVER_OUT.idle$i" 2>&1 &
        clients+=($!)
        PIDS+=($!)
        want=$((want + per))
        # Up to 12 s for the server to hold them, or until its count has not moved for 3 s (a
        # connect that failed, for instance for want of a local port while the last run's
        # connections are in TIME_WAIT, is not retried).
        t0=$SECONDS tlast=$SECONDS last=-1
        while ((SECONDS - t0 < 12)) && kill -0 "$pid" 2>/dev/null; do
            c=$(socket_count "$pid")
            ((c >= want)) && break
            if [ "$c" != "$last" ]; then
                last=$c tlast=$SECONDS
            elif ((SECONDS - tlast >= 3)); then
                break
            fi
            # Out of fds: it cannot accept more.
            (($(fd_count "$pid") >= fd_limit - 8)) && break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null || break
        if (($(fd_count "$pid") >= fd_limit - 8)); then
            stalled=$(($(socket_count "$pid") - s0))
            break
        fi
    done
    [ -z "$stalled" ] || log "  $sys ran out of fds (limit $fd_limit) at $stalled connections"
    sleep 2
    rss1=$(rss_kib "$pid")
    c=$(($(socket_count "$pid") - s0))
    local fds
    fds=$(fd_count "$pid")
    for p in "${clients[@]}"; do
        kill -INT "$p" 2>/dev/null
    done
    for p in "${clients[@]}"; do
        wait "$p" 2>/dev/null
        forget "$p"
    done
    stop_server
    if [ -z "$rss0" ] || [ -z "$rss1" ] || ((c <= 0)); then
        fail "idle on $sys: could not read the server's RSS or open connections; its stderr and a client's:"
        tail -5 "$SERVER_OUT.err" "$SERVER_OUT.idle0" >&2
        return
    fi
    ((c >= IDLE_CONNS * 99 / 100)) || log "  only $c of $IDLE_CONNS connections were held ($fds fds open)"
    record idle conns_held_conns "$sys" "$round" "$c"
    record idle fds_per_conn_fds "$sys" "$round" "$(calc "$fds / $c")"
    record idle rss_per_conn_B "$sys" "$round" "$(calc "($rss1 - $rss0) * 1024 / $c")"
}

# ---------------------------------------------------------------------------------------------
# The runs: per benchmark, ROUNDS rounds, each system once per round, the order rotated.

log "rounds=$ROUNDS duration=${DURATION}s workers=$WORKERS systems=${SYSTEMS[*]} benchmarks=$ONLY"
log "raw results: $RAW"
start_time=$SECONDS
for bench in "${BENCHES[@]}"; do
    why=$(bench_tool_missing "$bench")
    if [ -n "$why" ]; then
        log "skipping $bench: $why"
        continue
    fi
    systems=("${SYSTEMS[@]}")
    [ "$bench" = proxy ] && systems+=(direct)
    case "$bench" in echo | http_hello) [ -n "$SKIP_EPOLL" ] || systems+=(epoll) ;; esac
    [ "$bench" = kv ] && [ -z "$SKIP_REDIS" ] && systems+=(redis)
    [ "$bench" = kv ] && calibrate_kv
    for ((round = 1; round <= ROUNDS; round++)); do
        n=${#systems[@]}
        for ((k = 0; k < n; k++)); do
            sys=${systems[$(((k + round - 1) % n))]}
            log "$bench round $round/$ROUNDS: $sys"
            "run_$bench" "$sys" "$round"
        done
    done
done
log "runs done in $((SECONDS - start_time)) s ($FAILURES failure(s))"

# ---------------------------------------------------------------------------------------------
# Report

rev=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
tokio_version=$(awk '/^name = "tokio"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' "$compare/tokio/Cargo.lock")
notes=(
    "$(date -u '+%Y-%m-%d %H:%M UTC'), netpoll $rev; $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    "ROUNDS=$ROUNDS DURATION=${DURATION}s WORKERS=$WORKERS IDLE_CONNS=$IDLE_CONNS; systems: ${SYSTEMS[*]}; $FAILURES failed run(s)"
    "$(rustc --version 2>/dev/null), tokio $tokio_version$([ -z "$SKIP_GO" ] && echo ", $(go version | awk '{print $3}')")"
    "clients: redis-benchmark -c 50 (-P 16), wrk -t2 -c100 (-c10 for 64 MiB), netpoll_stress --conns 100 (--size: messages of random size up to it), iperf3 -t DURATION, netpoll_stress --mode idle"
    "ceilings (references, not peers): direct = iperf3 without a proxy; epoll = echo/http_hello as a hand-written C epoll loop, one thread, listener (SO_REUSEPORT) and epoll per worker (benches/compare/epoll); redis = $(redis-server --version 2>/dev/null | awk '{print $1, $3}' | tr -d 'v=') (one event-loop thread)"
)
[ -n "$SKIP_GO" ] && notes+=("Go skipped: $SKIP_GO")
[ -n "$KV_RATE_P1" ] && notes+=("kv: redis-benchmark -n $((KV_RATE_P1 * DURATION)) (-P 1), -n $((KV_RATE_P16 * DURATION)) (-P 16)")
((ROUNDS < 3)) && notes+=("fewer than 3 rounds: a smoke run, not a measurement")
note_args=()
for n in "${notes[@]}"; do note_args+=(--note "$n"); done

echo
python3 "$compare/report.py" "$RAW" --md "$results/compare-$stamp.md" --svg "$results/compare-$stamp.svg" \
    "${note_args[@]}"
python3 "$compare/report.py" "$RAW" --md "$results/latest.md" --svg "$results/latest.svg" \
    "${note_args[@]}" >/dev/null
cp "$RAW" "$results/latest.raw.tsv"
echo
echo "written: $results/compare-$stamp.md, $results/latest.md, $results/latest.svg, $RAW"
exit 0
