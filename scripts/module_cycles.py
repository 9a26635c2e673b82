#!/usr/bin/env python3
"""Module cycles inside each library crate (issue 21: dependencies should point one way inside a
crate, as they do between crates).

For every crate root given (a `src` folder), the nodes are its top-level modules (`src/foo.rs`
or `src/foo/`), and there is an edge a -> b when code of module a names `crate::b` (use
statements and paths alike). Comments and the test modules at the end of files
(`#[cfg(test)]`, `#[cfg(all(test, ...))]`) are left out. A cycle is a strongly connected set of
two or more modules.

  scripts/module_cycles.py                 print each crate's edges and cycles
  scripts/module_cycles.py --check FILE    exit 1 if a crate has a cycle that FILE does not
                                           allow: FILE lists one allowed cycle a line, as
                                           `crate: mod mod ...` (sorted); a cycle that shrank
                                           or split passes, one that grew fails. So the count
                                           can only go down; remove a line when its cycle is
                                           gone.
"""
import os
import re
import sys

CRATES = {
    "netpoll-runtime": "runtime/src",
    "netpoll-io": "io/src",
    "netpoll-net": "net/src",
    "netpoll": "src",
}
IGNORED = {"lib", "main", "loom", "trace", "macros"}  # the shim, tracing and macro plumbing
TEST_MOD = re.compile(r"^\s*#\[cfg\((all\()?test\b")


def code_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if TEST_MOD.match(line):
                break
            s = line.strip()
            if s.startswith("//"):
                continue
            out.append(line.split("//")[0] if "//" in line and '"' not in line else line)
    return "".join(out)


def graph(root):
    mods = set()
    for name in os.listdir(root):
        base = name[:-3] if name.endswith(".rs") else name
        if (name.endswith(".rs") or os.path.isdir(os.path.join(root, name))) and base not in IGNORED:
            mods.add(base)
    edges = {m: set() for m in mods}
    for dp, _dn, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dp, f)
            top = os.path.relpath(path, root).split(os.sep)[0]
            top = top[:-3] if top.endswith(".rs") else top
            if top not in mods:
                continue
            for m in re.finditer(r"\bcrate::([a-z_][a-z0-9_]*)", code_of(path)):
                t = m.group(1)
                if t in mods and t != top:
                    edges[top].add(t)
    return edges


def sccs(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    allowed = None
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        allowed = {}
        with open(sys.argv[2], encoding="utf-8") as f:
            for line in f:
                line = line.split("#")[0].strip()
                if line:
                    crate, mods = line.split(":", 1)
                    allowed.setdefault(crate.strip(), []).append(set(mods.split()))
    elif len(sys.argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    total = 0
    for crate, root in CRATES.items():
        edges = graph(root)
        cycles = sccs(edges)
        total += len(cycles)
        if allowed is None:
            print(f"{crate}:")
            for m in sorted(edges):
                if edges[m]:
                    print(f"  {m} -> {' '.join(sorted(edges[m]))}")
            for c in cycles:
                print(f"  CYCLE: {' '.join(c)}")
            continue
        for c in cycles:
            if not any(set(c) <= a for a in allowed.get(crate, [])):
                print(f"{crate}: new or larger module cycle: {' '.join(c)}")
                bad += 1
    if allowed is not None:
        print(f"module cycles: {total} (allowed by {sys.argv[2]}); {bad} not allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
