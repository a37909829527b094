//! `taskgroup cluster`: group the tasks of an affinity matrix file.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use taskgroup_core::normalize::{normalize_scores, Normalization};
use taskgroup_core::{
    group_with, search_k, Affinity, GroupResult, GroupSettings, KRule, Rounding, SolverPath,
    Storage, WarmStart,
};

use crate::args::{Args, UsageError};
use crate::progress::{EtaRule, ProgressLine};
use crate::svg::KPoint;
use crate::CliError;
use taskgroup_io::matrix::parse_matrix_bytes;
use taskgroup_io::{read_matrix, require_square, Matrix};

/// Usage text of `taskgroup cluster`.
pub const USAGE: &str = "usage: taskgroup cluster --input FILE (-k K | --k-range A..B) [options]

Groups the tasks of an n×n affinity matrix (T[u][v]: how much task v helps task u; larger is
better, or pass --lower-is-better). FILE is CSV/TSV/whitespace text (RFC 4180 quoting; optional
header row and/or first column of task names) or NumPy .npy (f64 or f32, 2-D; task names from
FILE.names.txt beside it, as `taskgroup affinity` writes them); `-` reads standard input.

options:
  -k K                    number of groups (1..n)
  --k-range A..B          try every k in A..B and choose one (see --k-rule); A.. goes up to n,
                          and B beyond n is capped at n (with a note)
  --k-rule density|elbow  how --k-range chooses: highest average density (paper, default) or
                          the largest drop in marginal gain (invariant to shifts of T)
  --lower-is-better       T holds losses (smaller = more helpful): group -T
  --normalize MODE        none (default) | standardize (each row to mean 0, sd 1) | degree
                          (D^-1/2 A D^-1/2) | relative ((T_uv - T_uu)/|T_uu|), before grouping
  --rounding MODE         robust (default) | threshold:C (the paper's X_uv > C/n rule) | paper (= threshold:1)
  --seed N                seed of the robust rounding's k-means restarts (default 0)
  --tolerance X           solver relative tolerance (default 1e-6)
  --max-iterations N      solver iteration budget (default 10000)
  --solver auto|admm|factored
                          which solver (default auto: ADMM below 4000 tasks, else the
                          factored large-n path; the JSON field `solver_path` says which ran)
  --storage f64|f32       how the factored path's block products store the centred matrix
                          (default f64). f32: products read an f32 copy (less memory traffic,
                          +0.5x the matrix in memory; the certificate is padded by
                          k*|C - f32(C)|_F so it stays valid; cost measured in bench/LARGE.md);
                          the JSON then has \"storage\": \"f32\". Ignored by ADMM
  --solve-to-tolerance    solve the SDP to the tolerance even when the rounded partition is
                          certified optimal earlier (default: stop there, status `certified`;
                          the partition and certificate are the same, sdp_value is the
                          iterate's) or the bound has settled (default: stop there, status
                          `settled`; its gap was within 2% of the converged one's on
                          every bench solve, bench/SETTLE.md)
  --json                  print one JSON object on stdout (bit-identical across runs for the
                          same input and options)
  --timing                with --json: add the wall-clock \"seconds\" (the only field that
                          differs between runs)
  --output FILE           write the result (text or --json) to FILE instead of stdout (`-`)
  --svg FILE              write an SVG heatmap of T reordered by the groups (with --k-range:
                          and the value of each k)
  --quiet                 no progress line on stderr
  --progress              progress and ETA on stderr even when stderr is not a terminal (one
                          line per second, for logs; by default only terminals get the line).
                          Never changes stdout or the result
  --threads N             threads for the solver's n² passes (default: TASKGROUP_THREADS, else
                          the available cores, at most 8); results are bit-identical for
                          every N. TASKGROUP_SIMD=off: the baseline x86-64 copies of the hot
                          loops instead of the AVX2 ones (same results, for comparison)

Options that would do nothing (--k-rule with -k, --timing without --json, --seed with
threshold rounding) are accepted with a warning. --k-range accepts at most 200 values of k
(each is a full SDP solve). Ctrl-C (SIGINT) or SIGTERM stops the solve within an iteration: the
best partition so far is printed with its certificate and status `interrupted`, and the exit
code is 130 (a second Ctrl-C kills at once).";

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

