#!/usr/bin/env python3
"""Turns the raw results of benches/compare/run.sh into the comparison table and a bar chart.

The raw file has one line per measured value, tab-separated, after a header line:

    benchmark  metric  system  round  value

(`system` is netpoll, a peer (tokio, go), or a ceiling: `direct` for the proxy, `epoll` (a
hand-written C epoll loop) for echo and http_hello, `redis` (redis-server) for kv.) For every
benchmark and metric this prints each system's median and spread (min-max over the rounds),
netpoll's ratio to each peer, to the best peer and to the ceiling, and whether the issue's
target is met (ceilings are references, never targets); it writes the same table as Markdown
(--md) and the ratios as an SVG bar chart (--svg). Standard library only.

usage: report.py RAW [--md OUT.md] [--svg OUT.svg] [--title TEXT] [--note LINE]...
"""

import argparse
import html
import math
import statistics
import sys
from collections import OrderedDict, defaultdict

PEERS = ["tokio", "go"]
SYSTEMS = ["netpoll"] + PEERS
# What the machine allows, measured the same way: not peers to beat, references.
CEILINGS = ["direct", "epoll", "redis"]

# Metric name suffix -> (unit label, scale to that unit, higher is better).
UNITS = [
    ("_rps", ("req/s", 1.0, True)),
    ("_msgps", ("msg/s", 1.0, True)),
    ("_MBps", ("MB/s", 1.0, True)),
    ("_Gbps", ("Gbit/s", 1.0, True)),
    ("_p99_ms", ("ms", 1.0, False)),
    ("_p99_us", ("µs", 1.0, False)),
    ("_B", ("B", 1.0, False)),
    ("_conns", ("conns", 1.0, True)),
    ("_fds", ("fds", 1.0, False)),
]

# Throughput targets shared by kv, http_hello and echo: >= 1.15x tokio, >= Go; p99 <= tokio.
SERVER_TARGETS = {"tput": {"tokio": 1.15, "go": 1.0}, "p99": {"tokio": 1.0}}


def unit_of(metric):
    for suffix, info in UNITS:
        if metric.endswith(suffix) or metric == suffix[1:]:
            return info
    return ("", 1.0, True)


def target_of(bench, metric):
    """The issue's target for a metric: {peer: factor}, or None.

    For a higher-is-better metric the target is netpoll >= factor * peer; for a lower-is-better
    one, netpoll <= factor * peer.
    """
    _, _, higher = unit_of(metric)
    if bench in ("kv", "http_hello", "echo"):
        if unit_of(metric)[0] in ("req/s", "msg/s"):
            return SERVER_TARGETS["tput"]
        if unit_of(metric)[0] in ("ms", "µs"):
            return SERVER_TARGETS["p99"]
        return None
    if bench == "proxy" and unit_of(metric)[0] == "Gbit/s":
        return {"tokio": 1.5, "go": 1.0}
    if bench == "file_server" and metric == "64MiB_MBps":
        return {"tokio": 2.0, "go": 1.0}
    if bench == "idle" and metric == "rss_per_conn_B":
        return {"tokio": 1.0, "go": 0.25}
    if bench == "idle" and metric == "conns_held_conns":
        # Not one of the targets: a check that netpoll held as many as tokio did
        # (all of them, unless it ran out of fds).
        return {"tokio": 1.0}
    return None


def read_raw(path):
    """{(bench, metric): {system: [values]}} in first-seen order."""
    data = OrderedDict()
    with open(path) as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if n == 0 and parts[0] == "benchmark":
                continue
            if len(parts) != 5:
                continue
            bench, metric, system, _round, value = parts
            try:
                v = float(value)
            except ValueError:
                continue
            if math.isnan(v):
                continue
            data.setdefault((bench, metric), defaultdict(list))[system].append(v)
    return data


def fmt_num(v):
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.2f}G"
    if a >= 1e6:
        return f"{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_cell(values):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt_num(med)
    return f"{fmt_num(med)} ({fmt_num(min(values))}–{fmt_num(max(values))})"


