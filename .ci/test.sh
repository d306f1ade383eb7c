#!/usr/bin/env bash
# Every check and test Quire has, in phases, each timed. `make test` and `.ci/run` call this.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}"
export CARGO_TERM_COLOR=never NO_AT_BRIDGE=1 NO_COLOR=1 FORCE_COLOR=0
logs=$(mktemp -d)
timings=()

phase() { # phase NAME COMMAND...: runs it, tees its output to a log, records its duration
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  if ! "$@" 2>&1 | tee "$logs/$name.log"; then
    echo "=== $name FAILED after $((SECONDS - start)) s"
    exit 1
  fi
  timings+=("$(printf '%-14s %5d s' "$name" $((SECONDS - start)))")
}

engine_is_tauri_free() {
  if cargo tree -p quire-engine -e normal,build --prefix none | grep -E '^(tauri|wry|webkit|tao|gtk)[-a-z0-9_]* ' ; then
    echo "quire-engine depends on a Tauri/webview crate (listed above)"; return 1
  fi
  echo "quire-engine has no tauri, wry, tao, gtk or webkit crate"
}

# Old test and fuzz binaries the shared target dir keeps from earlier runs (see the script).
prune_target() {
  python3 .ci/prune-target.py "$CARGO_TARGET_DIR/debug/deps" 2
  python3 .ci/prune-target.py "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/deps" 1
}

phase prune prune_target
phase setup bash .ci/setup.sh --with-test-tools
phase fmt cargo fmt --all -- --check
phase ui-unit bash -c 'cd ui && npm run --silent typecheck && npm test --silent'
phase ui-build npm --prefix ui run --silent build
phase clippy cargo clippy --workspace --all-targets --locked -- -D warnings
phase rust-tests cargo test --workspace --locked
phase soak env QUIRE_BENCH_SOAK_ROUNDS=60 cargo run --locked -q -p quire-bench -- soak
phase fuzz bash .ci/fuzz.sh
phase engine-deps engine_is_tauri_free
phase module-cycles python3 .ci/module-cycles.py src-tauri/engine/src
phase icons bash .ci/icons.sh --check
phase bundle bash .ci/build.sh --bundles deb,rpm
# The bundle step leaves its packages and the binary to be written back: the first e2e test
# (the analyst's Cancel, within 10 s) has failed three times while that writeback ran, and
# never without it. Written out first.
phase settle sync
phase e2e bash -c 'cd tests/e2e && npm run --silent typecheck && xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- npm test --silent'
phase install bash .ci/install-test.sh

# One closing line over every runner: cargo's "test result:", Vitest's "Tests", node's "# pass/# fail".
count_tests() {
  set +e +o pipefail # a runner whose line is absent counts as zero, not as a failed script
  grep -hoE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$logs/rust-tests.log" | awk '{print $4, $6}'
  grep -hoE 'Tests +[0-9]+ passed' "$logs/ui-unit.log" | awk '{print $2, 0}'
  grep -hoE 'Tests +[0-9]+ failed' "$logs/ui-unit.log" | awk '{print 0, $2}'
  grep -hoE '^# (pass|fail) [0-9]+' "$logs/e2e.log" "$logs/install.log" | awk '$2=="pass"{print $3, 0} $2=="fail"{print 0, $3}'
}
passed=0; failed=0
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(count_tests)
echo
echo "Phase timings:"
printf '  %s\n' "${timings[@]}"
echo "  total          $(printf '%5d' $SECONDS) s"
echo "deb: $(ls "$CARGO_TARGET_DIR"/debug/bundle/deb/*.deb 2>/dev/null | tail -1)"
echo "rpm: $(ls "$CARGO_TARGET_DIR"/debug/bundle/rpm/*.rpm 2>/dev/null | tail -1)"
echo "tests: $passed passed, $failed failed"
