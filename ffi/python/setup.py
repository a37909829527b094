"""Build of the taskgroup Python package: runs cargo on the workspace and bundles the library.

``pip install ./ffi/python`` (or ``pip wheel``) calls setuptools' PEP 517 backend
(pyproject.toml); its ``build_py`` step here runs

    cargo build --release -p taskgroup-ffi --manifest-path <workspace>/Cargo.toml

and copies ``libtaskgroup.so`` (``.dylib``, ``taskgroup.dll``) into the package, next to
``__init__.py``, where the loader looks first. The wheel is tagged ``py3-none-<platform>``: it
holds no Python extension, only a C library, so it works with every Python 3 of the platform.

The workspace is the folder two levels up from this file (``ffi/python`` -> the clone's root).
pip (≥ 21.3) builds a local folder in place, so this path is the clone's. When the source has
been copied elsewhere (e.g. ``python -m build`` builds the wheel from an sdist in a temporary
folder), set ``TASKGROUP_WORKSPACE`` to the clone's root.

Environment: ``TASKGROUP_WORKSPACE`` (the cargo workspace), ``TASKGROUP_BUILD_PROFILE``
(``release``, default, or ``debug`` for a quick unoptimised build), ``CARGO`` (the cargo
binary), and cargo's own variables (``CARGO_TARGET_DIR``, ``CARGO_NET_OFFLINE``, ...). Only
crates already in Cargo.lock are built; offline, cargo needs them in its local cache.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:  # setuptools >= 70.1 has bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
PACKAGE = "taskgroup"
CRATE = "taskgroup-ffi"


def _package_module(name: str) -> ModuleType:
    """A module of the package loaded from its file alone (the package itself is not imported
    while it is being built)."""
    path = HERE / PACKAGE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_taskgroup_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


library_file_name = _package_module("_platform").library_file_name


def is_workspace(root: Path) -> bool:
    return (root / "Cargo.toml").is_file() and (root / "ffi" / "Cargo.toml").is_file()


def find_workspace() -> Path:
    """The cargo workspace to build: ``$TASKGROUP_WORKSPACE``, else two folders up."""
    env = os.environ.get("TASKGROUP_WORKSPACE")
    root = Path(env).expanduser().resolve() if env else HERE.parent.parent
    if is_workspace(root):
        return root
    where = f"TASKGROUP_WORKSPACE={env}" if env else f"{root} (two folders up from {HERE})"
    raise SystemExit(
        f"taskgroup: cannot build libtaskgroup: {where} is not the taskgroup cargo workspace "
        "(no Cargo.toml with ffi/Cargo.toml). The Python package builds the library from a "
        "clone: run `pip install ./ffi/python` from the clone's root, or set "
        "TASKGROUP_WORKSPACE to the clone's root when building from a copy of ffi/python "
        "(e.g. an sdist)."
    )


def cargo_build(root: Path) -> Path:
    """Builds the C library with cargo; returns the path of the shared library it made."""
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise SystemExit(
            f"taskgroup: `{cargo}` was not found on PATH: building the Python package compiles "
            "libtaskgroup with a Rust toolchain (https://rustup.rs), then retry the pip command"
        )
    profile = os.environ.get("TASKGROUP_BUILD_PROFILE", "release")
    if profile not in ("release", "debug"):
        raise SystemExit(f"taskgroup: TASKGROUP_BUILD_PROFILE={profile!r}: release or debug")
    cmd = [
        cargo,
        "build",
        "-p",
        CRATE,
        "--manifest-path",
        str(root / "Cargo.toml"),
        "--message-format=json-render-diagnostics",
    ]
    if profile == "release":
        cmd.append("--release")
    print("taskgroup: " + " ".join(cmd), file=sys.stderr, flush=True)
    # Diagnostics and progress go to stderr (pip shows them with -v or on failure); stdout
    # carries cargo's JSON messages, which name the files it built.
    proc = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"taskgroup: `cargo build -p {CRATE}` failed (exit {proc.returncode}); its errors "
            "are above"
        )
    name = library_file_name()
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        if "cdylib" not in msg.get("target", {}).get("kind", []):
            continue
        for f in msg.get("filenames", []):
            if Path(f).name == name:
                return Path(f)
    raise SystemExit(f"taskgroup: cargo built {CRATE} but reported no {name}")


class BuildPyWithLibrary(build_py):
    """build_py that also builds libtaskgroup with cargo and copies it into the package."""

    def run(self) -> None:
        # Start from an empty package folder: files of earlier builds (a module since removed,
        # an old library) must not end up in the wheel.
        stale = Path(self.build_lib) / PACKAGE
        if stale.is_dir():
            shutil.rmtree(stale)
        super().run()
        lib = cargo_build(find_workspace())
        dest_dirs = [Path(self.build_lib) / PACKAGE]
        if getattr(self, "editable_mode", False):  # pip install -e: the package is the source
            dest_dirs = [HERE / PACKAGE]
        for d in dest_dirs:
            d.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(lib), str(d / lib.name))

    def get_outputs(self, include_bytecode: bool = True) -> list:
        outputs = super().get_outputs(include_bytecode)
        return outputs + [str(Path(self.build_lib) / PACKAGE / library_file_name())]


class BinaryDistribution(Distribution):
    """A distribution with native code (the library), so it installs to platlib."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel for this platform (it holds a native library) and any Python 3."""

    def get_tag(self) -> tuple:
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
)
