#!/usr/bin/env bash
# Installs what is missing and nothing else: Debian packages, the UI's npm packages, and with
# --with-test-tools the e2e packages, tauri-driver and cargo-fuzz. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test_tools=false
[ "${1:-}" = "--with-test-tools" ] && with_test_tools=true

packages=(libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev build-essential pkg-config file
  libssl-dev xdg-utils)
if $with_test_tools; then
  # postgresql: the attached-database tests start their own server on loopback.
  packages+=(webkit2gtk-driver xvfb xauth dbus dbus-x11 imagemagick python3-xlib desktop-file-utils rpm postgresql)
elif [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # `make run` with no display: launch.sh runs the app under Xvfb and takes a screenshot.
  packages+=(xvfb xauth dbus dbus-x11 imagemagick)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in cargo node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is missing: install Rust (rustup) and Node.js 20+" >&2; exit 1; }
done

npm_ci() { # $1: folder; reinstall only when the lock file changed since the last install
  local dir=$1 stamp=$1/node_modules/.quire-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci ui

if $with_test_tools; then
  npm_ci tests/e2e
  if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    echo "setup: cargo install tauri-driver"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
  if ! command -v cargo-fuzz >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    echo "setup: cargo install cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked --quiet
  fi
fi
