"""Tests of taskgroup.campaign: planted groups recovered through Ray and a local process pool,
scripted failures and retries, a subset that keeps failing, SIGKILL of the driver and resume
with no saved result trained twice, one driver per checkpoint, atomic Session.save_file.

Ray tests need `pip install ray` (scripts/campaign-check.sh installs it); without Ray they are
skipped with a message, the engine="local" tests still run.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testutil import HERE, optional

import taskgroup as tg  # noqa: E402
from taskgroup import campaign  # noqa: E402

import campaign_scripted as cs  # noqa: E402

ray, needs_ray = optional("ray", reason="Ray is not installed (pip install ray)")


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray for the module (2 CPUs), with this folder on the workers' path."""
    if ray is None:
        pytest.skip("Ray is not installed (pip install ray)")
    # the raylet inherits this: workers of other drivers (the SIGKILL test's) import from here
    os.environ["PYTHONPATH"] = str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")
    # this cluster's own token (Ray keeps one in ~/.ray/auth_token, which another Ray started
    # on the machine may replace): inherited by the drivers the tests start
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def new_checkpoint(tmp_path: Path) -> Path:
    p = tmp_path / "campaign.tgck"
    tg.Session(cs.N_TASKS, cs.MAX_GROUPS, cs.STEPS, **cs.SESSION).save_file(p)
    return p


def all_request_ids(ckpt: Path):
    """Ids of every request the finished campaign issued (replayed with the scripted scores)."""
    ids = []
    with tg.Session(cs.N_TASKS, cs.MAX_GROUPS, cs.STEPS, **cs.SESSION) as s:
        while not s.done:
            for r in s.next_requests():
                ids.append(str(r.id))
                s.report(r, [cs.score(t, r.tasks) for t in r.tasks])
            s.advance()
        assert s.save() == ckpt.read_bytes(), "the campaign's checkpoint differs from a replay"
    return ids


def test_save_file_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "s.tgck"
    with tg.Session(9, 3, 2, subset_size=3) as s:
        s.save_file(p)
        before = p.read_bytes()
        for r in s.next_requests():
            s.report(r, [1.0] * len(r.tasks))
        s.advance()

        def broken_fsync(fd):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", broken_fsync)
        with pytest.raises(OSError):
            s.save_file(p)
        monkeypatch.undo()
        assert p.read_bytes() == before, "a failed save changed the file"
        assert sorted(x.name for x in tmp_path.iterdir()) == ["s.tgck"], "temp file left"
        s.save_file(p)
        assert tg.Session.load_file(p).progress.step == 1


def test_local_engine_recovers_planted_groups_with_retries(tmp_path):
    ckpt = new_checkpoint(tmp_path)
    log = str(tmp_path / "calls.log")
    # s1-3's first attempt kills its pool worker: the pool breaks, every call in flight fails
    trainer = cs.Trainer(log, fail_first=[1, 5], fail_times=2, crash=["s1-3"], sleep=0.02)
    r = campaign.run(ckpt, trainer, engine="local", max_parallel=2, backoff=0.01, progress=False)
    assert r.groups == cs.PLANTED
    assert r.progress.done and r.progress.total_reported == 60
    events = cs.read_log(log)
    fails = [e for e in events if e[0] == "fail"]
    # two requests × two attempts per step, and the crash; one fewer when the pool break kills
    # a scripted-failing attempt in flight beside the crash before it logs (that attempt is
    # then retried and r.failures still counts it)
    assert 2 * 2 * cs.STEPS <= len(fails) <= 2 * 2 * cs.STEPS + 1
    assert len(fails) <= r.failures <= len(fails) + 1  # + the call in flight beside the crash
    ends = [e[1] for e in events if e[0] == "end"]
    assert sorted(ends) == sorted(all_request_ids(ckpt)), "each subset trained exactly once"
    assert len(r.steps) == cs.STEPS
    # a finished campaign runs nothing more
    again = campaign.run(ckpt, trainer, engine="local", progress=False)
    assert again.trained == 0 and again.groups == cs.PLANTED


def test_a_subset_failing_every_attempt_stops_with_its_error_and_the_checkpoint_resumes(tmp_path):
    ckpt = new_checkpoint(tmp_path)
    log = str(tmp_path / "calls.log")
    with pytest.raises(campaign.CampaignError) as info:
        campaign.run(ckpt, cs.Trainer(log, always_fail=9), engine="local", max_parallel=2,
                     max_retries=2, backoff=0.01, progress=False)
    err = info.value
    assert err.attempts == 3 and 9 in err.tasks
    assert isinstance(err.__cause__, RuntimeError) and "scripted failure" in str(err.__cause__)
    assert isinstance(err.error, RuntimeError)
    saved = tg.Session.load_file(ckpt).progress
    ends = [e for e in cs.read_log(log) if e[0] == "end"]
    assert saved.total_reported <= len(ends)
    # the same checkpoint, a working trainer: finishes and trains only what was not saved
    log2 = str(tmp_path / "calls2.log")
    r = campaign.run(ckpt, cs.Trainer(log2), engine="local", max_parallel=2, progress=False)
    assert r.groups == cs.PLANTED
    assert r.resumed_results == saved.total_reported
    assert r.trained == 60 - saved.total_reported


def test_wrong_score_counts_are_failures(tmp_path):
    ckpt = new_checkpoint(tmp_path)
    with pytest.raises(campaign.CampaignError) as info:
        campaign.run(ckpt, cs.Trainer(str(tmp_path / "l"), bad_count=0), engine="local",
                     max_parallel=1, max_retries=0, progress=False)
    assert isinstance(info.value.error, ValueError)
    assert "scores for a subset of" in str(info.value.error)


