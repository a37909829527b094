//! `taskgroup session ...`: an AdaGroup campaign that any scheduler can drive, one command at a
//! time, crash-safe.
//!
//! A session is a directory: `session.tgck` (the checkpoint: magic, version, checksum — see
//! `taskgroup_core::session::checkpoint`), `names.json` (task names, when given) and `lock`. Every command
//! that changes the session (`new`, `report`) takes an exclusive lock on `lock`, loads the
//! checkpoint, applies the
//! change, writes the new checkpoint to a temporary file, fsyncs it, renames it over the old one
//! and fsyncs the directory, all before it returns: a crash or `kill -9` at any point leaves
//! either the old or the new state, never a torn one, and a result is acknowledged (exit 0) only
//! once it is durable. Concurrent `report` commands are serialised by the lock, so none is lost.
//!
//! Readers (`next`, `status`) take no lock and open nothing for writing: the checkpoint is only
//! ever replaced by rename, so a reader sees the old or the new file, works on a read-only
//! folder, and never waits behind a `report` that is solving a step.
//!
//! `new` checks for an existing session under the lock, so of concurrent `new`s to one folder
//! exactly one succeeds. It writes `names.json` before the checkpoint and, under the lock,
//! removes a `names.json` that has no checkpoint (the leftover of a `new` killed in between), so
//! a session never adopts another one's names; readers also refuse names whose count is not n.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use taskgroup_core::session::adagroup::{
    AdaGroupSession, AdaGroupSettings, AffinityEstimator, ReportOutcome, RequestId, Sampling,
    TaskOrder,
};
use taskgroup_core::KRule;
use taskgroup_io::matrix::write_square;
use taskgroup_io::subsets::parse_scores;

use crate::args::{Args, UsageError};
use crate::CliError;

/// Usage text of `taskgroup session`.
pub const USAGE: &str = "usage:
  taskgroup session new --tasks FILE_OR_N -k K --steps S [--subset-size A] [--seed N]
                        [--subsets-per-step M] [--lower-is-better] [--shuffle] --out DIR
                        [--estimator standardized|eq6|surrogate]
                        [--count-rule significant|value|density|elbow]
                        [--fill row-mean|row-min|CONSTANT] [--sampling adaptive|uniform|paper]
                        [--replicates R] [--paper]
      FILE_OR_N: the number of tasks, or a text file with one task name per line
      defaults: standardized, significant, row-mean, adaptive, 1 replicate; --paper: the
      paper's configuration (eq6, density, row-min, paper sampling) before the other flags
  taskgroup session next DIR [--json]        pending subsets of the current step, with ids
  taskgroup session report DIR --id ID --scores \"0.71,0.65,...\"
  taskgroup session report DIR --from-csv FILE   (rows: ID,score,score,... ; '#' comments)
  taskgroup session status DIR [--json]      step, pending/reported counts, current groups,
                                             per-task confidence
  taskgroup session affinity DIR --output FILE.csv|FILE.npy [--coverage FILE.csv|FILE.npy]
                                             the current affinity (directed, filled) and the
                                             number of trained subsets behind each entry
  taskgroup session results DIR --output FILE.csv
                                             every result as task,subset,score rows (the
                                             `taskgroup affinity --from-subsets` format)

Scores are one per task of the subset, in the order `next` lists them (higher is better
unless the session was created with --lower-is-better). The session advances by itself when
the last result of a step is reported.";

const CHECKPOINT: &str = "session.tgck";
/// A task's group is settled at this assignment margin z.
const SETTLED_Z: f64 = 3.0;
/// Bootstrap resamples behind the per-task stability of `status`.
const STABILITY_RESAMPLES: usize = 50;
const NAMES: &str = "names.json";
const LOCK: &str = "lock";

fn io_err(what: &str, p: &Path, e: std::io::Error) -> CliError {
    CliError::Input(format!("{what} {}: {e}", p.display()))
}

/// A failed write (full disk, read-only folder): exit 74.
fn write_err(what: &str, p: &Path, e: std::io::Error) -> CliError {
    crate::io_failure(what, p, &e)
}