/// Parses `A..B` (also `A..=B`, `A-B`) and the open `A..` (up to n: `None`).
pub fn parse_range(s: &str) -> Result<(usize, Option<usize>), UsageError> {
    let bad = || {
        UsageError(format!(
            "--k-range expects A..B or A.. with integers 1 ≤ A ≤ B, got {s:?}"
        ))
    };
    let (a, b) = s
        .split_once("..=")
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-'))
        .ok_or_else(bad)?;
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: Option<usize> = match b.trim() {
        "" => None,
        b => Some(b.parse().map_err(|_| bad())?),
    };
    if a == 0 || b.is_some_and(|b| a > b) {
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
    let paths = [
        ("auto", SolverPath::Auto),
        ("admm", SolverPath::Admm),
        ("factored", SolverPath::Factored),
    ];
    s.solver.path = a.choice("--solver", &paths)?.unwrap_or(SolverPath::Auto);
    let storages = [("f64", Storage::F64), ("f32", Storage::F32)];
    s.solver.storage = a.choice("--storage", &storages)?.unwrap_or_default();
    s.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(s)
}

/// Writes one line to a `String` (never fails).
macro_rules! say {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Reads the affinity file (`-`: standard input, text or .npy by its magic bytes).
fn read_input(input: &str) -> Result<Matrix, CliError> {
    if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
        parse_matrix_bytes(&bytes, "standard input").map_err(|e| input_error(input, &e))
    } else {
        read_matrix(Path::new(input)).map_err(|e| input_error(input, &e))
    }
}

/// The one line `--json` prints: `o`, with the wall time in `seconds` when it is given.
fn json_line(mut o: Value, seconds: Option<f64>) -> Result<String, CliError> {
    if let Some(secs) = seconds {
        o["seconds"] = json!(secs);
    }
    serde_json::to_string(&o).map_err(|e| CliError::Internal(e.to_string()))
}

/// What the user calls the input in messages.
fn source_name(input: &str) -> &str {
    if input == "-" {
        "standard input"
    } else {
        input
    }
}

/// An input error, prefixed with the input's name unless the message already names it.
fn input_error(input: &str, e: &impl std::fmt::Display) -> CliError {
    let msg = e.to_string();
    let name = source_name(input);
    if msg.starts_with(&format!("cannot read {name}")) {
        CliError::Input(msg)
    } else {
        CliError::Input(format!("{name}: {msg}"))
    }
}

/// Writes `text` to `output` (`-`: standard output); a failed write exits 74.
fn emit(text: &str, output: &str) -> Result<(), CliError> {
    if output == "-" {
        let mut so = std::io::stdout().lock();
        so.write_all(text.as_bytes())
            .and_then(|()| so.flush())
            .map_err(|e| CliError::Io(format!("cannot write standard output: {e}")))
    } else {
        std::fs::write(output, text)
            .map_err(|e| crate::io_failure("cannot write", Path::new(output), &e))
    }
}

/// The options of `taskgroup cluster` that take a value.
pub const OPTIONS: &[&str] = &[
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
    "--normalize",
    "--output",
    "-o",
    "--svg",
    "--solver",
    "--storage",
    "--threads",
];

/// Runs `taskgroup cluster` on its arguments (`--help` is handled before).
pub fn run(mut a: Args) -> Result<(), CliError> {
    let json_out = a.flag("--json");
    let solve_to_tolerance = a.flag("--solve-to-tolerance");
    let timing = a.flag("--timing");
    let quiet = a.flag("--quiet") | a.flag("-q");
    let progress_forced = a.flag("--progress");
    let lower = a.flag("--lower-is-better");
    a.finish()?;
    if let Some(p) = a.positionals().first() {
        return Err(UsageError(format!("unexpected argument {p:?}")).into());
    }
    let input = a
        .value(&["--input", "-i"])
        .ok_or_else(|| UsageError("--input FILE is required (`-` for standard input)".into()))?;
    let output = a.value(&["--output", "-o"]).unwrap_or("-");
    let svg_path = a.value(&["--svg"]);
    let k = a.parsed::<usize>(&["-k", "--k"], "a positive integer")?;
    let range_spec = a.value(&["--k-range"]);
    let range = range_spec.map(parse_range).transpose()?;
    let rules = [("density", KRule::AverageDensity), ("elbow", KRule::Elbow)];
    let rule = a
        .choice("--k-rule", &rules)?
        .unwrap_or(KRule::AverageDensity);
    let normalization = match a.value(&["--normalize"]) {
        None => Normalization::None,
        Some(v) => v.parse::<Normalization>().map_err(|_| {
            UsageError(format!(
                "--normalize expects none, standardize, degree or relative, got {v:?}"
            ))
        })?,
    };
    let threads = a.parsed::<usize>(&["--threads"], "a positive integer")?;
    taskgroup_core::par::set_threads(crate::solver_threads(threads)?);
    let mut settings = group_settings(&a)?;
    if solve_to_tolerance {
        settings.solver.stop = taskgroup_core::Stop::Converged;
    }
    if k.is_some() && range.is_some() {
        return Err(UsageError("give either -k or --k-range, not both".into()).into());
    }
    // Options that do nothing here: accepted, with a warning (a typo'd intent is worth a line).
    let mut idle = Vec::new();
    if k.is_some() && a.value(&["--k-rule"]).is_some() {
        idle.push("--k-rule chooses among the k of --k-range; with -k it does nothing");
    }
    if timing && !json_out {
        idle.push("--timing adds \"seconds\" to --json output; without --json it does nothing (the text output always shows the time)");
    }
    if a.value(&["--seed"]).is_some()
        && matches!(settings.rounding.mode, Rounding::Threshold { .. })
    {
        idle.push("--seed seeds the robust rounding's k-means restarts; with threshold rounding it does nothing");
    }
    for w in idle {
        eprintln!("taskgroup: warning: {w}");
    }
    let m = read_input(input)?;
    require_square(&m).map_err(|e| input_error(input, &e))?;
    let n = m.rows;
    let mut data = m.data;
    let names = m.names;
    if lower {
        data.iter_mut().for_each(|x| *x = -*x);
    }
    let t = normalize_scores(&data, n, normalization).map_err(|e| input_error(input, &e))?;
    drop(data); // the affinity holds its own copy: free the file's data before solving

    // The k range within 1..n: an open end means n, an end beyond n is capped at n.
    let range = match range {
        None => None,
        Some((lo, hi)) => {
            let spec = range_spec.unwrap_or_default();
            if lo > n {
                return Err(CliError::Input(format!(
                    "--k-range {spec}: k must be at most n = {n} (the number of tasks)"
                )));
            }
            let mut last = hi.unwrap_or(n).min(n);
            if hi.is_some_and(|h| h > n) {
                eprintln!(
                    "taskgroup: note: --k-range {spec} capped at n = {n}: trying k = {lo}..{last}"
                );
            }
            if hi.is_none() && last - lo + 1 > MAX_K_VALUES {
                last = lo + MAX_K_VALUES - 1;
                eprintln!(
                    "taskgroup: note: --k-range {spec} stops at k = {last} ({MAX_K_VALUES} values \
                     of k at most; give B for another range)"
                );
            }
            if last - lo + 1 > MAX_K_VALUES {
                return Err(UsageError(format!(
                    "--k-range {lo}..{last} holds {} values of k; at most {MAX_K_VALUES} are \
                     accepted (each is a full SDP solve): choose a narrower range",
                    last - lo + 1
                ))
                .into());
            }
            Some((lo, last))
        }
    };

    let factored = settings.solver.path.resolve(n) == SolverPath::Factored;
    let eta_rule = EtaRule {
        tolerance: if factored {
            settings.solver.tolerance.max(1e-6)
        } else {
            settings.solver.tolerance
        },
        budget: if factored {
            settings
                .solver
                .max_iterations
                .min(taskgroup_core::sdp::factored::FACTORED_MAX_ITERATIONS)
        } else {
            settings.solver.max_iterations
        },
    };
    let mut progress = ProgressLine::new(quiet, progress_forced, eta_rule);
    let start = Instant::now();
    // From here on SIGINT/SIGTERM stop the solve (the callback returns false) instead of
    // killing the process: the best partition so far is printed, then exit 130.
    crate::catch_interrupts();
    let mut out = String::new();
    let settings_note = Extra {
        normalization,
        lower,
    };

    let (best_groups, curve) = match (k, range) {
        (Some(k), None) => {
            let mut cb = |p: &taskgroup_core::Progress| {
                progress.update(|| format!("k = {k}"), p);
                !crate::interrupted()
            };
            let r =
                group_with(&t, k, &settings, WarmStart::Cold, Some(&mut cb)).map_err(solve_err)?;
            progress.finish();
            let secs = start.elapsed().as_secs_f64();
            if json_out {
                let mut o = result_json(&r, n, names.as_deref(), &settings);
                settings_note.add_to(&mut o);
                say!(out, "{}", json_line(o, timing.then_some(secs))?);
            } else {
                write_human(&mut out, &t, &r, n, names.as_deref(), &settings, secs);
            }
            (r.partition.groups(), None)
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
                    || format!("k = {k} ({} of {})", k - first + 1, last - first + 1),
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
                settings_note.add_to(&mut o);
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
                say!(out, "{}", json_line(o, timing.then_some(secs))?);
            } else {
                say!(
                    out,
                    "k search over {lo}..{hi} ({} rule: k = {})",
                    rule_name(rule),
                    s.best().k
                );
                say!(
                    out,
                    "{:>4}  {:>14}  {:>14}  {:>14}  {:>10}  {:>9}  {:>6}",
                    "k",
                    "SDP value",
                    "value",
                    "avg density",
                    "gap",
                    "certified",
                    "elbow"
                );
                for row in &s.rows {
                    let r = &row.result;
                    let mark = if row.k == s.best().k { " <" } else { "" };
                    say!(
                        out,
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
                say!(
                    out,
                    "(density rule: k = {}; elbow rule: k = {})\n",
                    s.rows[s.chosen_by_density].k,
                    s.rows[s.chosen_by_elbow].k
                );
                write_human(&mut out, &t, best, n, names.as_deref(), &settings, secs);
            }
            let curve: Vec<KPoint> = s
                .rows
                .iter()
                .map(|row| KPoint {
                    k: row.k,
                    value: row.result.value,
                    average_density: row.result.average_density,
                    upper_bound: row.result.upper_bound,
                })
                .collect();
            (best.partition.groups(), Some((curve, s.best().k)))
        }
        _ => return Err(UsageError("give -k K or --k-range A..B".into()).into()),
    };
    emit(&out, output)?;
    if let Some(path) = svg_path {
        let name_of = |u: usize| {
            names
                .as_ref()
                .map_or_else(|| u.to_string(), |nm| nm[u].clone())
        };
        let title = format!(
            "{}: {n} tasks in {} groups",
            source_name(input),
            best_groups.len()
        );
        let subtitle = format!(
            "normalisation {}{}; groups in order: {}",
            normalization.as_str(),
            if lower { ", losses negated" } else { "" },
            best_groups
                .iter()
                .map(|g| {
                    let members: Vec<String> = g.iter().map(|&u| name_of(u)).collect();
                    format!("{{{}}}", members.join(" "))
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut svg = crate::svg::heatmap(t.as_slice(), n, &best_groups, &title, &subtitle);
        let labels: Vec<String> = best_groups.iter().flatten().map(|&u| name_of(u)).collect();
        svg = crate::svg::with_row_labels(&svg, &labels);
        if let Some((curve, chosen)) = curve {
            svg = crate::svg::with_k_curve(&svg, &curve, chosen);
        }
        std::fs::write(path, svg)
            .map_err(|e| crate::io_failure("cannot write", Path::new(path), &e))?;
    }
    if crate::interrupted() {
        return Err(CliError::Interrupted(
            "the result above is the best found before the signal (status `interrupted`)".into(),
        ));
    }
    Ok(())
}

/// Settings of `cluster` beyond [`GroupSettings`] that the JSON reports when not the default.
struct Extra {
    normalization: Normalization,
    lower: bool,
}

impl Extra {
    fn add_to(&self, o: &mut Value) {
        if self.normalization != Normalization::None {
            o["normalize"] = json!(self.normalization.as_str());
        }
        if self.lower {
            o["lower_is_better"] = json!(true);
        }
    }
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
        "solver_path": r.sdp.path.as_str(),
    });
    if r.sdp.path == SolverPath::Factored && s.solver.storage != Storage::F64 {
        o["storage"] = json!(s.solver.storage.as_str());
    }
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
pub fn write_human(
    out: &mut String,
    t: &Affinity,
    r: &GroupResult,
    n: usize,
    names: Option<&[String]>,
    s: &GroupSettings,
    secs: f64,
) {
    let groups = r.partition.groups();
    say!(
        out,
        "{n} tasks into {} groups (k = {}, {} rounding)",
        groups.len(),
        r.sdp.k,
        rounding_name(s)
    );
    say!(
        out,
        "{:>5}  {:>5}  {:>14}  tasks",
        "group",
        "size",
        "density"
    );
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
        say!(
            out,
            "{:>5}  {:>5}  {:>14.6}  {}",
            i + 1,
            g.len(),
            density,
            members.join(", ")
        );
    }
    say!(out, "value (Σ densities)  {:.9}", r.value);
    say!(out, "average density      {:.9}", r.average_density);
    say!(out, "SDP value            {:.9}", r.sdp.objective);
    match (r.upper_bound, r.gap) {
        (Some(ub), Some(gap)) => {
            say!(out, "upper bound          {ub:.9}");
            say!(
                out,
                "gap                  {gap:.3e} (normalised {:.3e}): {}",
                r.gap_normalized.unwrap_or(f64::NAN),
                if r.certified_optimal {
                    "certified optimal"
                } else {
                    "not certified optimal"
                }
            );
        }
        _ => say!(
            out,
            "upper bound          - (the rounding found {} groups, not k = {})",
            groups.len(),
            r.sdp.k
        ),
    }
    say!(
        out,
        "solver               {}, {} iterations, residuals {:.1e} / {:.1e}, {secs:.3} s",
        r.status().as_str(),
        r.sdp.iterations,
        r.sdp.primal_residual,
        r.sdp.dual_residual
    );
}
