#!/usr/bin/env bash
# Installs libtaskgroup for C and C++ users under PREFIX, in cargo-c's layout:
#
#   PREFIX/include/taskgroup/taskgroup.h
#   PREFIX/lib/libtaskgroup.so.0.1.0            the shared library (soname libtaskgroup.so.0.1)
#   PREFIX/lib/libtaskgroup.so.0.1 -> libtaskgroup.so.0.1.0      (what programs load)
#   PREFIX/lib/libtaskgroup.so     -> libtaskgroup.so.0.1        (what -ltaskgroup finds)
#   PREFIX/lib/libtaskgroup.a
#   PREFIX/lib/pkgconfig/taskgroup.pc           (Libs.private: the static library's system libs)
#   PREFIX/lib/cmake/taskgroup/taskgroupConfig.cmake, taskgroupConfigVersion.cmake
#       find_package(taskgroup) gives taskgroup::taskgroup (shared) and taskgroup::taskgroup_static
#
# usage: scripts/install-c.sh PREFIX        (e.g. /usr/local, $HOME/.local)
# environment: DESTDIR (staging root, as in `make install`), LIBDIR (default lib),
#   PROFILE (cargo profile, default release), CARGO_TARGET_DIR (builds in its c-install/).
# The soname follows cargo-c: so.MAJOR from 1.0 on, so.0.MINOR before (a 0.x minor release may
# break the ABI). Linux only (ELF sonames); macOS/Windows users link target/release directly.
set -euo pipefail
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
PREFIX="$1"
case "$PREFIX" in
/*) ;;
*) PREFIX="$(pwd)/$PREFIX" ;;
esac
PREFIX="${PREFIX%/}"
LIBDIR="${LIBDIR:-lib}"
PROFILE="${PROFILE:-release}"
DESTDIR="${DESTDIR:-}"
# A target folder of its own: the installed library carries a soname, the one in
# target/release must not (programs linked against it in the tree would then look for
# libtaskgroup.so.0.1 next to it).
TARGET_DIR="${CARGO_TARGET_DIR:-target}/c-install"
export CARGO_TARGET_DIR="$TARGET_DIR"
case "$PROFILE" in
dev | debug) PROFILE=dev OUT="$TARGET_DIR/debug" ;;
*) OUT="$TARGET_DIR/$PROFILE" ;;
esac

VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
MAJOR="${VERSION%%.*}"
REST="${VERSION#*.}"
MINOR="${REST%%.*}"
if [ "$MAJOR" = 0 ]; then SOVER="0.$MINOR"; else SOVER="$MAJOR"; fi
SONAME="libtaskgroup.so.$SOVER"
REAL="libtaskgroup.so.$VERSION"

echo "== building libtaskgroup $VERSION ($PROFILE, soname $SONAME)" >&2
# TASKGROUP_SONAME makes ffi/build.rs pass -Wl,-soname to the linker; --print
# native-static-libs names the system libraries the static library needs.
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
TASKGROUP_SONAME=1 cargo rustc --quiet -p taskgroup-ffi --lib --profile "$PROFILE" \
    -- --print native-static-libs 2>"$LOG" || {
    cat "$LOG" >&2
    exit 1
}
NATIVE="$(sed -n 's/.*native-static-libs: //p' "$LOG" | tail -n1)"
if [ -z "$NATIVE" ]; then
    # Cargo replays cached notes, so this is only a fallback (Linux glibc, Rust std).
    NATIVE="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
fi
for f in libtaskgroup.so libtaskgroup.a; do
    test -f "$OUT/$f" || {
        echo "missing $OUT/$f" >&2
        exit 1
    }
done
if command -v readelf >/dev/null 2>&1 &&
    ! readelf -d "$OUT/libtaskgroup.so" | grep -q "Library soname: \[$SONAME\]"; then
    echo "$OUT/libtaskgroup.so has no soname $SONAME" >&2
    exit 1
fi

ROOT="$DESTDIR$PREFIX"
INC="$ROOT/include/taskgroup"
LIB="$ROOT/$LIBDIR"
echo "== installing into $ROOT" >&2
install -d "$INC" "$LIB/pkgconfig" "$LIB/cmake/taskgroup"
install -m 644 include/taskgroup.h "$INC/taskgroup.h"
install -m 755 "$OUT/libtaskgroup.so" "$LIB/$REAL"
ln -sfn "$REAL" "$LIB/$SONAME"
ln -sfn "$SONAME" "$LIB/libtaskgroup.so"
install -m 644 "$OUT/libtaskgroup.a" "$LIB/libtaskgroup.a"

cat >"$LIB/pkgconfig/taskgroup.pc" <<PC
prefix=$PREFIX
exec_prefix=\${prefix}
libdir=\${exec_prefix}/$LIBDIR
includedir=\${prefix}/include

Name: taskgroup
Description: Task grouping by an SDP relaxation with a certified bound (C ABI)
Version: $VERSION
Libs: -L\${libdir} -ltaskgroup
Libs.private: $NATIVE
Cflags: -I\${includedir}/taskgroup
PC

# The system libraries of the static library as CMake link items ("-lm" -> "m").
CMAKE_NATIVE=""
for l in $NATIVE; do
    case "$l" in
    -l*) CMAKE_NATIVE="$CMAKE_NATIVE;${l#-l}" ;;
    *) CMAKE_NATIVE="$CMAKE_NATIVE;$l" ;;
    esac
done
CMAKE_NATIVE="${CMAKE_NATIVE#;}"
# Depth of the config folder below the prefix ($LIBDIR/cmake/taskgroup), so the package is
# relocatable: paths are computed from the config file's own location.
UP="$(echo "$LIBDIR/cmake/taskgroup" | tr -s '/' | awk -F/ '{ s = ""; for (i = 1; i <= NF; i++) s = s "/.."; print substr(s, 2) }')"

cat >"$LIB/cmake/taskgroup/taskgroupConfig.cmake" <<CM
# CMake package of libtaskgroup $VERSION (written by scripts/install-c.sh).
#   find_package(taskgroup 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE taskgroup::taskgroup)          # shared
#   target_link_libraries(app PRIVATE taskgroup::taskgroup_static)   # static
get_filename_component(_taskgroup_prefix "\${CMAKE_CURRENT_LIST_DIR}/$UP" ABSOLUTE)
set(taskgroup_VERSION "$VERSION")
set(taskgroup_INCLUDE_DIRS "\${_taskgroup_prefix}/include/taskgroup")
if(NOT TARGET taskgroup::taskgroup)
  add_library(taskgroup::taskgroup SHARED IMPORTED)
  set_target_properties(taskgroup::taskgroup PROPERTIES
    IMPORTED_LOCATION "\${_taskgroup_prefix}/$LIBDIR/$REAL"
    IMPORTED_SONAME "$SONAME"
    INTERFACE_INCLUDE_DIRECTORIES "\${_taskgroup_prefix}/include/taskgroup")
endif()
if(NOT TARGET taskgroup::taskgroup_static)
  add_library(taskgroup::taskgroup_static STATIC IMPORTED)
  set_target_properties(taskgroup::taskgroup_static PROPERTIES
    IMPORTED_LOCATION "\${_taskgroup_prefix}/$LIBDIR/libtaskgroup.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_taskgroup_prefix}/include/taskgroup"
    INTERFACE_LINK_LIBRARIES "$CMAKE_NATIVE")
endif()
set(taskgroup_LIBRARIES taskgroup::taskgroup)
unset(_taskgroup_prefix)
CM

cat >"$LIB/cmake/taskgroup/taskgroupConfigVersion.cmake" <<CM
# Compatible when the requested version is not newer and has the same major version (for
# 0.x: the same minor version), like cargo's semver rules and the soname.
set(PACKAGE_VERSION "$VERSION")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
set(PACKAGE_VERSION_EXACT FALSE)
if(PACKAGE_FIND_VERSION)
  if(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
    if("$MAJOR" STREQUAL "0")
      if(PACKAGE_FIND_VERSION_MAJOR EQUAL 0 AND PACKAGE_FIND_VERSION_MINOR EQUAL $MINOR)
        set(PACKAGE_VERSION_COMPATIBLE TRUE)
      endif()
    elseif(PACKAGE_FIND_VERSION_MAJOR EQUAL $MAJOR)
      set(PACKAGE_VERSION_COMPATIBLE TRUE)
    endif()
  endif()
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
if(NOT "\${CMAKE_SIZEOF_VOID_P}" STREQUAL "" AND NOT "\${CMAKE_SIZEOF_VOID_P}" STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
CM

echo "installed libtaskgroup $VERSION into $ROOT:" >&2
echo "  C/C++:   cc app.c \$(pkg-config --cflags --libs taskgroup) -Wl,-rpath,$PREFIX/$LIBDIR" >&2
echo "           (PKG_CONFIG_PATH=$PREFIX/$LIBDIR/pkgconfig if that is not a system prefix)" >&2
echo "  CMake:   find_package(taskgroup) -> taskgroup::taskgroup (CMAKE_PREFIX_PATH=$PREFIX)" >&2
