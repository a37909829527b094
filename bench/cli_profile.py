#!/usr/bin/env python3
"""Where the `taskgroup cluster` process spends its CPU time (issue 16): perf samples by phase.

Usage: python3 bench/cli_profile.py [--taskgroup PATH] [--sizes 100,300,600] [--out FILE]

Generates the planted (k = 3) and unequal (k = 4) instances with `taskgroup generate`, runs
`taskgroup cluster --input F -k K --json --quiet --threads 1` under `perf record` (10 kHz
CPU-clock sampling) and prints one Markdown row per instance: the process's task-clock ms
(`perf stat`, median of 3) and the share of samples in each phase, grouped by symbol. Needs
`perf` (Debian package linux-perf) and a release build with symbols (the default profile keeps
them). Standard library only.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (phase, regex on the symbol); first match wins, in this order. Symbols, not callers: the
# low-rank path's small q×q Rayleigh–Ritz eigenproblem runs through eigen::Tridiagonal and
# eigen::Spectrum too and counts under the full-projection columns.
PHASES = [
    ("forming X = 11ᵀ/n + A·Aᵀ (both paths)", r"par::fill_gram"),
    ("full projection: tridiagonalisation", r"Tridiagonal::new"),
    ("full projection: eigenvalues (QL or Sturm + Laguerre)",
     r"Tridiagonal::eigenvalues|tql_values|Spectrum|simplex_threshold"),
    ("full projection: vectors + X", r"Tridiagonal::|TriLu|project_c1_top|centered_shifted|"
     r"sym_eigen_select|par::fill_symmetric"),
    ("low-rank: block products", r"lowrank::dot4|lowrank::apply_pmp|lowrank::row_products"),
    ("low-rank: orthonormalise, Rayleigh-Ritz, X", r"lowrank::|nalgebra|eigen::sym_eigen"),
    ("ADMM step (M, clamp, residuals)", r"sdp::admm::"),
    ("rounding + k-means", r"round::|kmeans::"),
    ("certificate + early-stop checks", r"certificate::|group::|cholesky|partition::"),
    ("input, centring, output", r"taskgroup_io|affinity::|normalize|serde|json|cluster::|npy"),
    ("process, kernel, libc", r"^\[k\]|\[k\]|memmove|memset|memcpy|_start|ld-linux|libc"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taskgroup", default=str(REPO / "target" / "release" / "taskgroup"))
    ap.add_argument("--sizes", default="100,300,600")
    ap.add_argument("--out")
    args = ap.parse_args()
    tg = args.taskgroup
    sizes = [int(s) for s in args.sizes.split(",")]
    env = dict(os.environ, TASKGROUP_THREADS="1")
    tmp = Path(tempfile.mkdtemp(prefix="tg-profile-"))
    rows = []
    for n in sizes:
        for fam, k in (("planted", 3), ("unequal", 4)):
            f = tmp / f"{fam}{n}.npy"
            run([tg, "generate", fam, "--n", str(n), "--seed", "0", "--output", str(f)])
            cmd = [tg, "cluster", "--input", str(f), "-k", str(k), "--json", "--quiet",
                   "--threads", "1"]
            clocks = []
            for _ in range(3):
                r = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", *cmd], env=env,
                                   capture_output=True, text=True, check=True)
                clocks.append(float(r.stderr.strip().splitlines()[-1].split(",")[0]))
            data = tmp / "perf.data"
            run(["perf", "record", "-q", "-F", "10000", "-o", str(data), *cmd], env=env)
            rep = run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                       "--sort", "sym"]).stdout
            share = {p: 0.0 for p, _ in PHASES}
            share["other"] = 0.0
            for line in rep.splitlines():
                m = re.match(r"\s+([0-9.]+)%\s+(.*)$", line)
                if not m:
                    continue
                pct, sym = float(m.group(1)), m.group(2)
                for p, rx in PHASES:
                    if re.search(rx, sym):
                        share[p] += pct
                        break
                else:
                    share["other"] += pct
            rows.append((f"{fam} n={n}", k, statistics.median(clocks), share))
    heads = [p for p, _ in PHASES] + ["other"]
    out = ["| instance | k | CPU ms (task-clock) | " + " | ".join(heads) + " |",
           "|---|---|---|" + "---|" * len(heads)]
    for name, k, ms, share in rows:
        out.append(f"| {name} | {k} | {ms:.1f} | "
                   + " | ".join(f"{share[h]:.0f}%" for h in heads) + " |")
    text = "\n".join(out)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