/// Largest number of subsets `session new` plans for one step (each is a training run; the
/// default is 5 per new task, so a step may bring at most 20 000 tasks without
/// `--subsets-per-step`).
pub const MAX_SUBSETS_PLANNED: usize = 100_000;

/// Above this many tasks `session new` warns about the memory of the last steps' SDP solves.
const WARN_TASKS: usize = 10_000;

/// Holds the exclusive session lock until dropped.
struct Locked {
    _file: File,
}

fn lock(dir: &Path) -> Result<Locked, CliError> {
    let p = dir.join(LOCK);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| write_err("cannot open", &p, e))?;
    f.lock().map_err(|e| write_err("cannot lock", &p, e))?;
    // Under the lock no other writer is active: temp files are leftovers of killed writers.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(Locked { _file: f })
}

/// Writes `bytes` to `dir/name` atomically and durably (temp file, fsync, rename, fsync dir).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CliError> {
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let dst = dir.join(name);
    {
        let mut f = File::create(&tmp).map_err(|e| write_err("cannot create", &tmp, e))?;
        if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err("cannot write", &tmp, e));
        }
    }
    std::fs::rename(&tmp, &dst).map_err(|e| write_err("cannot replace", &dst, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn load(dir: &Path) -> Result<AdaGroupSession, CliError> {
    let p = dir.join(CHECKPOINT);
    let bytes = std::fs::read(&p).map_err(|e| io_err("cannot read session", &p, e))?;
    AdaGroupSession::load(&bytes).map_err(|e| CliError::Input(format!("{}: {e}", p.display())))
}

fn save(dir: &Path, s: &AdaGroupSession) -> Result<(), CliError> {
    let bytes = s.save().map_err(|e| CliError::Internal(e.to_string()))?;
    write_atomic(dir, CHECKPOINT, &bytes)
}

/// The task names, when the session has them; names whose count is not the session's n belong
/// to no session of this folder and are an error.
fn names(dir: &Path, n: usize) -> Result<Option<Vec<String>>, CliError> {
    let p = dir.join(NAMES);
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(None);
    };
    let Ok(list) = serde_json::from_str::<Vec<String>>(&text) else {
        return Ok(None);
    };
    if list.len() != n {
        return Err(CliError::Input(format!(
            "{}: {} task names, but the session has {n} tasks (a leftover of another session?)",
            p.display(),
            list.len()
        )));
    }
    Ok(Some(list))
}

fn label(names: &Option<Vec<String>>, t: usize) -> String {
    names
        .as_ref()
        .and_then(|n| n.get(t).cloned())
        .unwrap_or_else(|| t.to_string())
}

/// The options of `taskgroup session` that take a value.
pub const OPTIONS: &[&str] = &[
    "--tasks",
    "-k",
    "--k",
    "--steps",
    "--subset-size",
    "--seed",
    "--subsets-per-step",
    "--out",
    "--id",
    "--scores",
    "--from-csv",
    "--estimator",
    "--count-rule",
    "--fill",
    "--sampling",
    "--replicates",
    "--output",
    "-o",
    "--coverage",
];

/// Runs `taskgroup session` on its arguments (`--help` is handled before).
pub fn run(mut a: Args) -> Result<(), CliError> {
    let json_out = a.flag("--json");
    let lower = a.flag("--lower-is-better");
    let shuffle = a.flag("--shuffle");
    let paper = a.flag("--paper");
    a.finish()?;
    let pos = a.positionals().to_vec();
    let sub = pos
        .first()
        .ok_or_else(|| UsageError(format!("which session command?\n{USAGE}")))?;
    let dir_arg = || -> Result<PathBuf, CliError> {
        Ok(PathBuf::from(pos.get(1).ok_or_else(|| {
            UsageError(format!("session {sub} needs the session DIR"))
        })?))
    };
    match sub.as_str() {
        "new" => new(&a, lower, shuffle, paper),
        "affinity" => affinity(&dir_arg()?, &a),
        "results" => results(&dir_arg()?, &a),
        "next" => next(&dir_arg()?, json_out),
        "report" => report(&dir_arg()?, &a),
        "status" => status(&dir_arg()?, json_out),
        other => Err(UsageError(format!("unknown session command {other:?}\n{USAGE}")).into()),
    }
}

fn new(a: &Args, lower: bool, shuffle: bool, paper: bool) -> Result<(), CliError> {
    let tasks = a
        .value(&["--tasks"])
        .ok_or_else(|| UsageError("--tasks FILE_OR_N is required".into()))?;
    let (n, task_names) = match tasks.trim().parse::<usize>() {
        Ok(n) => (n, None),
        Err(_) => {
            let p = Path::new(tasks);
            let text =
                std::fs::read_to_string(p).map_err(|e| io_err("cannot read task list", p, e))?;
            let list: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
            let mut sorted = list.clone();
            sorted.sort();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(CliError::Input(format!(
                    "{tasks}: task {:?} is listed twice",
                    w[0]
                )));
            }
            (list.len(), Some(list))
        }
    };
    let k = a
        .parsed::<usize>(&["-k", "--k"], "a positive integer")?
        .ok_or_else(|| UsageError("-k K is required".into()))?;
    let steps = a
        .parsed::<usize>(&["--steps"], "a positive integer")?
        .ok_or_else(|| UsageError("--steps S is required".into()))?;
    let out = PathBuf::from(
        a.value(&["--out"])
            .ok_or_else(|| UsageError("--out DIR is required".into()))?,
    );
    let mut s = if paper {
        AdaGroupSettings::paper(n, k, steps)
    } else {
        AdaGroupSettings::new(n, k, steps)
    };
    use AffinityEstimator as E;
    let estimators = [
        ("standardized", E::Standardized),
        ("standardised", E::Standardized),
        ("eq6", E::HigherOrder),
        ("higher-order", E::HigherOrder),
        ("surrogate", E::Surrogate),
    ];
    if let Some(e) = a.choice("--estimator", &estimators)? {
        s.estimator = e;
    }
    let rules = [
        ("significant", KRule::Significant),
        ("value", KRule::Value),
        ("density", KRule::AverageDensity),
        ("elbow", KRule::Elbow),
    ];
    if let Some(r) = a.choice("--count-rule", &rules)? {
        s.count_rule = r;
    }
    if let Some(v) = a.value(&["--fill"]) {
        s.fill = crate::affinity::fill_rule(v)?;
    }
    let samplings = [
        ("adaptive", Sampling::Adaptive),
        ("uniform", Sampling::Uniform),
        ("paper", Sampling::Paper),
    ];
    if let Some(m) = a.choice("--sampling", &samplings)? {
        s.sampling = m;
    }
    if let Some(r) = a.parsed::<usize>(&["--replicates"], "a positive integer")? {
        s.replicates = r;
    }
    if let Some(alpha) = a.parsed::<usize>(&["--subset-size"], "an integer ≥ 2")? {
        s.subset_size = alpha;
    }
    if let Some(seed) = a.parsed::<u64>(&["--seed"], "a non-negative integer")? {
        s.seed = seed;
    }
    if let Some(m) = a.parsed::<usize>(&["--subsets-per-step"], "a positive integer")? {
        s.subsets_per_step = Some(m);
    }
    s.higher_is_better = !lower;
    if shuffle {
        s.task_order = TaskOrder::Shuffled;
    }
    // Checked before the session draws its first step (drawing a huge plan takes long).
    let planned = (0..steps.min(s.n))
        .map(|t| s.subsets_in_step(t))
        .max()
        .unwrap_or(0);
    if planned > MAX_SUBSETS_PLANNED {
        return Err(CliError::Input(format!(
            "a step would plan {planned} subsets to train (5 per new task unless \
             --subsets-per-step is given); at most {MAX_SUBSETS_PLANNED} per step are accepted: \
             use more --steps or a smaller --subsets-per-step"
        )));
    }
    let session = AdaGroupSession::new(s).map_err(|e| CliError::Input(e.to_string()))?;
    if n > WARN_TASKS {
        eprintln!(
            "taskgroup: warning: {n} tasks: the last steps solve SDPs over up to {n} tasks, \
             about {:.0} GB of memory ({n}×{n} matrices of 8-byte numbers, about twenty at once)",
            taskgroup_core::memory::square_f64_bytes(n, 20) as f64 / 1e9
        );
    }
    let exists = || {
        CliError::Input(format!(
            "{} already holds a session; refusing to overwrite it (remove it or choose another --out)",
            out.display()
        ))
    };
    if out.join(CHECKPOINT).exists() {
        return Err(exists());
    }
    std::fs::create_dir_all(&out).map_err(|e| write_err("cannot create", &out, e))?;
    let _l = lock(&out)?;
    // Checked again under the lock: of concurrent `new`s to one folder exactly one succeeds.
    if out.join(CHECKPOINT).exists() {
        return Err(exists());
    }
    // No checkpoint, so a names file is the leftover of a `new` killed before it wrote one.
    match std::fs::remove_file(out.join(NAMES)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(write_err("cannot remove stale", &out.join(NAMES), e))
        }
        _ => {}
    }
    if let Some(list) = &task_names {
        write_atomic(
            &out,
            NAMES,
            serde_json::to_string(list)
                .map_err(|e| CliError::Internal(e.to_string()))?
                .as_bytes(),
        )?;
    }
    save(&out, &session)?;
    println!(
        "new session in {}: {n} tasks, up to {k} groups, {steps} steps; {} subsets to train now (taskgroup session next {})",
        out.display(),
        session.next_requests().len(),
        out.display()
    );
    Ok(())
}

