#!/usr/bin/env python3
"""Compare tokio's public API with netpoll's, as listed by cargo-public-api.

Driven by scripts/tokio-parity.sh, which runs cargo-public-api and then calls:

    tokio_parity.py crates   --metadata META.json
        prints the workspace library crates that the facade re-exports from (package names,
        one a line), so that the shell script can list each of their APIs too.
    tokio_parity.py report   --out-dir DIR --doc-dir DIR --facade netpoll --intended FILE
                             --tokio-version V --tool-version V --rustdoc-version V
                             --output docs/tokio-parity.md
        reads DIR/tokio.txt, DIR/<crate>.txt (cargo-public-api output) and DOC_DIR/<crate>.json
        (the rustdoc JSON that cargo-public-api left behind) and writes the report.

Why the JSON: rustdoc JSON does not inline items that one crate re-exports from another, so
cargo-public-api prints the facade's `pub use netpoll_io::*` as one line and prints the sub-crates'
types in signatures by their defining paths (`netpoll_io::traits::AsyncRead`). The JSON tells
which facade path each re-export mounts and which public path each defining path has; with that
the sub-crates' listings are rewritten into the listing that the facade would have if rustdoc
inlined them.

Standard library only; the output is sorted, so an unchanged tree gives an identical file.
"""

import argparse
import fnmatch
import json
import os
import re
import sys
from collections import defaultdict

PLACEHOLDER = "CRATE"
ELIDED = "…"

# --------------------------------------------------------------------------------------------
# Small text helpers


def match_close(s, i):
    """s[i] is an opening bracket; return the index just past its matching close.

    Counts <>, (), [] together, and does not take the '>' of '->' for a closing angle."""
    depth = 0
    n = len(s)
    j = i
    while j < n:
        c = s[j]
        if c in "<([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ">" and not (j > 0 and s[j - 1] == "-"):
            depth -= 1
        if depth == 0:
            return j + 1
        j += 1
    return n


def find_top(s, sep, start=0):
    """Index of the first occurrence of sep in s outside any brackets, or -1."""
    depth = 0
    j = start
    n = len(s)
    while j < n:
        c = s[j]
        if depth == 0 and s.startswith(sep, j):
            return j
        if c in "<([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ">" and not (j > 0 and s[j - 1] == "-"):
            depth -= 1
        j += 1
    return -1


def strip_generics(s):
    """'a::B<T>::c<U>' -> 'a::B::c' (drops every bracketed <...> group)."""
    out = []
    i = 0
    n = len(s)
    while i < n:
        if s[i] == "<" and not (i > 0 and s[i - 1] == "-"):
            i = match_close(s, i)
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def strip_attrs(line):
    """Split leading '#[...] ' attributes off a line: (attrs, rest)."""
    attrs = []
    rest = line
    while rest.startswith("#["):
        end = match_close(rest, 1)
        attrs.append(rest[:end])
        rest = rest[end:].lstrip()
    return attrs, rest


IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")
QUALIFIERS = ("const ", "async ", "unsafe ", "auto ", "safe ")
KINDS = ("mod", "struct", "enum", "union", "trait", "fn", "type", "const", "static", "use", "macro")


def scan_path(s):
    """Read an item path at the start of s: 'a::b::C<T>::d' (generics allowed between segments),
    'a::#[main]' (proc macros), 'a::m!' (macros). Returns (path_text, rest) or (None, s)."""
    i = 0
    n = len(s)
    segs = 0
    while i < n:
        if s.startswith("#[", i):
            i = match_close(s, i + 1)
            segs += 1
        else:
            m = IDENT.match(s, i)
            if not m:
                break
            i = m.end()
            segs += 1
            if i < n and s[i] == "<":
                i = match_close(s, i)
        if s.startswith("::", i) and i + 2 < n and (s[i + 2] == "#" or IDENT.match(s, i + 2)):
            i += 2
            continue
        if i < n and s[i] == "!":
            i += 1
        break
    if segs == 0:
        return None, s
    return s[:i], s[i:]


def parse_decl(line):
    """A non-impl line: (kind, text_after_kind) where text_after_kind starts with the path."""
    _, rest = strip_attrs(line)
    if rest.startswith("pub "):
        rest = rest[4:]
    kind = None
    while True:
        if rest.startswith("proc macro "):
            kind = "proc macro"
            rest = rest[len("proc macro "):]
            break
        if rest.startswith('extern "'):
            end = rest.index('"', 8)
            rest = rest[end + 1:].lstrip()
            continue
        progressed = False
        for q in QUALIFIERS:
            if rest.startswith(q):
                after = rest[len(q):]
                # 'const NAME: T' is a const; 'const fn' / 'const unsafe fn' is a qualifier.
                if q == "const " and not any(after.startswith(k + " ") for k in ("fn", "unsafe", "async", "extern")):
                    break
                rest = after
                progressed = True
                break
        if not progressed:
            break
    if kind is None:
        for k in KINDS:
            if rest.startswith(k + " "):
                kind = k
                rest = rest[len(k) + 1:]
                break
    if kind is None:
        kind = "field"  # struct field or enum variant: 'pub a::B::field: T', 'pub a::E::V(u8)'
    return kind, rest


def parse_impl_header(line):
    """'impl<G> Trait for Self where ...' -> (trait or None, self_text)."""
    _, rest = strip_attrs(line)
    if rest.startswith("unsafe "):
        rest = rest[7:]
    assert rest.startswith("impl"), line
    rest = rest[4:]
    if rest.startswith("<"):
        rest = rest[match_close(rest, 0):]
    rest = rest.strip()
    w = find_top(rest, " where ")
    head = rest if w < 0 else rest[:w]
    f = find_top(head, " for ")
    if f < 0:
        return None, head.strip()
    return head[:f].strip(), head[f + 5:].strip()


def is_impl_line(line):
    _, rest = strip_attrs(line)
    return rest.startswith("impl") and (len(rest) == 4 or rest[4] in " <") or rest.startswith("unsafe impl")


def type_key(t):
    """Key for a self type: paths lose their generic arguments, other types stay as written."""
    if IDENT.match(t) and not t.startswith(("dyn ", "impl ")):
        p, rest = scan_path(t)
        if p is not None and rest == "":
            return strip_generics(p)
    return t


