#!/usr/bin/env bash
# Builds the UI (ui/dist) and the debug app that embeds it. Extra arguments go to `tauri build`,
# e.g. `--bundles deb`; without them no installer is made.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--no-bundle)
# Two folders have a package.json (ui/ and tests/e2e/): name the app and frontend folders so the
# CLI never guesses. It runs beforeBuildCommand (`npm run build`) in ui/.
export TAURI_APP_PATH="$PWD" TAURI_FRONTEND_PATH="$PWD/ui"
# The tauri CLI runs beforeBuildCommand (the UI build) and then cargo with the same features
# as `cargo build`, so this reuses everything cargo test and clippy compiled.
ui/node_modules/.bin/tauri build --debug --ci "${args[@]}"