fn next(dir: &Path, json_out: bool) -> Result<(), CliError> {
    let s = load(dir)?;
    let nm = names(dir, s.settings().n)?;
    if s.is_done() {
        eprintln!(
            "taskgroup: the session in {} has finished all {} steps: nothing more to train \
             (see `session status`, `session affinity`, `session results`)",
            dir.display(),
            s.num_steps()
        );
        return Ok(());
    }
    for r in s.next_requests() {
        if json_out {
            let mut o = json!({"id": r.id.to_string(), "tasks": r.tasks, "step": r.id.step});
            if nm.is_some() {
                o["names"] = json!(r.tasks.iter().map(|&t| label(&nm, t)).collect::<Vec<_>>());
            }
            println!("{o}");
        } else {
            let t: Vec<String> = r.tasks.iter().map(|&t| label(&nm, t)).collect();
            println!("{}\t{}", r.id, t.join(" "));
        }
    }
    Ok(())
}

fn report(dir: &Path, a: &Args) -> Result<(), CliError> {
    let mut items: Vec<(String, Vec<f64>)> = Vec::new();
    match (
        a.value(&["--id"]),
        a.value(&["--scores"]),
        a.value(&["--from-csv"]),
    ) {
        (Some(id), Some(sc), None) => items.push((
            id.to_string(),
            parse_scores(sc).map_err(|e| CliError::Input(e.to_string()))?,
        )),
        (None, None, Some(f)) => {
            let p = Path::new(f);
            let text = std::fs::read_to_string(p).map_err(|e| io_err("cannot read", p, e))?;
            for (ln, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty()
                    || line.starts_with('#')
                    || line.to_ascii_lowercase().starts_with("id,")
                {
                    continue;
                }
                let (id, rest) = line.split_once([',', '\t']).ok_or_else(|| {
                    CliError::Input(format!("{f}: line {}: expected ID,score,...", ln + 1))
                })?;
                let sc = parse_scores(rest)
                    .map_err(|e| CliError::Input(format!("{f}: line {}: {e}", ln + 1)))?;
                items.push((id.trim().to_string(), sc));
            }
        }
        _ => {
            return Err(UsageError("give --id ID --scores LIST, or --from-csv FILE".into()).into())
        }
    }
    let _l = lock(dir)?;
    // Changes apply to the loaded copy only; it is saved after every line succeeded, so a bad
    // line (an early return) changes nothing on disk.
    let mut s = load(dir)?;
    let mut recorded = 0;
    // Counted here, not recomputed per line (a scan of the whole step): linear in the lines.
    let mut pending = if s.is_done() { 0 } else { s.pending_count() };
    for (id, scores) in &items {
        let rid: RequestId = id
            .parse()
            .map_err(|e: taskgroup_core::Error| CliError::Input(format!("id {id:?}: {e}")))?;
        let done = s.is_done();
        match s.report(rid, scores).map_err(|e| {
            if done {
                CliError::Input(format!(
                    "id {id}: {e}; the session has finished all its steps and takes no more \
                     results (its groups, affinity and results can still be read)"
                ))
            } else {
                CliError::Input(format!("id {id}: {e}"))
            }
        })? {
            ReportOutcome::Recorded => {
                recorded += 1;
                if rid.step as usize == s.step() {
                    pending = pending.saturating_sub(1);
                }
            }
            ReportOutcome::AlreadyRecorded => {}
        }
        if pending == 0 && !s.is_done() {
            let step = s.step() + 1;
            s.advance().map_err(|e| match e {
                taskgroup_core::Error::OutOfMemory { .. } => CliError::Io(format!(
                    "{}: completing step {}: {e}; nothing was saved, the session is unchanged",
                    dir.display(),
                    step
                )),
                e => CliError::Internal(e.to_string()),
            })?;
            pending = if s.is_done() { 0 } else { s.pending_count() };
        }
    }
    save(dir, &s)?;
    println!(
        "recorded {recorded} result(s); step {}/{}; {} pending{}",
        (s.step() + 1).min(s.num_steps()),
        s.num_steps(),
        s.pending_count(),
        if s.is_done() { "; done" } else { "" }
    );
    Ok(())
}

