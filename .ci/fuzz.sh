#!/usr/bin/env bash
# Fuzzes every target for SECONDS each (default 15) from the seed corpora in src-tauri/fuzz/seeds,
# with cargo-fuzz on stable Rust (--sanitizer none: Rust's own checks and debug assertions find
# panics; no sanitizer needs nightly). New inputs go to a scratch corpus, so the repo stays clean.
# A crash stops the run with the input saved in src-tauri/fuzz/artifacts/<target>/.
# Long run: SECONDS_PER_TARGET=3600 bash .ci/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}"
seconds="${SECONDS_PER_TARGET:-15}"
dir=(--fuzz-dir src-tauri/fuzz)
flags=(--fuzz-dir src-tauri/fuzz --dev --sanitizer none)
command -v cargo-fuzz >/dev/null || bash .ci/setup.sh --with-test-tools
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(cargo fuzz list "${dir[@]}"); fi
cargo fuzz build "${flags[@]}"
scratch="${FUZZ_CORPUS_DIR:-$(mktemp -d)}"
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  echo "=== fuzz $t for ${seconds}s"
  if ! cargo fuzz run "${flags[@]}" "$t" "$scratch/$t" "src-tauri/fuzz/seeds/$t" -- \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $t failed; the input is in src-tauri/fuzz/artifacts/$t/"
    exit 1
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  corpus=$(ls "$scratch/$t" | wc -l)
  summary+=("$(printf '%-16s %9s execs in %4ss  (%6.0f/s)  coverage %6s  corpus %5s' "$t" "$runs" "$seconds" "$(awk -v r="$runs" -v s="$seconds" 'BEGIN{print r/s}')" "${cov:-?}" "$corpus")")
done
echo "Fuzzing summary (no crashes):"
printf '  %s\n' "${summary[@]}"
