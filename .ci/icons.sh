#!/usr/bin/env bash
# Every app icon comes from one source image, icons/quire.svg, through `tauri icon`.
# `.ci/icons.sh` regenerates icons/ (desktop sizes only); `--check` fails when a committed
# PNG or .ico differs from what the source gives (icon.icns embeds a timestamp, so it is not
# compared byte for byte).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ui/node_modules/.bin/tauri icon icons/quire.svg -o "$out" >/dev/null 2>&1
rm -rf "$out/android" "$out/ios"
if [ "${1:-}" = "--check" ]; then
  stale=0
  for f in "$out"/*.png "$out"/icon.ico; do
    cmp -s "$f" "icons/$(basename "$f")" || { echo "icons/$(basename "$f") is not what icons/quire.svg gives: run bash .ci/icons.sh"; stale=1; }
  done
  [ -f icons/icon.icns ] || { echo "icons/icon.icns is missing"; stale=1; }
  [ $stale -eq 0 ] && echo "icons: $(ls "$out" | wc -l) files match icons/quire.svg"
  exit $stale
fi
cp "$out"/* icons/
echo "icons/ regenerated from icons/quire.svg"