# --------------------------------------------------------------------------------------------
# cargo-public-api listings -> items


# Impls of these are left out on both sides, written or not: cargo-public-api omits the compiler's
# auto-trait impls (-ss), so an explicit `unsafe impl Send` or pin-project's `impl Unpin` on one side
# has nothing to be compared with; StructuralPartialEq is the compiler's marker for derive(PartialEq).
AUTO_TRAITS = {
    "core::marker::Send", "core::marker::Sync", "core::marker::Unpin", "core::marker::Freeze",
    "core::panic::unwind_safe::UnwindSafe", "core::panic::unwind_safe::RefUnwindSafe",
    "std::panic::UnwindSafe", "std::panic::RefUnwindSafe", "core::marker::StructuralPartialEq",
}


class Item:
    """One public-API item. key: identity (path without generic arguments); sig: what must be
    equal for 'present'; ctx: the inherent impl header a method sits in (compared too)."""

    __slots__ = ("kind", "key", "sig", "ctx", "owner", "assoc", "trait", "self_text", "alias_to")

    def __init__(self, kind, key, sig, ctx="", owner=None):
        self.kind = kind
        self.key = key
        self.sig = sig
        self.ctx = ctx
        self.owner = owner
        self.assoc = []
        self.trait = None
        self.self_text = None
        self.alias_to = None

    def full_sig(self):
        """The signature as shown: the line, the assoc items of a trait impl, the impl header."""
        s = self.sig
        if self.assoc:
            s += " { " + "; ".join(sorted(self.assoc)) + " }"
        if self.ctx:
            s += "   [in " + self.ctx + "]"
        return s


def parse_listing(lines, owner=None):
    """Group cargo-public-api's lines into Items. Methods of inherent impls become items of their
    own (key 'Type::method'); a trait impl is one item (key 'Type::{impl Trait}') whose signature is
    its header plus its associated types and consts (its fns are the trait's, so they are skipped)."""
    items = []
    cur = None  # (impl item or None for inherent, header, self_text)
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        if is_impl_line(line):
            trait, self_text = parse_impl_header(line)
            if trait is not None and strip_generics(trait.lstrip("!")) in AUTO_TRAITS:
                cur = ("skip", line, self_text)
                continue
            if trait is None:
                cur = (None, line, self_text)
            else:
                it = Item("impl", type_key(self_text) + "::{impl " + trait + "}", line, owner=owner)
                it.trait = trait
                it.self_text = self_text
                items.append(it)
                cur = (it, line, self_text)
            continue
        kind, rest = parse_decl(line)
        if cur is not None and kind in ("fn", "type", "const") and rest.startswith(cur[2] + "::"):
            tail = rest[len(cur[2]) + 2:]
            m = IDENT.match(tail)
            name = m.group(0) if m else tail
            impl_item, header, self_text = cur
            if impl_item == "skip":
                continue
            if impl_item is None:
                items.append(Item(kind, type_key(self_text) + "::" + name, line, ctx=header, owner=owner))
            elif kind in ("type", "const"):
                impl_item.assoc.append(kind + " " + name + tail[len(name):])
            continue
        cur = None
        path, after = scan_path(rest)
        if path is None:
            key = line
        else:
            key = strip_generics(path).rstrip("!")
        it = Item(kind, key, line, owner=owner)
        if kind == "type" and path is not None and after.startswith(" = "):
            target = after[3:]
            tp, _ = scan_path(target)
            if tp is not None:
                it.alias_to = (strip_generics(tp), target)
        items.append(it)
        if kind in ("struct", "enum", "union", "trait", "type"):
            owner = key  # the impls listed next belong to this type or trait
    return items


# --------------------------------------------------------------------------------------------
# rustdoc JSON: public paths, defining paths and cross-crate re-exports of the workspace crates


class CrateJson:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        self.index = d["index"]
        self.paths = d["paths"]
        self.external = d["external_crates"]
        root = self.index[str(d["root"])]
        self.name = root["name"]
        self.pub_paths = defaultdict(set)  # local id -> {public path tuples}
        self.ext_uses = []  # (use site path tuple, target id, is_glob)
        self._walk(str(d["root"]), (self.name,), set())

    def _record(self, iid, path):
        self.pub_paths[iid].add(path)

    def _walk(self, mod_id, prefix, seen):
        if (mod_id, prefix) in seen:
            return
        seen.add((mod_id, prefix))
        self._record(mod_id, prefix)
        mod = self.index[mod_id]["inner"].get("module")
        if mod is None:
            return
        for raw in mod["items"]:
            iid = str(raw)
            it = self.index.get(iid)
            if it is None or it.get("visibility") != "public":
                continue
            inner = it["inner"]
            if "use" in inner:
                u = inner["use"]
                tid = None if u["id"] is None else str(u["id"])
                if tid is not None and tid in self.index:
                    if u["is_glob"]:
                        if "module" in self.index[tid]["inner"]:
                            self._walk(tid, prefix, seen)
                    elif "module" in self.index[tid]["inner"]:
                        self._walk(tid, prefix + (u["name"],), seen)
                    else:
                        self._record(tid, prefix + (u["name"],))
                elif tid is not None:
                    site = prefix if u["is_glob"] else prefix + (u["name"],)
                    self.ext_uses.append((site, tid, u["is_glob"]))
                continue
            name = it.get("name")
            if name is None:
                continue
            if "module" in inner:
                self._walk(iid, prefix + (name,), seen)
            else:
                self._record(iid, prefix + (name,))

    def target(self, tid):
        """An external id -> (crate name, defining path tuple, kind) or None."""
        p = self.paths.get(tid)
        if p is None:
            return None
        crate = self.external.get(str(p["crate_id"]), {}).get("name")
        return crate, tuple(p["path"]), p.get("kind")

    def def_path(self, iid):
        p = self.paths.get(iid)
        if p is None or p["crate_id"] != 0:
            return None
        return tuple(p["path"])


def canon(paths):
    return min(paths, key=lambda p: (len(p), p))


