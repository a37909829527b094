#!/usr/bin/env bash
# Regenerates include/taskgroup.h from ffi/src with cbindgen (pinned version; installed with
# `cargo install --locked` when missing or of another version). CI runs this and fails when
# the committed header differs (scripts/ffi-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CBINDGEN_VERSION=0.29.4
if ! command -v cbindgen >/dev/null 2>&1 ||
    [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
    echo "installing cbindgen $CBINDGEN_VERSION" >&2
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi
mkdir -p include
# cbindgen warns about every private item it skips; only errors matter here.
cbindgen --quiet --config ffi/cbindgen.toml --crate taskgroup-ffi \
    --output include/taskgroup.h ffi
echo "wrote include/taskgroup.h"
