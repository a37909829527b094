"""The Slurm recipe of docs/slurm.md, run locally: N concurrent workers
(examples/slurm/worker.py, as array tasks 0..N-1) drive one `taskgroup session` folder through
the debug CLI binary. Each request is trained by exactly one worker (its index modulo N),
steps advance by themselves, a worker killed with SIGKILL and restarted (a Slurm requeue) takes
up its subset again, and the planted groups are recovered. Needs $TASKGROUP_BIN or
target/debug/taskgroup."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from testutil import HERE, REPO, cli_bin

import campaign_scripted as cs  # noqa: E402

WORKER = REPO / "examples" / "slurm" / "worker.py"


def status(d: Path) -> dict:
    out = subprocess.run([str(cli_bin()), "session", "status", str(d), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_concurrent_array_workers_share_the_work_and_survive_a_kill(tmp_path):
    d = tmp_path / "run"
    subprocess.run([str(cli_bin()), "session", "new", "--tasks", str(cs.N_TASKS), "-k", "3",
                    "--steps", str(cs.STEPS), "--subset-size", "4", "--seed", "0",
                    "--out", str(d)], check=True, capture_output=True)
    log = tmp_path / "calls.log"
    workers = 4
    env = dict(os.environ, SCRIPTED_SLEEP="0.05")
    train = f"{sys.executable} {HERE / 'campaign_scripted.py'} score {log}"

    def start(i: int) -> subprocess.Popen:
        # as Slurm does it: the index and the array size from the environment
        e = dict(env, SLURM_ARRAY_TASK_ID=str(10 + i), SLURM_ARRAY_TASK_MIN="10",
                 SLURM_ARRAY_TASK_COUNT=str(workers))
        return subprocess.Popen(
            [sys.executable, str(WORKER), str(d), "--train", train, "--taskgroup",
             str(cli_bin()), "--poll", "0.05", "--backoff", "0.1"],
            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)

    procs = {i: start(i) for i in range(workers)}
    killed_log = ""
    try:
        deadline = time.monotonic() + 120
        while status(d)["total_reported"] < 25:  # kill worker 1 in step 2
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.05)
        os.killpg(procs[1].pid, signal.SIGKILL)  # the worker and the training in its hands
        killed_log = procs[1].communicate()[1]
        procs[1] = start(1)  # the requeued array task
        logs = {}
        for i, p in procs.items():
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
            logs[i] = err
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    st = status(d)
    assert st["done"] and st["total_reported"] == 60
    assert st["groups"] == cs.PLANTED
    # every request was reported once, by the worker its index names
    reported = []
    for i, err in list(logs.items()) + [(1, killed_log)]:
        for rid in re.findall(r"\] (s\d+-\d+): recorded 1 result", err):
            assert int(rid.split("-")[1]) % workers == i, (rid, i)
            reported.append(rid)
    assert len(reported) == 60 and len(set(reported)) == 60
    # trained once each, except the subset worker 1 held when it was killed
    started = Counter(e[1] for e in cs.read_log(str(log)) if e[0] == "start")
    assert set(started) == set(reported)
    twice = [rid for rid, c in started.items() if c > 1]
    assert len(twice) <= 1 and all(int(r.split("-")[1]) % workers == 1 for r in twice), twice


def test_with_steal_after_one_worker_finishes_the_work_of_a_dead_one(tmp_path):
    d = tmp_path / "run"
    subprocess.run([str(cli_bin()), "session", "new", "--tasks", str(cs.N_TASKS), "-k", "3",
                    "--steps", "2", "--subset-size", "4", "--out", str(d)],
                   check=True, capture_output=True)
    log = tmp_path / "calls.log"
    train = f"{sys.executable} {HERE / 'campaign_scripted.py'} score {log}"
    # worker 1 of 2 never runs: worker 0 takes its requests after idling 0.2 s
    out = subprocess.run([sys.executable, str(WORKER), str(d), "--train", train, "--index", "0",
                          "--workers", "2", "--taskgroup", str(cli_bin()), "--poll", "0.05",
                          "--steal-after", "0.2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    st = status(d)
    assert st["done"] and st["total_reported"] == 60  # 2 steps of 30 (5 per new task)
    started = Counter(e[1] for e in cs.read_log(str(log)) if e[0] == "start")
    assert len(started) == 60 and max(started.values()) == 1