fn status(dir: &Path, json_out: bool) -> Result<(), CliError> {
    let s = load(dir)?;
    let nm = names(dir, s.settings().n)?;
    let groups = s.groups().to_vec();
    let margins = s
        .assignment_margins()
        .map_err(|e| CliError::Internal(e.to_string()))?;
    let stability = s.assignment_stability(STABILITY_RESAMPLES);
    let needed = s.subsets_still_needed();
    let unsettled: Vec<usize> = (0..s.settings().n)
        .filter(|&t| {
            margins
                .get(t)
                .copied()
                .flatten()
                .is_some_and(|z| z < SETTLED_Z)
                || stability.get(t).copied().flatten().is_some_and(|x| x < 0.9)
        })
        .collect();
    if json_out {
        let mut o = json!({
            "step": s.step(),
            "steps": s.num_steps(),
            "done": s.is_done(),
            "pending": if s.is_done() { 0 } else { s.pending_count() },
            "reported": s.reported_count(),
            "total_reported": s.total_reported(),
            "tasks_seen": s.tasks_seen().len(),
            "n": s.settings().n,
            "groups": groups,
            "history": s.history().iter().map(|h| json!({
                "step": h.step,
                "subsets_trained": h.subsets_trained,
                "total_subsets_trained": h.total_subsets_trained,
                "tasks_seen": h.tasks_seen,
                "pair_coverage": h.pair_coverage,
                "groups": h.groups,
                "value": h.value,
                "average_density": h.average_density,
            })).collect::<Vec<_>>(),
        });
        o["confidence"] = json!((0..s.settings().n)
            .filter(|&t| margins.get(t).copied().flatten().is_some())
            .map(|t| json!({
                "task": t,
                "margin_z": margins.get(t).copied().flatten().filter(|z| z.is_finite()),
                "stability": stability.get(t).copied().flatten(),
            }))
            .collect::<Vec<_>>());
        o["unsettled_tasks"] = json!(unsettled);
        o["subsets_still_needed"] = json!(needed);
        if nm.is_some() {
            o["group_names"] = json!(groups
                .iter()
                .map(|g| g.iter().map(|&t| label(&nm, t)).collect::<Vec<_>>())
                .collect::<Vec<_>>());
        }
        println!("{o}");
    } else {
        println!(
            "step {}/{}{}; this step: {} pending, {} reported; {} results in total; {} of {} tasks seen",
            (s.step() + 1).min(s.num_steps()),
            s.num_steps(),
            if s.is_done() { " (done)" } else { "" },
            if s.is_done() { 0 } else { s.pending_count() },
            s.reported_count(),
            s.total_reported(),
            s.tasks_seen().len(),
            s.settings().n
        );
        for (i, g) in groups.iter().enumerate() {
            let t: Vec<String> = g.iter().map(|&t| label(&nm, t)).collect();
            println!("group {:>3}: {}", i + 1, t.join(", "));
        }
        if !groups.is_empty() {
            let list: Vec<String> = unsettled
                .iter()
                .map(|&t| {
                    format!(
                        "{} (margin z {:.1}, stable in {:.0}% of resamples)",
                        label(&nm, t),
                        margins.get(t).copied().flatten().unwrap_or(0.0),
                        100.0 * stability.get(t).copied().flatten().unwrap_or(0.0)
                    )
                })
                .collect();
            if list.is_empty() {
                println!("confidence: every task's group is settled (margin z ≥ {SETTLED_Z}, stable in ≥ 90% of {STABILITY_RESAMPLES} resamples)");
            } else {
                println!(
                    "confidence: {} task(s) not settled: {}",
                    list.len(),
                    list.join("; ")
                );
            }
            match needed {
                Some(0) => {}
                Some(m) => println!("estimated subsets still needed to settle every task and test the next count: about {m}"),
                None => println!("estimated subsets still needed: unknown (some task is closer to another group than to its own)"),
            }
        }
    }
    Ok(())
}

