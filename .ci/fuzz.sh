#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 15) from the kept corpora: the seeds
# (src-tauri/fuzz/seeds/<target>, written by hand) and the grown corpus
# (src-tauri/fuzz/corpus/<target>, what long runs found that adds coverage). Built with cargo-fuzz
# in release mode with debug assertions and overflow checks (-O -a: fast enough to find things,
# and Rust's own checks still fire), on stable Rust (--sanitizer none: no sanitizer needs
# nightly). New inputs go to a scratch corpus, so the repo stays clean unless GROW=1.
# A crash stops the run with the input saved in src-tauri/fuzz/artifacts/<target>/.
#
# Long run, keeping what it finds:  GROW=1 SECONDS_PER_TARGET=1200 bash .ci/fuzz.sh [target...]
# (GROW=1 merges the new inputs into src-tauri/fuzz/corpus/<target> with libFuzzer's -merge=1,
# which keeps only inputs that add coverage; commit the result.)
# Each target's line in the summary gives executions, executions per second, CPU seconds (the
# fuzzer's user+system time, read from /proc), coverage and corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}"
seconds="${SECONDS_PER_TARGET:-15}"
dir=(--fuzz-dir src-tauri/fuzz)
flags=(--fuzz-dir src-tauri/fuzz -O -a --sanitizer none)
command -v cargo-fuzz >/dev/null || bash .ci/setup.sh --with-test-tools
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(cargo fuzz list "${dir[@]}"); fi
cargo fuzz build "${flags[@]}"
scratch="${FUZZ_CORPUS_DIR:-$(mktemp -d)}"
ticks=$(getconf CLK_TCK)
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "src-tauri/fuzz/corpus/$t"
  log="$scratch/$t.log"
  echo "=== fuzz $t for ${seconds}s"
  # The fuzzer runs as a child of this shell, so its CPU time is ours after it ends.
  read -r -a before < <(cut -d' ' -f16,17 /proc/$$/stat)
  if ! cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "src-tauri/fuzz/corpus/$t" "src-tauri/fuzz/seeds/$t" -- \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $t failed; the input is in src-tauri/fuzz/artifacts/$t/"
    exit 1
  fi
  read -r -a after < <(cut -d' ' -f16,17 /proc/$$/stat)
  cpu=$(( (after[0] + after[1] - before[0] - before[1]) / ticks ))
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  if [ "${GROW:-0}" = 1 ]; then
    cargo fuzz run "${flags[@]}" "$t" "src-tauri/fuzz/corpus/$t" "$scratch/$t" -- -merge=1 \
      -timeout=20 -rss_limit_mb=3072 >"$scratch/$t.merge.log" 2>&1
  fi
  corpus=$(ls "$scratch/$t" "src-tauri/fuzz/corpus/$t" | wc -l)
  summary+=("$(printf '%-16s %10s execs in %5ss  (%6.0f/s)  cpu %5ss  coverage %6s  corpus %5s' "$t" "$runs" "$seconds" "$(awk -v r="$runs" -v s="$seconds" 'BEGIN{print r/s}')" "$cpu" "${cov:-?}" "$corpus")")
done
echo "Fuzzing summary (no crashes):"
printf '  %s\n' "${summary[@]}"
