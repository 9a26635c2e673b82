#!/usr/bin/env bash
# Fault injection across two network namespaces (issue 6, "Faults").
#
# The echo and proxy examples run in np-srv-PID, netpoll_stress and the other clients in
# np-cli-PID; the two are joined by a veth pair. Faults are made with what this kernel has
# (no netem): nftables `numgen random` drops (loss, blackhole), a tbf qdisc (rate limit) and
# a delaying relay in user space (delay). Every scenario must end with every byte verified;
# see tests/faults/README.md for what each one injects and checks.
#
# Usage: bash tests/faults/netns.sh        (as root; builds the release examples first)
# Exit: 0 all scenarios passed (or the whole test was skipped: a line `SKIP: reason`);
#       1 a data error, a hang, a server that died or did not exit 0 on SIGTERM.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB="$HERE/faultlib.py"
ID=$$
SRV="np-srv-$ID"                 # namespaces: unique per run, so parallel runs do not collide
CLI="np-cli-$ID"
VS="npvs$ID"                     # veth ends (at most 15 characters: "npvs" + a PID)
VC="npvc$ID"
NET="10.231.$((ID % 250 + 1))"   # only ever exists inside our two namespaces
SIP="$NET.1"
CIP="$NET.2"
TABLE="npfault"
ECHO_PORT=7000                   # ports are per namespace, so fixed ones cannot collide
PROXY_PORT=9000
# netpoll_stress --timeout: a message with no answer for this long counts as hung. Under 5 %
# loss the slowest message of a run takes 3-9 s here: the kernel's TCP stalls in recovery
# (`ss -ti` shows the sender holding unacknowledged data, the receiver's queue empty, the
# application waiting), so the bound is generous; a lost wake-up would still show as a hang.
OP_TIMEOUT=30
T0=$(date +%s)

