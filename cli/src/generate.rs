//! `taskgroup generate`: write the built-in seeded instances to files, for scripts and peers.

use std::path::{Path, PathBuf};

use serde_json::json;
use taskgroup_eval::benchmark::{icl_case, multitask_cases, Case};
use taskgroup_eval::synthetic::PlantedModel;

use crate::args::{Args, UsageError};
use crate::CliError;
use taskgroup_io::npy::write_npy;

/// Usage text of `taskgroup generate`.
pub const USAGE: &str = "usage:
  taskgroup generate planted --n N [--seed S] --output FILE.npy
      the paper's planted model (3 groups of sizes n−2⌊n/3⌋, ⌊n/3⌋, ⌊n/3⌋ in index order)
  taskgroup generate unequal --n N [--seed S] --output FILE.npy
      four planted groups of sizes 40/25/20/15% of n (index order) with per-task offsets (k = 4)
  taskgroup generate multitask [--seed S] --output-dir DIR
      the 57-case multitask benchmark: DIR/<case>.npy and DIR/cases.json
      ([{\"name\", \"file\", \"n\", \"k\", \"truth\": [[...]], \"verified\"}])
  taskgroup generate icl [--seed S] --output FILE.npy
      the 9-task in-context-learning-like case (one group ~100× larger)
  taskgroup generate large --n N [--groups G] [--seed S] --output FILE.npy
      the large-n benchmark (issue 17): G groups (default 8) of unequal sizes ∝ 2, 3, ..., G+1
      in index order, T_uv = b_u + m_{g(u)g(v)} + N(0, 0.5²), m = 1 within a group and uniform
      in [0, 0.5) between, per-task offsets b_u uniform in [−5, 5)";

fn write(path: &Path, n: usize, data: &[f64]) -> Result<(), CliError> {
    write_npy(path, n, n, data).map_err(|e| crate::io_failure("cannot write", path, &e))?;
    // The built-in instances have no task names: a names file left beside the path by
    // `taskgroup affinity` would mislabel this matrix.
    match std::fs::remove_file(taskgroup_io::matrix::names_sidecar(path)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(crate::io_failure("cannot remove", path, &e))
        }
        _ => Ok(()),
    }
}

fn case_json(c: &Case, file: &str) -> serde_json::Value {
    json!({
        "name": c.name,
        "file": file,
        "n": c.n(),
        "k": c.k,
        "truth": c.truth.groups(),
        "verified": c.verified.as_str(),
    })
}

/// The required `--output` file of a single-matrix instance.
fn output(a: &Args) -> Result<&Path, UsageError> {
    a.value(&["--output", "-o"])
        .map(Path::new)
        .ok_or_else(|| UsageError("--output FILE.npy is required".into()))
}

/// The required `--n`, at least `min` (`why` says why).
fn n_at_least(a: &Args, min: usize, why: &str) -> Result<usize, UsageError> {
    let n = a
        .parsed::<usize>(&["--n", "-n"], &format!("an integer ≥ {min}"))?
        .ok_or_else(|| UsageError("--n N is required".into()))?;
    if n < min {
        return Err(UsageError(format!("--n must be at least {min} ({why})")));
    }
    Ok(n)
}

/// The options of `taskgroup generate` that take a value.
pub const OPTIONS: &[&str] = &[
    "--n",
    "-n",
    "--seed",
    "--output",
    "-o",
    "--output-dir",
    "--groups",
];

/// Runs `taskgroup generate` on its arguments (`--help` is handled before).
pub fn run(a: Args) -> Result<(), CliError> {
    a.finish()?;
    let seed = a.parsed_or::<u64>(&["--seed"], "a non-negative integer", 0)?;
    let what = a
        .positionals()
        .first()
        .cloned()
        .ok_or_else(|| UsageError(format!("what to generate?\n{USAGE}")))?;
    match what.as_str() {
        "planted" => {
            let n = n_at_least(&a, 3, "three planted groups")?;
            let out = output(&a)?;
            let mut m = PlantedModel::paper(n / 3);
            m.sizes[0] = n - 2 * (n / 3);
            let t = m
                .sample(seed)
                .map_err(|e| CliError::Internal(e.to_string()))?;
            write(out, n, t.as_slice())
        }
        "large" => {
            let n = a
                .parsed::<usize>(&["--n", "-n"], "an integer ≥ the number of groups")?
                .ok_or_else(|| UsageError("--n N is required".into()))?;
            let groups = a.parsed_or::<usize>(&["--groups"], "a positive integer", 8)?;
            if groups == 0 || n < 2 * groups + 2 {
                return Err(
                    UsageError("--n must be at least 2·groups + 2, groups ≥ 1".into()).into(),
                );
            }
            let out = output(&a)?;
            let (t, _) = taskgroup_eval::synthetic::large_offsets(n, groups, 0.5, seed);
            write(out, n, &t)
        }
        "unequal" => {
            let n = n_at_least(&a, 8, "four planted groups")?;
            let out = output(&a)?;
            let (t, _) = taskgroup_eval::synthetic::unequal_offsets(n, seed)
                .map_err(|e| CliError::Internal(e.to_string()))?;
            write(out, n, t.as_slice())
        }
        "icl" => {
            let out = output(&a)?;
            let c = icl_case(seed).map_err(|e| CliError::Internal(e.to_string()))?;
            write(out, c.n(), &c.scores)
        }
        "multitask" => {
            let dir = a
                .value(&["--output-dir"])
                .ok_or_else(|| UsageError("--output-dir DIR is required".into()))?;
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| crate::io_failure("cannot create", &dir, &e))?;
            let cases = multitask_cases(seed).map_err(|e| CliError::Internal(e.to_string()))?;
            let mut list = Vec::new();
            for c in &cases {
                let file = format!("{}.npy", c.name);
                write(&dir.join(&file), c.n(), &c.scores)?;
                list.push(case_json(c, &file));
            }
            let text = serde_json::to_string_pretty(&list)
                .map_err(|e| CliError::Internal(e.to_string()))?;
            let p = dir.join("cases.json");
            std::fs::write(&p, text + "\n").map_err(|e| crate::io_failure("cannot write", &p, &e))
        }
        other => Err(UsageError(format!("unknown instance {other:?}\n{USAGE}")).into()),
    }
}
