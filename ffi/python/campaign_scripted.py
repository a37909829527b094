"""A scripted trainer for the campaign tests (importable by Ray workers and pool processes).

Tasks ``t // GROUP_SIZE`` form the planted groups; a task scores higher with partners from its
own group. Every call is logged to a file (one line per event, appended with O_APPEND so
concurrent workers never interleave a line): ``start ID ATTEMPT PID``, then ``end ID`` or
``fail ID``. Failures are scripted by request id and attempt, so they are the same in every
run. Also a driver: ``python campaign_scripted.py CHECKPOINT LOG ENGINE`` runs a campaign.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import List, Sequence

GROUP_SIZE = 4
N_TASKS = 12
SESSION = dict(subset_size=4, seed=0, estimator="surrogate", count_rule="elbow", fill="row_mean")
STEPS = 3
MAX_GROUPS = 4
PLANTED = [list(range(g, g + GROUP_SIZE)) for g in range(0, N_TASKS, GROUP_SIZE)]


def score(task: int, subset: Sequence[int]) -> float:
    s = 1.0 + 0.01 * task
    for other in subset:
        if other != task:
            s += (0.6 if task // GROUP_SIZE == other // GROUP_SIZE else -0.4) / len(subset)
    return s


def _log(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class Trainer:
    """``fail_first``: request indices (within their step) whose first ``fail_times`` attempts
    raise; ``always_fail``: a task whose subsets always raise; ``crash``: request ids whose
    first attempt kills its worker process; ``sleep``: seconds per call."""

    def __init__(self, log: str, fail_first: Sequence[int] = (), fail_times: int = 1,
                 always_fail: int = -1, crash: Sequence[str] = (), sleep: float = 0.0,
                 bad_count: int = -1):
        self.log = log
        self.fail_first = set(fail_first)
        self.fail_times = fail_times
        self.always_fail = always_fail
        self.crash = set(crash)
        self.sleep = sleep
        self.bad_count = bad_count

    def __call__(self, tasks: List[int]) -> List[float]:
        from taskgroup.campaign import current_request

        ctx = current_request()
        rid = str(ctx.id)
        _log(self.log, f"start {rid} {ctx.attempt} {os.getpid()}")
        if self.sleep:
            time.sleep(self.sleep)
        if ctx.attempt == 1 and rid in self.crash:
            _log(self.log, f"fail {rid}")
            os._exit(3)
        if (ctx.id.index in self.fail_first and ctx.attempt <= self.fail_times) or (
            self.always_fail in tasks
        ):
            _log(self.log, f"fail {rid}")
            raise RuntimeError(f"scripted failure of {rid} (attempt {ctx.attempt})")
        out = [score(t, tasks) for t in tasks]
        if self.bad_count in tasks:
            out = out[:-1]
        _log(self.log, f"end {rid}")
        return out


def read_log(path: str):
    """[(event, id, attempt)] in order."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                out.append((parts[0], parts[1], int(parts[2]) if len(parts) > 2 else None))
    return out


def score_command() -> None:
    """``campaign_scripted.py score LOG TASK...``: the trainer as a command (Slurm worker test):
    logs ``start``/``end`` with ``$TASKGROUP_REQUEST_ID`` and prints the scores."""
    log, tasks = sys.argv[2], [int(t) for t in sys.argv[3:]]
    rid = os.environ.get("TASKGROUP_REQUEST_ID", "?")
    _log(log, f"start {rid} 0 {os.getpid()}")
    time.sleep(float(os.environ.get("SCRIPTED_SLEEP", "0")))
    print(",".join(repr(score(t, tasks)) for t in tasks))
    _log(log, f"end {rid}")


def main() -> None:
    if sys.argv[1] == "score":
        return score_command()
    ckpt, log, engine = sys.argv[1], sys.argv[2], sys.argv[3]
    from taskgroup import campaign

    if engine == "ray" and not os.environ.get("RAY_ADDRESS"):
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": os.path.dirname(os.path.abspath(__file__))}})
    trainer = Trainer(log, fail_first=[2, 7], crash=["s1-4"] if engine == "ray" else (),
                      sleep=0.15)
    r = campaign.run(ckpt, trainer, engine=engine, max_parallel=2, backoff=0.05,
                     progress=True)
    print(json.dumps({"groups": r.groups, "trained": r.trained, "failures": r.failures,
                      "resumed": r.resumed_results}))


if __name__ == "__main__":
    main()
