#!/usr/bin/env bash
# CI: scripts/install-c.sh from a fresh build of the ffi crate into a temporary prefix, then
# checks the layout (soname, symlinks, static archive) and builds and runs real consumers:
#   - pkg-config, shared: ffi/tests/c/test_taskgroup.c with `pkg-config --cflags --libs`
#   - pkg-config, static: the same program against libtaskgroup.a + Libs.private
#   - the README's C++ line: ffi/examples/c++/example.cpp against the prefix (with an rpath)
#   - CMake: ffi/examples/cmake (find_package(taskgroup) -> taskgroup::taskgroup), shared
#     and static (-DTASKGROUP_STATIC=ON)
# Installs cmake and pkg-config when missing. PROFILE=dev makes it quicker (default release).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
for tool in cmake pkg-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        apt-get update && apt-get install -y cmake pkg-config
        break
    fi
done
PROFILE="${PROFILE:-release}"
PREFIX="$(mktemp -d /tmp/taskgroup-prefix.XXXXXX)"
WORK="$(mktemp -d /tmp/taskgroup-consumers.XXXXXX)"
trap 'rm -rf "$PREFIX" "$WORK"' EXIT

echo "== c-install: fresh build of taskgroup-ffi and install into $PREFIX"
# install-c.sh builds in $CARGO_TARGET_DIR/c-install; rebuild the ffi crate there.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/c-install" cargo clean --quiet -p taskgroup-ffi \
    --profile "$PROFILE"
PROFILE="$PROFILE" bash scripts/install-c.sh "$PREFIX"

echo "== c-install: layout"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
MINOR="$(echo "$VERSION" | cut -d. -f2)"
MAJOR="${VERSION%%.*}"
if [ "$MAJOR" = 0 ]; then SONAME="libtaskgroup.so.0.$MINOR"; else SONAME="libtaskgroup.so.$MAJOR"; fi
L="$PREFIX/lib"
test -f "$PREFIX/include/taskgroup/taskgroup.h"
test -f "$L/libtaskgroup.so.$VERSION" && ! test -L "$L/libtaskgroup.so.$VERSION"
test "$(readlink "$L/$SONAME")" = "libtaskgroup.so.$VERSION"
test "$(readlink "$L/libtaskgroup.so")" = "$SONAME"
test -f "$L/libtaskgroup.a"
readelf -d "$L/libtaskgroup.so.$VERSION" >"$WORK/dynamic.txt"
grep -q "Library soname: \[$SONAME\]" "$WORK/dynamic.txt"
# (readelf, not nm: nm's LTO plugin chokes on the archive's bitcode member)
readelf -sW "$L/libtaskgroup.a" >"$WORK/symbols.txt" 2>/dev/null || true
grep -q "GLOBAL DEFAULT .* tg_group$" "$WORK/symbols.txt"
test -f "$L/cmake/taskgroup/taskgroupConfig.cmake"
test -f "$L/cmake/taskgroup/taskgroupConfigVersion.cmake"
grep -q '^Libs.private: .*-l' "$L/pkgconfig/taskgroup.pc"

export PKG_CONFIG_PATH="$L/pkgconfig"
test "$(pkg-config --modversion taskgroup)" = "$VERSION"

echo "== c-install: pkg-config consumer (shared)"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror -pedantic ffi/tests/c/test_taskgroup.c \
    $(pkg-config --cflags --libs taskgroup) -Wl,-rpath,"$(pkg-config --variable=libdir taskgroup)" \
    -lm -o "$WORK/c_shared"
"$WORK/c_shared" | tail -n1
ldd "$WORK/c_shared" >"$WORK/ldd.txt"
grep -q "$SONAME => $L/$SONAME" "$WORK/ldd.txt"

echo "== c-install: pkg-config consumer (static: libtaskgroup.a + Libs.private)"
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror -pedantic ffi/tests/c/test_taskgroup.c \
    $(pkg-config --cflags taskgroup) "$L/libtaskgroup.a" \
    $(pkg-config --static --libs-only-l taskgroup | sed 's/-ltaskgroup//') -o "$WORK/c_static"
"$WORK/c_static" | tail -n1
if ldd "$WORK/c_static" | grep -q taskgroup; then
    echo "the static consumer loads a shared libtaskgroup" >&2
    exit 1
fi

echo "== c-install: the README's C++ line against the prefix"
# shellcheck disable=SC2046
g++ -std=c++17 -Wall -Wextra -Werror ffi/examples/c++/example.cpp \
    $(pkg-config --cflags --libs taskgroup) -Wl,-rpath,"$(pkg-config --variable=libdir taskgroup)" \
    -o "$WORK/example"
"$WORK/example" | grep "k=3 groups"

echo "== c-install: CMake consumer (find_package(taskgroup), shared and static)"
for static in OFF ON; do
    cmake -S ffi/examples/cmake -B "$WORK/cmake-$static" -DCMAKE_PREFIX_PATH="$PREFIX" \
        -DTASKGROUP_STATIC="$static" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$WORK/cmake-$static" >/dev/null
    "$WORK/cmake-$static/taskgroup_cmake_example"
done
if ldd "$WORK/cmake-ON/taskgroup_cmake_example" | grep -q taskgroup; then
    echo "the static CMake consumer loads a shared libtaskgroup" >&2
    exit 1
fi
# The version file: another 0.x minor version is another ABI, so it is refused.
mkdir -p "$WORK/version"
cat >"$WORK/version/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(version_check NONE)
find_package(taskgroup 0.$((MINOR + 1)) QUIET)
if(taskgroup_FOUND)
  message(FATAL_ERROR "taskgroup 0.$((MINOR + 1)) accepted by $VERSION")
endif()
find_package(taskgroup $VERSION EXACT REQUIRED)
CM
cmake -S "$WORK/version" -B "$WORK/version/build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
echo "c-install: ok"
