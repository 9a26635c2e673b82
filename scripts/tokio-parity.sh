#!/usr/bin/env bash
# Writes docs/tokio-parity.md: tokio's public API (the version in Cargo.lock, features = ["full"],
# no tokio_unstable) item by item against netpoll's, as listed by cargo-public-api.
#
#   scripts/tokio-parity.sh           regenerate docs/tokio-parity.md
#   scripts/tokio-parity.sh --check   regenerate into a temporary file; exit 1 with a diff summary
#                                     if docs/tokio-parity.md is stale
#
# Needs: cargo-public-api (cargo install --locked cargo-public-api --version 0.52.0), a nightly
# toolchain (rustdoc JSON), python3. Builds go to target/parity (override: PARITY_TARGET_DIR), so
# they do not wait on the lock of other builds. tokio's source comes from the cargo registry
# cache through a throwaway manifest under target/parity/tokio-api; only a dependency missing from
# the cache is fetched. Intended differences: scripts/tokio-parity-intended.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
t0=$(date +%s)

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tool_want=0.52.0
if ! cargo public-api --version >/dev/null 2>&1; then
  echo "cargo-public-api is not installed: cargo install --locked cargo-public-api --version $tool_want" >&2
  exit 2
fi
tool_version=$(cargo public-api --version | awk '{print $2}')
[ "$tool_version" = "$tool_want" ] || echo "note: cargo-public-api $tool_version, not $tool_want (the report's text may change)" >&2

export CARGO_TARGET_DIR="${PARITY_TARGET_DIR:-$root/target/parity}"
export CARGO_TERM_COLOR=never
# tokio_unstable (or anything else) from the environment must not reach tokio's or netpoll's docs.
unset RUSTFLAGS RUSTDOCFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_ENCODED_RUSTDOCFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_RUSTDOCFLAGS
out="$CARGO_TARGET_DIR/out"
mkdir -p "$out"
# Blanket impls and auto-trait impls are omitted; derived impls (Clone, Debug, ...) are kept.
flags=(-ss --color never)

tokio_version=$(awk '$0 == "name = \"tokio\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
case "$tokio_version" in
  1.*) ;;
  *) echo "no tokio 1.x in Cargo.lock" >&2; exit 2 ;;
esac
rustdoc_version=$(rustup run nightly rustdoc --version)

run() { # run LOG CMD...: the command's stdout is the listing; its stderr is shown only on failure
  local log=$1; shift
  if ! nice -n 10 "$@" 2>"$log"; then
    cat "$log" >&2
    echo "failed: $*" >&2
    exit 1
  fi
}

# tokio, through a throwaway manifest (Cargo.lock seeded from ours, so that tokio's dependencies
# are the versions already in the registry cache).
probe="$CARGO_TARGET_DIR/tokio-api"
mkdir -p "$probe/src"
: >"$probe/src/lib.rs"
manifest="[package]
name = \"tokio-api-probe\"
version = \"0.0.0\"
edition = \"2021\"
publish = false

[workspace]

[dependencies]
tokio = { version = \"=$tokio_version\", features = [\"full\"] }"
if [ ! -f "$probe/Cargo.toml" ] || [ "$(cat "$probe/Cargo.toml")" != "$manifest" ]; then
  printf '%s\n' "$manifest" >"$probe/Cargo.toml"
  cp Cargo.lock "$probe/Cargo.lock"
fi
echo "tokio $tokio_version ..." >&2
(cd "$probe" && run "$out/tokio.log" cargo public-api -p tokio "${flags[@]}") >"$out/tokio.txt"

# netpoll: the facade, and each workspace crate it re-exports from (rustdoc JSON does not inline
# items re-exported across crates; the helper expands them at their facade paths).
cargo metadata --no-deps --format-version 1 >"$out/metadata.json"
mapfile -t crates < <(python3 scripts/tokio_parity.py crates --metadata "$out/metadata.json" --facade netpoll)
for c in netpoll "${crates[@]}"; do
  echo "$c ..." >&2
  run "$out/${c//-/_}.log" cargo public-api -p "$c" "${flags[@]}" >"$out/${c//-/_}.txt"
done

if [ "$check" = 1 ]; then
  dest="$out/tokio-parity.md"
else
  dest="$root/docs/tokio-parity.md"
fi
python3 scripts/tokio_parity.py report \
  --out-dir "$out" --doc-dir "$CARGO_TARGET_DIR/doc" --facade netpoll --crates "${crates[@]}" \
  --intended scripts/tokio-parity-intended.txt \
  --tokio-version "$tokio_version" --tool-version "$tool_version" --tool-flags "cargo public-api ${flags[*]}" \
  --rustdoc-version "$rustdoc_version" --cmdline "scripts/tokio-parity.sh" --output "$dest"
cat scripts/tokio-parity-behaviour.md >>"$dest"

elapsed=$(( $(date +%s) - t0 ))
if [ "$check" = 1 ]; then
  if [ ! -f docs/tokio-parity.md ]; then
    echo "docs/tokio-parity.md does not exist: run scripts/tokio-parity.sh" >&2
    exit 1
  fi
  # The rustdoc line names the nightly that made the listing; another nightly with the same
  # listing is not staleness, so that line is left out of the comparison.
  strip() { grep -v '^- listed by cargo-public-api' "$1"; }
  if ! cmp -s <(strip docs/tokio-parity.md) <(strip "$dest"); then
    echo "docs/tokio-parity.md is stale ($(diff docs/tokio-parity.md "$dest" | grep -c "^[<>]") changed lines); rerun scripts/tokio-parity.sh and commit it. First lines of the diff:" >&2
    diff -u docs/tokio-parity.md "$dest" | head -60 >&2 || true
    exit 1
  fi
  echo "docs/tokio-parity.md is up to date (${elapsed}s)" >&2
else
  echo "wrote docs/tokio-parity.md (${elapsed}s)" >&2
fi
