"""Run a whole AdaGroup campaign: the subset trainings on Ray or a local process pool, with
retries, a crash-safe checkpoint and a driver that can be killed and restarted.

    import taskgroup as tg
    from taskgroup import campaign

    if not os.path.exists("run.tgck"):
        tg.Session(n=40, max_groups=6, steps=4).save_file("run.tgck")
    result = campaign.run("run.tgck", train, engine="ray", resources={"num_gpus": 1})
    result.groups            # [[0, 3, 7], [1, 2], ...]

``train(tasks)`` receives one subset: the task names when the session has names (or
``names=`` is given), else the task ids; it returns one score per task, in the same order
(higher is better unless the session was created with ``higher_is_better=False``). It runs as
a Ray task (``engine="ray"``) or in a worker process (``engine="local"``), so it must be
picklable (Ray pickles closures and lambdas with cloudpickle; the local pool needs a function
importable by name, i.e. defined at module level). Inside ``train``, ``current_request()``
says which request and attempt is running (useful to name output folders).

Crash safety. The checkpoint file ``path`` is rewritten atomically (temporary file, fsync,
rename, fsync of the folder) after every result and every step, before the next result is
looked at. ``run`` on an existing checkpoint resumes it: a result saved before a crash (driver
killed, node lost, Ctrl-C) is never trained again; only the subsets that were in flight are
trained again. While a driver runs it holds an exclusive lock on ``path + ".lock"`` (released
by the kernel if the driver dies), so two drivers never run one campaign at once.

Failures. A call that raises (or whose worker dies, or that returns the wrong number of
scores, or a NaN) is retried after ``backoff * 2**(attempt - 1)`` seconds (capped at
``max_backoff``). A subset whose every attempt fails (``max_retries + 1`` attempts, as Ray's
``max_retries``) stops the campaign: the other calls in flight are cancelled and
``CampaignError`` is raised from the last exception (``err.__cause__``, also ``err.error``);
every result saved until then stays in the checkpoint, and ``run`` resumes from it.

Progress (steps, subsets done / running / queued, failures, ETA) goes to stderr; steps advance
by themselves when their last result arrives.
"""

from __future__ import annotations

import fcntl
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import Request, RequestId, Session, StepSummary, TaskgroupError, _write_file_atomic

__all__ = ["run", "CampaignError", "CampaignResult", "RequestContext", "current_request"]

ENGINES = ("ray", "local")


class CampaignError(TaskgroupError):
    """A subset failed every attempt. ``request``: its id; ``tasks``: what ``train`` received;
    ``attempts``: how many were made; ``error``: the last exception (also ``__cause__``).
    The checkpoint on disk holds every result saved before the failure."""

    def __init__(self, message: str, request: RequestId, tasks: Sequence[Any], attempts: int,
                 error: BaseException):
        super().__init__(message)
        self.request = request
        self.tasks = list(tasks)
        self.attempts = attempts
        self.error = error


class RequestContext(NamedTuple):
    """What ``current_request()`` returns inside ``train``."""

    id: RequestId
    tasks: Tuple[Any, ...]
    attempt: int  # 1 for the first attempt of this driver run


_CURRENT: Optional[RequestContext] = None


def current_request() -> Optional[RequestContext]:
    """Inside ``train``: the request being trained and the attempt number; None elsewhere."""
    return _CURRENT


def _invoke(train: Callable[[List[Any]], Sequence[float]], ctx: RequestContext) -> List[float]:
    """Runs in the worker (Ray task or pool process)."""
    global _CURRENT
    _CURRENT = ctx
    try:
        out = train(list(ctx.tasks))
        if hasattr(out, "tolist"):  # numpy arrays and torch tensors
            out = out.tolist()
        return [float(x) for x in out]
    finally:
        _CURRENT = None


