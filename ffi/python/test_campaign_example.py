"""The README's campaign example (examples/campaign_sklearn.py) runs on a small budget: on a
local Ray when Ray is installed, else on the local process pool; it recovers the three
labelling rules and the groups beat training every task alone and all tasks together."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from testutil import HERE, REPO

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install scikit-learn)")

try:
    import ray  # noqa: F401

    ENGINE = "ray"
except ImportError:  # pragma: no cover
    ENGINE = "local"


def test_the_example_runs_and_its_groups_win(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, str(REPO / "examples" / "campaign_sklearn.py"), "--quick",
           "--engine", ENGINE, "--out", str(tmp_path / "out"), "--num-cpus", "2"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    table = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\| (.+?)\s+\|\s+(\d+) \|\s+([0-9.]+) \|", line)
        if m:
            table[m.group(1)] = (int(m.group(2)), float(m.group(3)))
    assert set(table) >= {"every task alone", "all tasks together", "groups found by the campaign"}
    found = table["groups found by the campaign"][1]
    assert found > table["every task alone"][1] and found > table["all tasks together"][1]
    assert "taskgroup campaign: done" in out.stderr
    # run again: the finished checkpoint is reused, nothing is trained
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(0 in this run, " in again.stdout
