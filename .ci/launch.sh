#!/usr/bin/env bash
# Launches the built app on the default workspace (the user's data dir). With no display it runs
# under Xvfb and saves a screenshot to target-independent /tmp/quire-window.png after 8 s.
set -euo pipefail
cd "$(dirname "$0")/.."
app="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}/debug/quire"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app"
fi
echo "launch: no display found; running Quire under Xvfb (screenshot: /tmp/quire-window.png)"
export NO_AT_BRIDGE=1
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
  "$0" & pid=$!
  sleep 8; import -window root /tmp/quire-window.png && echo "launch: screenshot saved"
  wait $pid' "$app"