@dataclass
class CampaignResult:
    """The outcome of ``run``: final groups (ids, and names when known), labels, the session's
    progress, the steps this run completed, counts and the wall time of this run."""

    path: str
    groups: List[List[int]]
    group_names: Optional[List[List[str]]]
    labels: List[Optional[int]]
    progress: Any
    steps: List[StepSummary] = field(default_factory=list)
    trained: int = 0  # successful calls in this run
    failures: int = 0  # failed calls in this run (each retried, or the campaign stopped)
    resumed_results: int = 0  # results found in the checkpoint when this run started
    seconds: float = 0.0

    def __str__(self) -> str:
        p = self.progress
        lines = [
            f"campaign {self.path}: {'done' if p.done else 'not done'}, "
            f"{len(self.groups)} groups of {p.n} tasks; {p.total_reported} subsets trained "
            f"({self.trained} in this run, {self.resumed_results} before it), "
            f"{self.failures} failed calls, {self.seconds:.1f} s"
        ]
        shown = self.group_names or self.groups
        for i, g in enumerate(shown):
            lines.append(f"group {i + 1:>3}: {', '.join(str(t) for t in g)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# engines: submit(ctx) -> handle; wait(handles, timeout) -> [(handle, scores | exception)]


class _LocalEngine:
    def __init__(self, train: Callable, max_parallel: Optional[int], resources: Any):
        import concurrent.futures as cf
        import multiprocessing as mp

        if resources:
            raise ValueError("resources= applies to engine='ray' only")
        self._cf = cf
        self._train = train
        self._workers = max_parallel or os.cpu_count() or 1
        # spawn: the driver holds library handles and maybe threads; a fork could copy locks
        self._ctx = mp.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(self._workers, mp_context=self._ctx)
        self.slots = self._workers

    def submit(self, ctx: RequestContext) -> Any:
        try:
            return self._pool.submit(_invoke, self._train, ctx)
        except self._cf.process.BrokenProcessPool:
            # a worker died; the calls in flight fail with it (and are retried): a new pool
            self._renew()
            return self._pool.submit(_invoke, self._train, ctx)

    def _renew(self) -> None:
        self._kill()
        self._pool = self._cf.ProcessPoolExecutor(self._workers, mp_context=self._ctx)

    def wait(self, handles: List[Any], timeout: float) -> List[Tuple[Any, Any]]:
        done, _ = self._cf.wait(handles, timeout=timeout, return_when=self._cf.FIRST_COMPLETED)
        out = []
        broken = False
        for f in done:
            try:
                out.append((f, f.result()))
            except BaseException as e:  # noqa: BLE001 - the trainer's error, reported
                if isinstance(e, self._cf.process.BrokenProcessPool):
                    broken = True
                out.append((f, e))
        if broken and getattr(self._pool, "_broken", True):  # a worker died: every call in flight failed with it
            self._renew()
        return out

    def _kill(self) -> None:
        procs = list(getattr(self._pool, "_processes", {}).values() or [])
        for p in procs:
            try:
                p.terminate()
            except Exception:  # noqa: BLE001
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)

    def cancel(self, handles: List[Any]) -> None:
        self._kill()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RayEngine:
    def __init__(self, train: Callable, max_parallel: Optional[int], resources: Any):
        try:
            import ray
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "engine='ray' needs Ray: pip install ray (or use engine='local')"
            ) from e
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS") or None
            kwargs: Dict[str, Any] = {}
            if address is None:
                # a local Ray: its workers import taskgroup from where this driver does
                parent = str(Path(__file__).resolve().parent.parent)
                path = os.environ.get("PYTHONPATH")
                kwargs["runtime_env"] = {"env_vars": {
                    "PYTHONPATH": parent + (os.pathsep + path if path else "")}}
            # RAY_ADDRESS names a cluster (whose workers must have taskgroup installed);
            # without it Ray starts a local one, stopped again when run() returns
            ray.init(address=address, include_dashboard=False, **kwargs)
            self._started = True
        opts = dict(resources or {})
        opts.setdefault("max_retries", 0)  # the driver retries (with backoff and counting)
        self._remote = ray.remote(_invoke).options(**opts)
        self._train_ref = ray.put(train)
        self.slots = max_parallel or 1 << 30  # Ray queues by resources

    def submit(self, ctx: RequestContext) -> Any:
        return self._remote.remote(self._train_ref, ctx)

    def wait(self, handles: List[Any], timeout: float) -> List[Tuple[Any, Any]]:
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            try:
                out.append((ref, self._ray.get(ref)))
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                cause = getattr(e, "cause", None)
                out.append((ref, cause if isinstance(cause, BaseException) else e))
        return out

    def cancel(self, handles: List[Any]) -> None:
        for h in handles:
            try:
                self._ray.cancel(h, force=True)
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


# --------------------------------------------------------------------------------------------
# progress


def _fmt_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")


