//! `taskgroup cluster`: group the tasks of an affinity matrix file.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use taskgroup_core::{
    group_with, search_k, Affinity, GroupResult, GroupSettings, KRule, Rounding, WarmStart,
};

use crate::args::{Args, UsageError};
use crate::progress::ProgressLine;
use crate::CliError;
use taskgroup_io::{read_matrix, require_square};

/// Usage text of `taskgroup cluster`.
pub const USAGE: &str = "usage: taskgroup cluster --input FILE (-k K | --k-range A..B) [options]

Groups the tasks of an n×n affinity matrix (T[u][v]: how much task v helps task u; larger is
better). FILE is CSV/TSV/whitespace text (optional header row and/or first column of task
names) or NumPy .npy (f64 or f32, 2-D).

options:
  -k K                    number of groups (1..n)
  --k-range A..B          try every k in A..B and choose one (see --k-rule)
  --k-rule density|elbow  how --k-range chooses: highest average density (paper, default) or
                          the largest drop in marginal gain (invariant to shifts of T)
  --rounding MODE         robust (default) | threshold:C (the paper's X_uv > C/n rule) | paper (= threshold:1)
  --seed N                seed of the rounding's k-means restarts (default 0)
  --tolerance X           solver relative tolerance (default 1e-6)
  --max-iterations N      solver iteration budget (default 10000)
  --json                  print one JSON object on stdout (bit-identical across runs for the
                          same input and options)
  --timing                with --json: add the wall-clock \"seconds\" (the only field that
                          differs between runs)
  --quiet                 no progress line on stderr

--k-range accepts at most 200 values of k (each is a full SDP solve). Ctrl-C (SIGINT) or
SIGTERM stops the solve within an iteration: the best partition so far is printed with its
certificate and status `interrupted`, and the exit code is 130 (a second Ctrl-C kills at once).";

/// Most values of k one `--k-range` may hold (each k is a full SDP solve).
pub const MAX_K_VALUES: usize = 200;

/// Above this many k values on n ≥ [`WARN_RANGE_N`] tasks, `--k-range` warns that it is slow.
const WARN_RANGE_K: usize = 20;
const WARN_RANGE_N: usize = 1000;

/// Parses `--rounding`.
pub fn parse_rounding(s: &str) -> Result<Rounding, UsageError> {
    let bad = || {
        UsageError(format!(
            "--rounding expects robust, paper or threshold:C with C > 0, got {s:?}"
        ))
    };
    match s {
        "robust" => Ok(Rounding::Robust),
        "paper" => Ok(Rounding::Threshold { c: 1.0 }),
        _ => {
            let c = s
                .strip_prefix("threshold:")
                .ok_or_else(bad)?
                .parse::<f64>()
                .map_err(|_| bad())?;
            if c.is_finite() && c > 0.0 {
                Ok(Rounding::Threshold { c })
            } else {
                Err(bad())
            }
        }
    }
}