class Workspace:
    """The facade and the workspace crates it re-exports from."""

    def __init__(self, doc_dir, facade, crates, prefer=()):
        self.facade = facade
        self.prefer = set(prefer)  # facade path tuples that tokio has (spelled with the facade name)
        self.crates = {}
        for c in [facade] + crates:
            cj = CrateJson(os.path.join(doc_dir, c + ".json"))
            self.crates[cj.name] = cj
        # (crate, path tuple) -> local id, for public and defining paths alike.
        self.by_path = {}
        for cname, cj in self.crates.items():
            for iid, ps in cj.pub_paths.items():
                for p in ps:
                    self.by_path.setdefault(p, (cname, iid))
            for iid in cj.index:
                dp = cj.def_path(iid)
                if dp is not None:
                    self.by_path.setdefault(dp, (cname, iid))
        self.mounts = set()  # (facade path, crate, crate path)
        self.dropped_uses = defaultdict(set)  # crate -> use-site paths replaced by mounts
        self._mount((facade,), facade, (facade,))
        self.facade_paths = defaultdict(set)  # (crate, id) -> facade path tuples
        for (fpath, cname, cpath) in self.mounts:
            cj = self.crates[cname]
            for iid, ps in cj.pub_paths.items():
                for p in ps:
                    if p[: len(cpath)] == cpath:
                        self.facade_paths[(cname, iid)].add(fpath + p[len(cpath):])

    def _mount(self, fpath, cname, cpath):
        key = (fpath, cname, cpath)
        if key in self.mounts:
            return
        self.mounts.add(key)
        cj = self.crates[cname]
        for site, tid, is_glob in cj.ext_uses:
            if site[: len(cpath)] != cpath:
                continue
            t = cj.target(tid)
            if t is None or t[0] not in self.crates or t[0] == cname:
                continue
            tcrate, tdef, tkind = t
            if tkind and tkind.startswith("proc_"):
                continue  # a proc macro stays a `pub use` line, as tokio's `pub use tokio::main`
            hit = self.by_path.get(tdef)
            if hit is None or hit[0] != tcrate:
                continue
            tpub = self.crates[tcrate].pub_paths.get(hit[1])
            if not tpub:
                continue
            self.dropped_uses[cname].add((site, is_glob))
            self._mount(fpath + site[len(cpath):], tcrate, canon(tpub))

    def facade_blocks(self, listings):
        """listings: crate -> lines. Returns the facade's listing as blocks (an item line, or an impl
        header with its member lines), each as (owner path, lines), with every mount expanded and
        every workspace path rewritten to its facade path; sorted and without duplicates."""
        token = re.compile(r"\b(" + "|".join(sorted(map(re.escape, self.crates), key=len, reverse=True))
                           + r")((?:::(?:r#)?[A-Za-z_][A-Za-z0-9_]*)*)")
        out = set()
        for (fpath, cname, cpath) in sorted(self.mounts):
            dropped = self.dropped_uses[cname]
            for anchor, block in _blocks(listings[cname]):
                if anchor is None or anchor[: len(cpath)] != cpath:
                    continue
                first = block[0]
                if not is_impl_line(first):
                    kind, rest = parse_decl(first)
                    if kind == "use":
                        if "::<<" in rest:
                            site = tuple(rest.split("::<<")[0].split("::"))
                            if (site, True) in dropped:
                                continue
                        elif (anchor, False) in dropped:
                            continue
                owner = "::".join(fpath + anchor[len(cpath):])
                lines = tuple(self._rewrite(l, token, fpath, cpath) for l in block)
                out.add((owner, lines))
                if len(block) == 1 and not is_impl_line(first):
                    # An item that tokio has at several paths (`tokio::spawn` and
                    # `tokio::task::spawn`) and netpoll re-exports at each: one line per path.
                    for path in self._also_at(anchor, fpath):
                        out.add((path, (lines[0].replace(owner, path, 1),)))
        return sorted(out)

    def _also_at(self, anchor, fpath):
        """The facade paths that tokio has for the item at crate path `anchor`, other than the
        one `_pick` chose, spelled as strings."""
        hit = self.by_path.get(anchor)
        fps = self.facade_paths.get(hit) if hit else None
        if not fps:
            return []
        known = sorted(p for p in fps if p in self.prefer)
        if len(known) < 2:
            return []
        chosen = self._pick(fps, fpath)
        return ["::".join(p) for p in known if p != chosen]

    def _rewrite(self, line, token, fpath, cpath):
        def sub(m):
            segs = (m.group(1),) + tuple(s for s in m.group(2).split("::") if s)
            for n in range(len(segs), 0, -1):
                hit = self.by_path.get(segs[:n])
                if hit is None:
                    continue
                fps = self.facade_paths.get(hit)
                if fps:
                    return "::".join(self._pick(fps, fpath) + segs[n:])
                break
            if segs[: len(cpath)] == cpath:
                return "::".join(fpath + segs[len(cpath):])
            return m.group(0)

        return token.sub(sub, line)

    def _pick(self, fps, fpath):
        """Of the facade paths of one item: the one tokio has (so that an item re-exported at two
        paths is compared at tokio's), else one under the mount being expanded, else the shortest."""
        known = [p for p in fps if p in self.prefer]
        if known:
            return canon(known)
        here = [p for p in fps if p[: len(fpath)] == fpath]
        return canon(here or fps)


def _blocks(lines):
    """Split a listing into blocks: an item line, or an impl header with its member lines, each
    with the anchor path tuple it is listed under (the item itself, or the type or trait that the
    impl is listed after)."""
    blocks = []  # [anchor, lines, self_text]
    owner = None
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        if is_impl_line(line):
            _, self_text = parse_impl_header(line)
            blocks.append([owner, [line], self_text])
            continue
        kind, rest = parse_decl(line)
        if (blocks and blocks[-1][2] is not None and kind in ("fn", "type", "const")
                and rest.startswith(blocks[-1][2] + "::")):
            blocks[-1][1].append(line)
            continue
        path, _ = scan_path(rest)
        anchor = tuple(strip_generics(path).rstrip("!").split("::")) if path is not None else None
        blocks.append([anchor, [line], None])
        if kind in ("struct", "enum", "union", "trait", "type"):
            owner = anchor
    return [(a, b) for a, b, _ in blocks]


