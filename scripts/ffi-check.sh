#!/usr/bin/env bash
# CI steps of the C ABI (ffi/): the generated header is up to date; the C test program runs
# clean under valgrind (no leaks, no invalid accesses); the Python bindings pass their tests
# against the freshly built library; `pip install ./ffi/python` in a fresh venv builds and
# bundles the library (release) and the installed package groups a DataFrame from another
# folder with no environment variable. Installs what it needs (cbindgen, valgrind, venvs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
LIB_DIR="$TARGET_DIR/debug"
WORK="$TARGET_DIR/ffi-check"
mkdir -p "$WORK"

echo "== ffi: header is generated from the code (cbindgen)"
if [ -f include/taskgroup.h ]; then
    cp include/taskgroup.h "$WORK/taskgroup.h.before"
else
    : >"$WORK/taskgroup.h.before"
fi
bash scripts/gen-header.sh
if ! diff -u "$WORK/taskgroup.h.before" include/taskgroup.h; then
    echo "include/taskgroup.h was out of date: run scripts/gen-header.sh and commit it" >&2
    exit 1
fi
git diff --exit-code -- include/taskgroup.h

echo "== ffi: build libtaskgroup"
cargo build -p taskgroup-ffi -p taskgroup-cli
test -f "$LIB_DIR/libtaskgroup.so"

echo "== ffi: C test program under valgrind"
if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update && apt-get install -y valgrind
fi
gcc -std=c11 -Wall -Wextra -Werror -pedantic -g -Iinclude ffi/tests/c/test_taskgroup.c \
    -L"$LIB_DIR" -ltaskgroup -Wl,-rpath,"$(cd "$LIB_DIR" && pwd)" -lm -o "$WORK/test_taskgroup"
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
    "$WORK/test_taskgroup"

echo "== ffi: C test program under AddressSanitizer + UndefinedBehaviorSanitizer (+ leaks)"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -g -fsanitize=address,undefined \
    -fno-omit-frame-pointer -fno-sanitize-recover=all -Iinclude ffi/tests/c/test_taskgroup.c \
    -L"$LIB_DIR" -ltaskgroup -Wl,-rpath,"$(cd "$LIB_DIR" && pwd)" -lm -o "$WORK/test_taskgroup_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$WORK/test_taskgroup_asan"

echo "== ffi: Python bindings (pytest, numpy, pandas, scikit-learn)"
if [ ! -x .venv-ffi/bin/python ]; then
    python3 -m venv .venv-ffi
fi
.venv-ffi/bin/python -m pip install --quiet --disable-pip-version-check pytest numpy pandas \
    scikit-learn
TASKGROUP_LIB="$(cd "$LIB_DIR" && pwd)/libtaskgroup.so" TASKGROUP_BIN="$(cd "$LIB_DIR" && pwd)/taskgroup" \
    PYTHONDONTWRITEBYTECODE=1 \
    .venv-ffi/bin/python -m pytest -p no:cacheprovider ffi/python \
    --ignore-glob="*test_campaign*"  # scripts/campaign-check.sh runs those, with Ray

echo "== ffi: pip install ./ffi/python in a fresh venv (cargo release build), used from elsewhere"
PIP_VENV="$(cd "$WORK" && pwd)/pip-install-venv" # absolute: used from another folder below
rm -rf "$PIP_VENV" "$WORK/elsewhere"
python3 -m venv "$PIP_VENV"
"$PIP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check numpy pandas
"$PIP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check ./ffi/python
mkdir -p "$WORK/elsewhere"
(cd "$WORK/elsewhere" && env -u TASKGROUP_LIB -u CARGO_TARGET_DIR -u PYTHONPATH \
    "$PIP_VENV/bin/python" - <<'EOF'
import pathlib

import pandas as pd
import taskgroup as tg

lib = pathlib.Path(tg.library_path())
assert lib.parent == pathlib.Path(tg.__file__).parent, f"not the bundled library: {lib}"
names = ["sst2", "imdb", "rte", "mnli", "squad", "nq"]
T = pd.DataFrame(
    [[1.0 if (u < 3) == (v < 3) else 0.1 for v in range(6)] for u in range(6)],
    index=names, columns=names,
)
g = tg.TaskGrouper(n_groups=2).fit(T)
assert g.groups_ == [["sst2", "imdb", "rte"], ["mnli", "squad", "nq"]], g.groups_
assert g.certified_optimal_ and list(g.labels_) == [0, 0, 0, 1, 1, 1]
a = tg.TaskGrouper(k_range=(1, 4), rule="elbow").fit(T)
assert a.k_ == 2 and list(a.k_table_.index) == [1, 2, 3, 4]
print(f"pip-installed taskgroup {tg.__version__} ({lib}): {g.groups_}")
EOF
)