/// Parses `A..B` (also `A..=B`, `A-B`).
pub fn parse_range(s: &str) -> Result<(usize, usize), UsageError> {
    let bad = || {
        UsageError(format!(
            "--k-range expects A..B with integers 1 ≤ A ≤ B, got {s:?}"
        ))
    };
    let (a, b) = s
        .split_once("..=")
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-'))
        .ok_or_else(bad)?;
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

/// Settings shared by the commands that solve: seed, tolerance, iterations, rounding.
pub fn group_settings(a: &Args) -> Result<GroupSettings, UsageError> {
    let mut s = GroupSettings::default();
    if let Some(r) = a.value(&["--rounding"]) {
        s.rounding.mode = parse_rounding(r)?;
    }
    if let Some(seed) = a.parsed::<u64>(&["--seed"], "a non-negative integer")? {
        s.rounding.seed = seed;
    }
    if let Some(t) = a.parsed::<f64>(&["--tolerance"], "a number in (0, 1)")? {
        s.solver.tolerance = t;
    }
    if let Some(m) = a.parsed::<usize>(&["--max-iterations"], "a positive integer")? {
        s.solver.max_iterations = m;
    }
    s.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(s)
}

/// Runs `taskgroup cluster`.
pub fn run(raw: &[String]) -> Result<(), CliError> {
    let mut a = Args::parse(
        raw,
        &[
            "--input",
            "-i",
            "-k",
            "--k",
            "--k-range",
            "--k-rule",
            "--rounding",
            "--seed",
            "--tolerance",
            "--max-iterations",
        ],
    )?;
    let json_out = a.flag("--json");
    let timing = a.flag("--timing");
    let quiet = a.flag("--quiet") | a.flag("-q");
    if a.flag("--help") || a.flag("-h") {
        println!("{USAGE}");
        return Ok(());
    }
    a.finish()?;
    if let Some(p) = a.positionals().first() {
        return Err(UsageError(format!("unexpected argument {p:?}")).into());
    }
    let input = a
        .value(&["--input", "-i"])
        .ok_or_else(|| UsageError("--input FILE is required".into()))?;
    let k = a.parsed::<usize>(&["-k", "--k"], "a positive integer")?;
    let range = a.value(&["--k-range"]).map(parse_range).transpose()?;
    let rule = match a.value(&["--k-rule"]) {
        None | Some("density") => KRule::AverageDensity,
        Some("elbow") => KRule::Elbow,
        Some(o) => {
            return Err(UsageError(format!("--k-rule expects density or elbow, got {o:?}")).into())
        }
    };
    let settings = group_settings(&a)?;
    if k.is_some() && range.is_some() {
        return Err(UsageError("give either -k or --k-range, not both".into()).into());
    }
    if let Some((lo, hi)) = range {
        if hi - lo + 1 > MAX_K_VALUES {
            return Err(UsageError(format!(
                "--k-range {lo}..{hi} holds {} values of k; at most {MAX_K_VALUES} are accepted \
                 (each is a full SDP solve): choose a narrower range",
                hi - lo + 1
            ))
            .into());
        }
    }
    let m = read_matrix(Path::new(input)).map_err(|e| CliError::Input(format!("{input}: {e}")))?;
    require_square(&m).map_err(|e| CliError::Input(format!("{input}: {e}")))?;
    let t = Affinity::from_row_major(&m.data, m.rows)
        .map_err(|e| CliError::Input(format!("{input}: {e}")))?;
    let n = t.n();
    let names = m.names.clone();
    drop(m); // the affinity holds its own copy: free the file's data before solving
    let mut progress = ProgressLine::new(quiet);
    let start = Instant::now();
    // From here on SIGINT/SIGTERM stop the solve (the callback returns false) instead of
    // killing the process: the best partition so far is printed, then exit 130.
    crate::catch_interrupts();

    match (k, range) {
        (Some(k), None) => {
            let mut cb = |p: &taskgroup_core::Progress| {
                progress.update(&format!("k = {k}"), p);
                !crate::interrupted()
            };
            let r =
                group_with(&t, k, &settings, WarmStart::Cold, Some(&mut cb)).map_err(solve_err)?;
            progress.finish();
            let secs = start.elapsed().as_secs_f64();
            if json_out {
                let mut o = result_json(&r, n, names.as_deref(), &settings);
                if timing {
                    o["seconds"] = json!(secs);
                }
                println!(
                    "{}",
                    serde_json::to_string(&o).map_err(|e| CliError::Internal(e.to_string()))?
                );
            } else {
                print_human(&t, &r, n, names.as_deref(), &settings, secs);
            }
        }
        (None, Some((lo, hi))) => {
            if hi - lo + 1 > WARN_RANGE_K && n >= WARN_RANGE_N && !quiet {
                eprintln!(
                    "taskgroup: warning: {} SDP solves on {n} tasks may take long \
                     (Ctrl-C stops with the best result so far)",
                    hi - lo + 1
                );
            }
            let first = lo.saturating_sub(1).max(1);
            let last = (hi + 1).min(n);
            let mut cb = |k: usize, p: &taskgroup_core::Progress| {
                progress.update(
                    &format!("k = {k} ({} of {})", k - first + 1, last - first + 1),
                    p,
                );
                !crate::interrupted()
            };
            let s = search_k(&t, lo, hi, &settings, rule, Some(&mut cb)).map_err(solve_err)?;
            progress.finish();
            let secs = start.elapsed().as_secs_f64();
            let best = &s.best().result;
            if json_out {
                let mut o = result_json(best, n, names.as_deref(), &settings);
                o["table"] = Value::Array(
                    s.rows
                        .iter()
                        .map(|row| {
                            let r = &row.result;
                            json!({
                                "k": row.k,
                                "sdp_value": r.sdp.objective,
                                "value": r.value,
                                "average_density": r.average_density,
                                "upper_bound": r.upper_bound,
                                "gap": r.gap,
                                "certified_optimal": r.certified_optimal,
                                "status": r.status().as_str(),
                                "iterations": r.sdp.iterations,
                                "elbow_score": row.elbow_score,
                            })
                        })
                        .collect(),
                );
                o["k_rule"] = json!(rule_name(rule));
                o["k_by_density"] = json!(s.rows[s.chosen_by_density].k);
                o["k_by_elbow"] = json!(s.rows[s.chosen_by_elbow].k);
                if timing {
                    o["seconds"] = json!(secs);
                }
                println!(
                    "{}",
                    serde_json::to_string(&o).map_err(|e| CliError::Internal(e.to_string()))?
                );
            } else {
                println!(
                    "k search over {lo}..{hi} ({} rule: k = {})",
                    rule_name(rule),
                    s.best().k
                );
                println!(
                    "{:>4}  {:>14}  {:>14}  {:>14}  {:>10}  {:>9}  {:>6}",
                    "k", "SDP value", "value", "avg density", "gap", "certified", "elbow"
                );
                for row in &s.rows {
                    let r = &row.result;
                    let mark = if row.k == s.best().k { " <" } else { "" };
                    println!(
                        "{:>4}  {:>14.6}  {:>14.6}  {:>14.6}  {:>10}  {:>9}  {:>6.3}{mark}",
                        row.k,
                        r.sdp.objective,
                        r.value,
                        r.average_density,
                        fmt_opt(r.gap),
                        if r.certified_optimal { "yes" } else { "no" },
                        row.elbow_score
                    );
                }
                println!(
                    "(density rule: k = {}; elbow rule: k = {})\n",
                    s.rows[s.chosen_by_density].k, s.rows[s.chosen_by_elbow].k
                );
                print_human(&t, best, n, names.as_deref(), &settings, secs);
            }
        }
        _ => return Err(UsageError("give -k K or --k-range A..B".into()).into()),
    }
    if crate::interrupted() {
        return Err(CliError::Interrupted(
            "the result above is the best found before the signal (status `interrupted`)".into(),
        ));
    }
    Ok(())
}

fn solve_err(e: taskgroup_core::Error) -> CliError {
    match e {
        taskgroup_core::Error::OutOfMemory { .. } => CliError::Io(e.to_string()),
        e => CliError::Input(e.to_string()),
    }
}

fn rule_name(r: KRule) -> &'static str {
    match r {
        KRule::AverageDensity => "density",
        KRule::Elbow => "elbow",
        KRule::Value => "value",
        KRule::Significant => "significant",
    }
}

