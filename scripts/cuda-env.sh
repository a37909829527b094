#!/usr/bin/env bash
# Sourced: installs nvcc 13.0 from PyPI into .cuda-venv and a libcuda.so stub into .cuda-stub
# (recipe: gpu/README.md), then exports PATH, NVCC and CUDA_LIBRARY_PATH for
# `cargo build -p taskgroup-gpu --features cuda` on a machine with no GPU. Idempotent.
# Returns non-zero on failure; leaves the caller's shell options as they were.
_tg_cuda_env() {
    local root raw home
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    if [ ! -e "$root/.cuda-venv/nvcc-ok" ]; then
        python3 -m venv "$root/.cuda-venv" || return 1
        "$root/.cuda-venv/bin/pip" install -q --disable-pip-version-check \
            nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
            nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 || return 1
        touch "$root/.cuda-venv/nvcc-ok" || return 1
    fi
    home="$("$root/.cuda-venv/bin/python" -c \
        'import nvidia,os;print(os.path.join(nvidia.__path__[0],"cu13"))')" || return 1
    if [ ! -f "$root/.cuda-stub/lib64/stubs/libcuda.so" ]; then
        (cd "$root" && cargo fetch -q) || return 1
        raw="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cust_raw-0.11.3 | head -1)"
        [ -n "$raw" ] || { echo "cuda-env: cust_raw-0.11.3 sources not found" >&2; return 1; }
        mkdir -p "$root/.cuda-stub/lib64/stubs" || return 1
        grep -o 'pub fn cu[A-Za-z0-9_]*' "$raw/src/cuda.rs" | awk '{print $3}' | sort -u \
            | awk '{printf "int %s(void){return 34;}\n",$1}' >"$root/.cuda-stub/stub.c"
        gcc -shared -fPIC -Wl,-soname,libcuda.so.1 \
            -o "$root/.cuda-stub/lib64/stubs/libcuda.so" "$root/.cuda-stub/stub.c" || return 1
    fi
    export CUDA_HOME="$home"
    export PATH="$home/bin:$PATH"
    export NVCC="$home/bin/nvcc"
    export CUDA_LIBRARY_PATH="$root/.cuda-stub"
}
_tg_cuda_env