def build_rows(data):
    """One dict per (bench, metric) with the cells of the table and the chart's ratios."""
    rows = []
    seen = {s for d in data.values() for s in d}
    extra = [c for c in CEILINGS if c in seen] + sorted(seen - set(SYSTEMS) - set(CEILINGS))
    for (bench, metric), by_sys in data.items():
        unit, _, higher = unit_of(metric)
        med = {s: statistics.median(v) for s, v in by_sys.items() if v}
        np = med.get("netpoll")
        ratios = {}
        for p in PEERS:
            if np is not None and med.get(p):
                ratios[p] = np / med[p]
        ceiling = next((c for c in CEILINGS if med.get(c)), None)
        ceiling_ratio = np / med[ceiling] if ceiling and np is not None else None
        present = [p for p in PEERS if p in med]
        best = None
        if present:
            best = (max if higher else min)(present, key=lambda p: med[p])
        target = target_of(bench, metric)
        verdicts = []
        met = None
        partial = False
        if target:
            met = True
            for p, factor in target.items():
                if p not in ratios:
                    verdicts.append(f"{p}: n/a")
                    partial = True
                    continue
                ok = ratios[p] >= factor if higher else ratios[p] <= factor
                met = met and ok
                sign = "≥" if higher else "≤"
                verdicts.append(f"{sign}{factor:g}×{p} {'yes' if ok else 'NO'}")
            if not any(p in ratios for p in target):
                met = None
        rows.append(
            {
                "bench": bench,
                "metric": metric,
                "unit": unit,
                "higher": higher,
                "cells": {s: fmt_cell(by_sys.get(s, [])) for s in SYSTEMS + extra},
                "rounds": max((len(v) for v in by_sys.values()), default=0),
                "ratios": ratios,
                "best": best,
                "best_ratio": ratios.get(best) if best else None,
                "ceiling": ceiling,
                "ceiling_ratio": ceiling_ratio,
                "target": target,
                "verdict": "; ".join(verdicts) if verdicts else "",
                "met": met,
                "partial": partial,
            }
        )
    return rows, extra


def table(rows, extra):
    header = (
        ["benchmark", "metric", "unit"]
        + SYSTEMS
        + extra
        + ["np/tokio", "np/go", "np/best peer", "np/ceiling", "target", "met"]
    )
    body = []
    for r in rows:
        fr = lambda p: f"{r['ratios'][p]:.2f}" if p in r["ratios"] else "-"
        best = f"{r['best_ratio']:.2f} ({r['best']})" if r["best_ratio"] is not None else "-"
        ceil = (
            f"{r['ceiling_ratio']:.2f} ({r['ceiling']})" if r["ceiling_ratio"] is not None else "-"
        )
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        if r["met"] and r["partial"]:
            met = "yes (partly n/a)"
        body.append(
            [r["bench"], r["metric"], r["unit"] + ("" if r["higher"] else " ↓")]
            + [r["cells"][s] for s in SYSTEMS + extra]
            + [fr("tokio"), fr("go"), best, ceil, r["verdict"] or "-", met]
        )
    return header, body


def text_table(header, body):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    return "\n".join(out)


def md_table(header, body):
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
    out += ["| " + " | ".join(esc(c) for c in b) + " |" for b in body]
    return "\n".join(out)


def advantage(r, peer):
    """How many times better netpoll is than `peer` on this row (> 1: netpoll is better)."""
    ratio = r["ratios"].get(peer)
    if ratio is None or ratio <= 0:
        return None
    return ratio if r["higher"] else 1.0 / ratio


