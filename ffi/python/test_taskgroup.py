"""pytest tests of ffi/python/taskgroup.py against the freshly built libtaskgroup.

Run from the repository root after `cargo build -p taskgroup-ffi`:
    TASKGROUP_LIB=target/debug/libtaskgroup.so python -m pytest ffi/python
(scripts/ffi-check.sh does this in a venv with pytest and numpy).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from testutil import HERE, REPO, optional

import taskgroup as tg  # noqa: E402

np, needs_numpy = optional("numpy")


def planted(n_groups=3, size=3, inside=1.0, across=0.2):
    """A block matrix: tasks i // size form the planted groups."""
    n = n_groups * size
    return [[inside if u // size == v // size else across for v in range(n)] for u in range(n)]


def planted_groups(n_groups=3, size=3):
    return [list(range(g * size, (g + 1) * size)) for g in range(n_groups)]


def simulated_score(task, subset, size=3):
    """A simulated trainer: a task scores higher with partners from its own planted group."""
    s = 1.0 + 0.01 * task
    for other in subset:
        if other != task:
            s += (0.6 if task // size == other // size else -0.4) / len(subset)
    return s


def run_step(session):
    for r in session.next_requests():
        session.report(r, [simulated_score(t, r.tasks) for t in r.tasks])
    return session.advance()


def finish(session):
    while not session.done:
        run_step(session)
    return session.groups()


def new_session():
    # The paper's schedule (a batch of new tasks per step) keeps the state-machine tests short.
    return tg.Session(9, 4, 3, subset_size=3, seed=5, paper=True, count_rule="value")


# --- library and version -----------------------------------------------------------------


def test_library_version_matches_cargo_toml_and_module():
    cargo = (REPO / "Cargo.toml").read_text()
    m = re.search(r'\[workspace\.package\][^\[]*?version\s*=\s*"([^"]+)"', cargo, re.S)
    assert m, "workspace version not found"
    assert tg.library_version() == m.group(1)
    assert tg.__version__ == m.group(1)


def test_library_is_the_one_asked_for():
    if os.environ.get("TASKGROUP_LIB"):
        assert Path(tg.library_path()).resolve() == Path(os.environ["TASKGROUP_LIB"]).resolve()
    assert Path(tg.library_path()).is_file()


def test_every_status_has_an_error_class():
    for status, cls in tg.ERRORS.items():
        assert issubclass(cls, tg.TaskgroupError)
        assert cls.status == status
    assert issubclass(tg.NotSquareError, ValueError)
    assert issubclass(tg.InvalidTypeError, TypeError)
    assert issubclass(tg.InvalidTypeError, tg.TaskgroupError)
    assert len(set(tg.ERRORS)) == 36
    # A malformed id was an UnknownRequestError before it had its own status.
    assert issubclass(tg.MalformedRequestIdError, tg.UnknownRequestError)


def test_every_status_of_the_library_has_a_class_with_its_message():
    """Each status the library knows (tg_status_message is not "unknown status") has a class."""
    lib = tg._lib()
    known = [v for v in range(0, 300) if lib.tg_status_message(v) != b"unknown status"]
    assert sorted(known) == sorted([0] + list(tg.ERRORS)), "a status without a Python class"


# --- group ---------------------------------------------------------------------------------


def test_group_nested_lists():
    r = tg.group(planted(), 3)
    assert r.labels == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert r.groups == planted_groups()
    assert r.k == 3 and r.num_groups == 3
    assert r.certified_optimal
    assert r.status in ("certified", "converged")  # default: stop once certified
    assert math.isclose(r.value, 9.0, rel_tol=1e-9)
    assert math.isclose(r.average_density, 3.0, rel_tol=1e-9)
    assert r.upper_bound is not None and r.upper_bound >= r.value - 1e-6
    assert r.bound == r.upper_bound
    assert 0.0 <= r.gap < 1e-5
    assert r.iterations > 0


def test_solve_to_tolerance_runs_the_sdp_to_the_tolerance():
    fast = tg.group(planted(), 3)
    full = tg.group(planted(), 3, solve_to_tolerance=True)
    assert full.status == "converged"
    assert full.labels == fast.labels
    assert full.certified_optimal and fast.certified_optimal
    assert full.iterations >= fast.iterations


def test_group_tuples_and_ints_are_converted():
    t = tuple(tuple(int(x * 10) for x in row) for row in planted())
    assert tg.group(t, 3).groups == planted_groups()


@needs_numpy
def test_group_numpy_dtypes_and_orders():
    a = np.array(planted())
    expected = planted_groups()
    for arr in (a, a.astype(np.float32), (a * 10).astype(np.int64), (a * 10).astype(np.uint8)):
        assert tg.group(arr, 3).groups == expected
    assert tg.group(np.asfortranarray(a), 3).groups == expected
    assert tg.group(a[::1, ::1].T, 3).groups == expected  # a non-contiguous view
    # numpy scalars inside lists are numbers too
    assert tg.group([[np.float64(x) for x in row] for row in planted()], 3).groups == expected


def test_group_options():
    t = planted()
    r = tg.group(t, 3, rounding="threshold", threshold_c=1.0, tolerance=1e-7, seed=3)
    assert r.groups == planted_groups()
    # (by default this instance is certified after one iteration: status "certified")
    r = tg.group(t, 3, max_iterations=1, solve_to_tolerance=True)
    assert r.status == "max_iterations"
    assert r.iterations == 1
    with pytest.raises(tg.InvalidSettingError, match="tolerance"):
        tg.group(t, 3, tolerance=2.0)
    with pytest.raises(tg.InvalidSettingError, match="rounding"):
        tg.group(t, 3, rounding="fancy")
    with pytest.raises(TypeError, match="unknown option"):
        tg.group(t, 3, tolerence=1e-6)


def test_non_square():
    with pytest.raises(tg.NotSquareError, match="row 1 has 2 entries, expected 3"):
        tg.group([[1, 2, 3], [4, 5], [6, 7, 8]], 2)
    with pytest.raises(tg.NotSquareError):
        tg.group([[1, 2, 3], [4, 5, 6]], 2)
    with pytest.raises(ValueError):  # also a ValueError
        tg.group([[1, 2], [3, 4], [5, 6]], 2)
    with pytest.raises(tg.NotSquareError):
        tg.group([1.0, 2.0], 1)


@needs_numpy
def test_non_square_numpy():
    with pytest.raises(tg.NotSquareError, match="2×3"):
        tg.group(np.zeros((2, 3)), 1)
    with pytest.raises(tg.NotSquareError, match="2-D"):
        tg.group(np.zeros(4), 1)


def test_nan_and_inf_name_the_entry():
    t = planted()
    t[1][2] = float("nan")
    with pytest.raises(tg.NonFiniteError, match=r"row 1, column 2") as e:
        tg.group(t, 3)
    assert e.value.status == 102
    t[1][2] = 1.0
    t[4][0] = float("inf")
    with pytest.raises(tg.NonFiniteError, match=r"row 4, column 0"):
        tg.group(t, 3)


@needs_numpy
def test_nan_numpy():
    a = np.array(planted())
    a[2, 5] = np.nan
    with pytest.raises(tg.NonFiniteError, match=r"row 2, column 5"):
        tg.group(a, 3)


def test_wrong_types_are_refused():
    with pytest.raises(tg.InvalidTypeError, match=r"entry \(0, 1\) is str"):
        tg.group([[1.0, "2"], [2.0, 1.0]], 1)
    with pytest.raises(TypeError):
        tg.group([[1.0, True], [True, 1.0]], 1)
    with pytest.raises(TypeError):
        tg.group([[1.0, 1j], [1j, 1.0]], 1)
    with pytest.raises(tg.InvalidTypeError):
        tg.group("not a matrix", 1)
    with pytest.raises(tg.InvalidTypeError):
        tg.group(42, 1)
    with pytest.raises(tg.InvalidTypeError):
        tg.group(planted(), 2.5)


@needs_numpy
def test_wrong_dtypes_are_refused():
    for arr in (
        np.array([["1", "2"], ["3", "4"]]),
        np.ones((2, 2), dtype=bool),
        np.ones((2, 2), dtype=complex),
        np.array([[1.0, None], [None, 1.0]], dtype=object),
    ):
        with pytest.raises(tg.InvalidTypeError, match="dtype"):
            tg.group(arr, 1)


def test_k_out_of_range():
    t = planted()
    for k in (0, 10, -1):
        with pytest.raises(tg.InvalidKError, match=f"k = {k} groups is out of range") as e:
            tg.group(t, k)
        assert e.value.status == 103
    assert tg.group(t, 9).num_groups == 9
    assert tg.group(t, 1).num_groups == 1


def test_empty():
    with pytest.raises(tg.EmptyError):
        tg.group([], 1)


def test_without_numpy(monkeypatch):
    monkeypatch.setattr(tg, "_np", None)
    assert tg.group(planted(), 3).groups == planted_groups()


# --- group_auto ----------------------------------------------------------------------------


def test_group_auto():
    r = tg.group_auto(planted(), 2, 5, rule="elbow")
    assert r.k == 3
    assert r.groups == planted_groups()
    r = tg.group_auto(planted(), 3, 3)
    assert r.k == 3
    with pytest.raises(tg.InvalidKRangeError):
        tg.group_auto(planted(), 4, 2)
    with pytest.raises(tg.InvalidKRangeError):
        tg.group_auto(planted(), 1, 10)
    with pytest.raises(tg.InvalidSettingError, match="rule"):
        tg.group_auto(planted(), rule="best")


# --- sessions -------------------------------------------------------------------------------


def test_session_recovers_planted_groups():
    with new_session() as s:
        p = s.progress
        assert (p.n, p.step, p.num_steps, p.done) == (9, 0, 3, False)
        assert s.labels() == [None] * 9
        summary = run_step(s)
        assert summary.step == 0 and summary.tasks_seen == 3
        assert s.groups() == [[0, 1, 2]]
        assert s.labels()[3:] == [None] * 6
        assert finish(s) == planted_groups()
        assert s.progress.done and s.next_requests() == []
        with pytest.raises(tg.SessionDoneError):
            s.advance()


def test_session_defaults_recover_groups_with_names_and_export():
    # 30 tasks in 3 planted groups, scales differing 30x, max_groups 6 > 3: the default count
    # rule must not split the groups; the affinity, results and confidence come back.
    import random

    names = [f"task{i}" for i in range(30)]
    lab = [i % 3 for i in range(30)]
    rng = random.Random(0)
    scale = [rng.uniform(1, 30) for _ in range(30)]
    with tg.Session(names, 6, 3, seed=1) as s:
        while not s.done:
            for r in s.next_requests():
                t = r.tasks
                s.report(
                    r,
                    [
                        scale[i]
                        * (
                            0.5
                            + sum(0.1 if lab[i] == lab[j] else -0.05 for j in t if j != i)
                            / (len(t) - 1)
                            + rng.gauss(0, 0.01)
                        )
                        for i in t
                    ],
                )
            s.advance()
        truth = sorted([[i for i in range(30) if lab[i] == c] for c in range(3)])
        assert sorted(s.groups()) == truth
        assert sorted(s.group_names())[0][0] == "task0"
        a, c = s.affinity(coverage=True)
        assert len(a) == 30 and all(len(r) == 30 for r in a) and c[0][0] > 0
        rows = s.results()
        assert len(rows) == 5 * 30 * 5 and rows[0][0] in rows[0][1]
        conf = s.confidence()
        assert min(conf["stability"]) >= 0.9
        with pytest.raises(tg.SessionDoneError, match="no more results"):
            s.report(tg.RequestId(0, 0), [1.0] * 5)
        with tg.Session.load(s.save(), names) as r:
            assert r.groups() == s.groups() and r.results() == rows
    with pytest.raises(tg.InvalidSettingError, match="subset_size"):
        tg.Session(4, 2, 2, subset_size=5)
    with pytest.raises(tg.InvalidSettingError, match="sampling"):
        tg.Session(5, 2, 2, sampling="nope")


def test_session_defaults_recover_groups_with_negative_pairs_inside_groups():
    # 30 tasks in 3 planted groups, max_groups 6 > 3, each ordered pair with its own fixed
    # transfer effect (sd 0.08 around +0.1 within and -0.05 across: some pairs inside a group
    # transfer negatively), scores scaled per task: the defaults still find the 3 groups.
    import random

    n = 30
    lab = [(7 * i) % 3 for i in range(n)]
    rng = random.Random(3)
    scale = [rng.uniform(1, 10) for _ in range(n)]
    effect = [[(0.1 if lab[i] == lab[j] else -0.05) + rng.gauss(0, 0.08) for j in range(n)]
              for i in range(n)]
    assert sum(effect[i][j] < 0 for i in range(n) for j in range(n)
               if i != j and lab[i] == lab[j]) > 0
    with tg.Session(n, 6, 5, seed=2) as s:
        while not s.done:
            for r in s.next_requests():
                t = r.tasks
                s.report(r, [scale[i] * (0.5 + sum(effect[i][j] for j in t if j != i)
                                         / (len(t) - 1) + rng.gauss(0, 0.01)) for i in t])
            s.advance()
        truth = sorted([[i for i in range(n) if lab[i] == c] for c in range(3)])
        assert sorted(s.groups()) == truth


def test_session_errors_change_nothing():
    with new_session() as s:
        reqs = s.next_requests()
        r = reqs[0]
        with pytest.raises(tg.StepIncompleteError, match="still have no reported scores"):
            s.advance()
        with pytest.raises(tg.UnknownRequestError, match="s9-9"):
            s.report((9, 9), [1.0] * 3)
        with pytest.raises(tg.MalformedRequestIdError, match="malformed"):
            s.report("x0-1", [1.0] * 3)
        with pytest.raises(tg.ScoreCountMismatchError):
            s.report(r, [1.0])
        with pytest.raises(tg.NonFiniteScoreError, match="score 1"):
            s.report(r, [1.0, float("nan"), 1.0])
        with pytest.raises(tg.InvalidTypeError):
            s.report(r, [1.0, "x", 1.0])
        assert s.progress.reported == 0
        assert s.report(str(r.id), [1.0, 2.0, 3.0]) is True
        assert s.report(r.id, [1.0, 2.0, 3.0]) is False  # the same again: harmless
        with pytest.raises(tg.ConflictingReportError):
            s.report(r, [3.0, 2.0, 1.0])
        assert s.progress.reported == 1
        assert len(s.next_requests()) == len(reqs) - 1
    with pytest.raises(tg.InvalidHandleError, match="closed"):
        s.next_requests()
    s.close()  # idempotent


def test_session_settings_are_checked():
    with pytest.raises(tg.InvalidKError):
        tg.Session(5, 6, 2)
    with pytest.raises(tg.InvalidSettingError, match="steps"):
        tg.Session(5, 2, 6)
    with pytest.raises(tg.InvalidSettingError, match="subset_size"):
        tg.Session(5, 2, 2, subset_size=1)
    with pytest.raises(tg.InvalidSettingError, match="count_rule"):
        tg.Session(5, 2, 2, count_rule="nope")
    with pytest.raises(tg.InvalidSettingError, match="tolerance"):
        tg.Session(5, 2, 2, tolerance=0.0)
    with pytest.raises(tg.InvalidSettingError, match="estimator"):
        tg.Session(5, 2, 2, estimator="nope")
    with tg.Session(5, 2, 2, fill=0.5, shuffle=True, count_rule="elbow") as s:
        assert s.progress.pending > 0
    with tg.Session(9, 4, 3, subset_size=3, seed=5, estimator="surrogate") as s:
        assert finish(s) == planted_groups()


def test_session_checkpoint_round_trip_in_process():
    with new_session() as s:
        run_step(s)
        data = s.save()
        assert isinstance(data, bytes) and len(data) > 0
        with tg.Session.load(data) as r:
            assert r.progress == s.progress
            assert r.labels() == s.labels()
            assert finish(r) == finish(s) == planted_groups()


def test_corrupt_checkpoints_are_refused():
    with new_session() as s:
        data = s.save()
    with pytest.raises(tg.CorruptCheckpointError):
        tg.Session.load(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[-1] ^= 0x5A
    with pytest.raises(tg.CorruptCheckpointError):
        tg.Session.load(bytes(flipped))
    with pytest.raises(tg.CorruptCheckpointError):
        tg.Session.load(b"")


FINISH_IN_NEW_PROCESS = """
import json, sys
sys.path.insert(0, {here!r})
import taskgroup as tg
import test_taskgroup as t
with tg.Session.load_file({ckpt!r}) as s:
    before = s.progress.step
    groups = t.finish(s)
print(json.dumps({{"resumed_at": before, "groups": groups}}))
"""


def test_session_saved_reloaded_in_a_new_process_and_finished(tmp_path):
    # The uninterrupted run.
    with new_session() as s:
        expected = finish(s)
    # The same session, stopped after step 1 and finished by another process.
    with new_session() as s:
        run_step(s)
        run_step(s)
        # half of step 2 reported before the checkpoint
        reqs = s.next_requests()
        for r in reqs[: len(reqs) // 2]:
            s.report(r, [simulated_score(t, r.tasks) for t in r.tasks])
        ckpt = tmp_path / "session.tgck"
        s.save_file(ckpt)
    script = FINISH_IN_NEW_PROCESS.format(here=str(HERE), ckpt=str(ckpt))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["resumed_at"] == 2
    assert result["groups"] == expected == planted_groups()


# --- affinity builder -----------------------------------------------------------------------


def test_affinity_builder():
    subsets = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 1, 3], [2, 4, 5], [6, 7, 0], [8, 3, 4]]
    with tg.AffinityBuilder(9) as b:
        for sub in subsets:
            b.add(sub, [simulated_score(t, sub) for t in sub])
        with pytest.raises(tg.InvalidSubsetError):
            b.add([1, 1], [1.0, 1.0])
        with pytest.raises(tg.InvalidSubsetError):
            b.add([0, 99], [1.0, 1.0])
        with pytest.raises(tg.ScoreCountMismatchError):
            b.add([0, 1], [1.0])
        with pytest.raises(tg.NonFiniteScoreError):
            b.add([0, 1], [1.0, float("inf")])
        m, cov = b.compute(coverage=True)
        assert len(m) == 9 and all(len(row) == 9 for row in m)
        assert cov[0][1] == 2 and cov[0][5] == 0
        assert tg.group(m, 3).groups == planted_groups()
        losses = b.compute(higher_is_better=False, fill="row_mean")
        assert losses[0][1] == pytest.approx(-m[0][1])
        with pytest.raises(tg.InvalidSettingError, match="fill"):
            b.compute(fill="nope")
        if np is not None:
            assert b.compute(as_numpy=True).shape == (9, 9)
    with pytest.raises(tg.EmptyError):
        tg.AffinityBuilder(0)


# --- threads: close() while a call is in flight (issue 18, item 1) -------------------------


def blocking(monkeypatch, fname):
    """Replaces the library function ``fname`` with one that signals ``entered``, waits for
    ``release`` and then calls the real one; records whether it is in flight."""
    lib = tg._lib()
    real = getattr(lib, fname)
    state = {"in_flight": False, "entered": threading.Event(), "release": threading.Event()}

    def hooked(*args):
        state["in_flight"] = True
        state["entered"].set()
        try:
            assert state["release"].wait(30), "the test never released the call"
            return real(*args)
        finally:
            state["in_flight"] = False

    monkeypatch.setattr(lib, fname, hooked)
    return state


def watch_free(monkeypatch, fname, state):
    """Records every free made while the blocked call is in flight (a use-after-free)."""
    lib = tg._lib()
    real = getattr(lib, fname)
    state["freed_in_flight"] = 0

    def hooked(h):
        if state["in_flight"]:
            state["freed_in_flight"] += 1
        return real(h)

    monkeypatch.setattr(lib, fname, hooked)


def test_close_waits_for_an_advance_in_flight_on_another_thread(monkeypatch):
    s = new_session()
    for r in s.next_requests():
        s.report(r, [simulated_score(t, r.tasks) for t in r.tasks])
    state = blocking(monkeypatch, "tg_session_advance")
    watch_free(monkeypatch, "tg_session_free", state)
    result = {}

    def advance():
        try:
            result["summary"] = s.advance()
        except Exception as e:  # pragma: no cover - reported by the asserts below
            result["error"] = e

    closed = threading.Event()

    def close():
        s.close()
        closed.set()

    t1 = threading.Thread(target=advance)
    t1.start()
    assert state["entered"].wait(30)  # advance() is now inside the library call
    t2 = threading.Thread(target=close)
    t2.start()
    # close() must not return (nor free) while advance() is running.
    assert not closed.wait(0.5), "close() returned while advance() was in flight"
    state["release"].set()
    t1.join(30)
    t2.join(30)
    assert closed.is_set()
    assert state["freed_in_flight"] == 0
    assert "error" not in result, result.get("error")
    assert result["summary"].step == 0
    with pytest.raises(tg.InvalidHandleError, match="closed"):
        s.advance()
    with pytest.raises(tg.InvalidHandleError, match="closed"):
        s.progress


def test_close_waits_for_a_builder_call_in_flight(monkeypatch):
    b = tg.AffinityBuilder(3)
    b.add([0, 1], [1.0, 2.0])
    state = blocking(monkeypatch, "tg_affinity_builder_compute")
    watch_free(monkeypatch, "tg_affinity_builder_free", state)
    result = {}
    t1 = threading.Thread(target=lambda: result.setdefault("m", b.compute()))
    t1.start()
    assert state["entered"].wait(30)
    t2 = threading.Thread(target=b.close)
    t2.start()
    t2.join(0.5)
    assert t2.is_alive(), "close() returned while compute() was in flight"
    state["release"].set()
    t1.join(30)
    t2.join(30)
    assert state["freed_in_flight"] == 0
    assert len(result["m"]) == 3
    with pytest.raises(tg.InvalidHandleError, match="closed"):
        b.add([0, 2], [1.0, 1.0])


def test_sessions_can_be_shared_by_threads():
    """Many threads reporting into one session: every report lands exactly once."""
    with new_session() as s:
        reqs = s.next_requests()
        errors = []

        def work(r):
            try:
                s.report(r, [simulated_score(t, r.tasks) for t in r.tasks])
            except Exception as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=work, args=(r,)) for r in reqs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert s.progress.reported == len(reqs)


# --- integers are range-checked, never truncated (issue 18, item 2) ------------------------

SIZE_MAX = 2 ** (8 * __import__("ctypes").sizeof(__import__("ctypes").c_size_t)) - 1


def test_session_n_too_large_is_refused():
    with pytest.raises(tg.InvalidSettingError, match=r"`n`: 18446744073709551636 is out of range"):
        tg.Session(2**64 + 20, 3, 2)
    for name in ("max_groups", "steps"):
        args = {"n": 9, "max_groups": 3, "steps": 3}
        args[name] = 2**64 + 3
        with pytest.raises(tg.InvalidSettingError, match=f"`{name}`.*0..={SIZE_MAX}"):
            tg.Session(**args)
    with pytest.raises(tg.InvalidSettingError, match="subset_size"):
        tg.Session(9, 3, 3, subset_size=2**64 + 3)
    with pytest.raises(tg.InvalidSettingError, match="subsets_per_step"):
        tg.Session(9, 3, 3, subsets_per_step=2**64 + 30)
    # n fits size_t but not the uint32_t task indices: the library refuses it.
    with pytest.raises(tg.InvalidSettingError, match="`n`"):
        tg.Session(2**32 + 20, 3, 2)


def test_group_k_too_large_is_refused():
    with pytest.raises(tg.InvalidKError, match=r"k = 18446744073709551618 groups is out of range"):
        tg.group(planted(), 2**64 + 2)
    with pytest.raises(tg.InvalidKError):
        tg.group(planted(), SIZE_MAX)  # fits size_t, > n: the library's error


def test_group_auto_k_range_too_large_is_refused():
    with pytest.raises(tg.InvalidKRangeError, match="`k_max`"):
        tg.group_auto(planted(), 1, 2**64 + 3)
    with pytest.raises(tg.InvalidKRangeError, match="`k_min`"):
        tg.group_auto(planted(), 2**64 + 2, 3)
    with pytest.raises(tg.InvalidKRangeError, match="`k_min`"):
        tg.group_auto(planted(), -1, 3)


def test_option_integers_too_large_are_refused():
    t = planted()
    with pytest.raises(tg.InvalidSettingError, match=r"`max_iterations`: 18446744073709551617"):
        tg.group(t, 3, max_iterations=2**64 + 1)
    for name in ("adapt_rho_every", "kmeans_restarts"):
        with pytest.raises(tg.InvalidSettingError, match=f"`{name}`"):
            tg.group(t, 3, **{name: 2**64 + 10})
    with pytest.raises(tg.InvalidSettingError, match="`max_iterations`"):
        tg.group(t, 3, max_iterations=-1)


def test_seed_too_large_is_refused_not_wrapped():
    t = planted()
    with pytest.raises(tg.InvalidSettingError, match=r"`seed`: 18446744073709551621 is out of range"):
        tg.group(t, 3, seed=2**64 + 5)
    with pytest.raises(tg.InvalidSettingError, match="`seed`"):
        tg.Session(9, 3, 3, seed=2**64 + 5)
    with pytest.raises(tg.InvalidSettingError, match="`seed`"):
        tg.group_auto(t, 2, 4, seed=2**64 + 5)
    # The largest seed of each kind is accepted.
    assert tg.group(t, 3, seed=2**64 - 1).groups == planted_groups()
    with tg.Session(9, 4, 3, subset_size=3, seed=2**64 - 1) as a:
        assert a.progress.pending > 0


def test_request_ids_out_of_range_are_refused():
    with new_session() as s:
        for bad in ("s4294967296-0", "s0-4294967296", "s18446744073709551616-0"):
            with pytest.raises(tg.MalformedRequestIdError, match="malformed"):
                s.report(bad, [1.0] * 3)
            with pytest.raises(tg.MalformedRequestIdError):
                tg.RequestId.parse(bad)
        with pytest.raises(tg.MalformedRequestIdError, match="`step`: 4294967296"):
            s.report((2**32, 0), [1.0] * 3)
        with pytest.raises(tg.MalformedRequestIdError, match="`index`"):
            s.report(tg.RequestId(0, 2**32 + 1), [1.0] * 3)
        with pytest.raises(tg.MalformedRequestIdError, match="`step`"):
            s.report((-1, 0), [1.0] * 3)
        assert s.progress.reported == 0  # nothing was recorded as s0-0
        assert tg.RequestId.parse("s4294967295-7") == (2**32 - 1, 7)


def test_affinity_builder_n_too_large_is_refused():
    with pytest.raises(tg.InvalidSettingError, match="`n`"):
        tg.AffinityBuilder(2**64 + 3)


def test_solver_status_names_match_the_header():
    """Every TG_SOLVER_STATUS_* of include/taskgroup.h has its name in the Python table."""
    header = (REPO / "include" / "taskgroup.h").read_text()
    found = dict(
        (int(v), name.lower())
        for name, v in re.findall(r"TG_SOLVER_STATUS_([A-Z_]+) = (\d+)", header)
    )
    assert found and found == tg._SOLVER_STATUS