say() { printf '[faults t+%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
skip_all() { echo "SKIP: $*"; exit 0; }

# ------------------------------------------------------------------ cleanup, always
WORK=""
MADE_NS=()
MADE_LINKS=()
# shellcheck disable=SC2317  # (invoked by the trap)
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    local p ns jobs_left
    # Our background jobs still running (bash's own job table: no stale PID that the kernel
    # may have handed to someone else). Each is a `timeout`, which passes the signal on to
    # its process group.
    jobs_left=$(jobs -pr)
    for p in $jobs_left; do kill -TERM "$p" 2>/dev/null; done
    # Anything still inside our namespaces is ours (they are unique to this run).
    for ns in "${MADE_NS[@]}"; do
        for p in $(timeout 5 ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    for p in $jobs_left; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$p" || break; sleep 0.1; done
        alive "$p" && kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    for ns in "${MADE_NS[@]}"; do timeout 10 ip netns del "$ns" 2>/dev/null; done
    # A veth end not yet moved into a namespace (deleting a namespace deletes the ends in it).
    for p in "${MADE_LINKS[@]}"; do timeout 5 ip link del "$p" 2>/dev/null; done
    [ -n "$WORK" ] && rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WORK=$(mktemp -d "/tmp/np-faults-$ID.XXXXXX")

alive() { jobs -pr | grep -qx "$1"; }          # a background job of ours, still running
# bounded CMD...: CMD (itself wrapped in `timeout`) as a background job that we wait for:
# bash runs a trap only after the foreground command ends, so this lets SIGINT/SIGTERM clean
# up at once, in the middle of a long build or run.
bounded() {
    "$@" &
    wait "$!"
}
t() { timeout 20 "$@"; }                       # every short command is bounded
in_srv() { timeout 20 ip netns exec "$SRV" "$@"; }
in_cli() { timeout 20 ip netns exec "$CLI" "$@"; }

# ------------------------------------------------------------------ 1. prerequisites
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, nftables, tc)"
command -v timeout >/dev/null || skip_all "no timeout(1)"
command -v python3 >/dev/null || skip_all "no python3 (the checker, bulk client and delay relay)"
if ! command -v ip >/dev/null || ! command -v nft >/dev/null || ! command -v tc >/dev/null; then
    say "installing nftables iproute2"
    export DEBIAN_FRONTEND=noninteractive
    if command -v apt-get >/dev/null; then
        timeout 300 apt-get install -y nftables iproute2 >/dev/null 2>&1 \
            || { timeout 300 apt-get update >/dev/null 2>&1 \
                 && timeout 300 apt-get install -y nftables iproute2 >/dev/null 2>&1; } \
            || true
    fi
fi
command -v ip >/dev/null || skip_all "no ip(8) (iproute2) and it could not be installed"
command -v nft >/dev/null || skip_all "no nft(8) (nftables) and it could not be installed"
command -v tc >/dev/null || skip_all "no tc(8) (iproute2) and it could not be installed"

PROBE="np-probe-$ID"
PROBE_ERR="$WORK/probe.err"
MADE_NS+=("$PROBE")
t ip netns add "$PROBE" 2>/dev/null || skip_all "ip netns does not work here (ip netns add failed)"
# The loss rules need nftables' numgen expression inside a namespace.
if ! printf 'table inet probe {\n chain in {\n  type filter hook input priority 0; policy accept;\n  %s\n }\n}\n' \
    "numgen random mod 100 < 5 counter drop" | t ip netns exec "$PROBE" nft -f - 2>"$PROBE_ERR"; then
    skip_all "nftables cannot load a 'numgen random' drop rule in a network namespace: $(head -n 1 "$PROBE_ERR")"
fi
t ip netns del "$PROBE"
MADE_NS=()

# ------------------------------------------------------------------ 2. build the examples
say "building the release examples (echo, proxy, netpoll_stress)"
cd "$ROOT"     # (not a subshell: a subshell's job would outlive our cleanup)
bounded timeout 1800 cargo build --release --quiet --example echo --example proxy --example netpoll_stress
TARGET_DIR=$(timeout 120 cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') \
    || TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/examples"
ECHO_BIN="$BIN/echo"
PROXY_BIN="$BIN/proxy"
STRESS_BIN="$BIN/netpoll_stress"
for b in "$ECHO_BIN" "$PROXY_BIN" "$STRESS_BIN"; do
    [ -x "$b" ] || { echo "FAIL: $b was not built"; exit 1; }
done
T0=$(date +%s)     # the time budget (about 3 minutes) counts from here, without the build

# ------------------------------------------------------------------ 3. namespaces and veth
say "namespaces $SRV ($SIP, $VS) and $CLI ($CIP, $VC)"
MADE_NS+=("$SRV" "$CLI")
t ip netns add "$SRV"
t ip netns add "$CLI"
MADE_LINKS+=("$VS" "$VC")
t ip link add "$VS" type veth peer name "$VC"
t ip link set "$VS" netns "$SRV"
t ip link set "$VC" netns "$CLI"
MADE_LINKS=()
in_srv ip addr add "$SIP/24" dev "$VS"
in_cli ip addr add "$CIP/24" dev "$VC"
for ns in "$SRV" "$CLI"; do
    t ip -n "$ns" link set lo up
done
in_srv ip link set "$VS" up
in_cli ip link set "$VC" up
in_cli ping -c 1 -W 5 "$SIP" >/dev/null 2>&1 || {
    # ping may be missing; the servers' own start-up check below covers reachability too.
    command -v ping >/dev/null && { echo "FAIL: $CLI cannot reach $SIP"; exit 1; }
}

# One table per namespace with an input-hook chain. The loss is made where packets arrive
# (client->server dropped on input in np-srv, server->client on input in np-cli): a packet
# dropped there is indistinguishable from one lost on the wire. A drop in the sender's own
# output hook is different: the kernel reports it to the sending socket (EPERM), so TCP learns
# of the loss at once instead of by duplicate ACKs or a retransmission timeout, and a connect()
# whose SYN is dropped there fails outright; that is not the fault we mean to test.
for pair in "$SRV:$VS" "$CLI:$VC"; do
    printf 'table inet %s {\n chain in {\n  type filter hook input priority 0; policy accept;\n }\n}\n' "$TABLE" \
        | t ip netns exec "${pair%%:*}" nft -f -
done
# fault_drop PERCENT|all: drops PERCENT % (or all) of the packets arriving over the veth, both ways.
fault_drop() {
    local match=(numgen random mod 100 "<" "$1")
    [ "$1" = all ] && match=()
    in_srv nft add rule inet "$TABLE" in iifname "$VS" "${match[@]}" counter drop
    in_cli nft add rule inet "$TABLE" in iifname "$VC" "${match[@]}" counter drop
}
# fault_clear: removes the drop rules; prints how many packets they dropped.
fault_clear() {
    local n=0 c
    for ns in "$SRV" "$CLI"; do
        for c in $(timeout 20 ip netns exec "$ns" nft list chain inet "$TABLE" in \
            | grep -o 'packets [0-9]*' | awk '{print $2}'); do
            n=$((n + c))
        done
        timeout 20 ip netns exec "$ns" nft flush chain inet "$TABLE" in
    done
    echo "$n"
}

# ------------------------------------------------------------------ servers
# start_bg NAME NS CMD...: runs CMD in NS in the background (bounded), stdout/stderr to files.
start_bg() {
    local name=$1 ns=$2
    shift 2
    timeout 600 ip netns exec "$ns" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    BG_PID=$!
}
# wait_listening NAME PID: the contract's line, within 10 s; sets LISTEN_ADDR.
wait_listening() {
    local line
    for _ in $(seq 100); do
        if line=$(grep -m1 '^listening on ' "$WORK/$1.out" 2>/dev/null); then
            LISTEN_ADDR="${line#listening on }"
            return 0
        fi
        alive "$2" || break
        sleep 0.1
    done
    echo "FAIL: $1 did not print 'listening on ADDR' within 10 s; stderr:" >&2
    tail -n 20 "$WORK/$1.err" >&2 || true
    return 1
}

start_bg echo "$SRV" "$ECHO_BIN" "0.0.0.0:$ECHO_PORT"
ECHO_PID=$BG_PID
start_bg proxy "$SRV" "$PROXY_BIN" "$SIP:$PROXY_PORT" "127.0.0.1:$ECHO_PORT"
PROXY_PID=$BG_PID
wait_listening echo "$ECHO_PID" || exit 1
say "echo  listening on $LISTEN_ADDR (in $SRV)"
wait_listening proxy "$PROXY_PID" || exit 1
say "proxy listening on $LISTEN_ADDR (in $SRV) -> 127.0.0.1:$ECHO_PORT over $SRV's loopback"
ECHO_ADDR="$SIP:$ECHO_PORT"
PROXY_ADDR="$SIP:$PROXY_PORT"

# ------------------------------------------------------------------ results
RESULTS=()      # "scenario|PASS/FAIL/SKIP|seconds|detail"
FAILED=0
record() {      # record SCENARIO STATUS START_EPOCH DETAIL
    RESULTS+=("$1|$2|$(($(date +%s) - $3))|$4")
    [ "$2" = FAIL ] && FAILED=1
    printf '%-4s %-22s %s\n' "$2" "$1" "$4"
}

# stress NAME ADDR CONNS SECS SIZE [check flags]: netpoll_stress from np-cli, judged by faultlib check.
# Sets STRESS_DETAIL; returns 0 when the run was clean.
stress_cmd() {   # sets STRESS_ARGV, shared by the foreground and background forms
    local addr=$1 conns=$2 secs=$3 size=$4
    # Bounded: the run, then up to 2 x --timeout + 5 s for the connections to finish.
    STRESS_ARGV=(timeout $((secs + 3 * OP_TIMEOUT + 30)) ip netns exec "$CLI" "$STRESS_BIN" --addr "$addr"
        --conns "$conns" --duration "$secs" --size "$size" --timeout "$OP_TIMEOUT" --json --quiet)
}
stress_judge() { # NAME CONNS RC [check flags]
    local name=$1 conns=$2 rc=$3
    shift 3
    local d
    d=$(python3 "$LIB" check "$WORK/$name.json" "$conns" "$@") && [ "$rc" = 0 ] && {
        STRESS_DETAIL="$d"
        return 0
    }
    STRESS_DETAIL="exit $rc; $d"
    [ "$rc" = 124 ] && STRESS_DETAIL="timed out (hang); $d"
    echo "---- $name: netpoll_stress stderr (last lines)" >&2
    tail -n 20 "$WORK/$name.err" >&2 || true
    return 1
}
stress() {
    local name=$1 addr=$2 conns=$3 secs=$4 size=$5 rc=0
    shift 5
    stress_cmd "$addr" "$conns" "$secs" "$size"
    bounded "${STRESS_ARGV[@]}" >"$WORK/$name.json" 2>"$WORK/$name.err" || rc=$?
    stress_judge "$name" "$conns" "$rc" "$@"
}
# bulk NAME ADDR BYTES [bulk flags]: faultlib bulk from np-cli. Sets BULK_DETAIL.
bulk() {
    local name=$1 addr=$2 bytes=$3 rc=0
    shift 3
    bounded timeout 150 ip netns exec "$CLI" python3 "$LIB" bulk "$addr" "$bytes" --timeout 30 "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    BULK_DETAIL=$(cat "$WORK/$name.out")
    [ -n "$BULK_DETAIL" ] || BULK_DETAIL="exit $rc: $(tail -n 1 "$WORK/$name.err")"
    [ "$rc" = 124 ] && BULK_DETAIL="timed out (hang) $BULK_DETAIL"
    [ "$rc" = 0 ]
}
servers_alive() {
    alive "$ECHO_PID" && alive "$PROXY_PID"
}

MIB=$((1 << 20))

# ------------------------------------------------------------------ a. baseline
s=$(date +%s)
if stress baseline "$ECHO_ADDR" 50 5 65536; then
    record "a baseline" PASS "$s" "echo, 50 conns 5 s: $STRESS_DETAIL"
else
    record "a baseline" FAIL "$s" "echo, 50 conns 5 s: $STRESS_DETAIL"
fi

# ------------------------------------------------------------------ b. 5 % loss each way
s=$(date +%s)
fault_drop 5
ok=1
stress loss "$ECHO_ADDR" 50 6 65536 || ok=0
drops=$(fault_clear)
if [ "$ok" = 1 ] && [ "$drops" -gt 0 ]; then
    record "b loss 5%" PASS "$s" "echo, 50 conns 6 s, $drops packets dropped: $STRESS_DETAIL"
else
    [ "$drops" -gt 0 ] || STRESS_DETAIL="no packet was dropped (the rule did not apply); $STRESS_DETAIL"
    record "b loss 5%" FAIL "$s" "echo, 50 conns 6 s, $drops packets dropped: $STRESS_DETAIL"
fi

# ------------------------------------------------------------------ c. rate limit (tbf)
s=$(date +%s)
RATE_MBIT=20
if in_srv tc qdisc add dev "$VS" root tbf rate ${RATE_MBIT}mbit burst 32kbit latency 400ms 2>"$WORK/tbf.err" \
    && in_cli tc qdisc add dev "$VC" root tbf rate ${RATE_MBIT}mbit burst 32kbit latency 400ms 2>>"$WORK/tbf.err"; then
    if stress ratelimit "$ECHO_ADDR" 50 5 65536; then
        record "c rate 20mbit" PASS "$s" "echo, 50 conns 5 s: $STRESS_DETAIL"
    else
        record "c rate 20mbit" FAIL "$s" "echo, 50 conns 5 s: $STRESS_DETAIL"
    fi
    s=$(date +%s)
    # 32 MiB each way at 20 Mbit/s needs 13.4 s: faster than 80 % of that means no limit.
    min_secs=$(python3 -c "print(0.8 * 32 * $MIB * 8 / ($RATE_MBIT * 1e6))")
    if bulk ratelimit-bulk "$PROXY_ADDR" $((32 * MIB)) --min-secs "$min_secs"; then
        record "c rate 20mbit, proxy" PASS "$s" "$BULK_DETAIL"
    else
        record "c rate 20mbit, proxy" FAIL "$s" "$BULK_DETAIL"
    fi
    in_srv tc qdisc del dev "$VS" root
    in_cli tc qdisc del dev "$VC" root
else
    in_srv tc qdisc del dev "$VS" root 2>/dev/null || true
    record "c rate 20mbit" SKIP "$s" "tc cannot add a tbf qdisc: $(head -n 1 "$WORK/tbf.err")"
fi

# ------------------------------------------------------------------ d. proxy under 5 % loss
s=$(date +%s)
fault_drop 5
ok=1
stress proxyloss "$PROXY_ADDR" 50 6 65536 || ok=0
drops=$(fault_clear)
if [ "$ok" = 1 ] && [ "$drops" -gt 0 ]; then
    record "d proxy, loss 5%" PASS "$s" "proxy, 50 conns 6 s, $drops dropped: $STRESS_DETAIL"
else
    record "d proxy, loss 5%" FAIL "$s" "proxy, 50 conns 6 s, $drops dropped: $STRESS_DETAIL"
fi
s=$(date +%s)
fault_drop 5
ok=1
bulk proxyloss-bulk "$PROXY_ADDR" $((32 * MIB)) || ok=0
drops=$(fault_clear)
if [ "$ok" = 1 ] && [ "$drops" -gt 0 ]; then
    record "d proxy bulk, loss 5%" PASS "$s" "$BULK_DETAIL, $drops dropped"
else
    record "d proxy bulk, loss 5%" FAIL "$s" "$BULK_DETAIL, $drops dropped"
fi

# ------------------------------------------------------------------ e. delay (user-space relay)
# No netem here: a relay in np-cli holds every chunk 20 ms in each direction before passing it
# on, so each request/response takes at least 40 ms; the check requires p50 >= 40 ms.
s=$(date +%s)
start_bg relay "$CLI" python3 "$LIB" relay 127.0.0.1:0 "$ECHO_ADDR" 20
RELAY_PID=$BG_PID
if wait_listening relay "$RELAY_PID"; then
    if stress delay "$LISTEN_ADDR" 20 5 16384 --min-p50-us 40000; then
        record "e delay 20ms" PASS "$s" "echo via relay, 20 conns 5 s: $STRESS_DETAIL"
    else
        record "e delay 20ms" FAIL "$s" "echo via relay, 20 conns 5 s: $STRESS_DETAIL"
    fi
else
    record "e delay 20ms" FAIL "$s" "the delaying relay did not start"
fi
kill -TERM "$RELAY_PID" 2>/dev/null || true
wait "$RELAY_PID" 2>/dev/null || true

# ------------------------------------------------------------------ f. blackhole mid-stream
# Every packet over the veth is dropped for 2 s while a 9 s run is in progress, then the rule
# goes. TCP retransmits with backoff (0.2, 0.4, 0.8, 1.6 s ...), so every connection resumes
# within a few seconds of the end of the blackhole, far inside the tool's per-message timeout
# of $OP_TIMEOUT s: a correct stack and runtime finish this run with no error at all, so we can
# require exit 0 and a clean summary, which is stricter than only checking that the servers
# survive. To be sure the blackhole hit live traffic, the rule must have dropped packets and
# the slowest message must have waited at least 1.5 s.
s=$(date +%s)
rc=0
stress_cmd "$ECHO_ADDR" 50 9 65536
"${STRESS_ARGV[@]}" >"$WORK/blackhole.json" 2>"$WORK/blackhole.err" &
BH_PID=$!
sleep 3
fault_drop all
sleep 2
drops=$(fault_clear)
wait "$BH_PID" || rc=$?
if stress_judge blackhole 50 "$rc" --min-max-us 1500000 && [ "$drops" -gt 0 ]; then
    record "f blackhole 2s" PASS "$s" "echo, 50 conns 9 s, $drops dropped: $STRESS_DETAIL"
else
    record "f blackhole 2s" FAIL "$s" "echo, 50 conns 9 s, $drops dropped: $STRESS_DETAIL"
fi

# ------------------------------------------------------------------ g. after the faults
# The servers must still be up and serve fresh clients, then exit 0 on SIGTERM within 10 s.
s=$(date +%s)
if ! servers_alive; then
    record "g servers alive" FAIL "$s" "echo or proxy exited during the faults"
else
    ok=1
    stress after-echo "$ECHO_ADDR" 20 2 65536 || ok=0
    d1=$STRESS_DETAIL
    stress after-proxy "$PROXY_ADDR" 20 2 65536 || ok=0
    d2=$STRESS_DETAIL
    if [ "$ok" = 1 ]; then
        record "g fresh runs" PASS "$s" "echo: $d1 | proxy: $d2"
    else
        record "g fresh runs" FAIL "$s" "echo: $d1 | proxy: $d2"
    fi
fi
s=$(date +%s)
stop_detail=""
stop_ok=1
for pair in "echo:$ECHO_PID" "proxy:$PROXY_PID"; do
    name=${pair%%:*}
    pid=${pair#*:}
    kill -TERM "$pid" 2>/dev/null || true
    waited=0
    while alive "$pid" && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        stop_ok=0
        stop_detail+="$name still running 10 s after SIGTERM; "
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        continue
    fi
    rc=0
    wait "$pid" || rc=$?
    if [ "$rc" != 0 ]; then
        stop_ok=0
        stop_detail+="$name exited $rc; "
    elif [ "$(wc -l <"$WORK/$name.out")" != 1 ]; then
        stop_ok=0
        stop_detail+="$name printed $(wc -l <"$WORK/$name.out") stdout lines, not 1; "
    elif grep -q 'panicked' "$WORK/$name.err"; then
        stop_ok=0
        stop_detail+="$name panicked: $(grep -m1 panicked "$WORK/$name.err"); "
    else
        stop_detail+="$name exit 0 in $((waited / 10)).$((waited % 10)) s; "
    fi
done
if [ "$stop_ok" = 1 ]; then
    record "g SIGTERM" PASS "$s" "${stop_detail%; }"
else
    record "g SIGTERM" FAIL "$s" "${stop_detail%; }"
fi

# ------------------------------------------------------------------ summary
echo
echo "fault scenarios (namespaces $SRV / $CLI, veth $NET.0/24):"
printf '  %-22s | %-6s | %5s | %s\n' scenario result secs detail
printf '  %s\n' "-----------------------+--------+-------+------------------------------------------"
for r in "${RESULTS[@]}"; do
    IFS='|' read -r n st sec d <<<"$r"
    printf '  %-22s | %-6s | %5s | %s\n' "$n" "$st" "$sec" "$d"
done
total=$(($(date +%s) - T0))
pass=$(printf '%s\n' "${RESULTS[@]}" | grep -c '|PASS|' || true)
failn=$(printf '%s\n' "${RESULTS[@]}" | grep -c '|FAIL|' || true)
skipn=$(printf '%s\n' "${RESULTS[@]}" | grep -c '|SKIP|' || true)
echo "faults: $pass passed, $failn failed, $skipn skipped"
echo "faults: ${total}s (the build excluded)"
if [ "$FAILED" = 1 ]; then
    echo "server logs: echo stderr:"; tail -n 20 "$WORK/echo.err" || true
    echo "proxy stderr:"; tail -n 20 "$WORK/proxy.err" || true
    exit 1
fi
exit 0
