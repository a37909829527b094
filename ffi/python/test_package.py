"""pytest tests of the packaging: the loader (TASKGROUP_LIB as a file or a folder, the library
beside the package, clear errors) and the build backend (`pip wheel ./ffi/python` runs cargo
and bundles the library in a py3-none-<platform> wheel that imports from any folder with no
environment variable).

The wheel tests build with TASKGROUP_BUILD_PROFILE=debug (the debug library is already built
by scripts/ffi-check.sh, so cargo has nothing to do); scripts/ffi-check.sh also checks the real
thing, `pip install ./ffi/python` (release) in a fresh venv. They need pip to reach PyPI (or its
cache) for setuptools; TASKGROUP_SKIP_PIP_TESTS=1 skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from testutil import HERE, REPO

import taskgroup as tg  # noqa: E402

LIB_NAME = tg._library_file_name()


def built_library() -> Path:
    """The library the tests run against (the one TASKGROUP_LIB names, else the loaded one)."""
    return Path(tg.library_path()).resolve()


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TASKGROUP_LIB", "PYTHONPATH")}
    env.update(extra)
    return env


def run_python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=clean_env(**env), capture_output=True,
        text=True, check=False,
    )


# --- the loader -----------------------------------------------------------------------------


def test_taskgroup_lib_may_name_the_file_or_its_folder(tmp_path, monkeypatch):
    lib = built_library()
    monkeypatch.setenv("TASKGROUP_LIB", str(lib))
    assert tg._find_library() == lib
    monkeypatch.setenv("TASKGROUP_LIB", str(lib.parent))
    assert tg._find_library() == lib.parent / LIB_NAME
    # a cargo target folder: its release/ or debug/ subfolder
    (tmp_path / "debug").mkdir()
    shutil.copy(lib, tmp_path / "debug" / LIB_NAME)
    monkeypatch.setenv("TASKGROUP_LIB", str(tmp_path))
    assert tg._find_library() == tmp_path / "debug" / LIB_NAME


def test_taskgroup_lib_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKGROUP_LIB", str(tmp_path))
    with pytest.raises(tg.LibraryNotFoundError, match=f"is a folder without {LIB_NAME}") as e:
        tg._find_library()
    assert isinstance(e.value, OSError)
    monkeypatch.setenv("TASKGROUP_LIB", str(tmp_path / "nope.so"))
    with pytest.raises(tg.LibraryNotFoundError, match="no such file or folder"):
        tg._find_library()


def test_not_found_message_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("TASKGROUP_LIB", raising=False)
    monkeypatch.setattr(tg, "_candidates", lambda: [tmp_path / LIB_NAME])
    with pytest.raises(tg.LibraryNotFoundError) as e:
        tg._find_library()
    msg = str(e.value)
    assert "pip install ./ffi/python" in msg
    assert "cargo build --release -p taskgroup-ffi" in msg
    assert str(tmp_path / LIB_NAME) in msg


def test_import_needs_no_library_and_a_bad_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / LIB_NAME
    bogus.write_text("not a library")
    code = (
        "import taskgroup as tg\n"
        "try:\n    tg.group([[1.0]], 1)\n"
        "except tg.LibraryNotFoundError as e:\n    print('ERR', isinstance(e, OSError), e)\n"
    )
    out = run_python(code, tmp_path, PYTHONPATH=str(HERE), TASKGROUP_LIB=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR True ") and "could not be loaded" in out.stdout


def test_library_beside_the_package_is_found_first(tmp_path):
    pkg = tmp_path / "site" / "taskgroup"
    shutil.copytree(HERE / "taskgroup", pkg, ignore=shutil.ignore_patterns("lib*", "__pycache__"))
    shutil.copy(built_library(), pkg / LIB_NAME)
    out = run_python(
        "import taskgroup as tg; print(tg.library_path()); print(tg.group([[1, 0], [0, 1]], 2).groups)",
        tmp_path, PYTHONPATH=str(tmp_path / "site"), CARGO_TARGET_DIR=str(tmp_path / "none"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(pkg / LIB_NAME), "[[0], [1]]"]


# --- the build backend ----------------------------------------------------------------------

needs_pip = pytest.mark.skipif(
    os.environ.get("TASKGROUP_SKIP_PIP_TESTS") == "1" or shutil.which("cargo") is None,
    reason="TASKGROUP_SKIP_PIP_TESTS=1 or no cargo",
)


def pip_wheel(source: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-w", str(out), str(source)],
        env=clean_env(TASKGROUP_BUILD_PROFILE="debug", **env), capture_output=True, text=True,
        check=False,
    )


@needs_pip
def test_pip_wheel_bundles_the_library_and_imports_from_any_folder(tmp_path):
    out = pip_wheel(HERE, tmp_path / "wheels")
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (tmp_path / "wheels").glob("taskgroup-*.whl")
    assert "-py3-none-" in wheel.name and not wheel.name.endswith("-any.whl"), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert {f"taskgroup/{LIB_NAME}", "taskgroup/py.typed", "taskgroup/__init__.py",
            "taskgroup/estimator.py"} <= names
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(wheel)],
        check=True, capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import taskgroup as tg\n"
        "print(tg.library_path())\n"
        "T = [[1, 1, 0.1, 0.1], [1, 1, 0.1, 0.1], [0.1, 0.1, 1, 1], [0.1, 0.1, 1, 1]]\n"
        "print(tg.TaskGrouper(2).fit(T).groups_)\n"
    )
    # No TASKGROUP_LIB, no CARGO_TARGET_DIR, run from another folder: the bundled library.
    env = {k: v for k, v in clean_env(PYTHONPATH=str(site)).items() if k != "CARGO_TARGET_DIR"}
    r = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(site / "taskgroup" / LIB_NAME), "[[0, 1], [2, 3]]"]


@needs_pip
def test_building_outside_a_clone_says_what_to_do(tmp_path):
    copy = tmp_path / "a" / "b" / "python"
    shutil.copytree(HERE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "lib*.so",
                                                              "__pycache__"))
    out = pip_wheel(copy, tmp_path / "wheels")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "is not the taskgroup cargo workspace" in text and "TASKGROUP_WORKSPACE" in text
    out = pip_wheel(copy, tmp_path / "wheels", TASKGROUP_WORKSPACE=str(REPO))
    assert out.returncode == 0, out.stdout + out.stderr
    assert list((tmp_path / "wheels").glob("taskgroup-*.whl"))