def test_one_driver_per_checkpoint(tmp_path):
    ckpt = new_checkpoint(tmp_path)
    held = campaign._Lock(ckpt)
    try:
        with pytest.raises(tg.TaskgroupError, match="another campaign driver"):
            campaign.run(ckpt, cs.Trainer(str(tmp_path / "l")), engine="local", progress=False)
    finally:
        held.release()


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        campaign.run(tmp_path / "none.tgck", cs.Trainer("x"), engine="local")
    ckpt = new_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="engine"):
        campaign.run(ckpt, cs.Trainer("x"), engine="slurm")
    with pytest.raises(ValueError, match="names"):
        campaign.run(ckpt, cs.Trainer("x"), engine="local", names=["a"])
    with pytest.raises(ValueError, match="resources"):
        campaign.run(ckpt, cs.Trainer("x"), engine="local", resources={"num_gpus": 1})


def names_trainer(tasks):
    assert all(isinstance(t, str) and t.startswith("task-") for t in tasks), tasks
    return [cs.score(int(t[5:]), [int(x[5:]) for x in tasks]) for t in tasks]


def test_names_reach_the_trainer_and_the_result(tmp_path):
    p = tmp_path / "n.tgck"
    names = [f"task-{i}" for i in range(cs.N_TASKS)]
    s = tg.Session(cs.N_TASKS, cs.MAX_GROUPS, cs.STEPS, **cs.SESSION)
    r = campaign.run(p, names_trainer, engine="local", max_parallel=2, names=names, session=s,
                     progress=False)
    assert r.groups == cs.PLANTED
    assert r.group_names == [[names[t] for t in g] for g in cs.PLANTED]


@needs_ray
def test_ray_recovers_planted_groups_with_failures_and_a_worker_crash(tmp_path, ray_cluster,
                                                                       capfd):
    ckpt = new_checkpoint(tmp_path)
    log = str(tmp_path / "calls.log")
    trainer = cs.Trainer(log, fail_first=[0, 3], crash=["s0-6"])
    r = campaign.run(ckpt, trainer, engine="ray", max_parallel=3, backoff=0.01)
    assert r.groups == cs.PLANTED
    events = cs.read_log(log)
    ends = [e[1] for e in events if e[0] == "end"]
    assert sorted(ends) == sorted(all_request_ids(ckpt))
    assert r.failures == 2 * cs.STEPS + 1
    err = capfd.readouterr().err
    assert "taskgroup campaign: step 3/3 done" in err and "retrying in" in err


@needs_ray
def test_ray_failure_carries_the_exception(tmp_path, ray_cluster):
    ckpt = new_checkpoint(tmp_path)
    with pytest.raises(campaign.CampaignError) as info:
        campaign.run(ckpt, cs.Trainer(str(tmp_path / "l"), always_fail=2), engine="ray",
                     max_parallel=2, max_retries=1, backoff=0.01, progress=False)
    assert info.value.attempts == 2
    assert isinstance(info.value.error, RuntimeError)
    assert "scripted failure" in str(info.value.error)
    tg.Session.load_file(ckpt).close()  # intact


def saved_ids(ckpt: Path, ended: set) -> set:
    """Results in the checkpoint: every ended request except the current step's pending."""
    with tg.Session.load_file(ckpt) as s:
        step = s.progress.step
        pending = {str(r.id) for r in s.next_requests()}
    return {i for i in ended if int(i[1:].split("-")[0]) <= step and i not in pending}


@pytest.mark.parametrize("engine", ["ray", "local"])
def test_sigkill_of_the_driver_and_resume_trains_no_saved_result_twice(tmp_path, engine,
                                                                       request):
    """The driver is SIGKILLed in step 2; a new driver resumes from the checkpoint. With Ray
    both drivers connect to the module's cluster through RAY_ADDRESS (the cluster outlives the
    driver, as on a real one)."""
    address = request.getfixturevalue("ray_cluster") if engine == "ray" else None
    ckpt = new_checkpoint(tmp_path)
    log1, log2 = str(tmp_path / "run1.log"), str(tmp_path / "run2.log")
    # after the fixture: the environment carries the cluster's token
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if address:
        env["RAY_ADDRESS"] = address
    cmd = [sys.executable, str(HERE / "campaign_scripted.py"), str(ckpt)]
    driver = subprocess.Popen(cmd + [log1, engine], env=env, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill in step 2, with results saved in it
            with tg.Session.load_file(ckpt) as s:
                pr = s.progress
            if pr.step == 1 and pr.reported >= 5:
                break
            assert driver.poll() is None, driver.communicate()[1].decode()[-3000:]
            time.sleep(0.05)
        else:
            pytest.fail("the driver made no progress")
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    finally:
        time.sleep(0.3)
        try:  # what the driver started (local Ray, pool workers) goes with it
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        driver.communicate()
    ended1 = {e[1] for e in cs.read_log(log1) if e[0] == "end"}
    saved = saved_ids(ckpt, ended1)
    with tg.Session.load_file(ckpt) as s:
        assert s.progress.total_reported == len(saved) > 20
    out = subprocess.run(cmd + [log2, engine], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["groups"] == cs.PLANTED
    assert summary["resumed"] == len(saved)
    events2 = cs.read_log(log2)
    started2 = {e[1] for e in events2 if e[0] == "start"}
    assert not started2 & saved, f"saved results trained again: {sorted(started2 & saved)}"
    ended2 = [e[1] for e in events2 if e[0] == "end"]
    assert len(ended2) == len(set(ended2)), "a result trained twice in one run"
    assert sorted(saved | set(ended2)) == sorted(all_request_ids(ckpt))
    assert summary["trained"] == len(ended2) == 60 - len(saved)
    assert not list(tmp_path.glob(".campaign.tgck.tmp-*")), "temp files left"
