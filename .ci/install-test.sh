#!/usr/bin/env bash
# The install test: extracts the built .deb into a clean root (dpkg -x), checks that the binary,
# desktop entry and icons land where a Linux desktop looks for them, that every package the .deb
# depends on is installed here and every shared library the binary needs resolves, checks the
# .rpm's contents list, then starts the installed binary under Xvfb (through tauri-driver) for a
# screenshot (tests/e2e/artifacts/installed-main.png).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quire-target}"
bundle="$CARGO_TARGET_DIR/debug/bundle"
deb=$(ls -t "$bundle"/deb/*.deb | head -1)
rpm=$(ls -t "$bundle"/rpm/*.rpm | head -1)
root=$(mktemp -d /tmp/quire-install-XXXXXX)
trap 'rm -rf "$root"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

echo "installing $deb into $root"
dpkg-deb -x "$deb" "$root"
version=$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the .deb is not version $version"
[ "$(dpkg-deb -f "$deb" Package)" = "quire" ] || fail "the package is not named quire"

[ -x "$root/usr/bin/quire" ] || fail "no executable /usr/bin/quire"
desktop="$root/usr/share/applications/Quire.desktop"
[ -f "$desktop" ] || fail "no desktop entry at /usr/share/applications/Quire.desktop"
grep -qx 'Exec=quire %F' "$desktop" || fail "desktop entry: bad Exec line: $(grep ^Exec "$desktop")"
grep -qx 'Icon=quire' "$desktop" || fail "desktop entry: no Icon=quire"
grep -q '^MimeType=.*application/x-quire-notebook' "$desktop" || fail "desktop entry: no MimeType for .quire notebooks"
grep -q "^Categories=Office;" "$desktop" || fail "desktop entry: not in Office"
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop"; fi
for size in 32x32 128x128 256x256@2; do
  [ -f "$root/usr/share/icons/hicolor/$size/apps/quire.png" ] || fail "no $size icon in hicolor"
done
echo "binary, desktop entry and icons are in place:"
(cd "$root" && find usr -type f | sort | sed 's/^/  /')

# Every dependency the .deb declares is installed here, and nothing the binary links is missing.
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/^ +| +$//g' | while read -r dep; do
  [ -z "$dep" ] && continue
  dpkg -s "$dep" >/dev/null 2>&1 || fail "depends on $dep, which is not installed"
  echo "  depends on $dep: installed"
done
if ldd "$root/usr/bin/quire" | grep 'not found'; then fail "shared libraries missing"; fi

# The .rpm carries the same files (read with Debian's rpm tools when present).
if command -v rpm >/dev/null; then
  files=$(rpm -qpl "$rpm" 2>/dev/null)
  for f in /usr/bin/quire /usr/share/applications/Quire.desktop /usr/share/icons/hicolor/128x128/apps/quire.png; do
    grep -qx "$f" <<<"$files" || fail "the .rpm has no $f"
  done
  echo "rpm $rpm: binary, desktop entry and icons listed"
else
  [ "$(head -c4 "$rpm" | od -An -tx1 | tr -d ' ')" = "edabeedb" ] || fail "$rpm is not an rpm file"
fi

# The installed binary, started for real under Xvfb.
cd tests/e2e
QUIRE_APP="$root/usr/bin/quire" NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- node --import tsx --test install/installed.test.ts
echo "screenshot: tests/e2e/artifacts/installed-main.png"
