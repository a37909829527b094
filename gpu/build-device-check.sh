#!/usr/bin/env bash
# Builds, on this machine (no GPU needed), the release binaries that gpu/device-check.sh runs on
# a GPU machine (which has the NVIDIA driver and nvcc but no cargo): the CUDA test binaries
# (tests/cuda_solve.rs, tests/cuda_train.rs, tests/cuda_large.rs) and the bench binaries
# gpu-bench and gpu-large (the large-n path), all with
# `--features cuda`, copied to gpu/prebuilt/ (git-ignored by a .gitignore written there; pass
# it to the device with the run tool's `carry: ["gpu/prebuilt"]`). Honours CARGO_TARGET_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/cuda-env.sh
source scripts/cuda-env.sh
pre="$root/gpu/prebuilt"
rm -rf "$pre"
mkdir -p "$pre"
printf '*\n' >"$pre/.gitignore"
tests=()
for t in cuda_solve cuda_train cuda_large; do
    [ -f "gpu/tests/$t.rs" ] && tests+=(--test "$t")
done
# Paths of the executables from cargo's JSON messages.
executables() {
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"] + "\t" + m["executable"])
'
}
{
    cargo test --release -p taskgroup-gpu --features cuda --no-run --message-format=json \
        "${tests[@]}"
    cargo build --release -p taskgroup-gpu --features cuda --bin gpu-bench --bin gpu-large \
        --message-format=json
} | executables | while IFS=$'\t' read -r name exe; do
    cp "$exe" "$pre/$name"
    echo "prebuilt: gpu/prebuilt/$name ($(du -h "$exe" | cut -f1))"
done
for b in gpu-bench gpu-large; do
    ls "$pre" | grep -qx "$b" || { echo "build-device-check: $b missing" >&2; exit 1; }
done
echo "build-device-check: ok (run gpu/device-check.sh on the GPU machine)"
