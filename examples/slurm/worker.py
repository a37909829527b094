#!/usr/bin/env python3
"""One worker of an AdaGroup campaign driven through the `taskgroup session` CLI, for Slurm job
arrays (docs/slurm.md). Needs only Python 3 and the `taskgroup` binary: no Ray, no taskgroup
Python package.

    taskgroup session new --tasks tasks.txt -k 8 --steps 4 --out run/
    sbatch --array=0-15 examples/slurm/campaign.sbatch       # runs this 16 times

Each worker W_i of W loops: `taskgroup session next run/ --json` lists the current step's
pending requests (every worker sees the same list); the worker takes the requests whose index
in the step (`s{step}-{index}`) is i modulo W, so no two workers train the same subset; it
runs TRAIN_CMD with the subset's task names (or ids) as arguments, reads one score per task from
the last line of its stdout (comma or space separated), and records them with
`taskgroup session report run/ --id ID --scores ...` (durable before it returns; the report
that completes a step also advances the session). A worker with nothing of its own left polls
until the next step appears, and exits when the session is done.

Failures: a TRAIN_CMD that fails is retried (--max-retries, with backoff); a worker that
gives up exits 1, and a worker that is killed or requeued (`sbatch --requeue`) loses only the
subset in hand: run again with the same index, it takes it up (nothing saved is retrained).
With --steal-after S, a worker that has been idle for S seconds while requests of other
workers are still pending trains them too (a duplicate with equal scores is accepted, one with
other scores is refused and ignored), so one dead worker does not stall the campaign.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional


def _cli(bin_: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([bin_, "session", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"taskgroup session {' '.join(args)}: exit {out.returncode}: "
                           f"{out.stderr.strip()}")
    return out


def status(bin_: str, d: str) -> dict:
    return json.loads(_cli(bin_, "status", d, "--json").stdout)


def pending(bin_: str, d: str) -> List[dict]:
    return [json.loads(line) for line in _cli(bin_, "next", d, "--json").stdout.splitlines()
            if line.strip()]


def index_of(req: dict) -> int:
    return int(req["id"].split("-")[1])


def train(cmd: str, req: dict) -> List[float]:
    labels = [str(x) for x in req.get("names") or req["tasks"]]
    env = dict(os.environ, TASKGROUP_REQUEST_ID=req["id"])
    out = subprocess.run(shlex.split(cmd) + labels, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"exit {out.returncode}: {out.stderr.strip()[-500:]}")
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    if not lines:
        raise RuntimeError("no scores on stdout")
    scores = [float(x) for x in lines[-1].replace(",", " ").split()]
    if len(scores) != len(labels):
        raise RuntimeError(f"{len(scores)} scores for {len(labels)} tasks: {lines[-1]!r}")
    return scores


def log(i: int, msg: str) -> None:
    print(f"[worker {i}] {msg}", file=sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="one worker of a taskgroup session campaign")
    ap.add_argument("session", help="the session folder (taskgroup session new --out)")
    ap.add_argument("--train", required=True,
                    help="command; the subset's task names (or ids) are appended as arguments; "
                         "prints one score per task on its last stdout line")
    ap.add_argument("--index", type=int, default=None,
                    help="this worker's index (default: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)")
    ap.add_argument("--workers", type=int, default=None,
                    help="number of workers (default: SLURM_ARRAY_TASK_COUNT)")
    ap.add_argument("--taskgroup", default=os.environ.get("TASKGROUP_BIN", "taskgroup"),
                    help="the taskgroup binary (default: $TASKGROUP_BIN or taskgroup on PATH)")
    ap.add_argument("--poll", type=float, default=10.0, help="seconds between polls when idle")
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--backoff", type=float, default=5.0)
    ap.add_argument("--steal-after", type=float, default=None,
                    help="train other workers' requests after idling this many seconds")
    a = ap.parse_args(argv)
    env = os.environ
    i = a.index if a.index is not None else (
        int(env["SLURM_ARRAY_TASK_ID"]) - int(env.get("SLURM_ARRAY_TASK_MIN", "0")))
    w = a.workers if a.workers is not None else int(env.get("SLURM_ARRAY_TASK_COUNT", "1"))
    if not 0 <= i < w:
        ap.error(f"index {i} is not in 0..{w - 1}")
    failures: Dict[str, int] = {}
    idle_since: Optional[float] = None
    while True:
        if status(a.taskgroup, a.session)["done"]:
            log(i, "session done")
            return 0
        reqs = pending(a.taskgroup, a.session)
        mine = [r for r in reqs if index_of(r) % w == i]
        own = bool(mine)
        if not mine and reqs and a.steal_after is not None and idle_since is not None \
                and time.monotonic() - idle_since >= a.steal_after:
            mine = reqs[i % len(reqs):] + reqs[: i % len(reqs)]  # spread the thieves
        if not mine:
            idle_since = idle_since or time.monotonic()
            time.sleep(a.poll)
            continue
        if own:  # a thief stays one until it has work of its own again
            idle_since = None
        req = mine[0]
        try:
            scores = train(a.train, req)
        except Exception as e:  # noqa: BLE001 - the trainer's failure, retried
            failures[req["id"]] = failures.get(req["id"], 0) + 1
            if failures[req["id"]] > a.max_retries:
                log(i, f"{req['id']} failed {failures[req['id']]} times, giving up: {e}")
                return 1
            delay = a.backoff * 2 ** (failures[req["id"]] - 1)
            log(i, f"{req['id']} failed ({e}); retrying in {delay:.0f} s")
            time.sleep(delay)
            continue
        out = _cli(a.taskgroup, "report", a.session, "--id", req["id"], "--scores",
                   ",".join(repr(s) for s in scores), check=False)
        if out.returncode != 0:
            if "already reported with different scores" in out.stderr:
                log(i, f"{req['id']} was reported by another worker first; keeping theirs")
                continue
            raise RuntimeError(f"report {req['id']}: {out.stderr.strip()}")
        log(i, f"{req['id']}: {out.stdout.strip()}")


if __name__ == "__main__":
    sys.exit(main())
