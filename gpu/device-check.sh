#!/usr/bin/env bash
# Runs on the GPU machine (NVIDIA driver + nvcc, no cargo), from the repository root or anywhere:
# validates the kernels with the machine's nvcc/ptxas, runs the prebuilt CUDA test binaries and
# the bench binaries (gpu-bench; gpu-large, the large-n path with an n = 50 000 row; sizes from
# TASKGROUP_LARGE_SIZES) from gpu/prebuilt/ (made here by gpu/build-device-check.sh), prints one
# Markdown report and writes it to $OUT/RESULTS.md when OUT is set (logs next to it).
# Exit status: 0 when every test binary and gpu-large passed, 1 otherwise.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pre="$here/prebuilt"
work="${OUT:-$(mktemp -d)}"
mkdir -p "$work"
report="$work/RESULTS.md"
fail=0
{
    echo "# taskgroup-gpu device check"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
    echo "- nvcc: $(nvcc --version 2>&1 | tail -1)"
    echo
    echo "| check | result | seconds |"
    echo "|---|---|---|"
} >"$report"
row() { echo "| $1 | $2 | $3 |" >>"$report"; }
secs() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
if [ ! -d "$pre" ]; then
    row "gpu/prebuilt/" "missing: run gpu/build-device-check.sh first" "–"
    cat "$report"
    exit 1
fi
if command -v nvcc >/dev/null 2>&1; then
    for cu in "$here"/kernels/*.cu; do
        t0=$(date +%s%N)
        if nvcc -cubin -arch=sm_90 -I "$here/kernels" "$cu" -o "$work/$(basename "$cu" .cu).cubin" \
            >"$work/nvcc-$(basename "$cu" .cu).log" 2>&1; then r=pass; else r=FAIL; fail=1; fi
        row "nvcc -cubin $(basename "$cu")" "$r" "$(secs "$t0")"
    done
fi
export TASKGROUP_REQUIRE_GPU=1
for t in cuda_solve cuda_train cuda_large; do
    [ -x "$pre/$t" ] || continue
    t0=$(date +%s%N)
    if timeout 420 "$pre/$t" --test-threads=1 --nocapture >"$work/$t.log" 2>&1; then r=pass; else r="FAIL (see $t.log)"; fail=1; fi
    summary="$(grep -E '^test result' "$work/$t.log" | tail -1)"
    row "$t" "$r ${summary:+– $summary}" "$(secs "$t0")"
done
if [ -x "$pre/gpu-bench" ]; then
    t0=$(date +%s%N)
    timeout 300 "$pre/gpu-bench" --budget-s "${TASKGROUP_BENCH_BUDGET_S:-150}" \
        ${TASKGROUP_BENCH_TRAIN:+--train "$TASKGROUP_BENCH_TRAIN"} \
        >"$work/bench.md" 2>"$work/bench.log"
    rc=$?
    row "gpu-bench" "exit $rc" "$(secs "$t0")"
    { echo; echo "## Batched SDP (CPU vs CUDA)"; echo; cat "$work/bench.md"; } >>"$report"
fi
if [ -x "$pre/gpu-large" ]; then
    # The large-n path (issue 17): n = 10 000 on CPU and CUDA, n = 50 000 on CUDA (f64, f32).
    t0=$(date +%s%N)
    timeout 480 "$pre/gpu-large" --sizes "${TASKGROUP_LARGE_SIZES:-10000,50000}" \
        --cpu-max-n "${TASKGROUP_LARGE_CPU_MAX_N:-10000}" \
        >"$work/large.md" 2>"$work/large.log"
    rc=$?
    [ "$rc" -eq 0 ] || fail=1
    row "gpu-large" "exit $rc" "$(secs "$t0")"
    { echo; echo "## Large-n path (factored, products on the device; target n = 50 000 under 60 s)"; echo; cat "$work/large.md"; } >>"$report"
fi
{
    echo
    echo "## Comparisons printed by the tests"
    echo
    echo '```'
    grep -hE '^(n=|projection|TASKGROUP_SEED|large)' "$work"/cuda_solve.log "$work"/cuda_large.log 2>/dev/null | head -80
    echo '```'
} >>"$report"
cat "$report"
exit "$fail"