def module_of(key, owner, top_modules):
    for k in (key, owner or ""):
        if k.startswith(PLACEHOLDER + "::"):
            seg = re.split(r"[<!(:{ \[#]", k[len(PLACEHOLDER) + 2:])[0]
            return seg if seg in top_modules else "(root)"
    m = re.search(r"\b" + PLACEHOLDER + r"::([A-Za-z_0-9]+)", key)
    if m and m.group(1) in top_modules:
        return m.group(1)
    return "(root)"


# --------------------------------------------------------------------------------------------


def normalise(text, crate):
    """tokio::x / netpoll::x -> CRATE::x (and the crate's own `pub mod tokio` line)."""
    return re.sub(r"(?<![\w:])" + re.escape(crate) + r"(?=::|$)", PLACEHOLDER, text)


PATH_IN_SIG = re.compile(re.escape(PLACEHOLDER) + r"((?:::(?:r#)?[A-Za-z_][A-Za-z0-9_]*)+)")


def collapse(text, public):
    """Paths to items that tokio does not export by name (its futures live in private modules,
    e.g. tokio::io::util::read::Read) are compared by their last segment: '…::Read'.

    public: tokio's item paths -> True for modules, False for other items."""

    def sub(m):
        segs = (PLACEHOLDER + m.group(1)).split("::")
        for n in range(len(segs), 0, -1):
            p = "::".join(segs[:n])
            if p not in public:
                continue
            if n == len(segs):
                return m.group(0)
            if n == len(segs) - 1 and not public[p]:
                return m.group(0)  # a type or trait, then one of its members
            break
        if len(segs) <= 2:
            return m.group(0)
        return ELIDED + "::" + segs[-1]

    return PATH_IN_SIG.sub(sub, text)


class Side:
    def __init__(self, items, crate):
        self.by_key = defaultdict(list)
        self.crate = crate
        seen = set()
        for it in items:
            if (it.key, it.full_sig()) in seen:
                continue  # listed twice (under the type and under the trait)
            seen.add((it.key, it.full_sig()))
            it.key = normalise(it.key, crate)
            it.owner = normalise(it.owner, crate) if it.owner else None
            if it.alias_to:
                it.alias_to = (normalise(it.alias_to[0], crate), normalise(it.alias_to[1], crate))
            self.by_key[it.key].append(it)
        self.aliases = {k: v[0].alias_to for k, v in self.by_key.items()
                        if len(v) == 1 and v[0].alias_to is not None}

    def _params(self, key):
        """The generic parameter names a struct/enum/trait line declares."""
        for it in self.by_key.get(key, []):
            if it.kind in ("struct", "enum", "union", "trait", "type"):
                _, rest = parse_decl(normalise(it.sig, self.crate))
                path, _ = scan_path(rest)
                g = _last_segment_generics(path or "")
                if g is None:
                    return []
                names = []
                for p in _split_top(path[g[0] + 1:g[1] - 1], ", "):
                    m = re.match(r"(?:const )?('?[A-Za-z_][A-Za-z0-9_]*)", p.strip())
                    if m:
                        names.append(m.group(1))
                return names
        return []

    def _target_args(self, a):
        target = self.aliases[a][1]
        path, _ = scan_path(target)
        g = _last_segment_generics(path or "")
        return [] if g is None else [x.strip() for x in _split_top(path[g[0] + 1:g[1] - 1], ", ")]

    def alias_params(self, a):
        """For `type A = B<X, Y>`: {B's parameter: argument}, lifetimes left out."""
        b = self.aliases[a][0]
        return {p: x for p, x in zip(self._params(b), self._target_args(a)) if not p.startswith("'")}

    def reverse_aliases(self, public):
        """(text, alias) pairs: netpoll's `B<X>` written as its alias A when tokio has A, for
        parameterless aliases (`split::ReuniteError<TcpStream>` -> `tcp::ReuniteError`)."""
        out = []
        for a, (b, target) in sorted(self.aliases.items()):
            if a not in public:
                continue
            _, rest = parse_decl(normalise(self.by_key[a][0].sig, self.crate))
            path, _ = scan_path(rest)
            if path is not None and _last_segment_generics(path) is not None:
                continue
            t = collapse(drop_lifetimes(target), public)
            if re.fullmatch(r"[a-z][a-z0-9]*", t):
                # An alias of a primitive (`uid_t = u32`) must not turn every `u32` into it.
                continue
            out.append((t, a))
        return sorted(out, key=lambda x: -len(x[0]))


def cmp_form(it, crate, public, alias=None, collect=None, reverse_aliases=()):
    """The text that must be equal for 'present': the item's line, its trait impl's associated
    items and its inherent impl header, normalised so that spelling that does not change the API
    compares equal: generic parameters are renamed by position (T/F -> G1), bounds written inline
    or in a where clause become one sorted where clause, the impl's self type is written Self, and
    paths that tokio does not export are elided (see collapse)."""
    rename = {}
    ctx = normalise(it.ctx, crate) if it.ctx else ""
    sig = normalise(it.sig, crate)
    assoc = [normalise(a, crate) for a in it.assoc]
    if alias is not None:
        # Compared through a type alias A = B<..>: write B<..> as A and leave out the inherent impl
        # header and the impl's generics, which the alias instantiates.
        a, b, subst = alias
        sig = _replace_generic_path(sig, b, a)
        assoc = [_replace_generic_path(x, b, a) for x in assoc]
        # the alias target's own parameters are the alias's arguments (S -> TcpStream)
        sig = apply_rename(sig, subst)
        assoc = [apply_rename(x, subst) for x in assoc]
        ctx = ""
        if it.kind == "impl":
            sig = _strip_impl_generics(sig)
    self_text = None
    if ctx:
        ctx = canon_generics(ctx, rename, collect)
        self_text = parse_impl_header(ctx)[1]
    sig = canon_generics(sig, rename, collect)
    if it.kind == "impl":
        self_text = parse_impl_header(sig)[1]
    assoc = [apply_rename(x, rename) for x in assoc]
    if self_text and self_text != "Self":
        pat = re.compile(re.escape(self_text) + r"(?![\w<])")
        if ctx:
            sig = pat.sub("Self", sig)
        assoc = [pat.sub("Self", x) for x in assoc]
    s = sig
    if assoc:
        s += " { " + "; ".join(sorted(assoc)) + " }"
    if ctx:
        s += "   [in " + ctx + "]"
    s = collapse(s, public)
    # A bare capitalised name that is not a generic parameter: a path rustdoc could not name (tokio's
    # ReadU8<&mut Self>, from a private module); compared like an elided path.
    s = re.sub(r"(?<![\w:'…])([A-Z][A-Za-z0-9_]*)\b(?!::)",
               lambda m: m.group(0) if m.group(1) in ("Self", PLACEHOLDER) or re.fullmatch(r"G\d+", m.group(1))
               else ELIDED + "::" + m.group(1), s)
    s = _drop_elided_args(s)
    s = drop_lifetimes(s)
    s = re.sub(r"#\[repr\([^\]]*\)\] ", "", s)  # layout is not part of what a caller can use
    for pat, repl in reverse_aliases:
        s = s.replace(pat, repl)
    # a tuple struct whose fields are all private is a struct with private fields
    s = re.sub(r"^((?:#\[[^\]]*\] )*pub struct [^(]*)\((?:_(?:, )?)+\)$", r"\1", s)
    if collect is not None:
        s = re.sub(r"\bpub const fn ", "pub fn ", s)
        # A method taking `&self` accepts every caller of one taking `&mut self`: the receiver
        # kind is compared as a pseudo-bound, so `&self` for tokio's `&mut self` is compatible
        # and the other way round is not.
        if re.search(r"\(&mut self\b", s):
            collect.append("self: &mut")
            s = re.sub(r"\(&mut self\b", "(&self", s)
        collect[:] = [collapse(b, public) for b in collect]
    return s


