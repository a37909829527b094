"""Helpers shared by the tests of this folder (not part of the package).

Importing it puts this folder first on sys.path, so that `import taskgroup` is the package
here (not an installed one) and `campaign_scripted` imports.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))


def optional(module: str, reason: str | None = None):
    """`module` imported (None when it is not installed) and a mark that skips the tests
    that need it."""
    try:
        found = importlib.import_module(module)
    except ImportError:  # pragma: no cover
        found = None
    return found, pytest.mark.skipif(found is None,
                                     reason=reason or f"{module} is not installed")


def cli_bin() -> Path:
    """The `taskgroup` CLI ($TASKGROUP_BIN or the debug build); fails the test when absent."""
    p = Path(os.environ.get("TASKGROUP_BIN", REPO / "target" / "debug" / "taskgroup"))
    if not p.exists():
        pytest.fail(f"the taskgroup CLI is not built at {p}: run `cargo build -p taskgroup-cli`")
    return p
