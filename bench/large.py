#!/usr/bin/env python3
"""Large-n benchmark (issue 17): taskgroup alone on the `generate large` instance.

Usage: python3 bench/large.py [--sizes 10000,20000] [--taskgroup PATH] [--seed S]
                              [--solver auto|admm|factored] [--storage f64[,f32]]
                              [--out FILE] [--workdir DIR]

For each n: writes the instance (8 planted groups of unequal sizes, per-task offsets) with
`taskgroup generate large`, runs `taskgroup cluster -k 8 --json --quiet --timing` under
`/usr/bin/time -v`, and prints one Markdown row: wall and CPU time, peak resident memory (and
its ratio to the 8·n² bytes of the matrix), the solver path, the certificate, and whether the
planted groups were recovered. Targets: n = 10 000 under 60 s, n = 20 000 under 10 min, peak
memory ≤ 3× the matrix. With `--storage f64,f32` every n runs with both storages of C for the
factored path's products (`taskgroup cluster --storage`), and a second table prints what f32
costs against f64 in the same run: same partition, relative differences of the value, the SDP
value ⟨T, UUᵀ⟩ and the upper bound, and both gap_normalized. Standard library only;
single-threaded.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def planted_sizes(n: int, groups: int = 8) -> list:
    w = list(range(2, groups + 2))
    sizes = [n * x // sum(w) for x in w]
    sizes[-1] += n - sum(sizes)
    return sizes


def time_v(stderr: str, key: str) -> str:
    m = re.search(rf"{re.escape(key)}:\s*(.+)", stderr)
    return m.group(1).strip() if m else ""


def wall_seconds(s: str) -> float:
    parts = [float(p) for p in s.split(":")]
    out = 0.0
    for p in parts:
        out = out * 60 + p
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,20000")
    ap.add_argument("--taskgroup", default=str(REPO / "target" / "release" / "taskgroup"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--storage", default="f64", help="f64, f32 or f64,f32 (both, compared)")
    ap.add_argument("--out", default=None, help="append the table to this Markdown file")
    ap.add_argument("--workdir", default=str(REPO / "bench" / "out" / "large"))
    a = ap.parse_args()
    tg = Path(a.taskgroup)
    if not tg.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "taskgroup-cli"], cwd=REPO, check=True)
    if not Path("/usr/bin/time").exists():
        print("needs GNU time (/usr/bin/time)", file=sys.stderr)
        return 2
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")
    rows = []
    storages = [x for x in a.storage.split(",") if x]
    header = (
        "| n | matrix | path | storage | wall s | CPU s | solve s | peak RSS | RSS / matrix | planted groups "
        "| certified | gap_normalized | status |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    compare = []
    print(header, flush=True)
    failed = False
    for n in [int(x) for x in a.sizes.split(",") if x]:
        f = work / f"large-{n}-s{a.seed}.npy"
        if not f.exists():
            subprocess.run(
                [str(tg), "generate", "large", "--n", str(n), "--seed", str(a.seed), "--output", str(f)],
                check=True,
            )
        runs = {}
        for st in storages:
            cmd = ["/usr/bin/time", "-v", str(tg), "cluster", "--input", str(f), "-k", "8", "--json",
                   "--quiet", "--timing", "--solver", a.solver, "--storage", st]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode != 0:
                print(f"| {n} | run failed (exit {p.returncode}): {p.stderr[-300:]!r} |", flush=True)
                failed = True
                continue
            d = json.loads(p.stdout)
            runs[st] = d
            wall = wall_seconds(time_v(p.stderr, "Elapsed (wall clock) time (h:mm:ss or m:ss)"))
            cpu = float(time_v(p.stderr, "User time (seconds)")) + float(time_v(p.stderr, "System time (seconds)"))
            rss = int(time_v(p.stderr, "Maximum resident set size (kbytes)")) * 1024
            matrix = 8 * n * n
            sizes = planted_sizes(n)
            truth, start = [], 0
            for s in sizes:
                truth.append(list(range(start, start + s)))
                start += s
            recovered = sorted(d["groups"]) == sorted(truth)
            row = (
                f"| {n} | {matrix / 2**30:.2f} GiB | {d.get('solver_path', '?')} | {d.get('storage', 'f64')} | {wall:.1f} | {cpu:.1f} | "
                f"{d['seconds']:.1f} | {rss / 2**30:.2f} GiB | {rss / matrix:.2f}× | "
                f"{'yes' if recovered else 'no'} | {d['certified_optimal']} | {d['gap_normalized']:.2e} | "
                f"{d['status']} |"
            )
            print(row, flush=True)
            rows.append(row)
        if "f64" in runs and "f32" in runs:
            b, c = runs["f64"], runs["f32"]

            def rel(key):
                return abs(c[key] - b[key]) / max(abs(b[key]), 1e-300)

            compare.append(
                f"| {n} | {'yes' if sorted(b['groups']) == sorted(c['groups']) else 'no'} | "
                f"{rel('value'):.1e} | {rel('sdp_value'):.1e} | {rel('upper_bound'):.1e} | "
                f"{b['gap_normalized']:.2e} | {c['gap_normalized']:.2e} | {b['certified_optimal']} | "
                f"{c['certified_optimal']} | {b['seconds']:.1f} | {c['seconds']:.1f} |"
            )
    cheader = (
        "| n | same partition | value rel diff | sdp_value rel diff | upper_bound rel diff "
        "| gap_normalized f64 | gap_normalized f32 | certified f64 | certified f32 | solve s f64 "
        "| solve s f32 |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    if compare:
        print("\nf32 storage against f64 (same run):\n\n" + cheader + "\n" + "\n".join(compare), flush=True)
    if a.out:
        load = os.getloadavg()
        with open(a.out, "a") as fh:
            fh.write(
                f"\n### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
                f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
                f"seed {a.seed}, --solver {a.solver}, --storage {a.storage}\n\n{header}\n" + "\n".join(rows) + "\n"
                + (f"\nf32 storage against f64 (same run):\n\n{cheader}\n" + "\n".join(compare) + "\n" if compare else "")
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