class _Progress:
    def __init__(self, enabled: bool, stream: Any = None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = 0.0
        self.interval = 1.0 if self.tty else 10.0
        self.width = 0

    def show(self, line: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        if self.tty:
            pad = " " * max(0, self.width - len(line))
            self.stream.write("\r" + line + pad)
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self, line: str) -> None:
        if not self.enabled:
            return
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
        self.stream.write(line + "\n")
        self.stream.flush()
        self.width = 0


# --------------------------------------------------------------------------------------------
# the driver


class _Lock:
    """An exclusive lock on ``path + '.lock'`` for the driver's lifetime."""

    def __init__(self, path: Path):
        self.path = path.with_name(path.name + ".lock")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise TaskgroupError(
                f"{path}: another campaign driver is running on this checkpoint "
                f"(it holds {self.path})"
            ) from None

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _valid_scores(scores: Any, n: int) -> List[float]:
    if isinstance(scores, BaseException):
        raise scores
    if len(scores) != n:
        raise ValueError(f"train returned {len(scores)} scores for a subset of {n} tasks")
    bad = [i for i, s in enumerate(scores) if not math.isfinite(s)]
    if bad:
        raise ValueError(f"train returned a non-finite score at position {bad[0]}: {scores}")
    return list(scores)


def run(
    path: Union[str, os.PathLike],
    train: Callable[[List[Any]], Sequence[float]],
    *,
    engine: str = "ray",
    max_parallel: Optional[int] = None,
    max_retries: int = 3,
    resources: Optional[Dict[str, Any]] = None,
    progress: bool = True,
    names: Optional[Sequence[str]] = None,
    session: Optional[Session] = None,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
) -> CampaignResult:
    """Trains every subset the AdaGroup session in checkpoint ``path`` asks for, with
    ``train(tasks) -> scores``, until the session is done; returns a ``CampaignResult``.

    - ``path``: a checkpoint written by ``Session.save_file`` (or by an earlier ``run``), resumed
      where it stands. If it does not exist, ``session`` (a new ``Session``) is saved there first.
    - ``engine``: ``"ray"`` (the cluster already initialised with ``ray.init``, else the one
      named by ``$RAY_ADDRESS``, else a local one started and stopped by ``run``) or
      ``"local"`` (a process pool of ``max_parallel`` workers, default: the CPU count). On a
      cluster of your own, the workers need ``taskgroup`` importable (``pip install`` it on
      every node); a local Ray started by ``run`` gets this package's folder on its path.
    - ``max_parallel``: most calls in flight at once (Ray: default unlimited, Ray's scheduler
      queues them by ``resources``).
    - ``max_retries``: retries per subset after a failed call (``max_retries + 1`` attempts).
    - ``resources``: Ray task options, e.g. ``{"num_gpus": 1}``, ``{"num_cpus": 4,
      "memory": 16e9}``, ``{"resources": {"A100": 1}}``.
    - ``names``: task names given to ``train`` instead of ids (default: the session's names
      when it has them).
    - ``backoff``, ``max_backoff``: seconds before retry r is ``min(backoff * 2**(r-1),
      max_backoff)``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if not callable(train):
        raise TypeError("train must be callable: train(tasks) -> one score per task")
    if int(max_retries) < 0:
        raise ValueError("max_retries must be >= 0")
    if max_parallel is not None and int(max_parallel) < 1:
        raise ValueError("max_parallel must be >= 1")
    t0 = time.monotonic()
    p = Path(path)
    if not p.exists():
        if session is None:
            raise FileNotFoundError(
                f"{p}: no session checkpoint (write one with Session(...).save_file(path), "
                "or pass session=)"
            )
        session.save_file(p)
    lock = _Lock(p)
    sess: Optional[Session] = None
    eng: Any = None
    try:
        # under the lock no other driver writes: temp files are leftovers of killed ones
        for leftover in p.parent.glob(f".{p.name}.tmp-*"):
            try:
                leftover.unlink()
            except OSError:
                pass
        sess = Session.load_file(p)
        n = sess.progress.n
        if names is None:
            names = getattr(sess, "names", None)
            names = names() if callable(names) else names
        if names is not None:
            names = [str(x) for x in names]
            if len(names) != n:
                raise ValueError(f"{len(names)} names for a session of {n} tasks")
        label = (lambda t: names[t]) if names else (lambda t: t)

        result = CampaignResult(
            path=str(p), groups=[], group_names=None, labels=[], progress=None,
            resumed_results=sess.progress.total_reported,
        )
        show = _Progress(progress)

        def save() -> None:
            _write_file_atomic(p, sess.save())

        def step_done() -> None:
            # a crash between the last report's save and here leaves a complete step on disk:
            # the next run advances it without training anything
            summary = sess.advance()
            save()
            result.steps.append(summary)
            pr = sess.progress
            show.end(
                f"taskgroup campaign: step {summary.step + 1}/{pr.num_steps} done: "
                f"{summary.tasks_seen} tasks seen, {summary.num_groups} groups, "
                f"{summary.total_subsets_trained} subsets trained so far"
            )

        if sess.done:
            pass
        else:
            eng = (_RayEngine if engine == "ray" else _LocalEngine)(train, max_parallel, resources)
            _drive(sess, eng, label, save, step_done, show, result, int(max_retries),
                   float(backoff), float(max_backoff), t0)
        pr = sess.progress
        result.progress = pr
        result.labels = sess.labels()
        result.groups = sess.groups()
        if names:
            result.group_names = [[names[t] for t in g] for g in result.groups]
        result.seconds = time.monotonic() - t0
        show.end(
            f"taskgroup campaign: done: {len(result.groups)} groups, {pr.total_reported} "
            f"subsets trained ({result.trained} in this run), {result.failures} failed calls, "
            f"{_fmt_seconds(result.seconds)}"
        )
        return result
    finally:
        if eng is not None:
            eng.close()
        if sess is not None:
            sess.close()
        lock.release()


def _drive(sess: Session, eng: Any, label: Callable[[int], Any], save: Callable[[], None],
           step_done: Callable[[], None], show: _Progress, result: CampaignResult,
           max_retries: int, backoff: float, max_backoff: float, t0: float) -> None:
    in_flight: Dict[Any, Tuple[Request, RequestContext]] = {}
    attempts: Dict[RequestId, int] = {}
    not_before: Dict[RequestId, float] = {}  # retry time of a failed request
    started_run = time.monotonic()
    done_this_run = 0
    step_sizes: List[int] = []  # subsets per completed step (for the ETA)

    def line() -> str:
        pr = sess.progress
        running = len(in_flight)
        queued = max(0, pr.pending - running)
        elapsed = time.monotonic() - started_run
        # remaining: this step's pending + later steps estimated by the mean step size so far
        per_step = (sum(step_sizes) / len(step_sizes)) if step_sizes else (pr.pending + pr.reported)
        remaining = pr.pending + per_step * max(0, pr.num_steps - pr.step - 1)
        eta = remaining * elapsed / done_this_run if done_this_run else float("inf")
        retrying = len(not_before)
        return (
            f"taskgroup campaign: step {min(pr.step + 1, pr.num_steps)}/{pr.num_steps} | "
            f"subsets {pr.reported}/{pr.reported + pr.pending} done, {running} in flight, "
            f"{queued} waiting | failures {result.failures}"
            + (f" ({retrying} waiting to retry)" if retrying else "")
            + f" | {_fmt_seconds(elapsed)} elapsed, ETA {_fmt_seconds(eta)}"
        )

    try:
        while True:
            if sess.done:
                return
            pending = sess.next_requests()
            if not pending and not in_flight:
                step_sizes.append(sess.progress.reported)
                step_done()
                attempts.clear()
                not_before.clear()
                continue
            now = time.monotonic()
            busy = {ctx.id for _, ctx in in_flight.values()}
            for req in pending:
                if len(in_flight) >= eng.slots:
                    break
                if req.id in busy or not_before.get(req.id, 0.0) > now:
                    continue
                not_before.pop(req.id, None)
                attempts[req.id] = attempts.get(req.id, 0) + 1
                ctx = RequestContext(req.id, tuple(label(t) for t in req.tasks), attempts[req.id])
                in_flight[eng.submit(ctx)] = (req, ctx)
            show.show(line())
            timeout = 1.0
            if not_before:
                timeout = max(0.01, min(timeout, min(not_before.values()) - time.monotonic()))
            if not in_flight:
                time.sleep(timeout)
                continue
            for handle, outcome in eng.wait(list(in_flight), timeout):
                req, ctx = in_flight.pop(handle)
                try:
                    scores = _valid_scores(outcome, len(req.tasks))
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    result.failures += 1
                    tries = attempts[req.id]
                    if tries > max_retries:
                        raise CampaignError(
                            f"subset {req.id} (tasks {list(ctx.tasks)}) failed {tries} "
                            f"time(s); last error: {type(e).__name__}: {e}. Every result "
                            f"saved so far is in the checkpoint; run() again resumes it.",
                            req.id, ctx.tasks, tries, e,
                        ) from e
                    delay = min(backoff * 2 ** (tries - 1), max_backoff)
                    not_before[req.id] = time.monotonic() + delay
                    show.end(
                        f"taskgroup campaign: subset {req.id} failed (attempt {tries} of "
                        f"{max_retries + 1}): {type(e).__name__}: {e}; retrying in {delay:.1f} s"
                    )
                    continue
                sess.report(req.id, scores)
                save()
                result.trained += 1
                done_this_run += 1
            show.show(line())
    except BaseException:
        if in_flight:
            eng.cancel(list(in_flight))
        raise
