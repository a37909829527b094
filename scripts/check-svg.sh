#!/usr/bin/env bash
# Renders the demo's SVG heatmaps and one of `cluster --svg` with headless Chromium (Debian's `chromium`) and checks that
# the PNGs are real pictures (non-trivial size, not blank). Installs chromium if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run --quiet --release -p taskgroup-cli -- demo --quick --out "$out/svg" >/dev/null
# `cluster --svg`: the user's T with task names, and the k curve below it.
cargo run --quiet --release -p taskgroup-cli -- cluster --input examples/affinity-12.csv \
  --k-range 2..6 --quiet --svg "$out/svg/cluster-k-range.svg" >/dev/null
n=0
for f in "$out"/svg/planted-sdp-robust.svg "$out"/svg/taskonomy-s1-k3-sdp-robust.svg \
  "$out"/svg/cluster-k-range.svg; do
  png="$out/$(basename "$f" .svg).png"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$out/profile" --window-size=800,720 --screenshot="$png" "file://$f" >/dev/null 2>&1
  python3 - "$png" <<'PY'
import sys, struct, zlib
p = sys.argv[1]
data = open(p, 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
w, h = struct.unpack('>II', data[16:24])
assert (w, h) == (800, 720), (w, h)
# Decode IDAT and count distinct row hashes: a blank page has one.
idat = b''.join(data[i + 8:i + 8 + struct.unpack('>I', data[i:i + 4])[0]]
               for i in range(8, len(data)) if data[i + 4:i + 8] == b'IDAT')
raw = zlib.decompress(idat)
rows = len(set(raw[r * (len(raw) // h):(r + 1) * (len(raw) // h)] for r in range(h)))
assert rows > 50, f'PNG looks blank ({rows} distinct rows)'
print(f'{p}: {w}x{h}, {rows} distinct rows: ok')
PY
  n=$((n + 1))
done
echo "rendered $n SVG heatmaps with Chromium: ok"
