#!/usr/bin/env bash
# CI job for the CUDA build of taskgroup-gpu, on a machine with no GPU (a few minutes on 2
# cores): installs nvcc from PyPI and a libcuda stub (scripts/cuda-env.sh), validates every
# kernel with ptxas (nvcc -cubin, sm_90), builds the crate and its GPU test/bench binaries with
# `--features cuda` (without running them: they need a device) and runs clippy with the feature.
# Honours CARGO_TARGET_DIR. Exit status non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/cuda-env.sh
source scripts/cuda-env.sh
arch="${TASKGROUP_CUDA_ARCH:-sm_90}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "== ptxas: every gpu/kernels/*.cu for $arch"
for cu in gpu/kernels/*.cu; do
    name="$(basename "$cu" .cu)"
    "$NVCC" -cubin -arch="$arch" -I gpu/kernels "$cu" -o "$tmp/$name.cubin"
    echo "ok  $cu"
done
echo "== cargo build --features cuda --all-targets"
cargo build -q -p taskgroup-gpu --features cuda --all-targets
echo "== cargo test --features cuda --no-run (GPU test binaries are built, not run)"
cargo test -q -p taskgroup-gpu --features cuda --no-run
echo "== cargo clippy --features cuda"
cargo clippy -q -p taskgroup-gpu --features cuda --all-targets -- -D warnings
echo "cuda-check: ok"
