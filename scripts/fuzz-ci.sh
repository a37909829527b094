#!/usr/bin/env bash
# Short fuzz run of every target in fuzz/ (cargo-fuzz + libFuzzer + AddressSanitizer), starting
# from the committed seed corpus and regression inputs; fails on any crash, panic, leak or hang.
# FUZZ_SECONDS per target (default 60). The stable toolchain accepts cargo-fuzz's nightly flags
# (-Zsanitizer) with RUSTC_BOOTSTRAP=1. Installs cargo-fuzz when missing (about 2 min).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECONDS:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
cd fuzz
cargo fuzz build
for t in $(cargo fuzz list); do
    work="$(mktemp -d)"
    for src in corpus-seed regressions; do
        if [ -d "$src/$t" ]; then cp -r "$src/$t/." "$work/"; fi
    done
    echo "== fuzz $t for ${SECS}s ($(ls "$work" | wc -l) seed inputs)"
    log="$work.log"
    set +e
    cargo fuzz run "$t" "$work" -- -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|ERROR|panicked|SUMMARY" "$log" || true
    if [ "$status" != 0 ]; then tail -60 "$log"; fi
    rm -rf "$work" "$log"
    if [ "$status" != 0 ]; then
        echo "fuzz target $t failed: reproducer in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