def _looser(tokio_bounds, net_bounds):
    """netpoll's bounds accept every type tokio's accept: its bounds are a subset of tokio's, and
    every `?Sized` tokio grants (and does not take back with `T: Sized`) netpoll grants too."""
    def relax(b):
        return ": ?" in b
    tpos = {b for b in tokio_bounds if not relax(b)}
    npos = {b for b in net_bounds if not relax(b)}
    sized = {b.split(": ")[0] for b in tpos if b.endswith(": core::marker::Sized")}
    trel = {b for b in tokio_bounds if relax(b) and b.split(": ")[0] not in sized}
    nrel = {b for b in net_bounds if relax(b)}
    return npos <= tpos and trel <= nrel


def cmp_forms(it, crate, public, alias=None, reverse_aliases=()):
    """(strict form, relaxed form, bounds): the relaxed form has no where clauses and no `const`
    on fns; netpoll's item is 'compatible' when the relaxed forms are equal and its bounds are a
    subset of tokio's."""
    strict = cmp_form(it, crate, public, alias, None, reverse_aliases)
    bounds = []
    relaxed = cmp_form(it, crate, public, alias, bounds, reverse_aliases)
    return strict, relaxed, frozenset(bounds)


def _strip_impl_generics(line):
    attrs, rest = strip_attrs(line)
    if rest.startswith("impl<"):
        rest = "impl" + rest[match_close(rest, 4):]
    w = find_top(rest, " where ")
    if w >= 0:
        rest = rest[:w]
    return " ".join(attrs + [rest])


def _drop_elided_args(s):
    """'…::Read<'a, Self>' -> '…::Read': a type the user cannot name is compared by
    name alone."""
    out = []
    i = 0
    for m in re.finditer(re.escape(ELIDED) + r"::[A-Za-z_][A-Za-z0-9_]*", s):
        if m.start() < i:
            continue
        out.append(s[i:m.end()])
        i = m.end()
        if i < len(s) and s[i] == "<":
            i = match_close(s, i)
    out.append(s[i:])
    return "".join(out)


def _split_top(s, sep):
    parts = []
    while True:
        j = find_top(s, sep)
        if j < 0:
            parts.append(s)
            return parts
        parts.append(s[:j])
        s = s[j + len(sep):]


def _last_segment_generics(path):
    """(start, end) of the <...> that ends the last segment of a path, or None."""
    if not path.endswith(">"):
        return None
    depth = 0
    seg = 0
    i = 0
    while i < len(path):
        c = path[i]
        if c == "<":
            depth += 1
        elif c == ">" and not (i > 0 and path[i - 1] == "-"):
            depth -= 1
        elif depth == 0 and path.startswith("::", i):
            seg = i + 2
            i += 2
            continue
        i += 1
    j = path.find("<", seg)
    return (j, len(path)) if j >= 0 else None