fn write_matrix(
    path: &Path,
    n: usize,
    data: Vec<f64>,
    names: Option<Vec<String>>,
) -> Result<(), CliError> {
    let res = write_square(path, n, data, names);
    res.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            CliError::Input(format!("cannot write {}: {e}", path.display()))
        } else {
            write_err("cannot write", path, e)
        }
    })
}

/// `session affinity DIR --output FILE [--coverage FILE]`: the current affinity estimate.
fn affinity(dir: &Path, a: &Args) -> Result<(), CliError> {
    let out = a
        .value(&["--output", "-o"])
        .ok_or_else(|| UsageError("session affinity needs --output FILE.csv|FILE.npy".into()))?;
    let s = load(dir)?;
    let n = s.settings().n;
    let nm = names(dir, n)?;
    let est = s
        .current_affinity()
        .map_err(|e| CliError::Input(e.to_string()))?;
    write_matrix(Path::new(out), n, est.directed().to_vec(), nm.clone())?;
    if let Some(c) = a.value(&["--coverage"]) {
        let cov: Vec<f64> = est.coverage().iter().map(|&x| f64::from(x)).collect();
        write_matrix(Path::new(c), n, cov, nm)?;
    }
    eprintln!(
        "affinity of {n} tasks from {} trained subsets: {:.1}% of pairs trained together, {} entries filled",
        s.total_reported(),
        100.0 * est.pair_coverage(),
        est.filled()
    );
    Ok(())
}

/// `session results DIR --output FILE`: every reported score as `task,subset,score` rows.
fn results(dir: &Path, a: &Args) -> Result<(), CliError> {
    let out = a
        .value(&["--output", "-o"])
        .ok_or_else(|| UsageError("session results needs --output FILE.csv".into()))?;
    let s = load(dir)?;
    let nm = names(dir, s.settings().n)?;
    let mut text = String::from("task,subset,score\n");
    for r in s.all_requests() {
        let Some(scores) = s.reported_scores(r.id) else {
            continue;
        };
        let members: Vec<String> = r.tasks.iter().map(|&t| label(&nm, t)).collect();
        let subset = members.join("+");
        for (&t, sc) in r.tasks.iter().zip(scores) {
            text.push_str(&format!("{},{subset},{sc:?}\n", label(&nm, t)));
        }
    }
    let p = Path::new(out);
    std::fs::write(p, text).map_err(|e| write_err("cannot write", p, e))?;
    Ok(())
}