def svg_chart(rows, title):
    """Horizontal bars, one row per metric that has a target: netpoll's advantage over each peer
    on a log scale (1 = parity; right of it netpoll is better), with the target marked."""
    shown = [r for r in rows if r["target"] and r["ratios"]]
    colors = {"tokio": "#d9822b", "go": "#2b8cd9"}
    lo, hi = 0.125, 8.0
    left, plot_w, right = 300, 520, 140
    bar_h, gap, row_pad = 12, 2, 12
    top = 84
    row_h = len(PEERS) * (bar_h + gap) + row_pad
    height = top + max(1, len(shown)) * row_h + 60
    width = left + plot_w + right

    def x_of(v):
        v = min(max(v, lo), hi)
        return left + (math.log2(v) - math.log2(lo)) / (math.log2(hi) - math.log2(lo)) * plot_w

    e = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        f"{e(title)}</text>",
        f'<text x="{width / 2}" y="42" text-anchor="middle" fill="#444">netpoll\'s advantage '
        "over each peer, medians of the rounds (throughput: netpoll/peer; latency, memory: "
        "peer/netpoll).</text>",
        f'<text x="{width / 2}" y="58" text-anchor="middle" fill="#444">Log scale: right of 1× '
        "netpoll is better. ▲ = the issue's target.</text>",
    ]
    for n in range(0, len(shown), 2):
        out.append(
            f'<rect x="10" y="{top + n * row_h - row_pad / 2:.1f}" width="{width - 20}" '
            f'height="{row_h}" fill="#f4f4f4"/>'
        )
    for v in (0.125, 0.25, 0.5, 1, 2, 4, 8):
        x = x_of(v)
        stroke = "#000" if v == 1 else "#ddd"
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 45}" stroke="{stroke}"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{height - 30}" text-anchor="middle" fill="#444">{v:g}×</text>'
        )
    y = top
    for r in shown:
        label = f"{r['bench']} {r['metric']}"
        mid = y + (len(PEERS) * (bar_h + gap)) / 2
        out.append(
            f'<text x="{left - 8}" y="{mid + 4:.1f}" text-anchor="end">{e(label)}</text>'
        )
        for i, p in enumerate(PEERS):
            by = y + i * (bar_h + gap)
            a = advantage(r, p)
            if a is None:
                out.append(
                    f'<text x="{x_of(1) + 4:.1f}" y="{by + bar_h - 2}" fill="#888">'
                    f"{p}: not run</text>"
                )
                continue
            x0, x1 = sorted((x_of(1), x_of(a)))
            out.append(
                f'<rect x="{x0:.1f}" y="{by}" width="{max(x1 - x0, 1):.1f}" height="{bar_h}" '
                f'fill="{colors[p]}"><title>{e(label)} vs {p}: {a:.2f}×</title></rect>'
            )
            tx = x_of(a) + (4 if a >= 1 else -4)
            anchor = "start" if a >= 1 else "end"
            out.append(
                f'<text x="{tx:.1f}" y="{by + bar_h - 2}" text-anchor="{anchor}" '
                f'font-size="10">{a:.2f}× {p}</text>'
            )
            factor = (r["target"] or {}).get(p)
            if factor:
                want = factor if r["higher"] else 1.0 / factor
                tx = x_of(want)
                out.append(
                    f'<path d="M{tx - 4:.1f},{by + bar_h + 1} L{tx + 4:.1f},{by + bar_h + 1} '
                    f'L{tx:.1f},{by + bar_h - 5} Z" fill="#000"><title>target {want:g}×'
                    "</title></path>"
                )
        y += row_h
    ly = height - 14
    lx = left
    for p in PEERS:
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colors[p]}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">vs {p}</text>')
        lx += 90
    if not shown:
        out.append(f'<text x="{left}" y="{top + 20}">no ratios to show</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw")
    ap.add_argument("--md")
    ap.add_argument("--svg")
    ap.add_argument("--title", default="netpoll vs tokio vs Go: example servers")
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args()

    data = read_raw(args.raw)
    rows, extra = build_rows(data)
    header, body = table(rows, extra)
    text = text_table(header, body)
    legend = (
        "Cells: median (min–max) over the rounds. ↓ = lower is better. np/X = netpoll median / "
        "X median, so above 1 is better for throughput and below 1 is better for ↓ metrics. "
        "best peer = the peer with the better median. np/ceiling = netpoll median / the "
        "ceiling's (direct, epoll, redis): how close netpoll comes to what the machine and the "
        "client allow."
    )
    print(text)
    print()
    print(legend)
    met = [r for r in rows if r["met"] is not None]
    summary = f"targets met: {sum(1 for r in met if r['met'])} of {len(met)}"
    partial = sum(1 for r in met if r["partial"])
    if partial:
        summary += f" ({partial} with a peer not measured)"
    print(summary)

    if args.md:
        md = [f"# {args.title}", ""]
        md += [f"- {n}" for n in args.note]
        md += ["", md_table(header, body), "", legend, "", summary, ""]
        if args.svg:
            md += [f"![ratios]({args.svg.rsplit('/', 1)[-1]})", ""]
        with open(args.md, "w") as f:
            f.write("\n".join(md))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg_chart(rows, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