fn rounding_name(s: &GroupSettings) -> String {
    match s.rounding.mode {
        Rounding::Robust => "robust".into(),
        Rounding::Threshold { c } => format!("threshold:{c}"),
    }
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map(|g| format!("{g:.2e}")).unwrap_or_else(|| "-".into())
}

/// The JSON object of one grouping result (without `seconds`).
pub fn result_json(
    r: &GroupResult,
    n: usize,
    names: Option<&[String]>,
    s: &GroupSettings,
) -> Value {
    let groups = r.partition.groups();
    let mut o = json!({
        "n": n,
        "k": r.sdp.k,
        "num_groups": r.partition.num_groups(),
        "groups": groups,
        "labels": r.partition.labels(),
        "value": r.value,
        "average_density": r.average_density,
        "sdp_value": r.sdp.objective,
        "upper_bound": r.upper_bound,
        "gap": r.gap,
        "gap_normalized": r.gap_normalized,
        "certified_optimal": r.certified_optimal,
        "status": r.status().as_str(),
        "iterations": r.sdp.iterations,
        "primal_residual": r.sdp.primal_residual,
        "dual_residual": r.sdp.dual_residual,
        "rounding": rounding_name(s),
        "tolerance": s.solver.tolerance,
    });
    if let Some(names) = names {
        o["names"] = json!(names);
        o["group_names"] = json!(groups
            .iter()
            .map(|g| g.iter().map(|&t| names[t].clone()).collect::<Vec<_>>())
            .collect::<Vec<_>>());
    }
    o
}

/// The human-readable report of one grouping result.
pub fn print_human(
    t: &Affinity,
    r: &GroupResult,
    n: usize,
    names: Option<&[String]>,
    s: &GroupSettings,
    secs: f64,
) {
    let groups = r.partition.groups();
    println!(
        "{n} tasks into {} groups (k = {}, {} rounding)",
        groups.len(),
        r.sdp.k,
        rounding_name(s)
    );
    println!("{:>5}  {:>5}  {:>14}  tasks", "group", "size", "density");
    for (i, g) in groups.iter().enumerate() {
        let density: f64 = g
            .iter()
            .flat_map(|&u| g.iter().map(move |&v| (u, v)))
            .map(|(u, v)| t.get(u, v))
            .sum::<f64>()
            / g.len() as f64;
        let members: Vec<String> = g
            .iter()
            .map(|&t| {
                names
                    .map(|nm| nm[t].clone())
                    .unwrap_or_else(|| t.to_string())
            })
            .collect();
        println!(
            "{:>5}  {:>5}  {:>14.6}  {}",
            i + 1,
            g.len(),
            density,
            members.join(", ")
        );
    }
    println!("value (Σ densities)  {:.9}", r.value);
    println!("average density      {:.9}", r.average_density);
    println!("SDP value            {:.9}", r.sdp.objective);
    match (r.upper_bound, r.gap) {
        (Some(ub), Some(gap)) => {
            println!("upper bound          {ub:.9}");
            println!(
                "gap                  {gap:.3e} (normalised {:.3e}): {}",
                r.gap_normalized.unwrap_or(f64::NAN),
                if r.certified_optimal {
                    "certified optimal"
                } else {
                    "not certified optimal"
                }
            );
        }
        _ => println!(
            "upper bound          - (the rounding found {} groups, not k = {})",
            groups.len(),
            r.sdp.k
        ),
    }
    println!(
        "solver               {}, {} iterations, residuals {:.1e} / {:.1e}, {secs:.3} s",
        r.status().as_str(),
        r.sdp.iterations,
        r.sdp.primal_residual,
        r.sdp.dual_residual
    );
}
