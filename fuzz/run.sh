#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target of netpoll for SECONDS each (default 60):
#
#   bash fuzz/run.sh [SECONDS]
#
# Callable from any directory (CI calls it from the repository root). It needs the nightly
# toolchain: without it, it prints "SKIPPED: ..." and exits 0. cargo-fuzz is installed if missing.
# Time: the build (1-2 min the first time) plus 3 x SECONDS.
#
# Seeds are read from fuzz/corpus/<target>/ and never written there; what a run discovers goes to
# fuzz/target/corpus/<target>/ (git-ignored, kept between runs). To refresh the committed seeds
# after a long run: copy that directory's files into fuzz/corpus/<target>/, then
# `cargo +nightly fuzz cmin <target> fuzz/corpus/<target>` (keep it under ~200 files / 1 MiB).
#
# Exit status: 0 if no target found anything; 1 if a target crashed, hit an assertion, timed out
# or ran out of memory (the input is in fuzz/artifacts/<target>/, its path is printed, and
# `cargo +nightly fuzz run <target> <path>` reproduces it); 2 if setup or the build failed.
set -uo pipefail

secs=${1:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs == 0)); then
  echo "usage: bash fuzz/run.sh [SECONDS]   (seconds per target, default 60)" >&2
  exit 2
fi
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir/.." || exit 2
export CARGO_TERM_COLOR=never
targets=(http resp wheel)
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start))s"; }

# Nightly: look it up without `rustup run`, which may try to install a missing toolchain.
if ! command -v rustup >/dev/null 2>&1; then
  echo "SKIPPED: fuzzing needs rustup's nightly toolchain, and rustup is not installed"
  exit 0
fi
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "SKIPPED: fuzzing needs the nightly toolchain (rustup toolchain install nightly), which is not installed"
  exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "=== cargo-fuzz is missing: cargo install cargo-fuzz --locked"
  if ! cargo install cargo-fuzz --locked; then
    echo "FAILED: could not install cargo-fuzz"
    exit 2
  fi
fi
echo "=== $(cargo fuzz --version), $(cargo +nightly --version)"

echo "=== building ${targets[*]} (cargo +nightly fuzz build: release, debug assertions, ASan)"
if ! cargo +nightly fuzz build; then
  echo "FAILED: the fuzz targets do not build"
  exit 2
fi
echo "=== built in $(elapsed)"

mkdir -p "$fuzz_dir/target/logs"
found=()
for t in "${targets[@]}"; do
  work="$fuzz_dir/target/corpus/$t"
  log="$fuzz_dir/target/logs/$t.log"
  mkdir -p "$work" "$fuzz_dir/artifacts/$t"
  echo "=== fuzzing $t for ${secs}s (t+$(elapsed); log: ${log#"$PWD"/})"
  # New inputs go to the first corpus directory; the seeds in the second are only read.
  cargo +nightly fuzz run "$t" "$work" "$fuzz_dir/corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log"
  echo "corpus: $(find "$work" -type f | wc -l) files in ${work#"$PWD"/}, $(find "$fuzz_dir/corpus/$t" -type f | wc -l) seeds"
  if ((rc != 0)); then
    artifacts=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    echo "--- $t: what the fuzzer reported (whole log: ${log#"$PWD"/})"
    grep -m 1 -A 4 -E 'panicked at|==[0-9]+==ERROR|^ERROR:' "$log" || tail -n 20 "$log"
    if [[ -n $artifacts ]]; then
      for a in $artifacts; do
        echo "FOUND: $t: $a (reproduce: cargo +nightly fuzz run $t $a)"
      done
    else
      echo "FOUND: $t: the fuzzer exited with status $rc and no artifact; see $log"
    fi
    found+=("$t")
  fi
done

echo "=== done in $(elapsed)"
if ((${#found[@]} > 0)); then
  echo "FAILED: fuzzing found problems in: ${found[*]}"
  exit 1
fi
echo "OK: no crashes in ${targets[*]} (${secs}s each)"