def apply_rename(s, rename):
    if not rename:
        return s
    names = sorted(rename, key=len, reverse=True)
    pat = re.compile(r"(?<![\w:'])(" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
    return pat.sub(lambda m: rename[m.group(1)], s)


def canon_generics(line, rename, collect=None):
    """Rename the generic parameters a line declares (an impl header's, or those of the item's
    last path segment) by position, and move all bounds into one sorted where clause."""
    attrs, body = strip_attrs(line)
    gspan = None
    if is_impl_line(body):
        k = body.index("impl") + 4
        if body.startswith("<", k):
            gspan = (k, match_close(body, k))
    else:
        _, rest = parse_decl(body)
        off = len(body) - len(rest)
        path, _ = scan_path(rest)
        if path is not None:
            g = _last_segment_generics(path)
            if g is not None:
                gspan = (off + g[0], off + g[1])
    w = find_top(body, " where ", gspan[1] if gspan else 0)
    head, where = (body, "") if w < 0 else (body[:w], body[w + 7:])
    # a where clause ends before a trait's body or a '{' (not present in listings) - keep all
    names = []
    bounds = []
    if gspan is not None:
        for p in _split_top(head[gspan[0] + 1:gspan[1] - 1], ", "):
            p = p.strip()
            if not p:
                continue
            if p.startswith("const "):
                m = IDENT.match(p, 6)
                name = m.group(0) if m else p
                if name not in rename:
                    rename[name] = "C%d" % (1 + sum(1 for v in rename.values() if v.startswith("C")))
                names.append(("const", name, p))
                continue
            m = re.match(r"'[A-Za-z_][A-Za-z0-9_]*|" + IDENT.pattern, p)
            name = m.group(0)
            tail = p[len(name):]
            if name.startswith("'"):
                continue  # lifetimes are not compared (see drop_lifetimes)
            if name not in rename:
                rename[name] = "G%d" % (1 + sum(1 for v in rename.values() if v.startswith("G")))
            default = ""
            d = find_top(tail, " = ")
            if d >= 0:
                tail, default = tail[:d], tail[d:]
            names.append(("param", name, default))
            if tail.startswith(": "):
                for b in _split_top(tail[2:], " + "):
                    bounds.append((name, b.strip()))
    if where:
        for entry in _split_top(where, ", "):
            c = find_top(entry, ": ")
            if c < 0:
                bounds.append((entry.strip(), ""))
                continue
            lhs = entry[:c].strip()
            for b in _split_top(entry[c + 2:], " + "):
                bounds.append((lhs, b.strip()))
    if gspan is not None:
        parts = []
        for kind, name, extra in names:
            if kind == "const":
                parts.append(apply_rename(extra, rename))
            else:
                parts.append(apply_rename(name, rename) + apply_rename(extra, rename))
        head = head[:gspan[0]] + ("<" + ", ".join(parts) + ">" if parts else "") + head[gspan[1]:]
    head = apply_rename(head, rename)
    out = head
    bs = sorted({apply_rename(l, rename) + (": " + apply_rename(b, rename) if b else "")
                 for l, b in bounds if not (_is_lifetime(l) or _is_lifetime(b))})
    if collect is not None:
        collect.extend(drop_lifetimes(b) for b in bs)
    elif bs:
        out += " where " + ", ".join(bs)
    return " ".join(attrs + [out])


def _is_lifetime(s):
    return s.startswith("'") and s != "'static"


LIFETIME = r"'(?!static\b)[A-Za-z_][A-Za-z0-9_]*"


def drop_lifetimes(s):
    """Lifetimes other than 'static are not compared: `fn f<'a>(&'a self) -> G<'a>` and
    `fn f(&self) -> G<'_>` are the same API for a caller."""
    s = re.sub(r"&" + LIFETIME + r" ", "&", s)
    s = re.sub(r" \+ " + LIFETIME + r"\b", "", s)
    s = re.sub(r"<" + LIFETIME + r">", "", s)
    s = re.sub(r"(?<=[<(, ])" + LIFETIME + r", ", "", s)
    s = re.sub(r", " + LIFETIME + r"(?=[>,)])", "", s)
    return s


def _replace_generic_path(text, path, repl):
    out = []
    i = 0
    while True:
        j = text.find(path, i)
        if j < 0:
            out.append(text[i:])
            break
        k = j + len(path)
        if k < len(text) and (text[k].isalnum() or text[k] == "_"):
            out.append(text[i:k])
            i = k
            continue
        out.append(text[i:j])
        out.append(repl)
        if k < len(text) and text[k] == "<":
            k = match_close(text, k)
        i = k
    return "".join(out)


def load_intended(path):
    entries = []
    if not path or not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            for sep in (" — ", " -- "):
                if sep in line:
                    pat, reason = line.split(sep, 1)
                    break
            else:
                pat, reason = line, ""
            pat = pat.strip().strip("`")
            entries.append((normalise(pat, "tokio"), pat, reason.strip(), n))
    return entries


def intended_match(key, entries):
    for e in entries:
        pat = e[0]
        if "*" in pat or "?" in pat:
            if fnmatch.fnmatchcase(key, pat):
                return e
        elif key == pat or (key.startswith(pat) and key[len(pat)] in ":<!{ ("):
            return e
    return None


def classify(tokio_items, net_items, intended):
    tok = Side(tokio_items, "tokio")
    net = Side(net_items, "netpoll")
    public = {k: any(i.kind == "mod" for i in v) for k, v in tok.by_key.items()}
    public[PLACEHOLDER] = True
    top_modules = {k.split("::")[1] for k, v in tok.by_key.items()
                   if k.count("::") == 1 and any(i.kind == "mod" for i in v)}
    top_modules |= {k.split("::")[1] for k, v in net.by_key.items()
                    if k.count("::") == 1 and any(i.kind == "mod" for i in v)}
    results = []  # (module, status, key, tokio item, netpoll item or None, note)
    reverse = net.reverse_aliases(public)
    used_intended = set()
    for key in sorted(tok.by_key):
        titems = sorted(tok.by_key[key], key=lambda i: i.full_sig())
        nitems = sorted(net.by_key.get(key, []), key=lambda i: i.full_sig())
        alias = None
        if not nitems:
            # Through a netpoll type alias: tokio's A::m against netpoll's B::m where A = B<..>.
            segs = key.split("::")
            for n in range(len(segs) - 1, 1, -1):
                a = "::".join(segs[:n])
                if a in net.aliases:
                    b = net.aliases[a][0]
                    nk = b + key[len(a):]
                    if nk not in net.by_key and "{impl " in nk:
                        # `impl AsRef<TcpStream> for tcp::OwnedReadHalf` is netpoll's
                        # `impl<S> AsRef<S> for split::OwnedReadHalf<S>`
                        for p, x in net.alias_params(a).items():
                            nk = nk.replace(x, p)
                    if nk in net.by_key:
                        nitems = sorted(net.by_key[nk], key=lambda i: i.full_sig())
                        alias = (a, b, net.alias_params(a))
                    break
        tforms = [(cmp_forms(t, "tokio", public), t) for t in titems]
        nforms = [(cmp_forms(n, "netpoll", public, alias, reverse), n) for n in nitems]
        note = "via alias" if alias else ""
        # pair equal signatures first, then compatible ones, then the rest in order
        left = []
        remaining = list(nforms)
        for tf, t in tforms:
            for idx, (nf, n) in enumerate(remaining):
                if nf[0] == tf[0]:
                    results.append(("present", key, t, n, note))
                    remaining.pop(idx)
                    break
            else:
                left.append((tf, t))
        rest = []
        for tf, t in left:
            for idx, (nf, n) in enumerate(remaining):
                if nf[1] == tf[1] and _looser(tf[2], nf[2]):
                    results.append(("compatible", key, t, n, note))
                    remaining.pop(idx)
                    break
            else:
                rest.append((tf, t))
        for idx, (tf, t) in enumerate(rest):
            n = remaining[idx][1] if idx < len(remaining) else None
            status = "different" if n is not None else "missing"
            e = intended_match(key, intended)
            if e is not None and "::{impl " in key and n is None:
                # an impl of a type netpoll does not have at all is counted with that type: missing
                parent = key.split("::{impl ", 1)[0]
                if parent.startswith(PLACEHOLDER + "::") and parent not in net.by_key and alias is None:
                    e = None
            if e is not None:
                used_intended.add(e[3])
                results.append(("intended", key, t, n, e[2]))
            else:
                results.append((status, key, t, n, note if n is not None else ""))
    tokio_keys = set(tok.by_key)
    alias_hits = set()
    for (status, key, t, n, note) in results:
        if n is not None:
            alias_hits.add(id(n))
    additions = []
    for key in sorted(net.by_key):
        if key in tokio_keys:
            continue
        if all(id(n) in alias_hits for n in net.by_key[key]):
            continue
        for n in net.by_key[key]:
            additions.append((key, n))
    out = []
    for (status, key, t, n, note) in results:
        out.append((module_of(key, t.owner, top_modules), status, key, t, n, note))
    adds = [(module_of(k, n.owner, top_modules), k, n) for k, n in additions]
    unused = [e for e in intended if e[3] not in used_intended]
    return out, adds, unused


# --------------------------------------------------------------------------------------------
# Report


def md_code(s):
    s = s.replace("`", "'")
    return "`" + s + "`"


STATUSES = ("present", "compatible", "different", "missing", "intended")


def _spell(key, crate):
    return re.sub(r"(?<![\w:])" + PLACEHOLDER + r"(?=::|$)", crate, key)


def _pct(a, n):
    return "%.1f" % (100.0 * a / n) if n else "-"


def render(results, additions, unused, intended, args, cmdline):
    mods = sorted({r[0] for r in results} | {a[0] for a in additions},
                  key=lambda m: (m == "(root)", m))
    L = []
    L.append("# tokio parity report")
    L.append("")
    L.append("<!-- Generated by scripts/tokio-parity.sh; do not edit by hand. -->")
    L.append("")
    L.append("Generated by `" + cmdline + "` (check that it is current with `scripts/tokio-parity.sh --check`).")
    L.append("")
    L.append("- tokio: **" + args.tokio_version + "** with `features = [\"full\"]`, without `--cfg tokio_unstable`")
    L.append("- netpoll: the `" + args.facade + "` facade crate of this tree, default features, with the items it "
             "re-exports from " + ", ".join("`" + c + "`" for c in args.crates) + " expanded at their facade paths")
    L.append("- listed by cargo-public-api **" + args.tool_version + "** (`" + args.tool_flags + "`) on "
             + args.rustdoc_version)
    L.append("")
    L.append("How items are compared:")
    L.append("")
    L.append("- An item is identified by its path with the crate name replaced by `CRATE` and generic arguments "
             "dropped (`CRATE::io::BufReader::new`). A trait impl is one item, `Type::{impl Trait}`, whose "
             "signature is its header plus its associated types and consts (its methods are the trait's). "
             "A method of an inherent impl is compared together with the impl header it sits in.")
    L.append("- **present**: the same path and the same signature after normalisation; **compatible**: the "
             "same path, and the signature differs only in that netpoll asks for fewer bounds (a subset of "
             "tokio's where-clause/inline bounds), is a `const fn`, or borrows `&self` where tokio borrows "
             "`&mut self`, so every tokio caller still compiles; "
             "**different**: the same path, another signature (or kind); **missing**: no such path in "
             "netpoll; **intended**: missing or different, and listed in `scripts/tokio-parity-intended.txt` "
             "with a reason.")
    L.append("- Normalisation: generic parameters are renamed by position (`<T>` and `<F>` compare equal), "
             "inline bounds and where clauses become one sorted set, lifetimes other than `'static` are "
             "not compared (`fn f<'a>(&'a self) -> G<'a>` equals `fn f(&self) -> G<'_>`), an inherent or "
             "trait impl's own type is written `Self`, and a tuple struct with only private fields equals "
             "a struct with private fields.")
    L.append("- Blanket impls (`From<T> for T`, `Any`, `Borrow`, ...) and auto-trait impls (`Send`, `Sync`, "
             "`Unpin`, `UnwindSafe`, ..., also when written by hand, e.g. pin-project's `Unpin`) are omitted, "
             "so Send/Sync-ness is not compared; derived impls (`Clone`, `Debug`, `Eq`, ...) are kept, "
             "whether derived or written by hand, since a program can rely on them. `#[repr(..)]` is ignored.")
    L.append("- Paths that tokio does not export by name (the future types of its extension traits live in "
             "private modules, e.g. `tokio::io::util::read::Read`, or are printed unresolved, e.g. `ReadU8`) "
             "are compared by their last segment and without their generic arguments, written `…::Read`; "
             "netpoll's paths that tokio does not have are elided the same way.")
    L.append("- Where netpoll has a type alias at tokio's path (`type tcp::OwnedReadHalf = "
             "split::OwnedReadHalf<TcpStream>`), tokio's items under that path are looked up on the alias "
             "target; such matches are marked *via alias*.")
    L.append("")
    L.append("## Summary")
    L.append("")
    L.append("| module | tokio items | present | compatible | different | missing | intended | % present | "
             "% present or compatible | netpoll-only |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    tot = defaultdict(int)
    for m in mods:
        rs = [r for r in results if r[0] == m]
        c = {s: sum(1 for r in rs if r[1] == s) for s in STATUSES}
        n = len(rs)
        adds = sum(1 for a in additions if a[0] == m)
        L.append("| %s | %d | %d | %d | %d | %d | %d | %s | %s | %d |" % (
            "`" + m + "`" if m != "(root)" else "(root: fns, macros)", n, c["present"], c["compatible"],
            c["different"], c["missing"], c["intended"], _pct(c["present"], n),
            _pct(c["present"] + c["compatible"], n), adds))
        tot["n"] += n
        for s in c:
            tot[s] += c[s]
        tot["adds"] += adds
    L.append("| **total** | **%d** | **%d** | **%d** | **%d** | **%d** | **%d** | **%s** | **%s** | **%d** |" % (
        tot["n"], tot["present"], tot["compatible"], tot["different"], tot["missing"], tot["intended"],
        _pct(tot["present"], tot["n"]), _pct(tot["present"] + tot["compatible"], tot["n"]), tot["adds"]))
    L.append("")
    L.append("## Intended differences")
    L.append("")
    L.append("From `scripts/tokio-parity-intended.txt` (a path, or a prefix of paths, or a pattern with `*`, "
             "then ` — ` and the reason).")
    L.append("")
    if not intended:
        L.append("(none)")
    for pat_n, pat, reason, n in intended:
        hits = [r for r in results if r[1] == "intended" and intended_match(r[2], intended)[3] == n]
        L.append("- `" + pat + "` — " + reason + " (%d item%s)" % (len(hits), "" if len(hits) == 1 else "s"))
        for r in sorted(hits, key=lambda r: r[2]):
            L.append("  - " + md_code(r[3].full_sig()))
    if unused:
        L.append("")
        L.append("Entries that matched no missing or different item (stale?): "
                 + ", ".join("`" + e[1] + "`" for e in unused))
    L.append("")
    for m in mods:
        title = "`" + m + "`" if m != "(root)" else "crate root (functions, macros, re-exports)"
        rs = [r for r in results if r[0] == m]
        L.append("## " + title)
        L.append("")
        miss = sorted([r for r in rs if r[1] == "missing"], key=lambda r: (r[2], r[3].full_sig()))
        diff = sorted([r for r in rs if r[1] == "different"], key=lambda r: (r[2], r[3].full_sig()))
        compat = sorted([r for r in rs if r[1] == "compatible"], key=lambda r: (r[2], r[3].full_sig()))
        via = sorted([r for r in rs if r[1] == "present" and r[5] == "via alias"], key=lambda r: r[2])
        L.append("### Missing (%d)" % len(miss))
        L.append("")
        if miss:
            L.append("```text")
            for r in miss:
                L.append(r[3].full_sig())
            L.append("```")
        else:
            L.append("(none)")
        L.append("")
        L.append("### Different (%d)" % len(diff))
        L.append("")
        if diff:
            L.append("`-` tokio, `+` netpoll" + (" (*via alias*: netpoll's item is on the alias target)"
                                                   if any(r[5] for r in diff) else "") + ".")
            L.append("")
            L.append("```diff")
            for r in diff:
                if r[5]:
                    L.append("# " + r[2] + " (via alias)")
                L.append("- " + r[3].full_sig())
                L.append("+ " + r[4].full_sig())
            L.append("```")
        else:
            L.append("(none)")
        L.append("")
        L.append("### Compatible (%d)" % len(compat))
        L.append("")
        if compat:
            L.append("`-` tokio, `+` netpoll: netpoll asks for fewer bounds, is a `const fn`, or borrows `&self` where tokio borrows `&mut self`.")
            L.append("")
            L.append("```diff")
            for r in compat:
                L.append("- " + r[3].full_sig())
                L.append("+ " + r[4].full_sig())
            L.append("```")
        else:
            L.append("(none)")
        L.append("")
        if via:
            L.append("Present via a type alias (%d): " % len(via) + ", ".join(md_code(_spell(r[2], "tokio")) for r in via))
            L.append("")
        adds = sorted({a[1] for a in additions if a[0] == m})
        L.append("### netpoll-only (%d)" % len(adds))
        L.append("")
        if adds:
            L.append(", ".join(md_code(_spell(k, args.facade)) for k in adds))
        else:
            L.append("(none)")
        L.append("")
    while L and L[-1] == "":
        L.pop()
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------


def cmd_crates(args):
    with open(args.metadata, encoding="utf-8") as f:
        meta = json.load(f)
    pkgs = {p["name"]: p for p in meta["packages"]}
    root = pkgs[args.facade]
    seen = []

    def visit(p):
        for d in p["dependencies"]:
            if d.get("kind") not in (None, "normal") or "path" not in d or d["name"] not in pkgs:
                continue
            if d["name"] in seen:
                continue
            dp = pkgs[d["name"]]
            kinds = {k for t in dp["targets"] for k in t["kind"]}
            if "lib" not in kinds and "rlib" not in kinds and "proc-macro" not in kinds:
                continue
            seen.append(d["name"])
            visit(dp)

    visit(root)
    for n in sorted(seen):
        print(n)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def cmd_report(args):
    crates = [c.replace("-", "_") for c in args.crates]
    args.crates = crates
    tokio_lines = read_lines(os.path.join(args.out_dir, "tokio.txt"))
    tokio_items = parse_listing(tokio_lines)
    prefer = {tuple(normalise(i.key, "tokio").replace(PLACEHOLDER, args.facade, 1).split("::"))
              for i in tokio_items if i.kind not in ("impl",)}
    ws = Workspace(args.doc_dir, args.facade, crates, prefer)
    listings = {args.facade: read_lines(os.path.join(args.out_dir, args.facade + ".txt"))}
    for c in crates:
        listings[c] = read_lines(os.path.join(args.out_dir, c + ".txt"))
    blocks = ws.facade_blocks(listings)
    # The expanded facade listing, for anyone who wants to grep it.
    with open(os.path.join(args.out_dir, "netpoll-facade.txt"), "w", encoding="utf-8") as f:
        for _, lines in blocks:
            for l in lines:
                f.write(l + "\n")
    net_items = []
    for owner, lines in blocks:
        net_items.extend(parse_listing(list(lines), owner=owner))
    intended = load_intended(args.intended)
    results, additions, unused = classify(tokio_items, net_items, intended)
    text = render(results, additions, unused, intended, args, args.cmdline)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("crates")
    a.add_argument("--metadata", required=True)
    a.add_argument("--facade", default="netpoll")
    a.set_defaults(func=cmd_crates)
    r = sub.add_parser("report")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--doc-dir", required=True)
    r.add_argument("--facade", default="netpoll")
    r.add_argument("--crates", nargs="*", default=[])
    r.add_argument("--intended")
    r.add_argument("--tokio-version", required=True)
    r.add_argument("--tool-version", required=True)
    r.add_argument("--tool-flags", required=True)
    r.add_argument("--rustdoc-version", required=True)
    r.add_argument("--cmdline", default="scripts/tokio-parity.sh")
    r.add_argument("--output", required=True)
    r.set_defaults(func=cmd_report)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
