"""Determinism across front ends: the CLI (`taskgroup cluster --json`), the C ABI (through
ctypes) and Python threads give bit-identical results for the same input and options.

Needs the CLI binary: $TASKGROUP_BIN, else target/debug/taskgroup (scripts/ffi-check.sh
builds it). Floats are compared exactly: JSON carries the shortest round-trip text of each f64.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testutil import cli_bin

import taskgroup as tg  # noqa: E402

np = pytest.importorskip("numpy")

FIELDS = [
    "labels", "groups", "k", "num_groups", "value", "average_density", "sdp_value",
    "upper_bound", "gap", "gap_normalized", "certified_optimal", "status", "iterations",
    "primal_residual", "dual_residual",
]


def cli(*args: str) -> dict:
    out = subprocess.run([str(cli_bin()), *args], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def as_dict(r: tg.Result) -> dict:
    return {f: getattr(r, f) for f in FIELDS}


def instances(tmp_path: Path):
    """(name, path, matrix): the planted model (low-rank path) and a signed, non-symmetric T."""
    planted = tmp_path / "planted.npy"
    out = subprocess.run(
        [str(cli_bin()), "generate", "planted", "--n", "204", "--seed", "4", "--output", str(planted)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    rng = np.random.default_rng(7)
    signed = rng.normal(size=(30, 30)) * 1e3 - 200.0
    signed_path = tmp_path / "signed.npy"
    np.save(signed_path, signed)
    return [("planted", planted, np.load(planted)), ("signed", signed_path, signed)]


@pytest.mark.parametrize("k", [3, 5])
def test_cli_c_abi_and_threads_agree_bit_for_bit(tmp_path: Path, k: int) -> None:
    for name, path, t in instances(tmp_path):
        via_cli = cli("cluster", "--input", str(path), "-k", str(k), "--json", "--quiet")
        assert "seconds" not in via_cli
        via_cli = {f: via_cli.get(f) for f in FIELDS}
        via_abi = as_dict(tg.group(t, k))
        assert via_abi == via_cli, f"{name}, k = {k}: CLI and C ABI differ"
        # Four Python threads at once (ctypes releases the GIL during the call).
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(pool.map(lambda _: as_dict(tg.group(t, k)), range(8)))
        for r in runs:
            assert r == via_abi, f"{name}, k = {k}: a threaded run differs"


def test_k_search_agrees_between_cli_and_c_abi(tmp_path: Path) -> None:
    _, path, t = instances(tmp_path)[1]
    for rule in ["density", "elbow"]:
        via_cli = cli("cluster", "--input", str(path), "--k-range", "2..6", "--k-rule", rule,
                      "--json", "--quiet")
        via_cli = {f: via_cli.get(f) for f in FIELDS}
        via_abi = as_dict(tg.group_auto(t, 2, 6, rule=rule))
        assert via_abi == via_cli, f"k search ({rule}): CLI and C ABI differ"


def test_adagroup_session_cli_and_c_abi_write_identical_checkpoints(tmp_path: Path) -> None:
    """The same campaign driven through `taskgroup session` and through Python: the same
    requests at every step, and byte-identical checkpoints after every step."""
    d = tmp_path / "sess"
    out = subprocess.run(
        [str(cli_bin()), "session", "new", "--tasks", "18", "-k", "3", "--steps", "2",
         "--subsets-per-step", "40", "--subset-size", "4", "--seed", "5", "--out", str(d)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    py = tg.Session(18, 3, 2, subsets_per_step=40, subset_size=4, seed=5)

    def score(tasks, t):
        # Deterministic scores with a planted structure: tasks t // 6 form three groups.
        return 0.5 + sum(0.1 if u // 6 == t // 6 else -0.05 for u in tasks if u != t) / len(tasks)

    while not py.done:
        text = subprocess.run([str(cli_bin()), "session", "next", str(d), "--json"],
                              capture_output=True, text=True, check=True).stdout
        via_cli = [json.loads(line) for line in text.splitlines()]
        via_py = py.next_requests()
        assert [(r["id"], r["tasks"]) for r in via_cli] == [(str(r.id), r.tasks) for r in via_py]
        csv = tmp_path / "results.csv"
        csv.write_text("".join(
            f"{r.id}," + ",".join(repr(score(r.tasks, t)) for t in r.tasks) + "\n"
            for r in via_py
        ))
        subprocess.run([str(cli_bin()), "session", "report", str(d), "--from-csv", str(csv)],
                       capture_output=True, check=True)
        for r in via_py:
            py.report(r, [score(r.tasks, t) for t in r.tasks])
        py.advance()
        assert (d / "session.tgck").read_bytes() == py.save(), "checkpoints differ"
    assert py.groups() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17]]
