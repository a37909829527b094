#!/usr/bin/env bash
# Sourced: installs nvcc 13.0 from PyPI into .cuda-venv and a libcuda.so stub into .cuda-stub
# (recipe: gpu/README.md), then exports PATH, NVCC and CUDA_LIBRARY_PATH for
# `cargo build -p taskgroup-gpu --features cuda` on a machine with no GPU. Idempotent.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$_root/.cuda-venv/bin/nvcc-ok" ]; then
    python3 -m venv "$_root/.cuda-venv"
    "$_root/.cuda-venv/bin/pip" install -q nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 \
        nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
    touch "$_root/.cuda-venv/bin/nvcc-ok" && chmod +x "$_root/.cuda-venv/bin/nvcc-ok"
fi
CUDA_HOME="$("$_root/.cuda-venv/bin/python" -c 'import nvidia,os;print(os.path.join(nvidia.__path__[0],"cu13"))')"
export CUDA_HOME
export PATH="$CUDA_HOME/bin:$PATH"
export NVCC="$CUDA_HOME/bin/nvcc"
if [ ! -f "$_root/.cuda-stub/lib64/stubs/libcuda.so" ]; then
    (cd "$_root" && cargo fetch -q)
    _raw="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cust_raw-0.11.3 | head -1)"
    mkdir -p "$_root/.cuda-stub/lib64/stubs"
    grep -o 'pub fn cu[A-Za-z0-9_]*' "$_raw/src/cuda.rs" | awk '{print $3}' | sort -u \
        | awk '{printf "int %s(void){return 34;}\n",$1}' > "$_root/.cuda-stub/stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$_root/.cuda-stub/lib64/stubs/libcuda.so" \
        "$_root/.cuda-stub/stub.c"
fi
export CUDA_LIBRARY_PATH="$_root/.cuda-stub"
