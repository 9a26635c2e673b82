#!/usr/bin/env bash
# Runs the netpoll-vs-tokio scheduler benchmarks and prints, per shape, both medians and the
# ratio netpoll/tokio (below 1: netpoll is faster). The same table goes to
# <target>/criterion/ratios.md as Markdown.
#
# Usage: bash benches/ratios.sh [extra criterion args, e.g. a filter like `spawn_many`]
# Env:   NETPOLL_BENCH_WORKERS (default 2), NETPOLL_BENCH_HANG_SECS (default 30),
#        CARGO_TARGET_DIR (default ./target).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

if ! command -v python3 >/dev/null 2>&1; then
    echo "ratios.sh: python3 is required to read criterion's estimates" >&2
    exit 1
fi

target_dir="${CARGO_TARGET_DIR:-target}"
crit_dir="$target_dir/criterion"
mkdir -p "$crit_dir"
marker="$crit_dir/.ratios-run-start"
log="$crit_dir/ratios-bench.log"
touch "$marker"

cargo bench --bench runtime -- --warm-up-time 1 --measurement-time 3 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "ratios.sh: cargo bench exited with status $status; tabulating what was measured" >&2
fi

python3 - "$crit_dir" "$marker" "$log" <<'PY'
import json
import os
import re
import sys

crit_dir, marker, log = sys.argv[1:4]
shapes = [
    "spawn_many_local",
    "spawn_many_remote",
    "yield_many",
    "ping_pong",
    "chained_spawn",
    "sleep_10k",
    "tcp_echo_64b",
]
run_start = os.path.getmtime(marker)

skipped = {}
try:
    with open(log, errors="replace") as f:
        for line in f:
            m = re.match(r"SKIPPED (\S+)/(netpoll|tokio): (.*)", line.strip())
            if m:
                skipped[(m.group(1), m.group(2))] = m.group(3)
except OSError:
    pass


def median_ns(shape, rt):
    """The median in ns, or None and a reason."""
    if (shape, rt) in skipped:
        return None, "skipped"
    path = os.path.join(crit_dir, shape, rt, "new", "estimates.json")
    try:
        if os.path.getmtime(path) < run_start:
            return None, "not run"
        with open(path) as f:
            return float(json.load(f)["median"]["point_estimate"]), None
    except (OSError, KeyError, ValueError):
        return None, "not run"


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if ns >= scale or unit == "ns":
            v = ns / scale
            digits = 0 if v >= 100 else 1 if v >= 10 else 2
            return f"{v:.{digits}f} {unit}"


rows = []
for shape in shapes:
    np_ns, np_why = median_ns(shape, "netpoll")
    tk_ns, tk_why = median_ns(shape, "tokio")
    np_s = fmt_time(np_ns) if np_ns is not None else np_why
    tk_s = fmt_time(tk_ns) if tk_ns is not None else tk_why
    ratio = f"{np_ns / tk_ns:.2f}" if np_ns is not None and tk_ns else "-"
    rows.append((shape, np_s, tk_s, ratio))

header = ("shape", "netpoll median", "tokio median", "netpoll/tokio")
widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]


def line(r):
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
    )


print()
print(line(header))
print("  ".join("-" * w for w in widths))
for r in rows:
    print(line(r))
print("\nratio = netpoll median / tokio median; below 1 means netpoll is faster.")
for (shape, rt), why in sorted(skipped.items()):
    print(f"skipped {shape}/{rt}: {why}")

workers = os.environ.get("NETPOLL_BENCH_WORKERS", "2")
md = [
    f"Medians from one `cargo bench --bench runtime` run; {workers} worker threads per "
    f"runtime, {os.cpu_count()} CPUs. Ratio = netpoll / tokio (lower is better for netpoll).",
    "",
    "| " + " | ".join(header) + " |",
    "|---|---:|---:|---:|",
]
md += ["| " + " | ".join(r) + " |" for r in rows]
for (shape, rt), why in sorted(skipped.items()):
    md.append("")
    md.append(f"- skipped `{shape}/{rt}`: {why}")
out = os.path.join(crit_dir, "ratios.md")
with open(out, "w") as f:
    f.write("\n".join(md) + "\n")
print(f"written: {out}")
PY

exit "$status"
