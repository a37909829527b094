"""A real AdaGroup campaign on Ray: which data sources should be trained together?

Twelve labelled data sources ("tasks"), each a small sample (30 images) of scikit-learn's
bundled handwritten digits (``load_digits``: no download), each labelled by one of three
labelling rules that the campaign is not told: ``even`` (the digit is even), ``big`` (≥ 5) and
``loop`` (0, 6, 8, 9). A subset of tasks is trained together as one logistic regression on the
union of their data (pixels plus a per-task intercept), and each task's score is its accuracy
on its own validation sample. Sources labelled by the same rule help each other (more data),
sources with different rules hurt each other (conflicting labels).

``taskgroup.campaign.run`` drives an AdaGroup session over these tasks with the trainings as
Ray tasks (or a local process pool with ``--engine local``), then the script compares, on
held-out test images, the groups found against training every task alone and all tasks
together (and the true labelling rules, for reference)::

    python examples/campaign_sklearn.py                  # Ray; resumes campaign-out/ if present
    python examples/campaign_sklearn.py --quick          # a smaller budget (CI)
    python examples/campaign_sklearn.py --engine local --fresh

It needs ``numpy``, ``scikit-learn`` and ``ray`` (``pip install numpy scikit-learn ray``), and
``taskgroup`` importable (installed, or ``PYTHONPATH=ffi/python`` from a clone) with the library
built (``cargo build -p taskgroup-ffi``). Kill it at any point (Ctrl-C, ``kill -9``) and run it
again: it resumes from ``campaign-out/campaign.tgck`` without retraining any saved result.

Swapping in a real fine-tuning job (PyTorch, Hugging Face) on GPUs
-----------------------------------------------------------------
``train`` is any picklable function ``train(tasks) -> one score per task``. Ray runs each call
as a task with the resources you ask for, so one subset fine-tunes on one GPU::

    def finetune(tasks):                     # tasks: names (or ids) of the subset
        import torch
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
        ctx = taskgroup.campaign.current_request()          # e.g. for an output folder
        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
        train_set = concatenate_datasets([load_task(t, "train") for t in tasks])
        args = TrainingArguments(output_dir=f"/scratch/run/{ctx.id}", num_train_epochs=1,
                                 per_device_train_batch_size=32, report_to=[])
        Trainer(model=model, args=args, train_dataset=train_set).train()
        return [evaluate(model, load_task(t, "validation")) for t in tasks]   # one per task

    campaign.run("run/campaign.tgck", finetune, engine="ray", resources={"num_gpus": 1},
                 names=task_names, max_retries=2)

Ray places each call on a free GPU (``CUDA_VISIBLE_DEVICES`` is set for the task), runs as many
at once as the cluster has GPUs, and a call that dies (out of memory, a lost node) is retried.
Start the driver on the head node (or anywhere with ``RAY_ADDRESS`` set); return scores where
higher is better (negate losses, or create the session with ``higher_is_better=False``); load
data and models inside the function (it runs on the worker), and keep the driver light.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
try:
    import taskgroup as tg
except ImportError:  # a clone without an install: the package is in ffi/python
    sys.path.insert(0, str(HERE.parent / "ffi" / "python"))
    import taskgroup as tg
from taskgroup import campaign

RULES = {"even": [0, 2, 4, 6, 8], "big": [5, 6, 7, 8, 9], "loop": [0, 6, 8, 9]}
SOURCES_PER_RULE = 4
TRAIN_PER_SOURCE = 30
VALID_PER_SOURCE = 100


def task_names() -> List[str]:
    return [f"{rule}-{k}" for rule in RULES for k in range(SOURCES_PER_RULE)]


class DigitsTasks:
    """The tasks, built from ``load_digits`` on first use in each process (so that only the
    seed travels to Ray workers); ``train(names)`` is the campaign's training function."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._data = None

    def data(self) -> Dict[str, Dict[str, tuple]]:
        if self._data is None:
            from sklearn.datasets import load_digits

            X, y = load_digits(return_X_y=True)
            X = X / 16.0
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(len(y))
            train_pool, valid_pool, test_pool = order[:1000], order[1000:1300], order[1300:]
            tasks = {}
            for rule, digits in RULES.items():
                for k in range(SOURCES_PER_RULE):
                    def split(ix: np.ndarray, digits=digits) -> tuple:
                        return X[ix], np.isin(y[ix], digits).astype(int)

                    tasks[f"{rule}-{k}"] = {
                        "train": split(rng.choice(train_pool, TRAIN_PER_SOURCE, replace=False)),
                        "valid": split(rng.choice(valid_pool, VALID_PER_SOURCE, replace=False)),
                        "test": split(test_pool),
                    }
            self._data = tasks
        return self._data

    def _design(self, names: Sequence[str], split: str):
        data = self.data()
        out = []
        for j, name in enumerate(names):
            X, y = data[name][split]
            onehot = np.zeros((len(X), len(names)))
            onehot[:, j] = 1.0
            out.append((np.hstack([X, onehot]), y))
        return out

    def fit(self, names: Sequence[str]):
        from sklearn.linear_model import LogisticRegression

        parts = self._design(names, "train")
        X = np.vstack([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        return LogisticRegression(C=1.0, max_iter=2000).fit(X, y)

    def accuracy(self, names: Sequence[str], model, split: str) -> List[float]:
        return [float((model.predict(X) == y).mean()) for X, y in self._design(names, split)]

    def __call__(self, names: List[str]) -> List[float]:
        """One subset: train together, score every member on its validation sample."""
        return self.accuracy(names, self.fit(names), "valid")

    def test_accuracy(self, groups: Sequence[Sequence[str]]) -> Dict[str, float]:
        """Held-out test accuracy of every task when each group is trained as one model."""
        out = {}
        for g in groups:
            out.update(zip(g, self.accuracy(g, self.fit(g), "test")))
        return out


def main(argv: Sequence[str] = ()) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=campaign.ENGINES, default="ray")
    ap.add_argument("--out", default="campaign-out", help="folder of the checkpoint")
    ap.add_argument("--fresh", action="store_true", help="discard a previous checkpoint")
    ap.add_argument("--quick", action="store_true", help="a smaller budget (2 steps)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-parallel", type=int, default=None)
    ap.add_argument("--num-cpus", type=int, default=None,
                    help="CPUs of the local Ray started when RAY_ADDRESS is not set")
    args = ap.parse_args(list(argv) or None)

    names = task_names()
    steps = 2 if args.quick else args.steps
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "campaign.tgck"
    if args.fresh and ckpt.exists():
        ckpt.unlink()
    session = tg.Session(len(names), 4, steps, subset_size=4, seed=args.seed,
                         estimator="surrogate", count_rule="elbow", fill="row_mean")
    finished = False
    if ckpt.exists():
        with tg.Session.load_file(ckpt) as previous:
            finished = previous.done
    if args.engine == "ray" and args.num_cpus and not os.environ.get("RAY_ADDRESS") \
            and not finished:
        import ray

        ray.init(num_cpus=args.num_cpus, include_dashboard=False, runtime_env={"env_vars": {
            "PYTHONPATH": os.pathsep.join(p for p in (str(Path(tg.__file__).parent.parent),
                                                      os.environ.get("PYTHONPATH")) if p)}})
    trainer = DigitsTasks(args.seed)
    t0 = time.monotonic()
    result = campaign.run(ckpt, trainer, engine=args.engine, session=session, names=names,
                          max_parallel=args.max_parallel)
    seconds = time.monotonic() - t0
    print(result)

    rows = [
        ("every task alone", [[t] for t in names]),
        ("all tasks together", [names]),
        ("groups found by the campaign", result.group_names),
        ("the true labelling rules (reference)",
         [[f"{r}-{k}" for k in range(SOURCES_PER_RULE)] for r in RULES]),
    ]
    print(f"\nheld-out test accuracy ({len(names)} tasks, {TRAIN_PER_SOURCE} training images "
          f"each; campaign: {result.progress.total_reported} subsets, {seconds:.1f} s)")
    print(f"| {'training plan':<38} | groups | mean acc | worst task |")
    print(f"|{'-' * 40}|--------|----------|------------|")
    for label, groups in rows:
        acc = trainer.test_accuracy(groups)
        print(f"| {label:<38} | {len(groups):>6} | {np.mean(list(acc.values())):>8.3f} | "
              f"{min(acc.values()):>10.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
